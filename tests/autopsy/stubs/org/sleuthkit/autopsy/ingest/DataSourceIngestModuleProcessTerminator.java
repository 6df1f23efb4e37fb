// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.ingest;

import org.sleuthkit.autopsy.coreutils.ExecUtil;

public final class DataSourceIngestModuleProcessTerminator implements ExecUtil.ProcessTerminator {
    private final IngestJobContext context;
    public DataSourceIngestModuleProcessTerminator(IngestJobContext context) { this.context = context; }
    public boolean shouldTerminateProcess() { return context.dataSourceIngestIsCancelled(); }
}
