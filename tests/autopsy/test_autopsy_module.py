"""The Autopsy ingest module, run under Jython against stub Autopsy/TSK classes and the real fxr-forensic.

One Jython process (tests/autopsy/drive_module.py) plays every ingest job,
because the JVM starts slowly; the tests read what it recorded. What the
module posted is checked against the scan's own JSON report, read here with
CPython, and the hashes against hashlib on the original files.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from facexray_forensics.custody import verify_log
from facexray_forensics.samples import evidence_dir

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
MODULE_DIR = REPOSITORY / "integrations" / "autopsy" / "FaceXray"
CLI = Path(sys.executable).with_name("fxr-forensic")
CASE_NAME, EXAMINER = "Case 2026-117", "A. Examiner"
BLENDED, NO_FACE, CORRUPT = "astronaut_self_blended.jpg", "coffee.jpg", "astronaut_truncated.jpg"


def sample(name):
    return str(evidence_dir() / name)


@pytest.fixture(scope="module")
def run(jython, stubs_jar, flagging_model, tmp_path_factory):
    """Play every ingest job once; returns (recorded outcome by scenario name, case folders, plan)."""
    root = tmp_path_factory.mktemp("autopsy")
    notes = root / "notes.txt"
    notes.write_text("not a picture\n")
    empty_model = root / "empty-model"
    empty_model.mkdir()
    # A program that passes the readiness check but whose scan fails: the module must report, not crash.
    failing_cli = root / "failing" / "fxr-forensic"
    failing_cli.parent.mkdir()
    failing_cli.write_text(
        "#!/bin/sh\n"
        "if [ \"$1\" = plugins ]; then echo '[{\"name\": \"face_xray\", \"builtin\": true, \"error\": null}]'; exit 0; fi\n"
        "echo 'fxr-forensic scan: disk full' >&2; exit 1\n"
    )
    failing_cli.chmod(0o755)
    environment = {"FXR_AUTOPSY_CLI": str(CLI), "FXR_AUTOPSY_MODEL": str(flagging_model)}

    def scenario(name, factory, job_id, files=(), **extra):
        case_dir = root / name
        return {"name": name, "factory": factory, "job_id": job_id, "case_dir": str(case_dir),
                "case_name": CASE_NAME, "examiner": EXAMINER, "files": list(files),
                "environment": extra.pop("environment", environment), **extra}

    media = [
        {"id": 101, "name": BLENDED, "local": sample(BLENDED), "mime": "image/jpeg"},
        {"id": 102, "name": NO_FACE, "local": sample(NO_FACE), "mime": None},  # no detected type: by extension
        {"id": 103, "name": CORRUPT, "local": sample(CORRUPT), "mime": "image/jpeg"},
    ]
    skipped = [
        {"id": 201, "name": "notes.txt", "local": str(notes), "mime": "text/plain"},
        {"id": 202, "name": "photos", "local": None, "mime": None, "is_file": False},
        {"id": 203, "name": "unalloc.jpg", "local": str(notes), "mime": None, "type": "UNALLOC_BLOCKS"},
        {"id": 204, "name": "disguised.jpg", "local": str(notes), "mime": "text/plain"},
    ]
    plan = {
        "stubs_jar": str(stubs_jar),
        "module_dir": str(MODULE_DIR),
        "scenarios": [
            scenario("no_cli", "FaceXrayFileIngestModuleFactory", 1,
                     environment={"FXR_AUTOPSY_CLI": str(root / "missing" / "fxr-forensic")}),
            scenario("missing_model_dir", "FaceXrayFileIngestModuleFactory", 2,
                     environment={"FXR_AUTOPSY_CLI": str(CLI), "FXR_AUTOPSY_MODEL": str(root / "no-such-model")}),
            scenario("empty_model_dir", "FaceXrayDataSourceIngestModuleFactory", 3,
                     environment={"FXR_AUTOPSY_CLI": str(CLI), "FXR_AUTOPSY_MODEL": str(empty_model)}),
            scenario("file_module", "FaceXrayFileIngestModuleFactory", 4, [media[0], *skipped]),
            scenario("data_source_module", "FaceXrayDataSourceIngestModuleFactory", 5, [*media, *skipped],
                     data_source_id=7, data_source_name="exhibit-7"),
            scenario("cancelled", "FaceXrayDataSourceIngestModuleFactory", 6, media, cancel_after_ms=1500),
            scenario("failing_scan", "FaceXrayFileIngestModuleFactory", 7, media[:1],
                     environment={"FXR_AUTOPSY_CLI": str(failing_cli)}),
        ],
    }
    plan_path, result_path = root / "plan.json", root / "result.json"
    plan_path.write_text(json.dumps(plan))
    completed = subprocess.run([jython, str(HERE / "drive_module.py"), str(plan_path), str(result_path)],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    result = json.loads(result_path.read_text())
    return {outcome["name"]: outcome for outcome in result["scenarios"]}, result, plan


def module_output(case_dir, job_id, folder):
    return Path(case_dir) / "ModuleOutput" / "FaceXray" / f"job-{job_id}" / folder


def scan_items(output):
    document = json.loads((output / "facexray.json").read_text())
    return document, {os.path.basename(item["path"]): item for item in document["items"]}


def test_factories_are_found_as_autopsy_finds_them(run):
    _, result, _ = run
    factories = result["factories"]
    assert set(factories) == {"FaceXrayFileIngestModuleFactory", "FaceXrayDataSourceIngestModuleFactory"}
    assert factories["FaceXrayFileIngestModuleFactory"]["file"] and not factories["FaceXrayFileIngestModuleFactory"]["data_source"]
    assert factories["FaceXrayDataSourceIngestModuleFactory"]["data_source"]
    assert not factories["FaceXrayDataSourceIngestModuleFactory"]["file"]
    assert len({factory["display_name"] for factory in factories.values()}) == 2


def test_start_up_refuses_without_cli_or_model(run):
    outcomes, _, _ = run
    assert "fxr-forensic program was not found" in outcomes["no_cli"]["start_up_error"]
    assert "FXR_AUTOPSY_CLI" in outcomes["no_cli"]["start_up_error"]
    assert "no-such-model does not exist" in outcomes["missing_model_dir"]["start_up_error"]
    # The CLI itself tried to load the model and said why it could not.
    error = outcomes["empty_model_dir"]["start_up_error"]
    assert "cannot start" in error and "face_xray" in error and "failed to start" in error
    for name in ("no_cli", "missing_model_dir", "empty_model_dir"):
        assert "process" not in outcomes[name] or outcomes[name]["process"] == []


def check_result(result, item, output, file_id):
    """One posted analysis result against the scan's JSON record and X-ray index."""
    assert result["object_id"] == file_id and result["on_file"]
    assert (result["type"], result["category"]) == ("FXR_FACE_XRAY", "ANALYSIS_RESULT")
    assert result["module"] == "Face X-ray"
    attributes = result["attributes"]
    assert attributes["FXR_PROBABILITY"] == item["score"]
    assert result["attribute_kinds"]["FXR_PROBABILITY"] == "DOUBLE"
    assert attributes["FXR_BAND"] == item["band"] == result["conclusion"]
    assert attributes["FXR_FACES"] == len(item["faces"]) >= 1
    # The flagging model puts every scored face in the strong band: likely notable.
    assert item["band"] == "strong" and result["significance"] == "LIKELY_NOTABLE"
    index = json.loads((output / "xrays.json").read_text())
    entry = next(entry for entry in index["items"] if entry["path"] == item["path"])
    strongest = max(entry["faces"], key=lambda face: face["score"])
    image = Path(attributes["FXR_XRAY_IMAGE"])
    assert image == output / strongest["image"]
    assert hashlib.sha256(image.read_bytes()).hexdigest() == strongest["image_sha256"]
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(attributes["FXR_REPORT"]) == output / "facexray.pdf"
    assert "%.3f" % item["score"] in result["justification"]


