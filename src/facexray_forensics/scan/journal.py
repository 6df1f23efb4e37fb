"""The per-item results journal that makes ``--resume`` lose and repeat nothing.

One JSON line per finished item, written with a single ``write`` and
fsynced before the scan moves on. The first line is a header naming the
evidence and the settings that decide results, so a resume with other
settings is refused. Reading tolerates a torn last line (a kill during the
write) by cutting it off: that item is simply scanned again.

The custody log records the SHA-256 of each item's journal line, and a
resume trusts only lines it vouches for, in order. A :class:`ScanLock`
beside the journal keeps a second scan of the same outputs out.

:func:`item_to_dict` and :func:`item_from_dict` are exact inverses for
everything a renderer reads; X-ray maps travel as 8-bit PNG.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from facexray_forensics.records import Band, FaceResult, Finding, ItemReport, Status, item_identity

FORMAT = "fxr-scan-journal/1"


def _xray_to_text(xray: np.ndarray | None) -> str | None:
    import cv2

    if xray is None:
        return None
    quantised = np.clip(np.rint(np.asarray(xray, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".png", quantised)
    if not ok:
        raise ValueError("could not encode an X-ray map as PNG")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


def _xray_from_text(text: str | None) -> np.ndarray | None:
    import cv2

    if text is None:
        return None
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(text), np.uint8), cv2.IMREAD_UNCHANGED)
    return decoded.astype(np.float32) / 255.0


def _face_to_dict(face: FaceResult) -> dict[str, Any]:
    return {
        "box": list(face.box),
        "landmarks": [list(point) for point in face.landmarks],
        "score": face.score,
        "band": face.band.value,
        "xray_png": _xray_to_text(face.xray),
        "frame_index": face.frame_index,
        "timestamp": face.timestamp,
        "track": face.track,
        "matrix": None if face.matrix is None else np.asarray(face.matrix, dtype=np.float64).tolist(),
    }


def _face_from_dict(data: Mapping[str, Any]) -> FaceResult:
    return FaceResult(
        box=tuple(data["box"]),
        landmarks=[tuple(point) for point in data["landmarks"]],
        score=data["score"],
        band=Band(data["band"]),
        xray=_xray_from_text(data["xray_png"]),
        frame_index=data["frame_index"],
        timestamp=data["timestamp"],
        track=data["track"],
        matrix=None if data["matrix"] is None else np.asarray(data["matrix"], dtype=np.float32),
    )


def item_to_dict(report: ItemReport) -> dict[str, Any]:
    """An ItemReport as JSON-able values (findings' transient crops and stage seconds left out)."""
    return {
        "name": report.name,
        "kind": report.kind,
        "mime": report.mime,
        "size": report.size,
        "origin": dict(report.origin),
        "status": report.status.value,
        "reason": report.reason,
        "hashes": report.hashes,
        "hashes_after": report.hashes_after,
        "score": report.score,
        "band": None if report.band is None else report.band.value,
        "findings": {
            name: {
                "plugin": finding.plugin,
                "version": finding.version,
                "values": finding.values,
                "status": None if finding.status is None else finding.status.value,
                "reason": finding.reason,
                "faces": [_face_to_dict(face) for face in finding.faces],
                "score": finding.score,
                "band": None if finding.band is None else finding.band.value,
            }
            for name, finding in report.findings.items()
        },
    }


def item_from_dict(data: Mapping[str, Any]) -> ItemReport:
    """The inverse of :func:`item_to_dict`."""
    findings = {
        name: Finding(
            plugin=value["plugin"],
            version=value["version"],
            values=value["values"],
            status=None if value["status"] is None else Status(value["status"]),
            reason=value["reason"],
            faces=[_face_from_dict(face) for face in value["faces"]],
            score=value["score"],
            band=None if value["band"] is None else Band(value["band"]),
        )
        for name, value in data["findings"].items()
    }
    return ItemReport(
        name=data["name"],
        kind=data["kind"],
        mime=data["mime"],
        size=data["size"],
        origin=data["origin"],
        status=Status(data["status"]),
        reason=data["reason"],
        hashes=data["hashes"],
        hashes_after=data["hashes_after"],
        score=data["score"],
        band=None if data["band"] is None else Band(data["band"]),
        findings=findings,
    )


def lock_path(journal_path: str | os.PathLike) -> str:
    """The lock file of the journal at ``journal_path``."""
    return f"{os.fspath(journal_path)}.lock"


class ScanLock:
    """An exclusive lock on one output set, held for the whole scan; a second scan is refused at once."""

    def __init__(self, journal_path: str | os.PathLike):
        self.path = lock_path(journal_path)
        self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._descriptor, 256, 0).decode("utf-8", "replace").strip() or "a process just starting"
            os.close(self._descriptor)
            raise ValueError(f"another scan is writing these outputs ({holder}; lock {self.path}): wait for it to end") from None
        os.ftruncate(self._descriptor, 0)
        os.pwrite(self._descriptor, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)

    def __enter__(self) -> ScanLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self._descriptor)  # releases the lock; the file stays, so no two scans lock different files


