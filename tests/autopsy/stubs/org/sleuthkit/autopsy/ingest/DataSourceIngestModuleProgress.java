// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.ingest;

public class DataSourceIngestModuleProgress {
    private int total = -1;
    private int done = 0;
    public void switchToIndeterminate() { total = -1; }
    public void switchToDeterminate(int workUnits) { total = workUnits; }
    public void progress(int workUnits) { done = workUnits; }
    public void progress(String message, int workUnits) { done = workUnits; }
    public void progress(String message) { }
    // Stub only.
    public int getTotalForStub() { return total; }
    public int getDoneForStub() { return done; }
}
