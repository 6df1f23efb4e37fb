"""The chain-of-custody action log: append-only JSON Lines, hash-chained.

Each record is one line of canonical JSON (sorted keys, no spaces) holding
the SHA-256 of the previous line's bytes (64 zeros for the first), its own
``sequence`` number, the UTC time, who ran what (tool version, model
SHA-256, settings, full command line, host, case, exhibit, examiner), the
action and its data, and ``record_sha256``, the SHA-256 of the record
without that field. Changing any byte of a record breaks either its own hash
or its successor's link, and :func:`verify_log` names the first record that
no longer holds. The SHA-256 of the ``scan_finished`` line anchors the chain
in the reports, which print it. Nothing in the log links to its last record,
so a finishing scan also seals the log: the sidecar ``LOG.head`` names the
last record's number and SHA-256, is written by rename, and is written again
with each record of the finish stage. Such a record is sealed in two steps,
so that no crash leaves it unsealed: its seal is written first as
``LOG.head.next``, then the record, then the seal renamed over ``LOG.head``.
Verification takes a ``LOG.head.next`` that names the log's last record as
its seal (the crash came before the rename) and ignores one that does not
(the crash came before the record). A log that records a finished scan
must be sealed at its last record: a missing seal fails verification, since
deleting it is how a changed last record would hide. A resumed scan leaves
the seal where it was (its ``scan_resumed`` record follows the sealed one)
until it seals again at its own end. Each ``report_written`` record names a
report and its SHA-256; verification compares it with the file, where the
file is there.

Lines are written with one ``write`` on a descriptor opened O_APPEND and
fsynced, so a killed scan leaves whole lines and a resumed scan continues
the same chain.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

GENESIS = "0" * 64

#: The actions a scan records, in the order they happen.
ACTIONS = (
    "scan_started",
    "scan_resumed",
    "item_hashed",
    "item_analysed",
    "item_missing",
    "hashes_reverified",
    "report_written",
    "scan_finished",
)


def utc_now() -> str:
    """The current UTC time as ISO-8601 with microseconds and a Z."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _record_hash(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical({key: value for key, value in record.items() if key != "record_sha256"})).hexdigest()


@dataclass
class LogVerification:
    """The outcome of :func:`verify_log`. ``first_broken`` is a 1-based line number.

    ``sealed`` is the record number the head sidecar names (None: no seal);
    ``reports_matched`` and ``reports_missing`` are the report files named
    by the last ``report_written`` record for each path that were checked,
    and those not there to check.
    """

    ok: bool
    records: int
    final_sha256: str | None
    first_broken: int | None = None
    reason: str | None = None
    sealed: int | None = None
    finished: bool = False  # the log holds a scan_finished record
    reports_matched: list[str] = field(default_factory=list)
    reports_missing: list[str] = field(default_factory=list)


def verify_log(path: str | os.PathLike, expected_final_sha256: str | None = None, check_reports: bool = True) -> LogVerification:
    """Check every link of a custody log and name the first record that breaks.

    ``expected_final_sha256`` is the hash a report prints: the head of the
    chain when the scan finished, just before its reports were rendered. The
    log must hold that record, and only ``report_written`` records may follow
    it (a report cannot contain the hash of the record that names the
    report's own hash). This catches a cut-off, replaced or extended tail.

    The head sidecar must be there once the log records a finished scan
    (and always with ``expected_final_sha256``), and must name the last
    record, or a record after which a ``scan_resumed`` record starts a scan
    that has not finished: that catches a change to the last record, which
    no later link covers. Without a finished scan and without a seal (an
    interrupted first scan) the chain is all there is to check.

    With ``check_reports``, the last ``report_written`` record of each
    report path is compared with that file, where it is there (as recorded,
    or under its name beside the log, for a case folder that was moved): a
    different SHA-256 is a failure, a missing file is listed in
    ``reports_missing``.
    """
    with open(path, "rb") as stream:
        content = stream.read()
    if not content:
        return LogVerification(False, 0, None, 1, "the log is empty")
    lines = content.split(b"\n")
    complete = content.endswith(b"\n")
    if complete:
        lines.pop()
    previous = GENESIS
    expected = None if expected_final_sha256 is None else expected_final_sha256.lower()
    anchor = None  # the number of the record the report names, once passed
    line_sha256 = []  # of each line, in order
    actions = []
    reports: dict[str, tuple[int, Any]] = {}  # report path -> (the number of its last report_written record, its SHA-256)
    for number, line in enumerate(lines, start=1):
        if number == len(lines) and not complete:
            return LogVerification(False, number - 1, previous, number, "the last record is incomplete (no line end)")
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as error:
            return LogVerification(False, number - 1, previous, number, f"not a valid JSON record: {error}")
        if record.get("record_sha256") != _record_hash(record):
            return LogVerification(False, number - 1, previous, number, "its content does not match its record_sha256 (altered)")
        if record.get("previous_sha256") != previous:
            return LogVerification(
                False, number - 1, previous, number, "previous_sha256 does not match the line before it (a record was altered, removed or inserted)"
            )
        if record.get("sequence") != number:
            return LogVerification(False, number - 1, previous, number, f"sequence {record.get('sequence')!r}, expected {number}")
        previous = hashlib.sha256(line).hexdigest()
        line_sha256.append(previous)
        actions.append(record.get("action"))
        if record.get("action") == "report_written" and isinstance(record.get("data"), dict):
            reports[str(record["data"].get("path"))] = (number, record["data"].get("sha256"))
        if anchor is not None:
            if record.get("action") != "report_written":
                return LogVerification(
                    False, number - 1, previous, number, f"a {record.get('action')!r} record follows the record the report names"
                )
        elif previous == expected:
            anchor = number
    if expected is not None and anchor is None:
        return LogVerification(False, len(lines), previous, len(lines), "the log has no record with the SHA-256 the report names")
    chain = LogVerification(True, len(lines), previous, finished="scan_finished" in actions)
    chain = _check_seal(path, chain, line_sha256, actions, required=expected is not None)
    if chain.ok and check_reports:
        chain = _check_reports(path, chain, reports)
    return chain


