"""The JSON report: the scan header and one record per item.

Each item record carries ``path``, ``md5``, ``sha1``, ``sha256``,
``status``, ``score`` (null when not scored, never 0), ``band``, ``faces``
(box, score, band, 68 landmarks, frame index, timestamp and, in a
video, the face track), ``columns`` (the values the plugins declare as
columns, by ``plugin.column``; the scan header lists them) and the
findings of every plugin. The file validates against :data:`SCHEMA_PATH`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from facexray_forensics.records import FaceResult, ItemReport, ScanReport

FORMAT = "fxr-scan/2"  # 2: "columns", declared by the plugins, replace the EXIF-only "metadata"
SCHEMA_PATH = Path(__file__).with_name("scan.schema.json")


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _face(face: FaceResult) -> dict[str, Any]:
    return {
        "box": [float(value) for value in face.box],
        "score": _number(face.score),
        "band": face.band.value,
        "landmarks": [[float(x), float(y)] for x, y in face.landmarks],
        "frame_index": face.frame_index,
        "timestamp": face.timestamp,
        "track": face.track,
    }


def item_record(item: ItemReport, columns: dict[str, Any]) -> dict[str, Any]:
    """One item as the JSON report writes it, with its values of the declared ``columns``."""
    return {
        "path": item.name,
        "kind": item.kind,
        "mime": item.mime,
        "size": item.size,
        "origin": dict(item.origin),
        "md5": item.hashes.get("md5"),
        "sha1": item.hashes.get("sha1"),
        "sha256": item.hashes.get("sha256"),
        "hashes_after": item.hashes_after,
        "hash_verified": item.hash_verified,
        "status": item.status.value,
        "reason": item.reason,
        "score": _number(item.score),
        "band": None if item.band is None else item.band.value,
        "faces": [_face(face) for face in item.faces],
        "columns": columns,
        "findings": {
            name: {
                "version": finding.version,
                "status": None if finding.status is None else finding.status.value,
                "reason": finding.reason,
                "values": finding.values,
            }
            for name, finding in item.findings.items()
        },
    }


def report_document(report: ScanReport) -> dict[str, Any]:
    """The whole JSON document for ``report``."""
    return {
        "format": FORMAT,
        "scan": {
            "case": report.case,
            "exhibit": report.exhibit,
            "examiner": report.examiner,
            "tool_version": report.tool_version,
            "model_sha256": report.model_sha256,
            "model_card": dict(report.model_card),
            "settings": dict(report.settings),
            "command_line": list(report.command_line),
            "host": report.host,
            "started_utc": report.started_utc,
            "finished_utc": report.finished_utc,
            "evidence": list(report.evidence),
            "evidence_warnings": list(report.evidence_warnings),
            "custody_log": report.custody_log,
            "custody_log_sha256": report.custody_log_sha256,
            "summary": report.summary,
            "columns": {
                label: {"type": column.type.__name__, "help": column.help}
                for label, (_, column) in report.declared_columns().items()
            },
        },
        "items": [item_record(item, report.column_values(item)) for item in report.items],
    }


def render_json(report: ScanReport, path: str | os.PathLike) -> None:
    """Write the JSON report of ``report`` to ``path`` (UTF-8, sorted keys, indented)."""
    text = json.dumps(report_document(report), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False, default=str)
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as stream:
        stream.write(text + "\n")


def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) the report follows."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
