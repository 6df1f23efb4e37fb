# -*- coding: utf-8 -*-
"""Face X-ray ingest modules for Autopsy (Jython 2.7).

Two factories, pick one per ingest job:

* "Face X-ray (each file)": a file ingest module. Each picture is copied to
  the case's temp folder and scanned on its own.
* "Face X-ray (whole data source)": a data-source ingest module. All pictures
  of the data source are copied and scanned in one run, which loads the model
  once and batches it; faster on large cases.

Both run ``fxr-forensic scan`` through Autopsy's ExecUtil, so the examiner's
cancel button stops the scan at once, then post one analysis result per
scored picture: probability, band and X-ray image as attributes, and a
likely-notable score for the strong and moderate bands. The scan's PDF is
added to the case as a report.
"""

import inspect
import os
import threading

from java.io import File
from java.lang import ProcessBuilder, System
from java.lang import Exception as JavaException
from java.util import ArrayList
from java.util.logging import Level
from org.sleuthkit.autopsy.casemodule import Case
from org.sleuthkit.autopsy.coreutils import ExecUtil, Logger
from org.sleuthkit.autopsy.datamodel import ContentUtils
from org.sleuthkit.autopsy.ingest import (
    DataSourceIngestModule,
    DataSourceIngestModuleProcessTerminator,
    FileIngestModule,
    FileIngestModuleProcessTerminator,
    IngestMessage,
    IngestModule,
    IngestModuleFactoryAdapter,
    IngestServices,
)
from org.sleuthkit.autopsy.ingest.IngestModule import IngestModuleException
from org.sleuthkit.datamodel import BlackboardArtifact, BlackboardAttribute, Score, TskData

import facexray_results

MODULE_NAME = "Face X-ray"
MODULE_VERSION = "0.1.0"
MODULE_DIRECTORY = os.path.dirname(os.path.abspath(inspect.getfile(inspect.currentframe())))
ARTIFACT_TYPE = ("FXR_FACE_XRAY", "Face X-ray: blended face")
ATTRIBUTE_TYPES = {
    "probability": ("FXR_PROBABILITY", BlackboardAttribute.TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE.DOUBLE, "Blended-face probability"),
    "band": ("FXR_BAND", BlackboardAttribute.TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE.STRING, "Face X-ray band"),
    "xray": ("FXR_XRAY_IMAGE", BlackboardAttribute.TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE.STRING, "X-ray image"),
    "faces": ("FXR_FACES", BlackboardAttribute.TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE.LONG, "Faces scored"),
    "report": ("FXR_REPORT", BlackboardAttribute.TSK_BLACKBOARD_ATTRIBUTE_VALUE_TYPE.STRING, "Face X-ray PDF report"),
}
SCORES = {
    "LIKELY_NOTABLE": Score.SCORE_LIKELY_NOTABLE,
    "LIKELY_NONE": Score.SCORE_LIKELY_NONE,
    "UNKNOWN": Score.SCORE_UNKNOWN,
}
SKIPPED_FILE_TYPES = (TskData.TSK_DB_FILES_TYPE_ENUM.UNALLOC_BLOCKS, TskData.TSK_DB_FILES_TYPE_ENUM.UNUSED_BLOCKS)

_logger = Logger.getLogger(MODULE_NAME)
# One readiness check per ingest job and settings, shared by the job's per-thread file modules;
# a later job checks again, so a model fixed after a refusal is seen without restarting Autopsy.
_checked = {}
_checked_lock = threading.Lock()


def _log(level, message):
    _logger.log(level, message)


