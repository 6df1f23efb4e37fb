"""The per-item results journal that makes ``--resume`` lose and repeat nothing.

One JSON line per finished item, written with a single ``write`` and
fsynced before the scan moves on. The first line is a header naming the
evidence and the settings that decide results, so a resume with other
settings is refused. Reading tolerates a torn last line (a kill during the
write) by cutting it off: that item is simply scanned again.

:func:`item_to_dict` and :func:`item_from_dict` are exact inverses for
everything a renderer reads; X-ray maps travel as 8-bit PNG.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from facexray_forensics.records import Band, FaceResult, Finding, ItemReport, Status

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
    """An ItemReport as JSON-able values (findings' transient ``data`` left out)."""
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


class Journal:
    """Append-only JSONL of finished items; see the module docstring."""

    def __init__(self, path: str | os.PathLike, header: Mapping[str, Any], resume: bool):
        self.path = os.fspath(path)
        self.done: dict[str, dict[str, Any]] = {}
        header_line = {"format": FORMAT, **header}
        if resume and os.path.exists(self.path):
            self._load(header_line)
            self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        else:
            self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
            self._write(header_line)

    def _load(self, header_line: Mapping[str, Any]) -> None:
        with open(self.path, "rb") as stream:
            content = stream.read()
        complete_length = content.rfind(b"\n") + 1
        if complete_length < len(content):
            # A torn last line from a kill mid-write: the item it held is scanned again.
            os.truncate(self.path, complete_length)
        lines = content[:complete_length].splitlines()
        if not lines:
            raise ValueError(f"journal {self.path} has no header; start a new scan instead of --resume")
        found = json.loads(lines[0])
        if found != json.loads(json.dumps(header_line)):
            differences = sorted(key for key in {*found, *header_line} if found.get(key) != header_line.get(key))
            raise ValueError(
                f"cannot resume: the journal {self.path} was made with different {', '.join(differences)}"
            )
        for line in lines[1:]:
            record = json.loads(line)
            self.done[record["name"]] = record

    def _write(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8") + b"\n"
        if os.write(self._descriptor, line) != len(line):
            raise OSError(f"short write to the journal {self.path}")
        os.fsync(self._descriptor)

    def append(self, report: ItemReport) -> None:
        """Record one finished item durably."""
        record = item_to_dict(report)
        self._write(record)
        self.done[report.name] = record

    def close(self) -> None:
        """Close the journal's descriptor."""
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1