def seal_path(path: str | os.PathLike) -> str:
    """The head sidecar of the log at ``path``."""
    return f"{os.fspath(path)}.head"


def next_seal_path(path: str | os.PathLike) -> str:
    """The seal written before the record it seals (see the module docstring)."""
    return f"{seal_path(path)}.next"


def _read_seal(path: str) -> tuple[int, str]:
    """(records, final_sha256) of a seal file; FileNotFoundError, or ValueError for a malformed one."""
    with open(path, "rb") as stream:
        seal = json.loads(stream.read())
    try:
        sealed_records, sealed_sha256 = seal["records"], seal["final_sha256"]
    except (KeyError, TypeError) as error:
        raise ValueError(f"it lacks {error}") from error
    if not isinstance(sealed_records, int) or isinstance(sealed_records, bool) or not isinstance(sealed_sha256, str):
        raise ValueError("records must be a number and final_sha256 a string")
    if sealed_records < 1:
        raise ValueError(f"it seals {sealed_records} records")
    return sealed_records, sealed_sha256


def _pending_seal(path: str | os.PathLike, last_record: tuple[int, str]) -> tuple[int, str] | None:
    """The ``LOG.head.next`` seal when it names ``last_record`` (its number and SHA-256); else None."""
    try:
        pending = _read_seal(next_seal_path(path))
    except (OSError, ValueError):
        return None
    return pending if pending == last_record else None


def _broken(chain: LogVerification, first_broken: int, reason: str) -> LogVerification:
    return replace(chain, ok=False, first_broken=first_broken, reason=reason)


def _check_seal(path: str | os.PathLike, chain: LogVerification, line_sha256: list[str], actions: list[Any],
                required: bool) -> LogVerification:
    """``chain`` (an intact chain) checked against the head sidecar: where one is, or the log records a finished scan, or ``required``."""
    total = chain.records
    try:
        sealed_records, sealed_sha256 = _pending_seal(path, (total, line_sha256[-1])) or _read_seal(seal_path(path))
    except FileNotFoundError:
        if chain.finished:
            finished = max(number for number, action in enumerate(actions, start=1) if action == "scan_finished")
            return _broken(chain, total, f"the log records a finished scan (record {finished}) but its seal {seal_path(path)} is "
                                         "missing: the last record cannot be checked (a finished scan always seals its log)")
        if required:
            return _broken(chain, total, f"no head sidecar {seal_path(path)}: the last record cannot be checked")
        return chain
    except (OSError, ValueError) as error:
        return _broken(chain, total, f"the head sidecar is not valid: {error}")
    chain = replace(chain, sealed=sealed_records)
    if sealed_records > total:
        return _broken(chain, total + 1, f"the log holds {total} records but was sealed with {sealed_records} (records removed at the end)")
    if sealed_sha256 != line_sha256[sealed_records - 1]:
        if sealed_records == total:
            return _broken(chain, total, "the last record was changed after the log was sealed (its SHA-256 differs from the head sidecar)")
        return _broken(chain, sealed_records, f"record {sealed_records}, which the head sidecar seals, was changed (its SHA-256 differs)")
    if sealed_records < total:
        later = actions[sealed_records:]
        if "scan_finished" in later:
            finished = sealed_records + later.index("scan_finished") + 1
            return _broken(chain, total, f"the log holds {total} records but was sealed with {sealed_records}: the scan that "
                                         f"finished at record {finished} would have sealed it again (the seal was replaced)")
        if later[0] != "scan_resumed" or required:
            return _broken(chain, sealed_records + 1, f"the log holds {total} records but was sealed with {sealed_records} "
                                                      "(records added at the end)")
    return chain  # sealed at its last record, or at the record before a resumed scan that has not finished


