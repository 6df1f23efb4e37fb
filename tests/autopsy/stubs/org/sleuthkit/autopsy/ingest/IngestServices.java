// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.ingest;

import java.util.ArrayList;
import java.util.List;

public final class IngestServices {
    private static final IngestServices instance = new IngestServices();
    private final List<IngestMessage> messages = new ArrayList<>();
    public static IngestServices getInstance() { return instance; }
    public synchronized void postMessage(IngestMessage message) { messages.add(message); }
    // Stub only: the ingest inbox.
    public synchronized List<IngestMessage> getMessagesForStub() { return new ArrayList<>(messages); }
}
