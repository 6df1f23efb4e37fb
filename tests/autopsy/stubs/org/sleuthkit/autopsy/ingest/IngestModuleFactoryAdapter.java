// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.ingest;

public abstract class IngestModuleFactoryAdapter {
    public abstract String getModuleDisplayName();
    public abstract String getModuleDescription();
    public abstract String getModuleVersionNumber();
    public boolean isFileIngestModuleFactory() { return false; }
    public FileIngestModule createFileIngestModule(IngestModuleIngestJobSettings settings) { throw new UnsupportedOperationException(); }
    public boolean isDataSourceIngestModuleFactory() { return false; }
    public DataSourceIngestModule createDataSourceIngestModule(IngestModuleIngestJobSettings settings) { throw new UnsupportedOperationException(); }
}
