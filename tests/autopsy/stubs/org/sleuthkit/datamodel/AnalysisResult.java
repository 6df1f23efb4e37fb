// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.datamodel;

public class AnalysisResult extends BlackboardArtifact {
    private final Score score;
    private final String conclusion;
    private final String configuration;
    private final String justification;
    public AnalysisResult(long objectId, Type type, Score score, String conclusion, String configuration, String justification) {
        super(objectId, type);
        this.score = score; this.conclusion = conclusion; this.configuration = configuration; this.justification = justification;
    }
    public Score getScore() { return score; }
    public String getConclusion() { return conclusion; }
    public String getConfiguration() { return configuration; }
    public String getJustification() { return justification; }
}