def _settings():
    try:
        settings = facexray_results.load_settings(MODULE_DIRECTORY, os.environ)
    except ValueError as error:
        raise IngestModuleException("%s: %s" % (MODULE_NAME, error))
    windows = System.getProperty("os.name").lower().startswith("windows")
    settings["cli_path"] = facexray_results.find_executable(settings["cli"], os.environ.get("PATH"), windows)
    if settings["cli_path"] is None:
        where = settings["cli"] or "the PATH"
        raise IngestModuleException(
            "%s: the fxr-forensic program was not found in %s. Install facexray-forensics and set \"cli\" in %s "
            "(or the environment variable %s) to the full path of fxr-forensic."
            % (MODULE_NAME, where, os.path.join(MODULE_DIRECTORY, facexray_results.SETTINGS_FILE),
               facexray_results.ENVIRONMENT["cli"]))
    if settings["model_dir"] and not os.path.isdir(settings["model_dir"]):
        raise IngestModuleException("%s: the model folder %s does not exist; fix \"model_dir\" in %s or %s."
                                    % (MODULE_NAME, settings["model_dir"], facexray_results.SETTINGS_FILE,
                                       facexray_results.ENVIRONMENT["model_dir"]))
    return settings


def _run(command, output_path, terminator, error_path=None):
    """Run a command, its output in files; returns the exit code. The terminator can kill it.

    Without ``error_path`` the error stream goes into ``output_path`` too.
    """
    builder = ProcessBuilder(ArrayList(command))
    if error_path is None:
        builder.redirectErrorStream(True)
    else:
        builder.redirectError(File(error_path))
    builder.redirectOutput(File(output_path))
    return ExecUtil.execute(builder, terminator)


def _read_text(path):
    with open(path) as stream:
        return stream.read()


def _check_ready(settings, context, terminator):
    """Ask the CLI whether it can scan (the model loads and verifies); raise with its reason if not."""
    key = (context.getJobId(), settings["cli_path"], settings["model_dir"], settings["device"])
    with _checked_lock:
        if key in _checked:
            problem = _checked[key]
        else:
            folder = _job_folder(Case.getCurrentCase().getTempDirectory(), context)
            answer_path, log_path = os.path.join(folder, "check.json"), os.path.join(folder, "check.log")
            try:
                exit_code = _run(facexray_results.check_command(settings["cli_path"], settings), answer_path,
                                 terminator, log_path)
                problem = facexray_results.check_problem(_read_text(answer_path), exit_code, _read_text(log_path))
            except (IOError, OSError, JavaException) as error:
                problem = "fxr-forensic could not be run: %s" % error
            _checked[key] = problem
    if problem:
        raise IngestModuleException("%s cannot start: %s" % (MODULE_NAME, problem))


def _start(module, context, terminator):
    """What both modules do at start-up: settings, the readiness check, the blackboard types."""
    module.context = context
    module.settings = _settings()
    module.terminator = terminator
    _check_ready(module.settings, context, terminator)
    try:
        module.poster = _Poster(context)
    except JavaException as error:
        raise IngestModuleException("%s cannot create its blackboard types: %s" % (MODULE_NAME, error))


def _job_folder(parent, context, *parts):
    folder = os.path.join(parent, "FaceXray", "job-%d" % context.getJobId(), *[str(part) for part in parts])
    if not os.path.isdir(folder):
        os.makedirs(folder)
    return folder


def _remove_tree(folder):
    for root, folders, files in os.walk(folder, topdown=False):
        for name in files:
            os.remove(os.path.join(root, name))
        for name in folders:
            os.rmdir(os.path.join(root, name))
    if os.path.isdir(folder):
        os.rmdir(folder)


