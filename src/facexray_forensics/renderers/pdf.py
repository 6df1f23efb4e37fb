"""The examiner's PDF report of a scan, drawn with reportlab.

Sections, in order: case header, evidence inventory (hashes and the
before/after check), summary (counts and flagged items by score), one page
per item (the picture with face boxes and the X-ray heat-map, the faces,
every plugin's findings as key/value tables), method and limitations (with
the model card's calibration and bands), and the custody log's final hash.

The renderer only draws: X-ray maps come from the records, warped back onto
the frame with each face's alignment matrix. Pixels come from a loader the
caller passes, so this module decodes nothing itself and opens no evidence.
"""

from __future__ import annotations

import dataclasses
import io
import shlex
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import cv2
import numpy as np
from PIL import Image as PillowImage
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from facexray_forensics import __version__
from facexray_forensics.records import FLAGGED_BANDS, Band, FaceResult, Finding, ItemReport, ScanReport, Status
from facexray_forensics.renderers.overlay import draw_faces, heat_map

#: Called as ``frames(item, frame_index)``; returns the frame the scan analysed
#: (H×W×3 RGB uint8, the same decoding and orientation as the scan) or None.
FrameLoader = Callable[[ItemReport, int], "np.ndarray | None"]

#: Longest side, in pixels, of a picture placed in the PDF; keeps reports small.
PICTURE_PIXELS = 1000
#: Frames shown for a flagged video: those of its highest-scoring faces.
TOP_FRAMES = 3
#: Rows of one finding's table before the rest is left to the JSON report.
FINDING_ROWS = 60
#: Characters of one table cell before the rest is left to the JSON report.
CELL_CHARACTERS = 2000
#: Characters of an item's name in a heading, and in a narrow table column, before it is cut in the
#: middle (its start and its file name stay); the item's page then gives it whole, and the JSON always does.
HEADING_NAME_CHARACTERS = 120
CELL_NAME_CHARACTERS = 300
#: Findings with at most this many rows are set two a row.
SHORT_FINDING_ROWS = 24

SECTION_TITLES = (
    "Case",
    "Evidence inventory",
    "Summary",
    "Items",
    "Method and limitations",
    "Custody log",
)

METHOD = (
    "Every item was hashed (MD5, SHA-1 and SHA-256) from a read-only stream before analysis and again "
    "at the end; the inventory shows whether the two agree. Faces were found with dlib's detector and "
    "its 68 landmarks, and each was cut to a square {scale:g} times the landmark extent and resized to "
    "{size} by {size} pixels, the input the model was trained on (its card's geometry). The Face X-ray "
    "model (Li et al., CVPR 2020) predicts, for every pixel of that crop, "
    "whether it lies on a blending boundary: the seam left where one face was pasted into another "
    "image. From that map it gives a probability, calibrated on held-out data, that the face was "
    "blended. An item's score is the highest over its faces, and its verbal band comes from the model "
    "card's thresholds. Items without a result (no face, face too small, unreadable, unsupported, too "
    "large, known file, and disk images, whose files are items of their own) carry no score, never zero. The heat-map on each item page is the predicted "
    "X-ray drawn back onto the picture: bright where the model sees a boundary."
)

LIMITATIONS = (
    "<b>Fully synthetic images.</b> Faces generated whole by GANs or diffusion models, with no "
    "blending step, leave no blending boundary. The model is not built to see them, and a low score "
    "says nothing about them.",
    "<b>Heavy compression.</b> Strong JPEG compression, resizing and re-encoding (social networks, "
    "messaging apps) smooth the boundary and lower the score of a forged face.",
    "<b>Tiny faces and low resolution.</b> Faces below the minimum size are not scored; small faces "
    "are enlarged to the model's input size and carry little evidence.",
    "<b>Extreme poses and unfamiliar faces.</b> Profiles, occlusion, unusual lighting and faces unlike "
    "those of the training data (see the model card) give less reliable results.",
    "<b>Other manipulations.</b> Edits that blend no face region (whole-image filters, expression "
    "edits without a seam) may be missed, and genuine photographs with local retouching or pasted "
    "objects near a face may score high.",
    "<b>Meaning of the probability.</b> It is calibrated on the model card's held-out data. It is not "
    "the probability that this exhibit is forged, which also depends on the circumstances of the case.",
    "<b>A result is an investigative lead, not proof.</b> A high score calls for examination by other "
    "means (source device, provenance, other forensic methods); a low score does not show that an "
    "image is authentic.",
)


