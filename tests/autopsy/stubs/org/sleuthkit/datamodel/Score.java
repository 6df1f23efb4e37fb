// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.datamodel;

public class Score {
    public enum Significance { UNKNOWN, LIKELY_NONE, LIKELY_NOTABLE, NONE, NOTABLE }
    public enum Priority { NORMAL, OVERRIDE }

    public static final Score SCORE_NOTABLE = new Score(Significance.NOTABLE, Priority.NORMAL);
    public static final Score SCORE_LIKELY_NOTABLE = new Score(Significance.LIKELY_NOTABLE, Priority.NORMAL);
    public static final Score SCORE_LIKELY_NONE = new Score(Significance.LIKELY_NONE, Priority.NORMAL);
    public static final Score SCORE_NONE = new Score(Significance.NONE, Priority.NORMAL);
    public static final Score SCORE_UNKNOWN = new Score(Significance.UNKNOWN, Priority.NORMAL);

    private final Significance significance;
    private final Priority priority;
    public Score(Significance significance, Priority priority) { this.significance = significance; this.priority = priority; }
    public Significance getSignificance() { return significance; }
    public Priority getPriority() { return priority; }
}