def _check_reports(path: str | os.PathLike, chain: LogVerification, reports: Mapping[str, tuple[int, Any]]) -> LogVerification:
    """Each report's file against the SHA-256 its last report_written record names, where the file is there."""
    matched, missing, differing = [], [], []
    first = None
    for report, (number, recorded) in reports.items():
        found = report if os.path.lexists(report) else os.path.join(os.path.dirname(os.fspath(path)), os.path.basename(report))
        try:
            info = os.lstat(found)
        except FileNotFoundError:
            missing.append(report)
            continue
        except OSError as error:
            differing.append(f"{report} cannot be read ({error.strerror or error})")
        else:
            if not stat.S_ISREG(info.st_mode):
                differing.append(f"{found} is no longer a regular file")
            else:
                try:
                    actual = file_sha256(found)
                except OSError as error:
                    differing.append(f"{found} cannot be read ({error.strerror or error})")
                else:
                    if actual == recorded:
                        matched.append(found)
                        continue
                    differing.append(f"{found} has SHA-256 {actual}, but record {number} names {recorded}")
        first = number if first is None else min(first, number)
    chain = replace(chain, reports_matched=matched, reports_missing=missing)
    if differing:
        return _broken(chain, first, "a report differs from its report_written record (changed after the scan): " + "; ".join(differing))
    return chain


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in chunks: a report the log names, a weights file its card names."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class CustodyLog:
    """Appends hash-chained action records to a JSONL file.

    ``context`` holds the fields every record repeats (tool version, model
    SHA-256, settings, command line, host, case, exhibit, examiner). Opening
    an existing log continues its chain; a log whose chain is broken is
    refused with ValueError, so a resume never builds on a tampered log.
    """

    def __init__(self, path: str | os.PathLike, context: Mapping[str, Any]):
        self.path = os.fspath(path)
        self.context = dict(context)
        self.sequence = 0
        self.last_sha256 = GENESIS
        if os.path.exists(self.path) and os.path.getsize(self.path):
            check = verify_log(self.path, check_reports=False)  # a resume renders its reports again
            if not check.ok:
                raise ValueError(f"custody log {self.path} is broken at record {check.first_broken}: {check.reason}")
            self.sequence = check.records
            self.last_sha256 = check.final_sha256
            self._finish_interrupted_seal()
        self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)

    def _finish_interrupted_seal(self) -> None:
        """Rename a ``LOG.head.next`` that seals the last record over ``LOG.head``, as the killed append would have."""
        if _pending_seal(self.path, (self.sequence, self.last_sha256)):
            os.replace(next_seal_path(self.path), seal_path(self.path))

    def append(self, action: str, data: Mapping[str, Any] | None = None, seal: bool = False) -> str:
        """Write one record and return the SHA-256 of its line (the new chain head).

        With ``seal`` the record is sealed in the two steps of the module docstring.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown custody action {action!r}")
        record = {
            **self.context,
            "sequence": self.sequence + 1,
            "previous_sha256": self.last_sha256,
            "time_utc": utc_now(),
            "action": action,
            "data": dict(data or {}),
        }
        record["record_sha256"] = _record_hash(record)
        line = _canonical(record)
        if seal:
            self._write_seal(next_seal_path(self.path), self.sequence + 1, hashlib.sha256(line).hexdigest())
        written = os.write(self._descriptor, line + b"\n")
        if written != len(line) + 1:
            raise OSError(f"short write to the custody log {self.path}")
        os.fsync(self._descriptor)
        self.sequence += 1
        self.last_sha256 = hashlib.sha256(line).hexdigest()
        if seal:
            os.replace(next_seal_path(self.path), seal_path(self.path))
        return self.last_sha256

    def recorded(self, action: str, key: str) -> list[Any]:
        """``data[key]`` of every ``action`` record so far, in order (the chain was verified on opening)."""
        with open(self.path, "rb") as stream:
            records = [json.loads(line) for line in stream]
        return [record["data"].get(key) for record in records if record["action"] == action]

    def seal(self) -> None:
        """Anchor the chain's last record outside the log: write ``LOG.head`` by rename."""
        self._write_seal(seal_path(self.path), self.sequence, self.last_sha256)

    @staticmethod
    def _write_seal(target: str, records: int, final_sha256: str) -> None:
        content = json.dumps({"records": records, "final_sha256": final_sha256}) + "\n"
        folder, name = os.path.split(target)
        with tempfile.NamedTemporaryFile("w", dir=folder or ".", prefix=f".{name}.", delete=False) as stream:
            try:
                stream.write(content)
                stream.flush()
                os.fsync(stream.fileno())
                os.replace(stream.name, target)
            except BaseException:
                os.unlink(stream.name)
                raise

    def close(self) -> None:
        """Close the log's descriptor."""
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1

    def __enter__(self) -> CustodyLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
