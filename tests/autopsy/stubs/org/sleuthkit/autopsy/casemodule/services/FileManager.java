// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.casemodule.services;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.sleuthkit.datamodel.AbstractFile;
import org.sleuthkit.datamodel.Content;
import org.sleuthkit.datamodel.TskCoreException;

public class FileManager {
    private final List<AbstractFile> files = new ArrayList<>();

    // Stub only: files the data source holds.
    public synchronized void addFileForStub(AbstractFile file) { files.add(file); }

    // The name is an SQL LIKE pattern, as in Autopsy: '%' matches any run of characters.
    public synchronized List<AbstractFile> findFiles(Content dataSource, String fileName) throws TskCoreException {
        StringBuilder regex = new StringBuilder();
        for (String part : fileName.split("%", -1)) {
            if (regex.length() > 0 || fileName.startsWith("%")) { regex.append(".*"); }
            regex.append(Pattern.quote(part));
        }
        Pattern pattern = Pattern.compile(regex.toString(), Pattern.CASE_INSENSITIVE);
        List<AbstractFile> found = new ArrayList<>();
        for (AbstractFile file : files) {
            if (pattern.matcher(file.getName()).matches()) { found.add(file); }
        }
        return found;
    }
}
