// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.autopsy.casemodule;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import org.sleuthkit.autopsy.casemodule.services.Services;
import org.sleuthkit.datamodel.SleuthkitCase;
import org.sleuthkit.datamodel.TskCoreException;

public class Case {
    private static Case current;
    private final String caseDirectory;
    private final String displayName;
    private final String examiner;
    private final SleuthkitCase sleuthkitCase = new SleuthkitCase();
    private final Services services = new Services();
    private final List<String[]> reports = new ArrayList<>();

    private Case(String caseDirectory, String displayName, String examiner) {
        this.caseDirectory = caseDirectory; this.displayName = displayName; this.examiner = examiner;
    }

    // Stub only: open a case in a folder, as Autopsy does when the examiner opens one.
    public static synchronized Case openForStub(String caseDirectory, String displayName, String examiner) {
        current = new Case(caseDirectory, displayName, examiner);
        new File(current.getTempDirectory()).mkdirs();
        new File(current.getModuleDirectory()).mkdirs();
        new File(current.getReportDirectory()).mkdirs();
        return current;
    }

    public static synchronized Case getCurrentCase() {
        if (current == null) { throw new IllegalStateException("no current case"); }
        return current;
    }
    public static synchronized Case getCurrentCaseThrows() throws NoCurrentCaseException {
        if (current == null) { throw new NoCurrentCaseException("no current case"); }
        return current;
    }
    public String getCaseDirectory() { return caseDirectory; }
    public String getDisplayName() { return displayName; }
    public String getExaminer() { return examiner; }
    public String getTempDirectory() { return caseDirectory + File.separator + "Temp"; }
    public String getModuleDirectory() { return caseDirectory + File.separator + "ModuleOutput"; }
    public String getReportDirectory() { return caseDirectory + File.separator + "Reports"; }
    public SleuthkitCase getSleuthkitCase() { return sleuthkitCase; }
    public Services getServices() { return services; }

    public synchronized void addReport(String localPath, String srcModuleName, String reportName) throws TskCoreException {
        if (!new File(localPath).exists()) { throw new TskCoreException("no report file at " + localPath); }
        reports.add(new String[] {localPath, srcModuleName, reportName});
    }
    // Stub only: the reports added, as {path, module, name}.
    public synchronized List<String[]> getReportsForStub() { return new ArrayList<>(reports); }
}
