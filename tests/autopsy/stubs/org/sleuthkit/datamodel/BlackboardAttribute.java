// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.datamodel;

import java.util.Collections;
import java.util.List;

public class BlackboardAttribute {
    public enum TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE { STRING, INTEGER, LONG, DOUBLE, BYTE, DATETIME, JSON }

    public static class Type {
        private final int typeId;
        private final String typeName;
        private final String displayName;
        private final TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE valueType;
        public Type(int typeId, String typeName, String displayName, TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE valueType) {
            this.typeId = typeId; this.typeName = typeName; this.displayName = displayName; this.valueType = valueType;
        }
        public int getTypeID() { return typeId; }
        public String getTypeName() { return typeName; }
        public String getDisplayName() { return displayName; }
        public TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE getValueType() { return valueType; }
    }

    private final Type type;
    private final String source;
    private final Object value;

    // Like TSK, a value of the wrong kind for the attribute type is refused.
    private BlackboardAttribute(Type type, String source, Object value, TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE given) {
        if (type.getValueType() != given) {
            throw new IllegalArgumentException("attribute " + type.getTypeName() + " holds " + type.getValueType() + ", not " + given);
        }
        this.type = type; this.source = source; this.value = value;
    }
    public BlackboardAttribute(Type type, String source, String value) { this(type, source, value, TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE.STRING); }
    public BlackboardAttribute(Type type, String source, int value) { this(type, source, value, TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE.INTEGER); }
    public BlackboardAttribute(Type type, String source, long value) { this(type, source, value, TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE.LONG); }
    public BlackboardAttribute(Type type, String source, double value) { this(type, source, value, TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE.DOUBLE); }

    public Type getAttributeType() { return type; }
    public List<String> getSources() { return Collections.singletonList(source); }
    public String getValueString() { return (String) value; }
    public int getValueInt() { return (Integer) value; }
    public long getValueLong() { return (Long) value; }
    public double getValueDouble() { return (Double) value; }
    public String getDisplayString() { return String.valueOf(value); }
}