def test_file_module_posts_what_the_scan_found(run):
    outcomes, _, plan = run
    outcome = outcomes["file_module"]
    case_dir = plan["scenarios"][3]["case_dir"]
    assert [result for _, result in outcome["process"]] == ["OK"] * 5
    output = module_output(case_dir, 4, "101")
    document, items = scan_items(output)
    item = items["101.jpg"]
    assert item["sha256"] == hashlib.sha256(Path(sample(BLENDED)).read_bytes()).hexdigest()
    assert len(document["items"]) == 1  # skipped files were never exported or scanned
    assert (document["scan"]["case"], document["scan"]["examiner"], document["scan"]["exhibit"]) == (CASE_NAME, EXAMINER, "exhibit-1")
    [result] = outcome["results"]
    check_result(result, item, output, 101)
    assert result["configuration"] == "model sha256 " + document["scan"]["model_sha256"]
    assert outcome["reports"] == [[str(output / "facexray.pdf"), "Face X-ray", "Face X-ray: " + BLENDED]]
    assert (output / "facexray.pdf").read_bytes()[:5] == b"%PDF-"
    assert outcome["left_in_temp"] == []  # the exported copy is removed


def test_data_source_module_batches_and_posts_only_scored_items(run):
    outcomes, result, plan = run
    outcome = outcomes["data_source_module"]
    assert outcome["process"] == [["exhibit-7", "OK"]]
    assert outcome["progress"] == [5, 5]  # three copies, the scan, the posting
    output = module_output(plan["scenarios"][4]["case_dir"], 5, "source-7")
    document, items = scan_items(output)
    assert set(items) == {"101.jpg", "102.jpg", "103.jpg"}
    for name, file_id in ((BLENDED, 101), (NO_FACE, 102), (CORRUPT, 103)):
        assert items[f"{file_id}.jpg"]["sha256"] == hashlib.sha256(Path(sample(name)).read_bytes()).hexdigest()
    assert items["102.jpg"]["status"] == "no_face" and items["103.jpg"]["status"] == "unreadable"
    assert document["scan"]["exhibit"] == "exhibit-7"
    [posted] = outcome["results"]
    check_result(posted, items["101.jpg"], output, 101)
    assert posted["job"] == 5
    assert outcome["reports"] == [[str(output / "facexray.pdf"), "Face X-ray", "Face X-ray: exhibit-7"]]
    assert outcome["left_in_temp"] == []
    custody = verify_log(document["scan"]["custody_log"])
    assert custody.ok and custody.records > 3 and Path(document["scan"]["custody_log"]).parent == output
    assert ["INFO", "Face X-ray", "3 pictures scanned, 1 scored, 1 flagged (strong or moderate)"] in result["inbox"]
    assert ["DATA", "Face X-ray", f"{BLENDED}: strong (probability %.3f)" % items["101.jpg"]["score"]] in result["inbox"]


