// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.datamodel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public class Blackboard {
    public static class BlackboardException extends Exception {
        public BlackboardException(String message) { super(message); }
    }

    private final Map<String, BlackboardArtifact.Type> artifactTypes = new LinkedHashMap<>();
    private final Map<String, BlackboardAttribute.Type> attributeTypes = new LinkedHashMap<>();
    private final List<BlackboardArtifact> posted = new ArrayList<>();
    private final List<String> postedBy = new ArrayList<>();
    private final List<Long> postedJobs = new ArrayList<>();

    public synchronized BlackboardArtifact.Type getOrAddArtifactType(String typeName, String displayName, BlackboardArtifact.Category category) throws BlackboardException {
        BlackboardArtifact.Type known = artifactTypes.get(typeName);
        if (known == null) {
            known = new BlackboardArtifact.Type(10000 + artifactTypes.size(), typeName, displayName, category);
            artifactTypes.put(typeName, known);
        } else if (known.getCategory() != category) {
            throw new BlackboardException("artifact type " + typeName + " exists with another category");
        }
        return known;
    }

    public synchronized BlackboardAttribute.Type getOrAddAttributeType(String typeName, BlackboardAttribute.TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE valueType, String displayName) throws BlackboardException {
        BlackboardAttribute.Type known = attributeTypes.get(typeName);
        if (known == null) {
            known = new BlackboardAttribute.Type(20000 + attributeTypes.size(), typeName, displayName, valueType);
            attributeTypes.put(typeName, known);
        } else if (known.getValueType() != valueType) {
            throw new BlackboardException("attribute type " + typeName + " exists with another value type");
        }
        return known;
    }

    public synchronized void postArtifact(BlackboardArtifact artifact, String moduleName, Long ingestJobId) throws BlackboardException {
        posted.add(artifact);
        postedBy.add(moduleName);
        postedJobs.add(ingestJobId);
    }

    // Stub only: what the module posted, for the test to read back.
    public synchronized List<BlackboardArtifact> getPostedArtifacts() { return new ArrayList<>(posted); }
    public synchronized List<String> getPostingModules() { return new ArrayList<>(postedBy); }
    public synchronized List<Long> getPostingJobs() { return new ArrayList<>(postedJobs); }
}
