"""The evidence inventory: every item's size, type and hashes, and whether they held to the end of the scan."""

from __future__ import annotations

from facexray_forensics.records import ItemReport, ScanReport
from facexray_forensics.renderers.pdf.layout import Layout
from facexray_forensics.renderers.pdf.text import Markup, hash_check, markup, name_cell

ALGORITHMS = ("md5", "sha1", "sha256")


def inventory_section(layout: Layout, report: ScanReport) -> list:
    """The counts of verified, mismatched and unchecked items, then one row per item."""
    items = report.items
    story = [
        layout.section("Evidence inventory"),
        layout.paragraph(
            "Hashes were computed before analysis from a read-only stream, and again at the end of the scan. "
            f"{len(items)} items; "
            f"{sum(item.hash_verified is True for item in items)} verified, "
            f"{sum(item.hash_verified is False for item in items)} mismatched, "
            f"{sum(item.hash_verified is None for item in items)} not rechecked."
        ),
    ]
    if items:
        rows = [_row(number, item) for number, item in enumerate(items, start=1)]
        story.append(
            layout.table(["#", "Item", "Size", "MD5 / SHA-1 / SHA-256", "Check"], rows,
                         [0.04, 0.18, 0.1, 0.56, 0.12], mono_columns={3})
        )
    return story


def _row(number: int, item: ItemReport) -> list:
    """The item's row; a mismatched item shows its hashes after the scan too."""
    digest_lines = _digests(item.hashes or {})
    if item.hashes_after is not None and item.hash_verified is False:
        digest_lines += "<br/><b>after:</b><br/>" + _digests(item.hashes_after)
    check = hash_check(item)
    return [
        number,
        name_cell(item.name),
        Markup(f"{item.size:,} bytes" + (f"<br/>{markup(item.mime)}" if item.mime else "")),
        Markup(digest_lines),
        Markup(f"<b>{check}</b>" if check == "MISMATCH" else check),
    ]


def _digests(hashes: dict[str, str]) -> str:
    return "<br/>".join(f"{name.upper()} {markup(hashes.get(name, '—'))}" for name in ALGORITHMS)