def test_cancel_kills_the_scan_and_posts_nothing(run):
    outcomes, _, plan = run
    outcome = outcomes["cancelled"]
    assert outcome["process"] == [["exhibit-1", "OK"]]
    assert outcome["results"] == [] and outcome["reports"] == []
    assert outcome["left_in_temp"] == []
    # Killed at the first poll after 1.5 s: well before a scan of three pictures could finish.
    assert outcome["process_seconds"] < 5
    assert not (module_output(plan["scenarios"][5]["case_dir"], 6, "source-1") / "facexray.json").exists()


def test_every_module_file_compiles_under_jython(jython, tmp_path):
    copies = []
    for source in sorted(MODULE_DIR.glob("*.py")):
        copies.append(tmp_path / source.name)  # py_compile writes NAME$py.class beside its input
        shutil.copy(source, copies[-1])
    completed = subprocess.run([jython, "-m", "py_compile", *map(str, copies)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert {path.name for path in tmp_path.glob("*$py.class")} == {f"{path.stem}$py.class" for path in copies}


def test_autopsy_zip_holds_the_module_folder(tmp_path):
    archive = tmp_path / "facexray-autopsy.zip"
    subprocess.run(["make", "--no-print-directory", "autopsy-zip", f"AUTOPSY_ZIP={archive}"], cwd=REPOSITORY,
                   check=True, capture_output=True)
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
    expected = {f"FaceXray/{path.name}" for path in MODULE_DIR.iterdir() if path.suffix in (".py", ".md", ".json")}
    assert expected <= names and "FaceXray/facexray_ingest.py" in names
    assert not [name for name in names if name.endswith(".class") or "__pycache__" in name]


def test_a_failing_scan_is_an_error_result_not_a_crash(run):
    outcomes, _, plan = run
    outcome = outcomes["failing_scan"]
    assert outcome["process"] == [[BLENDED, "ERROR"]]
    assert outcome["results"] == [] and outcome["reports"] == [] and outcome["left_in_temp"] == []
    log = module_output(plan["scenarios"][6]["case_dir"], 7, "101") / "scan.log"
    assert "disk full" in log.read_text()
