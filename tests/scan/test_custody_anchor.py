"""The custody log's last record is anchored outside it: the head sidecar, and the report's --expect."""

import hashlib
import json

import pytest
from click.testing import CliRunner
from conftest import hashing_scan

from facexray_forensics.cli import main
from facexray_forensics.custody import CustodyLog


@pytest.fixture
def sealed(finished):
    """(evidence, out, the custody log SHA-256 the report names) of a finished hashing-only scan."""
    evidence, out = finished
    return evidence, out, json.loads((out / "scan.json").read_text())["scan"]["custody_log_sha256"]


def _verify(out, *arguments):
    result = CliRunner().invoke(main, ["verify-log", str(out / "scan.custody.jsonl"), *arguments])
    return result.exit_code, result.output


def _rewrite_last_record(out):
    """Change the last record and give it a matching record_sha256: no later link covers it."""
    log = out / "scan.custody.jsonl"
    lines = log.read_bytes().splitlines()
    record = json.loads(lines[-1])
    record["data"]["sha256"] = "0" * 64
    del record["record_sha256"]
    record["record_sha256"] = hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    lines[-1] = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    log.write_bytes(b"\n".join(lines) + b"\n")
    return len(lines)


def test_a_finished_log_is_sealed(sealed):
    _, out, expected = sealed
    code, output = _verify(out, "--expect", expected)
    assert code == 0 and "sealed" in output and "not sealed" not in output, output


def test_a_changed_last_record_is_caught(sealed):
    _, out, expected = sealed
    last = _rewrite_last_record(out)
    for arguments in ((), ("--expect", expected)):
        code, output = _verify(out, *arguments)
        assert code == 4, output
        assert f"BROKEN at record {last}" in output and "the last record was changed" in output


def test_a_removed_last_record_is_caught(sealed):
    _, out, _ = sealed
    log = out / "scan.custody.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]))
    code, output = _verify(out)
    assert code == 4 and f"sealed with {len(lines)}" in output, output


def _reseal(out):
    """Write a head sidecar that names the log's last record as it is now: what a forger who rewrote it would do."""
    lines = (out / "scan.custody.jsonl").read_bytes().splitlines()
    (out / "scan.custody.jsonl.head").write_text(json.dumps({"records": len(lines), "final_sha256": hashlib.sha256(lines[-1]).hexdigest()}))


def test_an_untouched_scan_verifies(sealed):
    _, out, expected = sealed
    for arguments in ((), ("--expect", expected)):
        code, output = _verify(out, *arguments)
        assert code == 0 and "sealed at its last record" in output and "1 report(s) match" in output, output


def test_a_changed_last_record_without_its_seal_is_caught(sealed):
    """Deleting the seal does not hide a changed last record: the log records that its scan finished, and so sealed it."""
    _, out, expected = sealed
    last = _rewrite_last_record(out)
    (out / "scan.custody.jsonl.head").unlink()
    for arguments in ((), ("--expect", expected)):
        code, output = _verify(out, *arguments)
        assert code == 4 and f"BROKEN at record {last}" in output, output
        assert "records a finished scan" in output and "seal" in output and "missing" in output, output


def test_a_changed_last_record_with_a_forged_seal_is_caught_by_the_report_hash(sealed):
    _, out, expected = sealed
    last = _rewrite_last_record(out)  # its report's SHA-256 is now zeros
    _reseal(out)
    for arguments in ((), ("--expect", expected)):
        code, output = _verify(out, *arguments)
        assert code == 4 and f"BROKEN at record {last}" in output, output
        assert f"{out / 'scan.json'} has SHA-256" in output and "0" * 64 in output, output


def test_a_rewritten_chain_with_a_forged_seal_is_caught_by_expect(sealed):
    """Every record from the first item on rewritten consistently, and resealed: only the report's hash tells."""
    _, out, expected = sealed
    log = out / "scan.custody.jsonl"
    records = [json.loads(line) for line in log.read_bytes().splitlines()]
    previous = records[0]["previous_sha256"]
    lines = []
    for record in records:
        if record["action"] == "item_analysed":
            record["data"]["forged"] = True
        record["previous_sha256"] = previous
        del record["record_sha256"]
        record["record_sha256"] = hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        lines.append(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
        previous = hashlib.sha256(lines[-1]).hexdigest()
    log.write_bytes(b"\n".join(lines) + b"\n")
    _reseal(out)
    assert _verify(out)[0] == 0  # a perfect forgery of the whole log: nothing inside it can tell
    code, output = _verify(out, "--expect", expected)
    assert code == 4 and "no record with the SHA-256 the report names" in output, output


def test_a_report_changed_after_the_scan_is_named(sealed):
    _, out, expected = sealed
    report = out / "scan.json"
    report.write_bytes(report.read_bytes().replace(b"evidence", b"Evidence", 1))
    for arguments in ((), ("--expect", expected)):
        code, output = _verify(out, *arguments)
        assert code == 4 and "a report differs from its report_written record" in output and str(report) in output, output


def test_a_missing_report_is_listed_not_failed(sealed):
    _, out, _ = sealed
    (out / "scan.json").unlink()
    code, output = _verify(out)
    assert code == 0 and "0 report(s) match" in output and f"note: the report {out / 'scan.json'} is not there" in output, output


def test_a_moved_case_folder_finds_its_reports_beside_the_log(sealed, tmp_path):
    _, out, expected = sealed
    moved = tmp_path / "moved"
    out.rename(moved)
    code, output = _verify(moved, "--expect", expected)
    assert code == 0 and "1 report(s) match" in output, output
    (moved / "scan.json").write_text("{}")
    code, output = _verify(moved)
    assert code == 4 and str(moved / "scan.json") in output, output


def test_a_resume_keeps_the_seal_until_it_seals_again(sealed):
    """A resumed scan that stops before its end leaves the earlier seal, which still anchors every record up to it."""
    evidence, out, _ = sealed
    log = out / "scan.custody.jsonl"
    sealed_records = len(log.read_bytes().splitlines())
    with CustodyLog(log, {"tool_version": "test"}) as continued:  # as a resume starts, then is killed
        continued.append("scan_resumed", {"items": 4})
        continued.append("item_missing", {"item": "evidence/gone.bin"})
    code, output = _verify(out)
    assert code == 0 and f"sealed at record {sealed_records}; records {sealed_records + 1} to {sealed_records + 2}" in output, output
    code, output = hashing_scan(evidence, out, "--resume")
    assert code == 0, output
    expected = json.loads((out / "scan.json").read_text())["scan"]["custody_log_sha256"]
    code, output = _verify(out, "--expect", expected)
    assert code == 0 and "sealed at its last record" in output, output


def test_records_added_after_the_seal_are_caught_unless_a_resume_starts_them(sealed):
    _, out, _ = sealed
    with CustodyLog(out / "scan.custody.jsonl", {"tool_version": "test"}) as continued:
        continued.append("item_missing", {"item": "evidence/planted.bin"})
    code, output = _verify(out)
    assert code == 4 and "records added at the end" in output, output


def test_resume_refuses_a_changed_last_record_and_reseals_an_intact_log(sealed):
    evidence, out, _ = sealed
    code, output = hashing_scan(evidence, out, "--resume")
    assert code == 0, output
    expected = json.loads((out / "scan.json").read_text())["scan"]["custody_log_sha256"]
    assert _verify(out, "--expect", expected)[0] == 0
    _rewrite_last_record(out)
    code, output = hashing_scan(evidence, out, "--resume")
    assert code == 1 and "the last record was changed" in output, output
