"""The report's first section: the case, the tool and model, the scan's settings and evidence warnings."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from reportlab.platypus import Paragraph, Spacer

from facexray_forensics.records import ScanReport
from facexray_forensics.renderers.pdf.layout import Layout
from facexray_forensics.renderers.pdf.text import Markup, flatten, markup


def case_section(layout: Layout, report: ScanReport) -> list:
    """The title, the case table (who, when, where, with what) and the scan's settings."""
    model_name = report.model_card.get("name") if isinstance(report.model_card, Mapping) else None
    rows = [
        ("Case", report.case or "not given"),
        ("Exhibit", report.exhibit or "not given"),
        ("Examiner", report.examiner or "not given"),
        ("Tool version", f"facexray-forensics {report.tool_version}"),
        ("Model", model_name),
        ("Model SHA-256", report.model_sha256),
        ("Started (UTC)", report.started_utc),
        ("Finished (UTC)", report.finished_utc),
        ("Host", report.host),
        ("Command line", shlex.join(report.command_line)),
        ("Evidence", Markup("<br/>".join(markup(root) for root in report.evidence))),
        ("Custody log", report.custody_log),
        ("Custody log SHA-256 at scan end", report.custody_log_sha256),
    ]
    return [
        Paragraph("Face X-ray forensic report", layout.title),
        layout.section("Case"),
        layout.key_values(rows, mono_keys={"Model SHA-256", "Custody log SHA-256 at scan end", "Command line"}),
        Spacer(1, 6),
        layout.section("Settings", level=1),
        layout.key_values(flatten(dict(report.settings))),
        *_evidence_warnings(layout, report.evidence_warnings),
    ]


def _evidence_warnings(layout: Layout, warnings: list[str]) -> list:
    """How overlapping or repeated roots were taken; nothing when no root overlapped."""
    if not warnings:
        return []
    return [layout.section("Evidence warnings", level=1), *(layout.paragraph(markup(text), layout.bullet) for text in warnings)]
