"""A third-party plugin, installed through its entry point, runs inside `fxr-forensic scan`.

The example plugin is pip-installed into a folder of its own (see conftest)
and put on PYTHONPATH of the real CLI, beside a broken third-party
distribution that the scan must report and leave out. Its findings must
reach the JSON and the PDF, and equal what the plugin says when called
directly on the same bytes.
"""

import csv
import importlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from pypdf import PdfReader

from facexray_forensics.plugins import ENTRY_POINT_GROUP, ScanContext
from facexray_forensics.records import Item
from facexray_forensics.renderers.json import load_schema
from facexray_forensics.samples import evidence_dir
from facexray_forensics.scan import ScanSettings

CLI = Path(sys.executable).with_name("fxr-forensic")


@pytest.fixture(scope="module")
def plugin_path(example_plugin_site, tmp_path_factory):
    """PYTHONPATH holding the installed example plugin and a broken third-party distribution."""
    broken = tmp_path_factory.mktemp("broken_plugin")
    dist_info = broken / "fxr_broken_demo-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: fxr-broken-demo\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbroken_demo = fxr_broken_demo:Missing\n")
    return os.pathsep.join([str(example_plugin_site), str(broken)])


def cli(arguments, plugin_path, **options):
    environment = {**os.environ, "PYTHONPATH": plugin_path}
    return subprocess.run([str(CLI), *arguments], env=environment, capture_output=True, text=True, **options)


def test_plugins_command_lists_builtin_and_third_party(plugin_path):
    listed = json.loads(cli(["plugins", "--json"], plugin_path, check=True).stdout)
    by_name = {entry["name"]: entry for entry in listed}
    assert {"hashing", "exif", "faces", "face_xray"} <= {name for name, entry in by_name.items() if entry["builtin"]}
    example = by_name["jpeg_quantisation"]
    assert (example["source"], example["source_version"], example["version"], example["handles"], example["error"]) == (
        "fxr-jpeg-quantisation", "0.1.0", "0.1.0", ["image"], None)
    assert "could not be loaded" in by_name["broken_demo"]["error"]
    assert [(column["name"], column["type"]) for column in example["columns"]] == [
        ("estimated_ijg_quality", "int"), ("chroma_subsampling", "str")]
    assert by_name["exif"]["columns"][0]["name"] == "camera_make" and by_name["hashing"]["columns"] == []
    table = cli(["plugins"], plugin_path, check=True).stdout
    assert re.search(r"^jpeg_quantisation\s+0\.1\.0\s+image\s+fxr-jpeg-quantisation 0\.1\.0$", table, re.MULTILINE)
    assert "broken_demo from fxr-broken-demo" in table


def test_unknown_plugin_selection_is_refused(plugin_path, tmp_path):
    completed = cli(["scan", str(evidence_dir() / "coffee.jpg"), "--json", str(tmp_path / "scan.json"),
                     "--no-plugin", "no_such_plugin"], plugin_path)
    assert completed.returncode == 1 and "no plugin named 'no_such_plugin'" in completed.stderr


