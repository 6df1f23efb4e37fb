// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.datamodel;

public class TskCoreException extends Exception {
    public TskCoreException(String message) { super(message); }
}