class _Poster(object):
    """Creates the custom types once and posts one analysis result per scored item."""

    def __init__(self, context):
        self.context = context
        self.case = Case.getCurrentCase()
        self.blackboard = self.case.getSleuthkitCase().getBlackboard()
        self.artifact_type = self.blackboard.getOrAddArtifactType(
            ARTIFACT_TYPE[0], ARTIFACT_TYPE[1], BlackboardArtifact.Category.ANALYSIS_RESULT)
        self.attribute_types = dict(
            (key, self.blackboard.getOrAddAttributeType(name, value_type, display))
            for key, (name, value_type, display) in ATTRIBUTE_TYPES.items())

    def _attribute(self, key, value):
        return BlackboardAttribute(self.attribute_types[key], MODULE_NAME, value)

    def post(self, content, record, xray_image, report_path):
        """Post the analysis result of one item record on ``content``; returns True when posted."""
        significance = facexray_results.significance(record)
        if significance is None:
            return False
        attributes = ArrayList()
        attributes.add(self._attribute("probability", float(record["score"])))
        attributes.add(self._attribute("band", record["band"]))
        attributes.add(self._attribute("faces", long(record["faces"])))
        attributes.add(self._attribute("report", report_path))
        if xray_image:
            attributes.add(self._attribute("xray", xray_image))
        configuration = "model sha256 %s" % (record["model_sha256"] or "unknown")
        added = content.newAnalysisResult(self.artifact_type, SCORES[significance], record["band"], configuration,
                                          facexray_results.justification(record), attributes)
        self.blackboard.postArtifact(added.getAnalysisResult(), MODULE_NAME, self.context.getJobId())
        if record["band"] in facexray_results.FLAGGED_BANDS:
            IngestServices.getInstance().postMessage(IngestMessage.createMessage(
                IngestMessage.MessageType.DATA, MODULE_NAME,
                "%s: %s (probability %.3f)" % (content.getName(), record["band"], record["score"])))
        return True


def _scan(settings, evidence_folder, output_folder, terminator, exhibit, single):
    """Run the scan; returns (records, outputs), or None when cancelled. Raises ValueError on failure."""
    case = Case.getCurrentCase()
    command, outputs = facexray_results.scan_command(
        settings["cli_path"], evidence_folder, output_folder, settings,
        case_name=case.getDisplayName(), examiner=case.getExaminer(), exhibit=exhibit, single=single)
    log_path = os.path.join(output_folder, "scan.log")
    exit_code = _run(command, log_path, terminator)
    if terminator.shouldTerminateProcess():
        return None
    if exit_code not in facexray_results.FINISHED_EXIT_CODES or not os.path.isfile(outputs["json"]):
        tail = _read_text(log_path)[-600:] if os.path.isfile(log_path) else ""
        raise ValueError("fxr-forensic scan failed with exit code %d: %s" % (exit_code, tail.strip()))
    return facexray_results.read_items(outputs["json"]), outputs


def _wanted(file):
    return (file.getType() not in SKIPPED_FILE_TYPES and file.isFile()
            and facexray_results.is_media(file.getMIMEType(), file.getNameExtension()))


def _exhibit(file):
    try:
        return file.getDataSource().getName()
    except JavaException:
        return None


class FaceXrayFileIngestModuleFactory(IngestModuleFactoryAdapter):
    """Offers the per-file module in Autopsy's list of ingest modules."""

    def getModuleDisplayName(self):
        return MODULE_NAME + " (each file)"

    def getModuleDescription(self):
        return ("Scans each picture for blended (forged) faces with fxr-forensic and posts the probability, "
                "band and X-ray image. Enable this or the data-source module, not both.")

    def getModuleVersionNumber(self):
        return MODULE_VERSION

    def isFileIngestModuleFactory(self):
        return True

    def createFileIngestModule(self, settings):
        return FaceXrayFileIngestModule()


class FaceXrayFileIngestModule(FileIngestModule):
    """Scans one picture per fxr-forensic run."""

    def startUp(self, context):
        _start(self, context, FileIngestModuleProcessTerminator(context))

    def process(self, file):
        if not _wanted(file):
            return IngestModule.ProcessResult.OK
        case = Case.getCurrentCase()
        evidence = _job_folder(case.getTempDirectory(), self.context, file.getId())
        output = _job_folder(case.getModuleDirectory(), self.context, file.getId())
        try:
            ContentUtils.writeToFile(file, File(os.path.join(
                evidence, facexray_results.exported_name(file.getId(), file.getNameExtension()))))
            scanned = _scan(self.settings, evidence, output, self.terminator, _exhibit(file), single=True)
            if scanned is None:
                _log(Level.INFO, "cancelled while scanning %s" % file.getName())
                return IngestModule.ProcessResult.OK
            records, outputs = scanned
            images = facexray_results.read_xray_images(outputs["xrays"])
            flagged = False
            for record in records:
                if record["object_id"] == file.getId():
                    self.poster.post(file, record, images.get(record["path"]), outputs["report"])
                    flagged = flagged or record["band"] in facexray_results.FLAGGED_BANDS
            if flagged:
                case.addReport(outputs["report"], MODULE_NAME, "Face X-ray: %s" % file.getName())
            return IngestModule.ProcessResult.OK
        except (IOError, OSError, ValueError, JavaException) as error:
            _log(Level.SEVERE, "Face X-ray failed on %s: %s" % (file.getName(), error))
            return IngestModule.ProcessResult.ERROR
        finally:
            _remove_tree(evidence)

    def shutDown(self):
        pass


