// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.casemodule.services;

public class Services {
    private final FileManager fileManager = new FileManager();
    public FileManager getFileManager() { return fileManager; }
}
