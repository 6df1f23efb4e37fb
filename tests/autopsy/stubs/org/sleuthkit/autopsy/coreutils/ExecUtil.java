// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.coreutils;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

public final class ExecUtil {
    public interface ProcessTerminator {
        boolean shouldTerminateProcess();
    }

    // As in Autopsy: poll the terminator while the process runs and kill the process when it says so.
    public static int execute(ProcessBuilder processBuilder, ProcessTerminator terminator) throws SecurityException, IOException {
        Process process = processBuilder.start();
        try {
            while (!process.waitFor(100, TimeUnit.MILLISECONDS)) {
                if (terminator.shouldTerminateProcess()) {
                    process.destroyForcibly();
                    process.waitFor();
                    break;
                }
            }
        } catch (InterruptedException interrupted) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        return process.exitValue();
    }
}