def render_pdf(report: ScanReport, path: str | Path, frames: FrameLoader | None = None) -> None:
    """Write ``report`` as a PDF at ``path``.

    ``frames(item, frame_index)`` supplies the pixels of each item page (the
    scan passes a loader that re-decodes the item read-only, exactly as the
    scan did); without it, or when it returns None or fails, the page says
    that the picture is not shown. The PDF is deterministic for the same
    report and pixels (reportlab's invariant mode). Refuses, with
    ValueError, a ``path`` inside any evidence root of the report.

    The PDF's own SHA-256 is not written here: the scan hashes every output
    it wrote, logs the digest and writes ``path + ".sha256"`` beside it.
    """
    path = Path(path)
    _refuse_inside_evidence(path, report.evidence)
    builder = _Builder(report, frames)
    document = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=1.8 * cm,
        rightMargin=1.8 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.8 * cm,
        invariant=1,
        title=f"Face X-ray forensic report: case {_plain(report.case or 'not given')}",
        author=_plain(report.examiner or ""),
        subject=f"exhibit {_plain(report.exhibit or 'not given')}",
        creator=f"facexray-forensics {__version__}",
    )
    document.build(builder.story(), canvasmaker=_numbered_canvas(_footer_text(report)))


def flatten(values: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts and lists as (dotted key, scalar) rows, in their own order.

    Lists of plain scalars stay one row; empty containers are one row too.
    """
    if isinstance(values, Mapping):
        if not values and prefix:
            return [(prefix, "")]
        rows = []
        for key, value in values.items():
            rows.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(values, (list, tuple)):
        if all(not isinstance(value, (Mapping, list, tuple)) for value in values):
            return [(prefix, ", ".join(_format_value(value) for value in values))]
        rows = []
        for index, value in enumerate(values):
            rows.extend(flatten(value, f"{prefix}[{index}]"))
        return rows
    return [(prefix, values)]


# --- text helpers -----------------------------------------------------------


def _plain(text: Any) -> str:
    """Text the PDF's standard fonts can show unambiguously: characters outside
    Latin-1 and undecodable file-name bytes become visible escapes."""
    text = str(text)
    out = []
    for character in text:
        code = ord(character)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 32 or 127 <= code < 160:
            out.append(f"\\x{code:02x}")
        elif code > 255 and not _in_standard_fonts(character):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(character)
    return "".join(out)


def _in_standard_fonts(character: str) -> bool:
    """Whether the PDF's standard fonts (WinAnsi encoding, i.e. cp1252) have ``character``."""
    try:
        character.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _markup(text: Any) -> str:
    return escape(_plain(text))


def _shortened(text: Any, limit: int) -> str:
    """``text`` made plain (see :func:`_plain`) and, when longer than ``limit``, cut in the middle with an
    ellipsis: the start and the end (a path's file name) stay, and no escape is split."""
    pieces = [_plain(character) for character in str(text)]
    if sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    head = _leading(pieces, limit // 3)
    tail = _leading(pieces[::-1], limit - limit // 3 - 1)[::-1]
    return "".join(head) + "\u2026" + "".join(tail)


def _leading(pieces: list[str], limit: int) -> list[str]:
    """The first of ``pieces`` that together hold at most ``limit`` characters."""
    taken, length = [], 0
    for piece in pieces:
        length += len(piece)
        if length > limit:
            break
        taken.append(piece)
    return taken


def _name_cell(name: str) -> _Markup:
    return _Markup(escape(_shortened(name, CELL_NAME_CHARACTERS)))


def _cell_markup(value: Any) -> str:
    if isinstance(value, _Markup):
        return value
    text = _format_value(value)
    if len(text) > CELL_CHARACTERS:
        # A table cell cannot break across pages: a longer one would not fit.
        text = f"{text[:CELL_CHARACTERS]} ... ({len(text)} characters in all; see the JSON report)"
    return _markup(text)


def _format_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, np.generic):
        value = value.item()  # numpy scalars from plugins read like Python ones
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, np.ndarray):
        return f"<array {'×'.join(map(str, value.shape))} {value.dtype}>"
    if isinstance(value, Status | Band):
        return value.value
    return str(value)


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _frame_label(face: FaceResult) -> str:
    if face.timestamp is None:
        return str(face.frame_index)
    return f"{face.frame_index} ({face.timestamp:.2f} s)"


def _hash_check(item: ItemReport) -> str:
    verified = item.hash_verified
    if verified is None:
        return "not rechecked"
    return "verified" if verified else "MISMATCH"


def _refuse_inside_evidence(path: Path, roots: Iterable[str]) -> None:
    target = path.resolve()
    for root in roots:
        base = Path(root).resolve()
        if target == base or base in target.parents:
            raise ValueError(f"refusing to write the report inside the evidence tree {root}")


def _footer_text(report: ScanReport) -> str:
    return _plain(
        f"Face X-ray forensic report · case {report.case or 'not given'} · exhibit {report.exhibit or 'not given'}"
    )


# --- page furniture ---------------------------------------------------------


def _numbered_canvas(footer: str):
    """A canvas class that writes "page N of M" and the case footer on every
    page; M is known only once all pages are laid out, so pages are kept and
    stamped when the document is saved."""
    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont("Helvetica", 7)
                self.setFillGray(0.35)
                self.drawString(1.8 * cm, 1.0 * cm, footer)
                self.drawRightString(A4[0] - 1.8 * cm, 1.0 * cm, f"page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


# --- the story ----------------------------------------------------------------


class _Builder:
    """Builds the list of flowables; one method per section."""

    def __init__(self, report: ScanReport, frames: FrameLoader | None):
        self.report = report
        self.frames = frames
        self._frames_cache: dict[tuple[str, int], tuple[np.ndarray | None, str | None]] = {}
        sheet = getSampleStyleSheet()
        self.title = ParagraphStyle("ReportTitle", parent=sheet["Title"], fontSize=18, spaceAfter=6)
        self.heading = ParagraphStyle("Section", parent=sheet["Heading1"], fontSize=14, spaceBefore=4, spaceAfter=6)
        self.subheading = ParagraphStyle("Subsection", parent=sheet["Heading2"], fontSize=11, spaceBefore=8, spaceAfter=4)
        self.body = ParagraphStyle("Body", parent=sheet["BodyText"], fontSize=9, leading=12)
        self.cell = ParagraphStyle("Cell", parent=sheet["BodyText"], fontSize=7.5, leading=9, wordWrap="CJK")
        self.key = ParagraphStyle("Key", parent=self.cell, fontName="Helvetica-Bold")
        self.mono = ParagraphStyle("Mono", parent=self.cell, fontName="Courier", fontSize=6, leading=7.5)
        self.bullet = ParagraphStyle("Bullet", parent=self.body, leftIndent=12, bulletIndent=2, spaceAfter=3)
        self.width = 21.0 * cm - 3.6 * cm
        self.height = A4[1] - 3.6 * cm - 12  # the page's frame, inside its 6-point padding
        self._outline = 0

    def story(self) -> list:
        story: list = []
        story += self.case_header()
        story += self.inventory()
        story.append(PageBreak())
        story += self.summary()
        story += self.items()
        story.append(PageBreak())
        story += self.method()
        story += self.custody()
        return story

    # -- building blocks

    def section(self, title: str, level: int = 0, style=None):
        self._outline += 1
        key = f"section-{self._outline}"
        paragraph = OutlinedParagraph(_markup(title), style or (self.heading if level == 0 else self.subheading))
        paragraph.outline = (title, key, level)
        return paragraph

    def paragraph(self, markup: str, style=None):
        return Paragraph(markup, style or self.body)

    def key_values(self, rows: Iterable[tuple[str, Any]], mono_keys: Iterable[str] = (), width: float | None = None):
        """A two-column table, ``width`` wide (the page's by default); values of ``mono_keys`` are set in Courier."""
        mono = set(mono_keys)
        data = [
            [
                Paragraph(_cell_markup(key), self.key),
                Paragraph(_cell_markup(value), self.mono if key in mono else self.cell),
            ]
            for key, value in rows
        ]
        if not data:
            return self.paragraph("<i>No values.</i>", self.cell)
        width = width or self.width
        table = Table(data, colWidths=[0.3 * width, 0.7 * width], hAlign="LEFT")
        table.setStyle(self._grid(header=False))
        return table

    def table(self, header: list[str], rows: list[list[Any]], widths: list[float], mono_columns=()):
        data = [[Paragraph(_markup(text), self.key) for text in header]]
        for row in rows:
            data.append([
                Paragraph(
                    _cell_markup(cell),
                    self.mono if column in mono_columns else self.cell,
                )
                for column, cell in enumerate(row)
            ])
        table = Table(data, colWidths=[fraction * self.width for fraction in widths], repeatRows=1, hAlign="LEFT")
        table.setStyle(self._grid(header=True))
        return table

    def _grid(self, header: bool):
        commands = [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.Color(0.7, 0.7, 0.7)),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.93)))
        else:
            commands.append(("BACKGROUND", (0, 0), (0, -1), colors.Color(0.95, 0.95, 0.97)))
        return TableStyle(commands)

    # -- sections

    def case_header(self) -> list:
        report = self.report
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
            ("Evidence", _Markup("<br/>".join(_markup(root) for root in report.evidence))),
            ("Custody log", report.custody_log),
            ("Custody log SHA-256 at scan end", report.custody_log_sha256),
        ]
        story = [
            Paragraph("Face X-ray forensic report", self.title),
            self.section("Case"),
            self.key_values(rows, mono_keys={"Model SHA-256", "Custody log SHA-256 at scan end", "Command line"}),
            Spacer(1, 6),
            self.section("Settings", level=1),
            self.key_values(flatten(dict(report.settings))),
            *self.evidence_warnings(),
        ]
        return story

    def evidence_warnings(self) -> list:
        """How overlapping or repeated roots were taken; nothing when no root overlapped."""
        warnings = self.report.evidence_warnings
        if not warnings:
            return []
        return [self.section("Evidence warnings", level=1), *(self.paragraph(_markup(text), self.bullet) for text in warnings)]

    def inventory(self) -> list:
        rows = []
        for number, item in enumerate(self.report.items, start=1):
            hashes = item.hashes or {}
            digest_lines = "<br/>".join(
                f"{name.upper()} {_markup(hashes.get(name, '—'))}" for name in ("md5", "sha1", "sha256")
            )
            if item.hashes_after is not None and item.hash_verified is False:
                digest_lines += "<br/><b>after:</b><br/>" + "<br/>".join(
                    f"{name.upper()} {_markup(item.hashes_after.get(name, '—'))}" for name in ("md5", "sha1", "sha256")
                )
            check = _hash_check(item)
            rows.append([
                number,
                _name_cell(item.name),
                _Markup(f"{item.size:,} bytes" + (f"<br/>{_markup(item.mime)}" if item.mime else "")),
                _Markup(digest_lines),
                _Markup(f"<b>{check}</b>" if check == "MISMATCH" else check),
            ])
        story = [
            self.section("Evidence inventory"),
            self.paragraph(
                "Hashes were computed before analysis from a read-only stream, and again at the end of the scan. "
                f"{len(self.report.items)} items; "
                f"{sum(item.hash_verified is True for item in self.report.items)} verified, "
                f"{sum(item.hash_verified is False for item in self.report.items)} mismatched, "
                f"{sum(item.hash_verified is None for item in self.report.items)} not rechecked."
            ),
        ]
        if rows:
            story.append(
                self.table(["#", "Item", "Size", "MD5 / SHA-1 / SHA-256", "Check"], rows,
                           [0.04, 0.18, 0.1, 0.56, 0.12], mono_columns={3})
            )
        return story

    def summary(self) -> list:
        report = self.report
        counts = report.summary
        story = [
            self.section("Summary"),
            self.key_values([
                ("Items", counts["items"]),
                ("Flagged (moderate or strong)", counts["flagged"]),
                ("Failed (unreadable or hash mismatch)", counts["failed"]),
                ("Hash mismatches", counts["hash_mismatches"]),
            ]),
            self.section("Items by status", level=1),
            self.table(["Status", "Items"], [[status.value, counts[status.value]] for status in Status], [0.5, 0.2]),
            self.section("Scored items by band", level=1),
            self.table(
                ["Band", "Items"],
                [[band.value, sum(item.band is band for item in report.items)] for band in Band],
                [0.5, 0.2],
            ),
            self.section("Flagged items, highest score first", level=1),
        ]
        flagged = report.flagged
        if flagged:
            pages = {item.name: index for index, item in enumerate(report.items, start=1)}
            story.append(self.table(
                ["Item", "Name", "Score", "Band", "Faces"],
                [[pages[item.name], _name_cell(item.name), _score(item.score), item.band, len(item.faces)] for item in flagged],
                [0.08, 0.56, 0.1, 0.16, 0.1],
            ))
        else:
            story.append(self.paragraph(
                "No item reached the " + " or ".join(sorted(band.value for band in FLAGGED_BANDS)) + " band."
            ))
        return story

    def items(self) -> list:
        story: list = []
        total = len(self.report.items)
        for number, item in enumerate(self.report.items, start=1):
            story.append(PageBreak())
            if number == 1:
                story.append(self.section("Items"))
            story += self.item_page(number, total, item)
        return story

    def item_page(self, number: int, total: int, item: ItemReport) -> list:
        title = f"Item {number} of {total}: {_shortened(item.name, HEADING_NAME_CHARACTERS)}"
        story = [self.section(title, level=1), *self.picture_and_facts(item), Spacer(1, 6)]
        faces = item.faces
        if faces:
            story.append(self.table(
                ["Face", "Box x0, y0, x1, y1 (frame pixels)", "Frame (time)", "Score", "Band"],
                [
                    [index, ", ".join(f"{value:.0f}" for value in face.box), _frame_label(face), _score(face.score), face.band]
                    for index, face in enumerate(faces, start=1)
                ],
                [0.08, 0.4, 0.16, 0.12, 0.24],
            ))
            if item.kind == "video":
                story += self.timeline(faces)
                if item.band in FLAGGED_BANDS:
                    story += self.top_frames(item, faces)
            story += self.face_strip(item, faces)
        story += self.findings(list(item.findings.values()))
        return story

    def picture_and_facts(self, item: ItemReport) -> list:
        """The picture and the item's facts side by side, which keeps an item on one page.

        A table row cannot break across pages, so facts too tall for one
        (long paths, long reasons) follow the picture at full width instead.
        """
        picture_width = 0.58 * self.width
        facts_width = self.width - picture_width - 8
        rows = self.fact_rows(item)
        facts = self.key_values(rows, mono_keys={"SHA-256"}, width=facts_width)
        if not self.fits_a_page(facts, facts_width):
            return [*self.picture(item, picture_width), self.key_values(rows, mono_keys={"SHA-256"})]
        top = Table([[self.picture(item, picture_width), facts]], colWidths=[picture_width, self.width - picture_width],
                    hAlign="LEFT")
        top.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (0, 0), 0),
            ("RIGHTPADDING", (0, 0), (0, 0), 8),
            ("LEFTPADDING", (1, 0), (1, 0), 0),
        ]))
        return [top]

    @staticmethod
    def fact_rows(item: ItemReport) -> list[tuple[str, Any]]:
        long_name = len(_plain(item.name)) > HEADING_NAME_CHARACTERS  # the heading shows it cut
        return [
            *((("Name", item.name),) if long_name else ()),
            ("Status", item.status),
            *((("Reason", item.reason),) if item.reason else ()),
            ("Score", _score(item.score)),
            ("Band", item.band),
            ("Type", f"{item.kind}" + (f" ({item.mime})" if item.mime else "")),
            ("Size", f"{item.size:,} bytes"),
            *((f"Origin: {key}", value) for key, value in flatten(dict(item.origin))),
            ("SHA-256", (item.hashes or {}).get("sha256")),
            ("Hash check", _hash_check(item)),
        ]

    def fits_a_page(self, flowable, width: float) -> bool:
        """Whether ``flowable``, ``width`` wide, leaves room on one page for its cell's padding and a title."""
        return flowable.wrap(width, self.height)[1] <= 0.9 * self.height

    def timeline(self, faces: list[FaceResult]) -> list:
        """A video's face scores over time, one line per face track, with the band edges dashed."""
        height = 4.2 * cm
        drawing = Drawing(self.width, height)
        plot = LinePlot()
        plot.x, plot.y, plot.width, plot.height = 1.2 * cm, 0.9 * cm, self.width - 1.6 * cm, height - 1.4 * cm
        tracks = sorted({face.track for face in faces}, key=lambda track: -1 if track is None else track)
        plot.data = [
            sorted((face.timestamp if face.timestamp is not None else float(face.frame_index), face.score)
                   for face in faces if face.track == track)
            for track in tracks
        ]
        palette = [colors.HexColor(value) for value in ("#1f4e9c", "#b5179e", "#2a9d8f", "#e76f51", "#6a4c93")]
        for number in range(len(tracks)):
            plot.lines[number].strokeColor = palette[number % len(palette)]
            plot.lines[number].symbol = makeMarker("FilledCircle", size=3)
        times = [point[0] for line in plot.data for point in line]
        plot.xValueAxis.valueMin = min(times)
        plot.xValueAxis.valueMax = max(max(times), min(times) + 1e-3)
        plot.yValueAxis.valueMin, plot.yValueAxis.valueMax, plot.yValueAxis.valueStep = 0.0, 1.0, 0.25
        for axis in (plot.xValueAxis, plot.yValueAxis):
            axis.labels.fontSize = 7
        drawing.add(plot)
        thresholds = self.report.model_card.get("thresholds", {}) if isinstance(self.report.model_card, Mapping) else {}
        for name in ("moderate", "strong"):
            if isinstance(thresholds.get(name), (int, float)) and 0.0 <= thresholds[name] <= 1.0:
                y = plot.y + plot.height * thresholds[name]
                drawing.add(Line(plot.x, y, plot.x + plot.width, y, strokeColor=colors.grey, strokeDashArray=[2, 2]))
                drawing.add(String(plot.x + plot.width - 2, y + 2, name, fontSize=6, textAnchor="end", fillColor=colors.grey))
        drawing.add(String(plot.x + plot.width / 2, 0.1 * cm, "time in the video (s)", fontSize=7, textAnchor="middle"))
        legend = ", ".join(
            f"<font color='{palette[number % len(palette)].hexval()}'>track {track if track is not None else '-'}</font>"
            for number, track in enumerate(tracks)
        )
        return [KeepTogether([
            self.section("Score timeline", level=2, style=self.subheading),
            drawing,
            self.paragraph(f"<i>Probability of a blended face per sampled frame, one line per face track ({legend}); "
                           "the video's score is its best track's robust aggregate.</i>", self.cell),
        ])]

    def top_frames(self, item: ItemReport, faces: list[FaceResult]) -> list:
        """The frames of a flagged video's highest-scoring faces, with their boxes and X-ray maps."""
        best: dict[int, FaceResult] = {}
        for face in sorted(faces, key=lambda face: (-face.score, face.frame_index)):
            best.setdefault(face.frame_index, face)
        chosen = list(best.values())[:TOP_FRAMES]
        cells = []
        for face in sorted(chosen, key=lambda face: face.frame_index):
            frame, problem = self._frame(item, face.frame_index)
            if frame is None:
                cells.append(self.paragraph(f"<i>{_markup(problem)}</i>", self.cell))
                continue
            shown = [other for other in faces if other.frame_index == face.frame_index]
            cells.append([
                _image_flowable(draw_faces(*_shrunk(frame, shown, PICTURE_PIXELS)), self.width / TOP_FRAMES - 6, 4.5 * cm),
                self.paragraph(f"Frame {_frame_label(face)}: best face {_score(face.score)}"
                               + (f", track {face.track}" if face.track is not None else ""), self.cell),
            ])
        cells += [""] * (TOP_FRAMES - len(cells))
        table = Table([cells], colWidths=[self.width / TOP_FRAMES] * TOP_FRAMES, hAlign="LEFT")
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        return [KeepTogether([self.section("Top frames", level=2, style=self.subheading), table])]

    def _frame(self, item: ItemReport, index: int) -> tuple[np.ndarray | None, str | None]:
        """The frame and None, or None and why not; each frame is loaded once."""
        key = (item.name, index)
        if key not in self._frames_cache:
            self._frames_cache.clear()  # one item at a time: bounded memory
            self._frames_cache[key] = self._load_frame(item, index)
        return self._frames_cache[key]

    def _load_frame(self, item: ItemReport, index: int) -> tuple[np.ndarray | None, str | None]:
        if self.frames is None:
            return None, "No picture: the report was rendered without access to the item's pixels."
        try:
            frame = self.frames(item, index)
        except Exception as error:  # a bad item must not stop the report
            return None, f"The picture could not be decoded for display ({type(error).__name__}: {error})."
        if frame is None:
            return None, "No picture is available for this item."
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            return None, f"The picture has an unexpected layout ({frame.dtype} {frame.shape}) and is not shown."
        return frame, None

    def picture(self, item: ItemReport, width: float) -> list:
        faces = item.faces
        # A video's page shows the frame of its highest-scoring face.
        frame_index = max(faces, key=lambda face: face.score).frame_index if faces else 0
        frame, problem = self._frame(item, frame_index)
        if frame is None:
            return [self.paragraph(f"<i>{_markup(problem)}</i>")]
        shown = [face for face in faces if face.frame_index == frame_index]
        picture = draw_faces(*_shrunk(frame, shown, PICTURE_PIXELS))
        caption = (
            "Boxes are numbered as in the face table and coloured by band "
            "(red strong, orange moderate, yellow inconclusive, green no indication); "
            "the heat-map is the predicted X-ray, bright where the model sees a blending boundary."
            if shown else "No face was scored in this picture."
        )
        return [
            _image_flowable(picture, width, 8.5 * cm),
            self.paragraph(f"<i>{caption}</i>", self.cell),
        ]

    def face_strip(self, item: ItemReport, faces: list[FaceResult]) -> list:
        """Each face's crop beside its X-ray map, as the model saw them, two faces a row."""
        cells = []
        for index, face in enumerate(faces, start=1):
            if face.xray is None:
                continue
            pair = [heat_map(face.xray)]
            frame, _ = self._frame(item, face.frame_index)
            if frame is not None and face.matrix is not None:
                size = pair[0].shape[1], pair[0].shape[0]
                matrix = np.asarray(face.matrix, dtype=np.float64)
                pair.insert(0, cv2.warpAffine(frame, matrix, size, flags=cv2.INTER_LINEAR))
            side = 2.4 * cm
            label = "crop and X-ray" if len(pair) == 2 else "X-ray"
            cells.append([
                _image_flowable(np.concatenate(pair, axis=1), side * len(pair), side),
                self.paragraph(f"Face {index}: {label}, score {_score(face.score)}", self.cell),
            ])
        if not cells:
            return []
        columns = 2
        cells += [""] * (-len(cells) % columns)
        grid = [cells[start:start + columns] for start in range(0, len(cells), columns)]
        table = Table(grid, colWidths=[self.width / columns] * columns, hAlign="LEFT")
        return [self.section("Face crops and X-ray maps", level=2, style=self.subheading), table]

    def findings(self, findings: list[Finding]) -> list:
        """Every plugin's findings as a key/value table; short tables two a row, so an item keeps to one page."""
        story: list = []
        pending: list[list] = []
        half = self.width / 2

        def flush():
            if pending:
                cells = pending + [""] * (2 - len(pending))
                table = Table([cells], colWidths=[half, half], hAlign="LEFT")
                table.setStyle(TableStyle([
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                ]))
                story.append(table)
                pending.clear()

        for finding in findings:
            rows = self.finding_rows(finding)
            title = self.section(f"Findings of {finding.plugin} {finding.version}", level=2, style=self.subheading)
            table = self.key_values(rows, width=half - 6)
            if len(rows) > SHORT_FINDING_ROWS or not self.fits_a_page(table, half - 6):
                flush()  # a long table must be free to break across pages
                story += [title, self.key_values(rows)]
                continue
            pending.append([title, table])
            if len(pending) == 2:
                flush()
        flush()
        return story

    @staticmethod
    def finding_rows(finding: Finding) -> list[tuple[str, Any]]:
        rows: list[tuple[str, Any]] = []
        if finding.status is not None:
            rows.append(("status", finding.status))
        if finding.reason:
            rows.append(("reason", finding.reason))
        if finding.score is not None:
            rows.append(("item score", _score(finding.score)))
        if finding.band is not None:
            rows.append(("item band", finding.band))
        values = [(key, value) for key, value in flatten(finding.values) if value is not None]
        if len(values) > FINDING_ROWS:
            values = values[:FINDING_ROWS] + [("...", f"{len(values) - FINDING_ROWS} more values in the JSON report")]
        return rows + values

    def method(self) -> list:
        card = self.report.model_card if isinstance(self.report.model_card, Mapping) else {}
        story = [
            self.section("Method and limitations"),
            # A card without geometry (format 1) was trained on 256-pixel crops of 1.3x the landmarks.
            self.paragraph(METHOD.format(**{"size": 256, "scale": 1.3, **card.get("geometry", {})})),
            self.section("What the model cannot see", level=1),
            *(self.paragraph(text, self.bullet) for text in LIMITATIONS),
            self.section("Model card: calibration and band thresholds", level=1),
            self.paragraph(
                "The verbal band of each score comes from these thresholds, and the probability from this "
                "calibration, as recorded in the model card of the model whose SHA-256 is "
                f"<font name='Courier'>{_markup(self.report.model_sha256 or 'not recorded')}</font>."
            ),
            self.key_values([(key, value) for key, value in flatten(dict(card)) if value is not None]),
        ]
        return story

    def custody(self) -> list:
        report = self.report
        name = Path(report.custody_log).name if report.custody_log else "the custody log"
        return [
            self.section("Custody log"),
            self.key_values([
                ("Custody log", report.custody_log or "not recorded"),
                ("SHA-256 at scan end", report.custody_log_sha256 or "not recorded"),
            ], mono_keys={"SHA-256 at scan end"}),
            self.paragraph(
                f"Every record of {_markup(name)} carries the SHA-256 of the record before it. The hash above is "
                "that of its scan_finished record, and anchors every record up to it; only the records of the "
                "reports written from this scan (each with the report's own SHA-256) may follow it. "
                "<font name='Courier'>fxr-forensic verify-log LOG --expect HASH</font> checks the chain, names the "
                "first broken record, and checks that the log holds this hash with nothing but report records after it. A report cannot contain its own hash: the SHA-256 of this PDF is in the file "
                "of the same name ending in <font name='Courier'>.sha256</font> beside it, and in the custody log."
            ),
        ]


