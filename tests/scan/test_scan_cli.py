"""``fxr-forensic scan`` end to end: outputs, exit codes, refusals, known files, tampering."""

import hashlib
import json
import os
import sys

import pypdf
import pytest
from click.testing import CliRunner
from conftest import age, astronaut_jpeg, snapshot

from facexray_forensics.cli import main
from facexray_forensics.custody import verify_log
from facexray_forensics.plugins import Plugin
from facexray_forensics.records import Finding
from facexray_forensics.renderers.json import render_json
from facexray_forensics.renderers.pdf import SECTION_TITLES
from facexray_forensics.scan import BUILTIN_PLUGINS, Output, Scan, ScanSettings


def _evidence(tmp_path, with_face=True):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    if with_face:
        (evidence / "astronaut.jpg").write_bytes(astronaut_jpeg())
    (evidence / "blank.png").write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8ffff3f0005fe02fea7d6a4f00000000049454e44ae426082"
    ))
    return evidence


def _scan(*arguments):
    return CliRunner().invoke(main, ["scan", "--quiet", "--workers", "1", *map(str, arguments)], catch_exceptions=False)


def test_pdf_json_and_custody_from_the_command(tmp_path, flagging_model):
    evidence = _evidence(tmp_path)
    age(evidence)
    before = snapshot(evidence)
    out = tmp_path / "out"
    out.mkdir()
    result = _scan(evidence, "--report", out / "case.pdf", "--json", out / "case.json", "--model", flagging_model,
                   "--case", "C-1", "--exhibit", "E-1", "--examiner", "Ada")
    assert result.exit_code == 3, result.output  # every face "strong" with this card: flagged
    assert snapshot(evidence) == before  # the PDF's pictures were read again without a trace
    assert sorted(os.listdir(out)) == ["case.custody.jsonl", "case.custody.jsonl.head", "case.journal.jsonl", "case.journal.jsonl.lock",
                                       "case.json", "case.json.sha256", "case.pdf", "case.pdf.sha256"]
    digest = hashlib.sha256((out / "case.pdf").read_bytes()).hexdigest()
    assert (out / "case.pdf.sha256").read_text() == f"{digest}  case.pdf\n"
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(out / "case.pdf").pages)
    for title in SECTION_TITLES:
        assert title in text
    document = json.loads((out / "case.json").read_text())
    assert document["scan"]["custody_log_sha256"].replace(" ", "") in text.replace(" ", "").replace("\n", "")
    assert document["scan"]["case"] == "C-1" and document["scan"]["command_line"] == sys.argv  # the process's own
    assert verify_log(out / "case.custody.jsonl").ok
    again = _scan(evidence, "--json", out / "case.json", "--model", flagging_model)
    assert again.exit_code == 1 and "already exists" in again.output  # a finished scan's log is never overwritten


def test_exit_zero_when_nothing_is_flagged(tmp_path, random_model):
    evidence = _evidence(tmp_path, with_face=False)
    result = _scan(evidence, "--csv", tmp_path / "new" / "scan.csv", "--model", random_model)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "scan.custody.jsonl").is_file()  # the output directory is made


def test_exit_four_when_an_item_fails(tmp_path, flagging_model):
    evidence = _evidence(tmp_path)
    (evidence / "broken.jpg").write_bytes(astronaut_jpeg()[:2000])
    result = _scan(evidence, "--json", tmp_path / "scan.json", "--model", flagging_model)
    assert result.exit_code == 4, result.output  # a failure outranks a flag


@pytest.mark.parametrize("inside", ["scan.json", "sub/scan.json", "."])
def test_output_inside_the_evidence_is_refused(tmp_path, random_model, inside):
    evidence = _evidence(tmp_path)
    (evidence / "sub").mkdir()
    before = snapshot(evidence)
    target = evidence / inside if inside != "." else evidence
    result = _scan(evidence, "--json", target / "r.json" if inside == "." else target, "--model", random_model)
    assert result.exit_code == 1 and "inside the evidence" in result.output
    assert snapshot(evidence) == before


def test_output_through_a_link_into_the_evidence_is_refused(tmp_path, random_model):
    evidence = _evidence(tmp_path)
    (tmp_path / "reports").symlink_to(evidence)
    result = _scan(evidence, "--report", tmp_path / "reports" / "case.pdf", "--model", random_model)
    assert result.exit_code == 1 and "inside the evidence" in result.output


def test_known_files_are_skipped(tmp_path, flagging_model):
    evidence = _evidence(tmp_path)
    listing = tmp_path / "known.txt"
    listing.write_text(f"{hashlib.sha256(astronaut_jpeg()).hexdigest()}  astronaut.jpg\n")
    result = _scan(evidence, "--json", tmp_path / "scan.json", "--model", flagging_model, "--known-hashes", listing)
    assert result.exit_code == 0, result.output  # the only face is a known file, so nothing is flagged
    items = {item["path"]: item for item in json.loads((tmp_path / "scan.json").read_text())["items"]}
    assert items["evidence/astronaut.jpg"]["status"] == "known_file" and items["evidence/astronaut.jpg"]["faces"] == []
    assert items["evidence/astronaut.jpg"]["sha256"] == hashlib.sha256(astronaut_jpeg()).hexdigest()
    assert items["evidence/blank.png"]["status"] == "face_too_small"


class Tamperer(Plugin):
    """A test plugin that changes an evidence file mid-scan, as a faulty device or another process might."""

    name, version, handles = "tamperer", "0", frozenset({"image"})

    def process(self, item, earlier):
        if item.name.endswith("astronaut.jpg"):
            with open(item.origin["path"], "ab") as stream:
                stream.write(b"\0")
        return Finding(self.name, self.version)


def test_changed_evidence_is_flagged_as_a_hash_mismatch(tmp_path, random_model):
    evidence = _evidence(tmp_path)
    plugins = [plugin() for plugin in BUILTIN_PLUGINS] + [Tamperer()]
    report = Scan([evidence], [Output(tmp_path / "scan.json", render_json)], plugins,
                  settings=ScanSettings(model_dir=str(random_model), workers=1), progress=False).run()
    items = {item.name: item for item in report.items}
    changed = items["evidence/astronaut.jpg"]
    assert changed.hash_verified is False and changed.hashes["sha256"] == hashlib.sha256(astronaut_jpeg()).hexdigest()
    assert changed.hashes_after["sha256"] == hashlib.sha256((evidence / "astronaut.jpg").read_bytes()).hexdigest()
    assert items["evidence/blank.png"].hash_verified is True
    assert report.summary["hash_mismatches"] == 1 and report.failed == [changed]
    with open(report.custody_log) as stream:
        reverified = [json.loads(line) for line in stream if '"hashes_reverified"' in line]
    assert reverified[0]["data"]["mismatches"] == ["evidence/astronaut.jpg"]