def test_example_plugin_findings_reach_json_and_pdf(plugin_path, example_plugin_site, random_model, tmp_path, monkeypatch):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    picture = evidence / "astronaut.jpg"
    picture.write_bytes((evidence_dir() / "astronaut.jpg").read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    completed = cli(["scan", str(evidence), "--json", str(out / "scan.json"), "--report", str(out / "case.pdf"),
                     "--csv", str(out / "scan.csv"),
                     "--model", str(random_model), "--workers", "1", "--quiet"], plugin_path, timeout=600)
    assert completed.returncode in (0, 3), completed.stderr
    assert "leaving out plugin broken_demo from fxr-broken-demo" in completed.stderr

    monkeypatch.syspath_prepend(str(example_plugin_site))
    module = importlib.import_module("fxr_jpeg_quantisation")
    payload = picture.read_bytes()
    direct = module.JpegQuantisationPlugin()
    direct.start_up(ScanContext(settings=ScanSettings().for_plugins([direct])))
    direct = direct.process(
        Item(name="direct", kind="image", mime="image/jpeg", size=len(payload), open=lambda: io.BytesIO(payload)), {})
    monkeypatch.delitem(sys.modules, "fxr_jpeg_quantisation")

    document = json.loads((out / "scan.json").read_text())
    jsonschema.validate(document, load_schema())  # a third-party finding keeps the report within its schema
    [item] = document["items"]
    assert item["status"] == "scored"
    finding = item["findings"]["jpeg_quantisation"]
    assert finding["version"] == "0.1.0" and finding["values"] == direct.values and direct.values
    assert "jpeg_quantisation 0.1.0" in document["scan"]["settings"]["plugins"]
    # Its declared columns reach the CSV and the JSON, though no renderer knows the plugin.
    declared = {f"jpeg_quantisation.{key}": direct.values[key] for key in ("estimated_ijg_quality", "chroma_subsampling")}
    assert {key: item["columns"][key] for key in declared} == declared
    with open(out / "scan.csv", newline="", encoding="utf-8") as stream:
        (row,) = list(csv.DictReader(stream))
    assert {key: row[key] for key in declared} == {key: str(value) for key, value in declared.items()}

    text = "\n".join(page.extract_text() for page in PdfReader(out / "case.pdf").pages)
    # The key/value table may wrap a long key inside its cell, so compare without whitespace.
    section = re.sub(r"\s+", "", text[text.index("Findings of jpeg_quantisation 0.1.0"):])
    for key, value in direct.values.items():
        shown = ("yes" if value else "no") if isinstance(value, bool) else str(value)  # 0 is not False here
        assert key + shown in section, (key, shown)


def test_plugin_selection_runs_the_chosen_plugin_and_hashing_only(plugin_path, tmp_path):
    completed = cli(["scan", str(evidence_dir() / "astronaut.jpg"), "--json", str(tmp_path / "scan.json"),
                     "--plugin", "jpeg_quantisation", "--workers", "1", "--quiet"], plugin_path, timeout=300)
    assert completed.returncode == 0, completed.stderr
    document = json.loads((tmp_path / "scan.json").read_text())
    [item] = document["items"]
    assert set(item["findings"]) == {"hashing", "jpeg_quantisation"}
    assert item["findings"]["jpeg_quantisation"]["values"]["coding"] == "baseline"
    assert item["sha256"] and item["score"] is None  # hashed, but no face plugin ran
    assert [name.split()[0] for name in document["scan"]["settings"]["plugins"]] == ["hashing", "jpeg_quantisation"]


def test_a_third_party_setting_is_listed_offered_and_recorded(plugin_path, tmp_path):
    listed = {entry["name"]: entry for entry in json.loads(cli(["plugins", "--json"], plugin_path, check=True).stdout)}
    (setting,) = listed["jpeg_quantisation"]["settings"]
    assert (setting["name"], setting["flag"], setting["kind"], setting["default"], setting["minimum"]) == (
        "jpeg_quantisation_max_distance", "--jpeg-quantisation-max-distance", "int", None, 0)
    assert "--jpeg-quantisation-max-distance" in cli(["scan", "--help"], plugin_path, check=True).stdout
    completed = cli(["scan", str(evidence_dir() / "astronaut.jpg"), "--json", str(tmp_path / "scan.json"),
                     "--plugin", "jpeg_quantisation", "--jpeg-quantisation-max-distance", "0", "--quiet"], plugin_path,
                    timeout=300)
    assert completed.returncode == 0, completed.stderr
    document = json.loads((tmp_path / "scan.json").read_text())
    assert document["scan"]["settings"]["jpeg_quantisation_max_distance"] == 0
    values = document["items"][0]["findings"]["jpeg_quantisation"]["values"]
    assert (values["estimated_ijg_quality"] is None) == (values["ijg_table_distance"] > 0)
    custody = [json.loads(line) for line in (tmp_path / "scan.custody.jsonl").read_text().splitlines()]
    assert custody[0]["settings"]["jpeg_quantisation_max_distance"] == 0


def test_a_setting_no_chosen_plugin_reads_is_refused_before_writing(plugin_path, tmp_path):
    completed = cli(["scan", str(evidence_dir() / "astronaut.jpg"), "--json", str(tmp_path / "out" / "scan.json"),
                     "--plugin", "jpeg_quantisation", "--min-face", "40", "--quiet"], plugin_path, timeout=300)
    assert completed.returncode == 1 and "no plugin of this scan reads min_face" in completed.stderr
    assert "Traceback" not in completed.stderr and not (tmp_path / "out").exists()


def test_check_reports_a_model_that_cannot_load(plugin_path, tmp_path):
    completed = cli(["plugins", "--check", "--json", "--model", str(tmp_path)], plugin_path, timeout=300)
    assert completed.returncode == 1
    by_name = {entry["name"]: entry for entry in json.loads(completed.stdout)}
    assert by_name["face_xray"]["error"].startswith("failed to start: ValueError:") and str(tmp_path) in by_name["face_xray"]["error"]
    assert by_name["hashing"]["error"] is None and by_name["jpeg_quantisation"]["error"] is None
