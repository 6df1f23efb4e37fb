"""The CSV report: one row per item, for spreadsheets and case tools.

Text cells are neutralised against formula injection (the OWASP rule): a
text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading single quote, so a spreadsheet shows it as text and
never runs it. Any column may carry such text: EXIF values and file names
come from the evidence. Numbers (size, score, face count) are written as
numbers and never changed, so a negative number stays negative. To get a
quoted cell's original text back, strip one leading ``'`` from text that
starts with ``'`` followed by one of those characters.
"""

from __future__ import annotations

import csv
import os

from facexray_forensics.records import ScanReport

#: The columns of every scan; the plugins' declared columns follow, named ``plugin.column``.
COLUMNS = (
    "path", "kind", "mime", "size", "md5", "sha1", "sha256", "hash_verified",
    "status", "reason", "score", "band", "faces",
)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(cell: object) -> int | float | str:
    """A number as it is; anything else as its text, with a leading ``'`` when a spreadsheet would read a formula."""
    if isinstance(cell, (int, float)):
        return cell
    text = str(cell)  # what csv would write: a non-text value (EXIF bytes, say) must not slip past as one
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: object) -> object:
    """A declared column's value as a cell: empty for none, a list's items joined by ";"."""
    if value is None:
        return ""
    return ";".join(map(str, value)) if isinstance(value, (list, tuple)) else value


def render_csv(report: ScanReport, path: str | os.PathLike) -> None:
    """Write one row per item of ``report`` to ``path``; empty cells for missing values."""
    declared = list(report.declared_columns())
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([*COLUMNS, *declared])
        for item in report.items:
            verified = item.hash_verified
            row = [
                item.name, item.kind, item.mime or "", item.size,
                item.hashes.get("md5", ""), item.hashes.get("sha1", ""), item.hashes.get("sha256", ""),
                "" if verified is None else ("yes" if verified else "NO"),
                item.status.value, item.reason or "",
                "" if item.score is None else float(item.score),
                "" if item.band is None else item.band.value,
                len(item.faces), *map(_cell, report.column_values(item).values()),
            ]
            writer.writerow([neutralised(cell) for cell in row])
