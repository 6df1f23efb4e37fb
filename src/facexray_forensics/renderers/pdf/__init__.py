"""The examiner's PDF report of a scan, drawn with reportlab.

Sections, in order, one module each: the case header with the scan's
settings (``case``), the evidence inventory with the hashes and their
before/after check (``inventory``), the summary of counts and flagged items
by score (``summary``), one page per item (``items``: the picture with face
boxes and the X-ray heat-map from ``pictures``, the faces, a video's
``timeline``, every plugin's ``findings`` as key/value tables), the method
and limitations with the model card's calibration and bands (``method``),
and the custody log's final hash (``custody``). ``layout`` holds the styles
and tables they share, ``text`` the escaping and shortening of what they
write, ``page_footer`` the line at the foot of every page.

The renderer only draws: X-ray maps come from the records, warped back onto
the frame with each face's alignment matrix. Pixels come from a loader the
caller passes, so this package decodes nothing itself and opens no evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.platypus import PageBreak, SimpleDocTemplate

from facexray_forensics import __version__
from facexray_forensics.records import ScanReport
from facexray_forensics.renderers.pdf.case import case_section
from facexray_forensics.renderers.pdf.custody import custody_section
from facexray_forensics.renderers.pdf.inventory import inventory_section
from facexray_forensics.renderers.pdf.items import item_pages
from facexray_forensics.renderers.pdf.layout import MARGIN, Layout
from facexray_forensics.renderers.pdf.method import method_section
from facexray_forensics.renderers.pdf.page_footer import footer_text, numbered_canvas
from facexray_forensics.renderers.pdf.pictures import FrameLoader, Pictures
from facexray_forensics.renderers.pdf.summary import summary_section
from facexray_forensics.renderers.pdf.text import plain

__all__ = ["SECTION_TITLES", "FrameLoader", "render_pdf"]

#: The report's sections (its outline's top level), in order.
SECTION_TITLES = (
    "Case",
    "Evidence inventory",
    "Summary",
    "Items",
    "Method and limitations",
    "Custody log",
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
    document = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        invariant=1,
        title=f"Face X-ray forensic report: case {plain(report.case or 'not given')}",
        author=plain(report.examiner or ""),
        subject=f"exhibit {plain(report.exhibit or 'not given')}",
        creator=f"facexray-forensics {__version__}",
    )
    document.build(_story(report, frames), canvasmaker=numbered_canvas(footer_text(report)))


def _story(report: ScanReport, frames: FrameLoader | None) -> list:
    """The report's flowables, section by section in the order of SECTION_TITLES."""
    layout = Layout()
    return [
        *case_section(layout, report),
        *inventory_section(layout, report),
        PageBreak(),
        *summary_section(layout, report),
        *item_pages(layout, report, Pictures(layout, frames)),
        PageBreak(),
        *method_section(layout, report),
        *custody_section(layout, report),
    ]


def _refuse_inside_evidence(path: Path, roots: Iterable[str]) -> None:
    target = path.resolve()
    for root in roots:
        base = Path(root).resolve()
        if target == base or base in target.parents:
            raise ValueError(f"refusing to write the report inside the evidence tree {root}")
