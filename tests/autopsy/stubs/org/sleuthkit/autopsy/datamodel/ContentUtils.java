// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.datamodel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import org.sleuthkit.datamodel.AbstractFile;
import org.sleuthkit.datamodel.Content;

public final class ContentUtils {
    public static void writeToFile(Content content, java.io.File outputFile) throws IOException {
        Files.copy(Paths.get(((AbstractFile) content).getLocalPathForStub()), outputFile.toPath(), StandardCopyOption.REPLACE_EXISTING);
    }
}
