// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.datamodel;

public class AnalysisResultAdded {
    private final AnalysisResult result;
    private final Score aggregateScore;
    public AnalysisResultAdded(AnalysisResult result, Score aggregateScore) { this.result = result; this.aggregateScore = aggregateScore; }
    public AnalysisResult getAnalysisResult() { return result; }
    public Score getAggregateScore() { return aggregateScore; }
}
