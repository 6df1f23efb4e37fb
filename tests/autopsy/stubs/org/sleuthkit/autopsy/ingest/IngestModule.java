// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.ingest;

public interface IngestModule {
    enum ProcessResult { OK, ERROR }

    class IngestModuleException extends Exception {
        public IngestModuleException(String message) { super(message); }
        public IngestModuleException(String message, Throwable cause) { super(message, cause); }
    }

    void startUp(IngestJobContext context) throws IngestModuleException;
    void shutDown();
}
