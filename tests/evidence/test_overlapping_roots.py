"""Overlapping evidence roots: each file scanned once, and the merge recorded in the log and the reports."""

import hashlib
import json
import re

import pypdf
from click.testing import CliRunner

from facexray_forensics.cli import main
from facexray_forensics.custody import verify_log

CONTENTS = {"a.bin": b"outer file\n", "sub/c.bin": b"inner file\n", "sub/deeper/d.bin": b"deepest file\n"}


def _evidence(tmp_path):
    evidence = tmp_path / "ev"
    for name, content in CONTENTS.items():
        (evidence / name).parent.mkdir(parents=True, exist_ok=True)
        (evidence / name).write_bytes(content)
    return evidence


def _scan(out, *arguments):
    """A hashing-only scan into ``out``: (the CLI result, the JSON report, the custody log's records)."""
    result = CliRunner().invoke(main, ["scan", *map(str, arguments), "--plugin", "hashing", "--workers", "1", "--quiet",
                                       "--json", str(out / "scan.json")], catch_exceptions=False)
    log = out / "scan.custody.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert verify_log(log).ok
    return result, json.loads((out / "scan.json").read_text()), records


def _scanned(document):
    return {(item["path"], item["sha256"]) for item in document["items"]}


def _expected(names_to_files):
    return {(name, hashlib.sha256(CONTENTS[file]).hexdigest()) for name, file in names_to_files.items()}


def _recorded(result, document, records, action="scan_started"):
    """The warnings as the JSON report has them, after checking the custody log and stderr say the same."""
    warnings = document["scan"]["evidence_warnings"]
    started = [record for record in records if record["action"] == action]
    assert started and started[-1]["data"]["evidence_warnings"] == warnings
    for warning in warnings:
        assert f"fxr-forensic scan: warning: {warning}" in result.stderr
    return warnings


EVERY_FILE_ONCE = {"ev/a.bin": "a.bin", "ev/sub/c.bin": "sub/c.bin", "ev/sub/deeper/d.bin": "sub/deeper/d.bin"}


def test_a_folder_inside_another_root_is_scanned_once(tmp_path):
    evidence = _evidence(tmp_path)
    result, document, records = _scan(tmp_path, evidence, evidence / "sub", "--report", tmp_path / "scan.pdf")
    assert result.exit_code == 0, result.output
    assert len(document["items"]) == len(CONTENTS) and _scanned(document) == _expected(EVERY_FILE_ONCE)
    warnings = _recorded(result, document, records)
    assert len(warnings) == 1 and str(evidence / "sub") in warnings[0] and "scanned once" in warnings[0]
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in pypdf.PdfReader(tmp_path / "scan.pdf").pages))
    assert "Evidencewarnings" in text and re.sub(r"\s+", "", warnings[0]) in text


def test_a_root_given_twice_is_scanned_once(tmp_path):
    evidence = _evidence(tmp_path)
    result, document, records = _scan(tmp_path, evidence, evidence)
    assert result.exit_code == 0, result.output
    assert len(document["items"]) == len(CONTENTS) and _scanned(document) == _expected(EVERY_FILE_ONCE)
    warnings = _recorded(result, document, records)
    assert len(warnings) == 1 and "given twice" in warnings[0]


def test_a_file_named_inside_a_folder_root_is_scanned_under_both_names(tmp_path):
    evidence = _evidence(tmp_path)
    result, document, records = _scan(tmp_path, evidence, evidence / "sub" / "c.bin")
    assert result.exit_code == 0, result.output
    assert _scanned(document) == _expected({**EVERY_FILE_ONCE, "c.bin": "sub/c.bin"})
    warnings = _recorded(result, document, records)
    assert len(warnings) == 1 and str(evidence / "sub" / "c.bin") in warnings[0] and "both names" in warnings[0]


def test_a_resumed_scan_records_the_warnings_again(tmp_path):
    evidence = _evidence(tmp_path)
    _, first, _ = _scan(tmp_path, evidence, evidence / "sub")
    result, document, records = _scan(tmp_path, evidence, evidence / "sub", "--resume")
    assert result.exit_code == 0, result.output
    assert _scanned(document) == _scanned(first)
    assert _recorded(result, document, records, "scan_resumed") == first["scan"]["evidence_warnings"]


def test_roots_apart_give_no_warning(tmp_path):
    evidence = _evidence(tmp_path)
    result, document, records = _scan(tmp_path, evidence / "a.bin", evidence / "sub")
    assert result.exit_code == 0, result.output
    assert _recorded(result, document, records) == [] and "warning" not in result.stderr
