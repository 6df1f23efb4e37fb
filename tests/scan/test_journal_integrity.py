"""The journal cannot lie: --resume trusts only lines the custody log vouches for, one scan at a time."""

import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import SMALL_EVIDENCE, hashing_scan, small_evidence

from facexray_forensics.custody import verify_log


def _canonical(record):
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _forge(line, **changes):
    """A journal line rewritten as the journal writes it, with ``changes``: an edit done with care."""
    return _canonical({**json.loads(line), **changes}) + b"\n"


def forged_score(lines):
    lines[1] = _forge(lines[1], status="scored", score=0.999, band="strong")
    return json.loads(lines[1])["name"]


def forged_no_face(lines):
    lines[2] = _forge(lines[2], status="no_face", reason="no face found")
    return json.loads(lines[2])["name"]


def removed_line(lines):
    del lines[2]
    return json.loads(lines[2])["name"]  # the line that now stands where the removed one was vouched for


def reordered(lines):
    lines[1], lines[2] = lines[2], lines[1]
    return json.loads(lines[1])["name"]


@pytest.mark.parametrize("tamper", [forged_score, forged_no_face, removed_line, reordered], ids=lambda tamper: tamper.__name__)
def test_an_altered_journal_is_refused_and_nothing_written(finished, tamper):
    evidence, out = finished
    journal = out / "scan.journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    named = tamper(lines)
    journal.write_bytes(b"".join(lines))
    before = {name: (out / name).read_bytes() for name in ("scan.journal.jsonl", "scan.custody.jsonl", "scan.json")}
    code, output = hashing_scan(evidence, out, "--resume")
    assert code == 1 and "Traceback" not in output, output
    assert "cannot resume" in output and named in output and len(output.strip().splitlines()) == 1
    assert {name: (out / name).read_bytes() for name in before} == before  # no report carries the forgery
    assert b"0.999" not in (out / "scan.json").read_bytes()


def test_a_journal_line_the_log_never_vouched_for_is_redone(finished):
    """A kill between the journal write and the custody write: the last line is dropped and its item analysed again."""
    evidence, out = finished
    log = out / "scan.custody.jsonl"
    records = log.read_bytes().splitlines(keepends=True)
    last_analysed = max(number for number, line in enumerate(records) if json.loads(line)["action"] == "item_analysed")
    log.write_bytes(b"".join(records[:last_analysed]))
    (out / "scan.custody.jsonl.head").unlink()  # the seal comes only at the end
    (out / "scan.json").unlink()
    code, output = hashing_scan(evidence, out, "--resume")
    assert code == 0, output
    names = [json.loads(line)["name"] for line in (out / "scan.journal.jsonl").read_bytes().splitlines()[1:]]
    assert len(names) == len(set(names)) == len(SMALL_EVIDENCE)
    document = json.loads((out / "scan.json").read_text())
    assert verify_log(log, expected_final_sha256=document["scan"]["custody_log_sha256"]).ok


def test_a_second_scan_of_the_same_outputs_is_refused(tmp_path):
    evidence, out = small_evidence(tmp_path), tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from facexray_forensics.scan.journal import ScanLock; "
         "lock = ScanLock(sys.argv[1]); print('held', flush=True); sys.stdin.read()", str(out / "scan.journal.jsonl")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        code, output = hashing_scan(evidence, out)
        assert code == 1 and "Traceback" not in output, output
        assert "another scan is writing these outputs" in output and f"pid {holder.pid} on {socket.gethostname()}" in output
        assert sorted(os.listdir(out)) == ["scan.journal.jsonl.lock"]  # nothing else was written
    finally:
        holder.communicate("")
    code, output = hashing_scan(evidence, out)  # once the other scan has ended
    assert code == 0, output


def test_a_file_deleted_before_resume_gets_an_outcome(finished):
    evidence, out = finished
    before = {item["path"]: item for item in json.loads((out / "scan.json").read_text())["items"]}
    (evidence / "b.bin").unlink()
    code, output = hashing_scan(evidence, out, "--resume")
    assert code == 4, output  # an item failed
    document = json.loads((out / "scan.json").read_text())
    items = {item["path"]: item for item in document["items"]}
    assert set(items) == set(before)
    gone = items["evidence/b.bin"]
    assert gone["status"] == "unreadable" and gone["reason"].startswith("missing at resume")
    assert gone["sha256"] == before["evidence/b.bin"]["sha256"]  # what was hashed before it went
    records = [json.loads(line) for line in (out / "scan.custody.jsonl").read_text().splitlines()]
    assert [record["data"]["item"] for record in records if record["action"] == "item_missing"] == ["evidence/b.bin"]
    assert verify_log(out / "scan.custody.jsonl", expected_final_sha256=document["scan"]["custody_log_sha256"]).ok
