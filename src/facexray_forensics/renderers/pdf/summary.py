"""The summary: counts by status and band, and the flagged items, highest score first."""

from __future__ import annotations

from facexray_forensics.records import FLAGGED_BANDS, Band, ScanReport, Status
from facexray_forensics.renderers.pdf.layout import Layout
from facexray_forensics.renderers.pdf.text import name_cell, score_text


def summary_section(layout: Layout, report: ScanReport) -> list:
    counts = report.summary
    return [
        layout.section("Summary"),
        layout.key_values([
            ("Items", counts["items"]),
            ("Flagged (moderate or strong)", counts["flagged"]),
            ("Failed (unreadable or hash mismatch)", counts["failed"]),
            ("Hash mismatches", counts["hash_mismatches"]),
        ]),
        layout.section("Items by status", level=1),
        layout.table(["Status", "Items"], [[status.value, counts[status.value]] for status in Status], [0.5, 0.2]),
        layout.section("Scored items by band", level=1),
        layout.table(
            ["Band", "Items"],
            [[band.value, sum(item.band is band for item in report.items)] for band in Band],
            [0.5, 0.2],
        ),
        layout.section("Flagged items, highest score first", level=1),
        _flagged(layout, report),
    ]


def _flagged(layout: Layout, report: ScanReport):
    """The flagged items with their item-page numbers, or a line saying there are none."""
    flagged = report.flagged
    if not flagged:
        return layout.paragraph(
            "No item reached the " + " or ".join(sorted(band.value for band in FLAGGED_BANDS)) + " band."
        )
    pages = {item.name: index for index, item in enumerate(report.items, start=1)}
    return layout.table(
        ["Item", "Name", "Score", "Band", "Faces"],
        [[pages[item.name], name_cell(item.name), score_text(item.score), item.band, len(item.faces)] for item in flagged],
        [0.08, 0.56, 0.1, 0.16, 0.1],
    )
