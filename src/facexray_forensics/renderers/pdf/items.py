"""One page per item: its picture beside its facts, its faces, a video's timeline, and every finding."""

from __future__ import annotations

from typing import Any

from reportlab.platypus import PageBreak, Spacer, Table, TableStyle

from facexray_forensics.records import FLAGGED_BANDS, FaceResult, ItemReport, ScanReport
from facexray_forensics.renderers.pdf.findings import findings_tables
from facexray_forensics.renderers.pdf.layout import Layout
from facexray_forensics.renderers.pdf.pictures import Pictures
from facexray_forensics.renderers.pdf.text import (
    HEADING_NAME_CHARACTERS,
    flatten,
    frame_label,
    hash_check,
    plain,
    score_text,
    shortened,
)
from facexray_forensics.renderers.pdf.timeline import timeline


def item_pages(layout: Layout, report: ScanReport, pictures: Pictures) -> list:
    """Every item on a page of its own, in report order, under the "Items" section heading."""
    story: list = []
    for number, item in enumerate(report.items, start=1):
        story.append(PageBreak())
        if number == 1:
            story.append(layout.section("Items"))
        story += _item_page(layout, report, pictures, number, item)
    return story


def _item_page(layout: Layout, report: ScanReport, pictures: Pictures, number: int, item: ItemReport) -> list:
    title = f"Item {number} of {len(report.items)}: {shortened(item.name, HEADING_NAME_CHARACTERS)}"
    story = [layout.section(title, level=1), *_picture_and_facts(layout, pictures, item), Spacer(1, 6)]
    faces = item.faces
    if faces:
        story.append(_face_table(layout, faces))
        if item.kind == "video":
            story += timeline(layout, faces, report.model_card)
            if item.band in FLAGGED_BANDS:
                story += pictures.top_frames(item, faces)
        story += pictures.face_strip(item, faces)
    story += findings_tables(layout, list(item.findings.values()))
    return story


def _face_table(layout: Layout, faces: list[FaceResult]):
    return layout.table(
        ["Face", "Box x0, y0, x1, y1 (frame pixels)", "Frame (time)", "Score", "Band"],
        [
            [index, ", ".join(f"{value:.0f}" for value in face.box), frame_label(face), score_text(face.score), face.band]
            for index, face in enumerate(faces, start=1)
        ],
        [0.08, 0.4, 0.16, 0.12, 0.24],
    )


def _picture_and_facts(layout: Layout, pictures: Pictures, item: ItemReport) -> list:
    """The picture and the item's facts side by side, which keeps an item on one page.

    A table row cannot break across pages, so facts too tall for one
    (long paths, long reasons) follow the picture at full width instead.
    """
    picture_width = 0.58 * layout.width
    facts_width = layout.width - picture_width - 8
    rows = _fact_rows(item)
    facts = layout.key_values(rows, mono_keys={"SHA-256"}, width=facts_width)
    if not layout.fits_a_page(facts, facts_width):
        return [*pictures.picture(item, picture_width), layout.key_values(rows, mono_keys={"SHA-256"})]
    top = Table([[pictures.picture(item, picture_width), facts]],
                colWidths=[picture_width, layout.width - picture_width], hAlign="LEFT")
    top.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (0, 0), 0),
        ("RIGHTPADDING", (0, 0), (0, 0), 8),
        ("LEFTPADDING", (1, 0), (1, 0), 0),
    ]))
    return [top]


def _fact_rows(item: ItemReport) -> list[tuple[str, Any]]:
    long_name = len(plain(item.name)) > HEADING_NAME_CHARACTERS  # the heading shows it cut
    return [
        *((("Name", item.name),) if long_name else ()),
        ("Status", item.status),
        *((("Reason", item.reason),) if item.reason else ()),
        ("Score", score_text(item.score)),
        ("Band", item.band),
        ("Type", f"{item.kind}" + (f" ({item.mime})" if item.mime else "")),
        ("Size", f"{item.size:,} bytes"),
        *((f"Origin: {key}", value) for key, value in flatten(dict(item.origin))),
        ("SHA-256", (item.hashes or {}).get("sha256")),
        ("Hash check", hash_check(item)),
    ]
