"""The CSV report: one row per item, for spreadsheets and case tools."""

from __future__ import annotations

import csv
import os

from facexray_forensics.records import ScanReport

COLUMNS = (
    "path", "kind", "mime", "size", "md5", "sha1", "sha256", "hash_verified",
    "status", "reason", "score", "band", "faces", "camera", "software", "editing_software",
)


def render_csv(report: ScanReport, path: str | os.PathLike) -> None:
    """Write one row per item of ``report`` to ``path``; empty cells for missing values."""
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for item in report.items:
            metadata = item.findings["exif"].values if "exif" in item.findings else {}
            camera = " ".join(str(metadata[key]) for key in ("camera_make", "camera_model") if metadata.get(key))
            verified = item.hash_verified
            writer.writerow(
                [
                    item.name, item.kind, item.mime or "", item.size,
                    item.hashes.get("md5", ""), item.hashes.get("sha1", ""), item.hashes.get("sha256", ""),
                    "" if verified is None else ("yes" if verified else "NO"),
                    item.status.value, item.reason or "",
                    "" if item.score is None else repr(float(item.score)),
                    "" if item.band is None else item.band.value,
                    len(item.faces), camera, metadata.get("software") or "",
                    ";".join(metadata.get("editing_software") or []),
                ]
            )
