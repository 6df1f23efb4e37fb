"""The custody log's last record is anchored outside it: the head sidecar, and the report's --expect."""

import hashlib
import json

import pytest
from click.testing import CliRunner
from conftest import hashing_scan

from facexray_forensics.cli import main


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


def test_without_its_seal_the_last_record_is_not_vouched_for(sealed):
    _, out, expected = sealed
    _rewrite_last_record(out)
    (out / "scan.custody.jsonl.head").unlink()
    code, output = _verify(out)
    assert code == 0 and "not sealed" in output, output  # said plainly, not passed off as anchored
    code, output = _verify(out, "--expect", expected)
    assert code == 4 and "no head sidecar" in output, output


def test_resume_refuses_a_changed_last_record_and_reseals_an_intact_log(sealed):
    evidence, out, _ = sealed
    code, output = hashing_scan(evidence, out, "--resume")
    assert code == 0, output
    expected = json.loads((out / "scan.json").read_text())["scan"]["custody_log_sha256"]
    assert _verify(out, "--expect", expected)[0] == 0
    _rewrite_last_record(out)
    code, output = hashing_scan(evidence, out, "--resume")
    assert code == 1 and "the last record was changed" in output, output
