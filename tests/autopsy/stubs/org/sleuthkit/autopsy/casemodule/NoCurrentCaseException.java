// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.casemodule;

public class NoCurrentCaseException extends Exception {
    public NoCurrentCaseException(String message) { super(message); }
}
