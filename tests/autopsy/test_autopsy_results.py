"""The Autopsy module's plain helpers (facexray_results), run under CPython: they use no Java.

The same file runs under Jython inside Autopsy; test_autopsy_module.py plays
it there end to end.
"""

import importlib
import json
import os
import stat
import sys
from pathlib import Path

import pytest

MODULE_DIR = Path(__file__).resolve().parents[2] / "integrations" / "autopsy" / "FaceXray"


@pytest.fixture
def results(monkeypatch):
    monkeypatch.syspath_prepend(str(MODULE_DIR))
    module = importlib.import_module("facexray_results")
    yield module
    monkeypatch.delitem(sys.modules, "facexray_results")


def test_settings_come_from_defaults_then_file_then_environment(results, tmp_path):
    assert results.load_settings(str(tmp_path), {}) == {"cli": None, "model_dir": None, "device": "cpu"}
    (tmp_path / "facexray_settings.json").write_text(json.dumps({"cli": "/opt/fxr", "model_dir": "/m", "device": None}))
    assert results.load_settings(str(tmp_path), {}) == {"cli": "/opt/fxr", "model_dir": "/m", "device": "cpu"}
    overridden = results.load_settings(str(tmp_path), {"FXR_AUTOPSY_CLI": "/bin/other", "FXR_AUTOPSY_DEVICE": "cuda"})
    assert overridden == {"cli": "/bin/other", "model_dir": "/m", "device": "cuda"}
    (tmp_path / "facexray_settings.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        results.load_settings(str(tmp_path), {})
    (tmp_path / "facexray_settings.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        results.load_settings(str(tmp_path), {})


def test_executable_is_found_as_configured_or_on_the_path(results, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "fxr-forensic").write_text("not executable")
    program = second / "fxr-forensic"
    program.write_text("#!/bin/sh\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    search = os.pathsep.join([str(tmp_path / "absent"), str(first), str(second)])
    assert results.find_executable(None, search, windows=False) == str(program)
    assert results.find_executable(str(program), "", windows=False) == str(program)
    assert results.find_executable(str(tmp_path / "nope"), search, windows=False) is None
    assert results.find_executable(None, str(tmp_path / "absent"), windows=False) is None
    (first / "fxr-forensic.exe").write_text("")
    assert results.find_executable(None, search, windows=True) == str(first / "fxr-forensic.exe")


@pytest.mark.parametrize(
    ("mime", "extension", "expected"),
    [("image/jpeg", "txt", True), ("image/png", "", True), ("text/plain", "jpg", False),
     ("application/pdf", "png", False), (None, "JPG", True), ("application/octet-stream", "tiff", True),
     (None, "exe", False), ("", None, False)],
)
def test_media_is_chosen_by_detected_type_then_extension(results, mime, extension, expected):
    assert results.is_media(mime, extension) is expected


def test_exported_names_map_back_to_object_ids(results):
    for object_id, extension in ((7, "jpg"), (123456789012, "JPEG"), (5, ""), (9, "p/n\\g..x")):
        name = results.exported_name(object_id, extension)
        assert os.sep not in name and "\\" not in name and name.count(".") == 1
        assert results.object_id_of("/case/Temp/" + name) == object_id
        assert results.object_id_of("C:\\case\\Temp\\" + name) == object_id
    assert results.object_id_of("/evidence/holiday.jpg") is None


def test_check_answers_are_read(results):
    ready = [{"name": "hashing", "builtin": True, "error": None}, {"name": "face_xray", "builtin": True, "error": None},
             {"name": "third_party", "builtin": False, "error": "could not be loaded"}]
    assert results.check_problem(json.dumps(ready), 0) is None  # a broken third-party plugin does not stop ingest
    broken = [dict(ready[1], error="failed to start: ValueError: no model")] + ready[:1]
    assert results.check_problem(json.dumps(broken), 1) == "face_xray: failed to start: ValueError: no model"
    assert "no face_xray plugin" in results.check_problem(json.dumps(ready[:1]), 0)
    assert "did not answer as expected (exit code 2): Usage" in results.check_problem("", 2, "Usage: fxr-forensic ...")
    assert "(exit code 1): not json" in results.check_problem("not json", 1)


@pytest.mark.parametrize(
    ("score", "band", "expected"),
    [(0.99, "strong", "LIKELY_NOTABLE"), (0.85, "moderate", "LIKELY_NOTABLE"), (0.6, "inconclusive", "UNKNOWN"),
     (0.1, "no indication", "LIKELY_NONE"), (None, None, None)],
)
def test_bands_map_to_autopsy_significance(results, score, band, expected):
    record = {"score": score, "band": band, "faces": 1}
    assert results.significance(record) == expected
    if score is not None:
        assert f"{score:.3f} ({band}) over 1 face." in results.justification(record)


def test_scan_command_and_outputs(results):
    settings = {"device": "cpu", "model_dir": None}
    command, outputs = results.scan_command("/bin/fxr", "/case/Temp/x", "/case/out", settings, case_name="C1", exhibit="E1")
    assert command[:3] == ["/bin/fxr", "scan", "/case/Temp/x"] and "--model" not in command
    for option, key in (("--json", "json"), ("--report", "report"), ("--xray-images", "xrays")):
        assert command[command.index(option) + 1] == outputs[key] and outputs[key].startswith("/case/out/")
    assert command[command.index("--case") + 1] == "C1" and "--examiner" not in command and "--workers" not in command
    single, _ = results.scan_command("/bin/fxr", "/e", "/o", settings, single=True)
    assert single[single.index("--workers") + 1] == "1"
    with_model, _ = results.scan_command("/bin/fxr", "/e", "/o", dict(settings, model_dir="/weights"))
    assert with_model[with_model.index("--model") + 1] == "/weights"
    assert results.check_command("/bin/fxr", dict(settings, model_dir="/w"))[-2:] == ["--model", "/w"]


def test_reports_and_xray_index_are_read(results, tmp_path):
    report = {"scan": {"model_sha256": "ab" * 32}, "items": [
        {"path": "/t/12.jpg", "status": "scored", "reason": None, "score": 0.7, "band": "moderate",
         "faces": [{}, {}], "sha256": "00"},
        {"path": "/t/13.png", "status": "no_face", "reason": "no face found", "score": None, "band": None,
         "faces": [], "sha256": "11"},
    ]}
    (tmp_path / "scan.json").write_text(json.dumps(report))
    first, second = results.read_items(str(tmp_path / "scan.json"))
    assert (first["object_id"], first["faces"], first["model_sha256"], first["band"]) == (12, 2, "ab" * 32, "moderate")
    assert (second["object_id"], second["score"], second["status"]) == (13, None, "no_face")
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(ValueError, match="not a fxr-forensic scan report"):
        results.read_items(str(tmp_path / "bad.json"))
    assert results.read_xray_images(str(tmp_path / "absent.json")) == {}
    index = {"items": [{"path": "/t/12.jpg", "faces": [{"image": "a.png", "score": 0.2}, {"image": "b.png", "score": 0.7}]}]}
    (tmp_path / "xrays.json").write_text(json.dumps(index))
    assert results.read_xray_images(str(tmp_path / "xrays.json")) == {"/t/12.jpg": str(tmp_path / "b.png")}
