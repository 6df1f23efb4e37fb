// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.ingest;

public class IngestMessage {
    public enum MessageType { DATA, INFO, WARNING, ERROR }

    private final MessageType type;
    private final String source;
    private final String subject;
    private final String details;
    private IngestMessage(MessageType type, String source, String subject, String details) {
        this.type = type; this.source = source; this.subject = subject; this.details = details;
    }
    public static IngestMessage createMessage(MessageType type, String source, String subject) { return new IngestMessage(type, source, subject, null); }
    public static IngestMessage createMessage(MessageType type, String source, String subject, String details) { return new IngestMessage(type, source, subject, details); }
    public MessageType getMessageType() { return type; }
    public String getSource() { return source; }
    public String getSubject() { return subject; }
    public String getDetails() { return details; }
}
