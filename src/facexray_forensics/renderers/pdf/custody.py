"""The closing section: the custody log and the SHA-256 of its last scan record, and how to check them."""

from __future__ import annotations

from pathlib import Path

from facexray_forensics.records import ScanReport
from facexray_forensics.renderers.pdf.layout import Layout
from facexray_forensics.renderers.pdf.text import markup


def custody_section(layout: Layout, report: ScanReport) -> list:
    name = Path(report.custody_log).name if report.custody_log else "the custody log"
    return [
        layout.section("Custody log"),
        layout.key_values([
            ("Custody log", report.custody_log or "not recorded"),
            ("SHA-256 at scan end", report.custody_log_sha256 or "not recorded"),
        ], mono_keys={"SHA-256 at scan end"}),
        layout.paragraph(
            f"Every record of {markup(name)} carries the SHA-256 of the record before it. The hash above is "
            "that of its scan_finished record, and anchors every record up to it; only the records of the "
            "reports written from this scan (each with the report's own SHA-256) may follow it. "
            "<font name='Courier'>fxr-forensic verify-log LOG --expect HASH</font> checks the chain, names the "
            "first broken record, and checks that the log holds this hash with nothing but report records after it. A report cannot contain its own hash: the SHA-256 of this PDF is in the file "
            "of the same name ending in <font name='Courier'>.sha256</font> beside it, and in the custody log."
        ),
    ]
