"""The footer on every page: the case and exhibit, and "page N of M"."""

from __future__ import annotations

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas

from facexray_forensics.records import ScanReport
from facexray_forensics.renderers.pdf.layout import MARGIN
from facexray_forensics.renderers.pdf.text import plain


def footer_text(report: ScanReport) -> str:
    return plain(
        f"Face X-ray forensic report · case {report.case or 'not given'} · exhibit {report.exhibit or 'not given'}"
    )


def numbered_canvas(footer: str):
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
                self.drawString(MARGIN, 1.0 * cm, footer)
                self.drawRightString(A4[0] - MARGIN, 1.0 * cm, f"page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas
