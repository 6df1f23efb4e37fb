// Test stub: the few members of the Autopsy/TSK API that the Face X-ray module uses, with the same signatures.
package org.sleuthkit.datamodel;

import java.io.File;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

public class AbstractFile implements Content {
    private final long id;
    private final String name;
    private final String parentPath;
    private final String localPath;
    private final String mimeType;
    private final TskData.TSK_DB_FILES_TYPE_ENUM type;
    private final boolean regularFile;
    private final List<AnalysisResult> results = new ArrayList<>();
    private Content dataSource;

    // Stub only: the file's bytes live at localPath on the test machine.
    public AbstractFile(long id, String name, String parentPath, String localPath, String mimeType,
                        TskData.TSK_DB_FILES_TYPE_ENUM type, boolean regularFile) {
        this.id = id; this.name = name; this.parentPath = parentPath; this.localPath = localPath;
        this.mimeType = mimeType; this.type = type; this.regularFile = regularFile;
    }
    public long getId() { return id; }
    public String getName() { return name; }
    public String getParentPath() { return parentPath; }
    public String getUniquePath() throws TskCoreException { return parentPath + name; }
    public String getMIMEType() { return mimeType; }
    public TskData.TSK_DB_FILES_TYPE_ENUM getType() { return type; }
    public boolean isFile() { return regularFile; }
    public boolean isDir() { return !regularFile; }
    public long getSize() { return localPath == null ? 0 : new File(localPath).length(); }
    public String getNameExtension() {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase();
    }
    public String getLocalPathForStub() { return localPath; }
    public void setDataSourceForStub(Content dataSource) { this.dataSource = dataSource; }
    public Content getDataSource() throws TskCoreException {
        if (dataSource == null) { throw new TskCoreException("no data source"); }
        return dataSource;
    }

    public AnalysisResultAdded newAnalysisResult(BlackboardArtifact.Type artifactType, Score score, String conclusion,
            String configuration, String justification, Collection<BlackboardAttribute> attributesList) throws TskCoreException {
        if (artifactType.getCategory() != BlackboardArtifact.Category.ANALYSIS_RESULT) {
            throw new TskCoreException("artifact type " + artifactType.getTypeName() + " is not an analysis result");
        }
        AnalysisResult result = new AnalysisResult(id, artifactType, score, conclusion, configuration, justification);
        if (attributesList != null) {
            result.addAttributes(attributesList);
        }
        results.add(result);
        return new AnalysisResultAdded(result, score);
    }
    public List<AnalysisResult> getAllAnalysisResults() throws TskCoreException { return new ArrayList<>(results); }
}