def _line_sha256(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _item_name(line: bytes) -> str:
    try:
        return json.loads(line)["name"]
    except (ValueError, KeyError, TypeError):
        return "an unreadable record"


def _vouched(lines: Sequence[bytes], recorded: Sequence[str]) -> Sequence[bytes]:
    """The journal lines the custody log vouches for: each has the SHA-256 logged for it, in order.

    A changed, removed or reordered line refuses the resume rather than being
    analysed again: redoing it would hide the tampering and leave two results
    for one item in the custody log. Only a last line the log never got (a
    kill between the two writes) is dropped, and its item analysed again.
    """
    for number, (line, expected) in enumerate(zip(lines, recorded), start=2):
        if _line_sha256(line) != expected:
            raise ValueError(f"cannot resume: journal line {number} ({_item_name(line)}) does not match the SHA-256 "
                             "the custody log recorded for it; the journal was altered")
    if len(lines) < len(recorded):
        raise ValueError(f"cannot resume: the journal holds {len(lines)} items but the custody log recorded "
                         f"{len(recorded)}; journal lines were removed")
    if len(lines) > len(recorded) + 1:
        line = lines[len(recorded)]
        raise ValueError(f"cannot resume: journal line {len(recorded) + 2} ({_item_name(line)}) was never recorded "
                         "in the custody log; the journal was altered")
    return lines[: len(recorded)]


#: A finding value that marks an outcome of the scan's own circumstances, not of the evidence (a cluster
#: worker that could not see the file): a --resume analyses that item again, and its new record replaces it.
ANALYSE_AGAIN = "analyse_again_on_resume"


def analyse_again(record: Mapping[str, Any]) -> bool:
    """Whether a journal record asks --resume to analyse its item again (:data:`ANALYSE_AGAIN`)."""
    return any(finding["values"].get(ANALYSE_AGAIN) for finding in record["findings"].values())


class Journal:
    """Append-only JSONL of finished items; see the module docstring.

    ``recorded`` is, on resume, the SHA-256 the custody log holds for each journal line, in order.
    """

    def __init__(self, path: str | os.PathLike, header: Mapping[str, Any], resume: bool, recorded: Sequence[str] = ()):
        self.path = os.fspath(path)
        self.done: dict[str, dict[str, Any]] = {}  # by item identity
        header_line = {"format": FORMAT, **header}
        if resume and os.path.exists(self.path):
            self._load(header_line, recorded)
            self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
        else:
            self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
            self._write(header_line)

    def _load(self, header_line: Mapping[str, Any], recorded: Sequence[str]) -> None:
        with open(self.path, "rb") as stream:
            content = stream.read()
        # A torn last line (a kill mid-write) is left out: the item it held is scanned again.
        lines = content[: content.rfind(b"\n") + 1].splitlines(keepends=True)
        if not lines:
            raise ValueError(f"journal {self.path} has no header; start a new scan instead of --resume")
        found = json.loads(lines[0])
        if found != json.loads(json.dumps(header_line)):
            differences = sorted(key for key in {*found, *header_line} if found.get(key) != header_line.get(key))
            raise ValueError(
                f"cannot resume: the journal {self.path} was made with different {', '.join(differences)}"
            )
        kept = _vouched(lines[1:], recorded)
        for line in kept:
            record = json.loads(line)
            self.done[item_identity(record["name"], record["origin"])] = record
        length = sum(map(len, [lines[0], *kept]))
        if length < len(content):
            os.truncate(self.path, length)

    def _write(self, record: Mapping[str, Any]) -> str:
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8") + b"\n"
        if os.write(self._descriptor, line) != len(line):
            raise OSError(f"short write to the journal {self.path}")
        os.fsync(self._descriptor)
        return _line_sha256(line)

    def append(self, report: ItemReport) -> str:
        """Record one finished item durably; return its line's SHA-256, for the custody log."""
        record = item_to_dict(report)
        digest = self._write(record)
        self.done[report.identity] = record
        return digest

    def close(self) -> None:
        """Close the journal's descriptor."""
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1
