// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.datamodel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

public class BlackboardArtifact {
    public enum Category { DATA_ARTIFACT, ANALYSIS_RESULT }

    public static class Type {
        private final int typeId;
        private final String typeName;
        private final String displayName;
        private final Category category;
        public Type(int typeId, String typeName, String displayName, Category category) {
            this.typeId = typeId; this.typeName = typeName; this.displayName = displayName; this.category = category;
        }
        public int getTypeID() { return typeId; }
        public String getTypeName() { return typeName; }
        public String getDisplayName() { return displayName; }
        public Category getCategory() { return category; }
    }

    private static long nextId = 1;
    private final long artifactId;
    private final long objectId;
    private final Type type;
    private final List<BlackboardAttribute> attributes = new ArrayList<>();

    public BlackboardArtifact(long objectId, Type type) {
        synchronized (BlackboardArtifact.class) { this.artifactId = nextId++; }
        this.objectId = objectId;
        this.type = type;
    }
    public long getArtifactID() { return artifactId; }
    public long getObjectID() { return objectId; }
    public Type getType() { return type; }
    public String getArtifactTypeName() { return type.getTypeName(); }
    public List<BlackboardAttribute> getAttributes() { return new ArrayList<>(attributes); }
    public void addAttributes(Collection<BlackboardAttribute> added) { attributes.addAll(added); }
}
