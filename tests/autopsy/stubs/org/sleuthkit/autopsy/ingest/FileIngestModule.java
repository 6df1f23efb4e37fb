// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.ingest;

import org.sleuthkit.datamodel.AbstractFile;

public interface FileIngestModule extends IngestModule {
    ProcessResult process(AbstractFile file);
}
