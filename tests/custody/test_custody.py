"""The custody log: a hash chain that any one-byte change breaks, at the record it changed."""

import hashlib
import json

import pytest
from click.testing import CliRunner

from facexray_forensics.cli import main
from facexray_forensics.custody import GENESIS, CustodyLog, verify_log

CONTEXT = {"tool_version": "9.9", "model_sha256": "ab" * 32, "settings": {"min_face": 64}, "command_line": ["fxr-forensic", "scan", "é"],
           "host": "test", "case": "C-1", "exhibit": "E-2", "examiner": "Ada"}


def _log(path, records=3, sealed=False):
    with CustodyLog(path, CONTEXT) as log:
        for number in range(records):
            log.append("item_analysed", {"item": f"evidence/{number}.jpg", "score": number / 10})
        if sealed:
            log.seal()
    return path


def test_chain_links_are_sha256_of_the_previous_line(tmp_path):
    lines = _log(tmp_path / "c.jsonl").read_bytes().splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["previous_sha256"] == GENESIS
    for before, record in zip(lines, records[1:]):
        assert record["previous_sha256"] == hashlib.sha256(before).hexdigest()
    for number, record in enumerate(records, start=1):
        assert record["sequence"] == number
        assert {key: record[key] for key in CONTEXT} == CONTEXT
        assert record["time_utc"].endswith("Z")
    result = verify_log(tmp_path / "c.jsonl")
    assert result.ok and result.records == 3 and result.final_sha256 == hashlib.sha256(lines[-1]).hexdigest()


def test_every_one_byte_edit_is_caught_at_its_record(tmp_path):
    path = _log(tmp_path / "c.jsonl")
    original = path.read_bytes()
    line_of = []
    for number, line in enumerate(original.splitlines(keepends=True), start=1):
        line_of += [number] * len(line)
    for position in range(0, len(original), 7):
        edited = bytearray(original)
        edited[position] = ord("#") if original[position] != ord("#") else ord("%")
        path.write_bytes(bytes(edited))
        result = verify_log(path)
        assert not result.ok, position
        assert result.first_broken == line_of[position], (position, result)


def test_removed_record_and_expected_end(tmp_path):
    path = _log(tmp_path / "c.jsonl", records=4, sealed=True)
    lines = path.read_bytes().splitlines(keepends=True)
    final = verify_log(path).final_sha256
    assert verify_log(path, expected_final_sha256=final).ok
    path.write_bytes(b"".join(lines[:1] + lines[2:]))
    assert verify_log(path).first_broken == 2
    path.write_bytes(b"".join(lines[:-1]))  # a cut-off tail still chains, but not to the seal or the report's hash
    sealed = verify_log(path)
    assert not sealed.ok and "sealed with 4" in sealed.reason
    cut = verify_log(path, expected_final_sha256=final)
    assert not cut.ok and "no record" in cut.reason


def test_only_report_records_may_follow_the_reports_anchor(tmp_path):
    path = _log(tmp_path / "c.jsonl", records=3)
    anchor = verify_log(path).final_sha256
    with CustodyLog(path, CONTEXT) as log:
        log.append("report_written", {"path": "out/case.pdf", "sha256": "cd" * 32})
        log.seal()
    assert verify_log(path, expected_final_sha256=anchor).ok
    with CustodyLog(path, CONTEXT) as log:
        log.append("item_analysed", {"item": "evidence/added-later.jpg", "score": 0.9})
    extended = verify_log(path, expected_final_sha256=anchor)
    assert not extended.ok and extended.first_broken == 5 and "follows the record the report names" in extended.reason


def test_reopening_continues_and_a_broken_log_is_refused(tmp_path):
    path = _log(tmp_path / "c.jsonl", records=2)
    with CustodyLog(path, CONTEXT) as log:
        log.append("scan_resumed")
    result = verify_log(path)
    assert result.ok and result.records == 3
    path.write_bytes(path.read_bytes().replace(b"evidence/0.jpg", b"evidence/X.jpg"))
    with pytest.raises(ValueError, match="broken at record 1"):
        CustodyLog(path, CONTEXT)
    with pytest.raises(ValueError, match="unknown custody action"):
        CustodyLog(tmp_path / "other.jsonl", CONTEXT).append("made_up")


def test_verify_log_command(tmp_path):
    path = _log(tmp_path / "c.jsonl")
    runner = CliRunner()
    result = runner.invoke(main, ["verify-log", str(path)])
    assert result.exit_code == 0 and "OK: 3 records" in result.output
    content = bytearray(path.read_bytes())
    content[content.index(b"evidence/2.jpg")] = ord("E")
    path.write_bytes(bytes(content))
    result = runner.invoke(main, ["verify-log", str(path)])
    assert result.exit_code == 4 and "BROKEN at record 3" in result.output


