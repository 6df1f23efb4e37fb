# -*- coding: utf-8 -*-
"""Runs the Face X-ray Autopsy module under Jython against the stub Autopsy classes.

Usage: jython drive_module.py PLAN.json RESULT.json

Loads the module the way Autopsy's JythonModuleLoader does (the factory
classes are found by the "class ...IngestModuleFactory..." lines, imported
with the module folder briefly on sys.path, and made without arguments), then
plays each scenario of the plan: an ingest job with a case, files and
settings. Everything the module posted (analysis results, reports, inbox
messages) and what startUp/process returned is written to RESULT.json as
plain values for pytest to check. One Jython process plays every scenario,
because the JVM starts slowly.
"""

from __future__ import print_function

import json
import os
import sys
import time

PLAN = json.load(open(sys.argv[1]))
sys.path.append(PLAN["stubs_jar"])

from org.sleuthkit.autopsy.casemodule import Case  # noqa: E402
from org.sleuthkit.autopsy.ingest import DataSourceIngestModuleProgress, IngestJobContext, IngestServices  # noqa: E402
from org.sleuthkit.autopsy.ingest.IngestModule import IngestModuleException  # noqa: E402
from org.sleuthkit.datamodel import AbstractFile, Image, TskData  # noqa: E402


def load_factories(module_dir):
    """Find and build the factories as Autopsy's loader does; returns {class name: factory}."""
    factories = {}
    for name in sorted(os.listdir(module_dir)):
        if not name.endswith(".py"):
            continue
        module_name = name[:-3]
        for line in open(os.path.join(module_dir, name)):
            if line.startswith("class ") and "IngestModuleFactory" in line:
                class_name = line[len("class "):line.index("(")]
                sys.path.append(module_dir)
                try:
                    module = __import__(module_name)
                    factories[class_name] = getattr(module, class_name)()
                finally:
                    sys.path.remove(module_dir)
    return factories


def attribute_value(attribute):
    kind = str(attribute.getAttributeType().getValueType())
    if kind == "DOUBLE":
        return attribute.getValueDouble()
    if kind == "LONG":
        return attribute.getValueLong()
    if kind == "INTEGER":
        return attribute.getValueInt()
    return attribute.getValueString()


def posted_results(case, files):
    blackboard = case.getSleuthkitCase().getBlackboard()
    modules = blackboard.getPostingModules()
    jobs = blackboard.getPostingJobs()
    names = dict((file.getId(), file.getName()) for file in files)
    results = []
    for index, artifact in enumerate(blackboard.getPostedArtifacts()):
        results.append({
            "object_id": artifact.getObjectID(),
            "file": names.get(artifact.getObjectID()),
            "type": artifact.getType().getTypeName(),
            "type_display": artifact.getType().getDisplayName(),
            "category": str(artifact.getType().getCategory()),
            "significance": str(artifact.getScore().getSignificance()),
            "conclusion": artifact.getConclusion(),
            "configuration": artifact.getConfiguration(),
            "justification": artifact.getJustification(),
            "attributes": dict((attribute.getAttributeType().getTypeName(), attribute_value(attribute))
                               for attribute in artifact.getAttributes()),
            "attribute_kinds": dict((attribute.getAttributeType().getTypeName(),
                                     str(attribute.getAttributeType().getValueType()))
                                    for attribute in artifact.getAttributes()),
            "module": modules[index],
            "job": jobs[index],
            "on_file": len(files) > 0 and any(
                result.getArtifactID() == artifact.getArtifactID()
                for file in files if file.getId() == artifact.getObjectID()
                for result in file.getAllAnalysisResults()),
        })
    return results


def make_file(spec, data_source):
    file = AbstractFile(spec["id"], spec["name"], "/" + data_source.getName() + "/", spec.get("local"),
                        spec.get("mime"), getattr(TskData.TSK_DB_FILES_TYPE_ENUM, spec.get("type", "FS")),
                        spec.get("is_file", True))
    file.setDataSourceForStub(data_source)
    return file


def play(factories, scenario):
    case = Case.openForStub(scenario["case_dir"], scenario["case_name"], scenario["examiner"])
    for key in ("FXR_AUTOPSY_CLI", "FXR_AUTOPSY_MODEL", "FXR_AUTOPSY_DEVICE"):
        os.environ.pop(key, None)
    os.environ.update(scenario.get("environment", {}))
    data_source = Image(scenario.get("data_source_id", 1), scenario.get("data_source_name", "exhibit-1"))
    files = [make_file(spec, data_source) for spec in scenario.get("files", [])]
    for file in files:
        case.getServices().getFileManager().addFileForStub(file)
    context = IngestJobContext(scenario["job_id"])
    factory = factories[scenario["factory"]]
    outcome = {"name": scenario["name"], "process": []}
    if factory.isFileIngestModuleFactory():
        module = factory.createFileIngestModule(None)
    else:
        module = factory.createDataSourceIngestModule(None)
    started = time.time()
    try:
        module.startUp(context)
    except IngestModuleException as error:
        outcome["start_up_error"] = error.getMessage()
        return outcome
    outcome["start_up_seconds"] = time.time() - started
    if scenario.get("cancel_after_ms") is not None:  # the examiner presses cancel while the job runs
        context.cancelAfterForStub(scenario["cancel_after_ms"])
    started = time.time()
    if factory.isFileIngestModuleFactory():
        for file in files:
            outcome["process"].append([file.getName(), str(module.process(file))])
    else:
        progress = DataSourceIngestModuleProgress()
        outcome["process"].append([data_source.getName(), str(module.process(data_source, progress))])
        outcome["progress"] = [progress.getDoneForStub(), progress.getTotalForStub()]
    outcome["process_seconds"] = time.time() - started
    module.shutDown()
    outcome["results"] = posted_results(case, files)
    outcome["reports"] = [list(report) for report in case.getReportsForStub()]
    outcome["left_in_temp"] = sorted(
        os.path.relpath(os.path.join(root, name), case.getTempDirectory())
        for root, _, names in os.walk(case.getTempDirectory()) for name in names
        if name not in ("check.json", "check.log"))
    return outcome


def main():
    factories = load_factories(PLAN["module_dir"])
    result = {
        "factories": dict((name, {
            "display_name": factory.getModuleDisplayName(),
            "description": factory.getModuleDescription(),
            "version": factory.getModuleVersionNumber(),
            "file": factory.isFileIngestModuleFactory(),
            "data_source": factory.isDataSourceIngestModuleFactory(),
        }) for name, factory in factories.items()),
        "scenarios": [],
    }
    for scenario in PLAN["scenarios"]:
        result["scenarios"].append(play(factories, scenario))
    result["inbox"] = [[str(message.getMessageType()), message.getSource(), message.getSubject()]
                       for message in IngestServices.getInstance().getMessagesForStub()]
    with open(sys.argv[2], "w") as stream:
        json.dump(result, stream, indent=2)


main()