class _Markup(str):
    """A table cell that is already reportlab markup (escaped by its maker)."""


class OutlinedParagraph(Paragraph):
    """A heading that adds itself to the PDF's outline (bookmarks) when drawn."""

    outline: tuple[str, str, int] | None = None

    def draw(self):
        super().draw()
        if self.outline is not None:
            title, key, level = self.outline
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(_plain(title), key, level=level, closed=level > 0)


def _shrunk(frame: np.ndarray, faces: list[FaceResult], longest: int) -> tuple[np.ndarray, list[FaceResult]]:
    """The frame scaled so its longest side is at most ``longest``, with boxes
    and alignment matrices scaled to match (X-ray maps are unchanged)."""
    height, width = frame.shape[:2]
    scale = min(1.0, longest / max(height, width))
    if scale == 1.0:
        return frame, faces
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    factor_x, factor_y = size[0] / width, size[1] / height
    scaled = []
    for face in faces:
        x0, y0, x1, y1 = face.box
        matrix = face.matrix
        if matrix is not None:
            matrix = np.asarray(matrix, dtype=np.float64).copy()
            # Pixel centres: small index s sits at frame index (s + 0.5) / factor - 0.5.
            shift = np.array([0.5 / factor_x - 0.5, 0.5 / factor_y - 0.5])
            matrix[:, 2] = matrix[:, 2] + matrix[:, :2] @ shift
            matrix[:, 0] /= factor_x
            matrix[:, 1] /= factor_y
        scaled.append(dataclasses.replace(
            face, box=(x0 * factor_x, y0 * factor_y, x1 * factor_x, y1 * factor_y), matrix=matrix,
        ))
    return small, scaled


def _image_flowable(pixels: np.ndarray, max_width: float, max_height: float):
    """An RGB uint8 array as a JPEG image flowable that fits the given box."""
    buffer = io.BytesIO()
    PillowImage.fromarray(np.ascontiguousarray(pixels)).save(buffer, "JPEG", quality=88)
    buffer.seek(0)
    height, width = pixels.shape[:2]
    scale = min(max_width / width, max_height / height)
    return Image(buffer, width=width * scale, height=height * scale, hAlign="LEFT")