def test_a_custody_log_that_is_a_symlink_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere.jsonl"
    _log(target, records=1)
    before = target.read_bytes()
    alias = tmp_path / "custody.jsonl"
    alias.symlink_to(target)
    with pytest.raises(OSError):
        CustodyLog(alias, CONTEXT)
    assert target.read_bytes() == before


def test_a_finished_log_must_be_sealed_and_a_continued_one_keeps_its_seal(tmp_path):
    path = tmp_path / "c.jsonl"
    with CustodyLog(path, CONTEXT) as log:
        log.append("scan_started")
        log.append("scan_finished", {"summary": {}})
    unsealed = verify_log(path)
    assert not unsealed.ok and "records a finished scan (record 2)" in unsealed.reason and unsealed.first_broken == 2
    with pytest.raises(ValueError, match="seal .* is missing"):
        CustodyLog(path, CONTEXT)  # a resume never builds on it
    path.unlink()
    with CustodyLog(path, CONTEXT) as log:
        log.append("scan_started")
        log.append("scan_finished", {"summary": {}})
        log.seal()
    assert verify_log(path).sealed == 2
    with CustodyLog(path, CONTEXT) as log:  # a resume: the seal stays, naming record 2
        log.append("scan_resumed")
    continued = verify_log(path)
    assert continued.ok and continued.sealed == 2 and continued.records == 3
    with CustodyLog(path, CONTEXT) as log:
        log.append("scan_finished", {"summary": {}})  # a finished scan that did not seal again
    replaced = verify_log(path)
    assert not replaced.ok and "the seal was replaced" in replaced.reason


def _crash_at(monkeypatch, step):
    """Make a sealed append die at ``step``: "write" (the record) or "rename" (the seal over LOG.head)."""
    from facexray_forensics import custody

    real_write, real_replace = custody.os.write, custody.os.replace

    def write(descriptor, data):
        if step == "write":
            raise OSError("killed before the record")
        return real_write(descriptor, data)

    def replace(source, target):
        if step == "rename" and str(source).endswith(".head.next"):
            raise OSError("killed before the rename")
        return real_replace(source, target)

    monkeypatch.setattr(custody.os, "write", write)
    monkeypatch.setattr(custody.os, "replace", replace)


@pytest.mark.parametrize("step", ["write", "rename"])
def test_a_finish_killed_between_its_record_and_its_seal_stays_verifiable(tmp_path, monkeypatch, step):
    path = tmp_path / "c.jsonl"
    with CustodyLog(path, CONTEXT) as log:
        log.append("scan_started")
        log.append("scan_finished", {"summary": {}}, seal=True)
        with monkeypatch.context() as patch:
            _crash_at(patch, step)
            with pytest.raises(OSError, match="killed"):
                log.append("report_written", {"path": "r.json", "sha256": "00" * 32}, seal=True)
    result = verify_log(path, check_reports=False)
    expected = 3 if step == "rename" else 2  # the seal written first names the record once it is there
    assert result.ok, result.reason
    assert result.records == expected and result.sealed == expected
    with CustodyLog(path, CONTEXT) as log:  # and --resume continues it
        log.append("scan_resumed")
    assert verify_log(path, check_reports=False).ok


def test_a_pending_seal_does_not_cover_a_changed_last_record(tmp_path, monkeypatch):
    path = tmp_path / "c.jsonl"
    with CustodyLog(path, CONTEXT) as log:
        log.append("scan_started")
        _crash_at(monkeypatch, "rename")
        with pytest.raises(OSError, match="killed"):
            log.append("scan_finished", {"summary": {}}, seal=True)
    lines = path.read_bytes().splitlines()
    record = json.loads(lines[-1])
    record["data"] = {"summary": {"forged": 1}}
    record["record_sha256"] = hashlib.sha256(json.dumps({k: v for k, v in record.items() if k != "record_sha256"},
                                                        sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    path.write_bytes(b"\n".join([*lines[:-1], json.dumps(record, sort_keys=True, separators=(",", ":")).encode()]) + b"\n")
    changed = verify_log(path)
    assert not changed.ok and "seal" in changed.reason


def test_report_records_are_checked_against_their_files(tmp_path):
    report = tmp_path / "case.json"
    report.write_bytes(b"{}")
    path = tmp_path / "c.jsonl"
    with CustodyLog(path, CONTEXT) as log:
        log.append("report_written", {"path": str(report), "sha256": "00" * 32})  # superseded by the next
        log.append("report_written", {"path": str(report), "sha256": hashlib.sha256(b"{}").hexdigest()})
        log.append("report_written", {"path": str(tmp_path / "gone.pdf"), "sha256": "cd" * 32})
        log.seal()
    result = verify_log(path)
    assert result.ok and result.reports_matched == [str(report)] and result.reports_missing == [str(tmp_path / "gone.pdf")]
    report.write_bytes(b"{ }")
    changed = verify_log(path)
    assert not changed.ok and changed.first_broken == 2 and str(report) in changed.reason
    assert verify_log(path, check_reports=False).ok
