// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.ingest;

public final class IngestJobContext {
    private final long jobId;
    private volatile long cancelAtMillis = Long.MAX_VALUE;

    // Stub only: a job with an id; the examiner's cancel button is cancelAfterForStub.
    public IngestJobContext(long jobId) { this.jobId = jobId; }
    public void cancelAfterForStub(long millis) { cancelAtMillis = System.currentTimeMillis() + millis; }

    public long getJobId() { return jobId; }
    public boolean isJobCancelled() { return System.currentTimeMillis() >= cancelAtMillis; }
    public boolean fileIngestIsCancelled() { return isJobCancelled(); }
    public boolean dataSourceIngestIsCancelled() { return isJobCancelled(); }
}
