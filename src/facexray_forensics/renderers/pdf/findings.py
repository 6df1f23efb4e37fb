"""Every plugin's findings on an item's page, as key/value tables; short tables two a row."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import Table, TableStyle

from facexray_forensics.records import Finding
from facexray_forensics.renderers.pdf.layout import Layout
from facexray_forensics.renderers.pdf.text import flatten, score_text

#: Rows of one finding's table before the rest is left to the JSON report.
FINDING_ROWS = 60
#: Findings with at most this many rows are set two a row.
SHORT_FINDING_ROWS = 24


def findings_tables(layout: Layout, findings: list[Finding]) -> list:
    """Each finding under its plugin's name and version; short tables two a row, so an item keeps to one page."""
    story: list = []
    pending: list[list] = []
    half = layout.width / 2
    for finding in findings:
        rows = finding_rows(finding)
        title = layout.section(f"Findings of {finding.plugin} {finding.version}", level=2, style=layout.subheading)
        table = layout.key_values(rows, width=half - 6)
        if len(rows) > SHORT_FINDING_ROWS or not layout.fits_a_page(table, half - 6):
            story += _side_by_side(pending, half)  # a long table must be free to break across pages
            pending = []
            story += [title, layout.key_values(rows)]
            continue
        pending.append([title, table])
        if len(pending) == 2:
            story += _side_by_side(pending, half)
            pending = []
    return story + _side_by_side(pending, half)


def _side_by_side(pending: list[list], half: float) -> list:
    """One or two (title, table) cells as a row of two half-page columns; nothing for none."""
    if not pending:
        return []
    cells = pending + [""] * (2 - len(pending))
    table = Table([cells], colWidths=[half, half], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 6),
    ]))
    return [table]


def finding_rows(finding: Finding) -> list[tuple[str, Any]]:
    """The finding's outcome (status, reason, score, band), then its values flattened, cut at FINDING_ROWS."""
    rows: list[tuple[str, Any]] = []
    if finding.status is not None:
        rows.append(("status", finding.status))
    if finding.reason:
        rows.append(("reason", finding.reason))
    if finding.score is not None:
        rows.append(("item score", score_text(finding.score)))
    if finding.band is not None:
        rows.append(("item band", finding.band))
    values = [(key, value) for key, value in flatten(finding.values) if value is not None]
    if len(values) > FINDING_ROWS:
        values = values[:FINDING_ROWS] + [("...", f"{len(values) - FINDING_ROWS} more values in the JSON report")]
    return rows + values
