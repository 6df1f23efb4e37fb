// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.ingest;

import org.sleuthkit.datamodel.Content;

public interface DataSourceIngestModule extends IngestModule {
    ProcessResult process(Content dataSource, DataSourceIngestModuleProgress progressBar);
}
