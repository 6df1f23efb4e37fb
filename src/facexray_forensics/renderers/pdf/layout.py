"""The report's styles and building blocks: headings that bookmark themselves, paragraphs and tables.

One :class:`Layout` is shared by every section of a report, so headings are
numbered through the whole document (their outline keys) and every table
has the same look.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, Table, TableStyle

from facexray_forensics.renderers.pdf.text import cell_markup, markup, plain

#: The page's margin on every side.
MARGIN = 1.8 * cm


class OutlinedParagraph(Paragraph):
    """A heading that adds itself to the PDF's outline (bookmarks) when drawn."""

    outline: tuple[str, str, int] | None = None

    def draw(self):
        super().draw()
        if self.outline is not None:
            title, key, level = self.outline
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(plain(title), key, level=level, closed=level > 0)


class Layout:
    """Styles, the page's frame, and the flowables every section is made of."""

    def __init__(self):
        sheet = getSampleStyleSheet()
        self.title = ParagraphStyle("ReportTitle", parent=sheet["Title"], fontSize=18, spaceAfter=6)
        self.heading = ParagraphStyle("Section", parent=sheet["Heading1"], fontSize=14, spaceBefore=4, spaceAfter=6)
        self.subheading = ParagraphStyle("Subsection", parent=sheet["Heading2"], fontSize=11, spaceBefore=8, spaceAfter=4)
        self.body = ParagraphStyle("Body", parent=sheet["BodyText"], fontSize=9, leading=12)
        self.cell = ParagraphStyle("Cell", parent=sheet["BodyText"], fontSize=7.5, leading=9, wordWrap="CJK")
        self.key = ParagraphStyle("Key", parent=self.cell, fontName="Helvetica-Bold")
        self.mono = ParagraphStyle("Mono", parent=self.cell, fontName="Courier", fontSize=6, leading=7.5)
        self.bullet = ParagraphStyle("Bullet", parent=self.body, leftIndent=12, bulletIndent=2, spaceAfter=3)
        self.width = A4[0] - 2 * MARGIN
        self.height = A4[1] - 2 * MARGIN - 12  # the page's frame, inside its 6-point padding
        self._outline = 0

    def section(self, title: str, level: int = 0, style=None):
        """A heading with its entry in the PDF's outline, at ``level`` (0: a section)."""
        self._outline += 1
        key = f"section-{self._outline}"
        paragraph = OutlinedParagraph(markup(title), style or (self.heading if level == 0 else self.subheading))
        paragraph.outline = (title, key, level)
        return paragraph

    def paragraph(self, text: str, style=None):
        """A paragraph of reportlab markup, in the body style by default."""
        return Paragraph(text, style or self.body)

    def key_values(self, rows: Iterable[tuple[str, Any]], mono_keys: Iterable[str] = (), width: float | None = None):
        """A two-column table, ``width`` wide (the page's by default); values of ``mono_keys`` are set in Courier."""
        mono = set(mono_keys)
        data = [
            [
                Paragraph(cell_markup(key), self.key),
                Paragraph(cell_markup(value), self.mono if key in mono else self.cell),
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
        """A table with a header row repeated on every page; ``widths`` are fractions of the page's."""
        data = [[Paragraph(markup(text), self.key) for text in header]]
        for row in rows:
            data.append([
                Paragraph(
                    cell_markup(cell),
                    self.mono if column in mono_columns else self.cell,
                )
                for column, cell in enumerate(row)
            ])
        table = Table(data, colWidths=[fraction * self.width for fraction in widths], repeatRows=1, hAlign="LEFT")
        table.setStyle(self._grid(header=True))
        return table

    def fits_a_page(self, flowable, width: float) -> bool:
        """Whether ``flowable``, ``width`` wide, leaves room on one page for its cell's padding and a title."""
        return flowable.wrap(width, self.height)[1] <= 0.9 * self.height

    @staticmethod
    def _grid(header: bool):
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
