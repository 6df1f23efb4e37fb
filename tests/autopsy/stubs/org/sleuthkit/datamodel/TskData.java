// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.datamodel;

public class TskData {
    public enum TSK_DB_FILES_TYPE_ENUM { FS, CARVED, DERIVED, LOCAL, UNALLOC_BLOCKS, UNUSED_BLOCKS, VIRTUAL_DIR, SLACK, LOCAL_DIR, LAYOUT_FILE }
}