class FaceXrayDataSourceIngestModuleFactory(IngestModuleFactoryAdapter):
    """Offers the batching data-source module in Autopsy's list of ingest modules."""

    def getModuleDisplayName(self):
        return MODULE_NAME + " (whole data source)"

    def getModuleDescription(self):
        return ("Scans all pictures of a data source for blended (forged) faces in one fxr-forensic run, "
                "with one PDF report. Enable this or the per-file module, not both.")

    def getModuleVersionNumber(self):
        return MODULE_VERSION

    def isDataSourceIngestModuleFactory(self):
        return True

    def createDataSourceIngestModule(self, settings):
        return FaceXrayDataSourceIngestModule()


class FaceXrayDataSourceIngestModule(DataSourceIngestModule):
    """Copies every picture of a data source and scans them in one fxr-forensic run."""

    def startUp(self, context):
        _start(self, context, DataSourceIngestModuleProcessTerminator(context))

    def process(self, data_source, progress):
        case = Case.getCurrentCase()
        files = [file for file in case.getServices().getFileManager().findFiles(data_source, "%") if _wanted(file)]
        progress.switchToDeterminate(len(files) + 2)
        evidence = _job_folder(case.getTempDirectory(), self.context, "source-%d" % data_source.getId())
        output = _job_folder(case.getModuleDirectory(), self.context, "source-%d" % data_source.getId())
        try:
            by_id = {}
            for number, file in enumerate(files):
                if self.context.dataSourceIngestIsCancelled():
                    return IngestModule.ProcessResult.OK
                ContentUtils.writeToFile(file, File(os.path.join(
                    evidence, facexray_results.exported_name(file.getId(), file.getNameExtension()))))
                by_id[file.getId()] = file
                progress.progress("Copying %s" % file.getName(), number + 1)
            if not by_id:
                return IngestModule.ProcessResult.OK
            progress.progress("Scanning %d pictures with fxr-forensic" % len(by_id), len(files) + 1)
            scanned = _scan(self.settings, evidence, output, self.terminator, data_source.getName(), single=False)
            if scanned is None:
                _log(Level.INFO, "cancelled while scanning data source %s" % data_source.getName())
                return IngestModule.ProcessResult.OK
            records, outputs = scanned
            images = facexray_results.read_xray_images(outputs["xrays"])
            posted = flagged = 0
            for record in records:
                file = by_id.get(record["object_id"])
                if file is not None and self.poster.post(file, record, images.get(record["path"]), outputs["report"]):
                    posted += 1
                    flagged += record["band"] in facexray_results.FLAGGED_BANDS
            case.addReport(outputs["report"], MODULE_NAME, "Face X-ray: %s" % data_source.getName())
            progress.progress(len(files) + 2)
            IngestServices.getInstance().postMessage(IngestMessage.createMessage(
                IngestMessage.MessageType.INFO, MODULE_NAME,
                "%d pictures scanned, %d scored, %d flagged (strong or moderate)" % (len(by_id), posted, flagged)))
            return IngestModule.ProcessResult.OK
        except (IOError, OSError, ValueError, JavaException) as error:
            _log(Level.SEVERE, "Face X-ray failed on data source %s: %s" % (data_source.getName(), error))
            return IngestModule.ProcessResult.ERROR
        finally:
            _remove_tree(evidence)

    def shutDown(self):
        pass
