// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.coreutils;

public class Logger extends java.util.logging.Logger {
    private Logger(String name) { super(name, null); }
    public static Logger getLogger(String name) {
        Logger logger = new Logger(name);
        logger.setParent(java.util.logging.Logger.getLogger(""));
        return logger;
    }
}
