"""A video's face scores over time, one line per face track, with the band edges dashed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether

from facexray_forensics.records import FaceResult
from facexray_forensics.renderers.pdf.layout import Layout

PALETTE = tuple(colors.HexColor(value) for value in ("#1f4e9c", "#b5179e", "#2a9d8f", "#e76f51", "#6a4c93"))


def timeline(layout: Layout, faces: list[FaceResult], model_card: Any) -> list:
    """The score timeline with its title and a caption naming each track's colour."""
    height = 4.2 * cm
    drawing = Drawing(layout.width, height)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 1.2 * cm, 0.9 * cm, layout.width - 1.6 * cm, height - 1.4 * cm
    tracks = sorted({face.track for face in faces}, key=lambda track: -1 if track is None else track)
    plot.data = [
        sorted((face.timestamp if face.timestamp is not None else float(face.frame_index), face.score)
               for face in faces if face.track == track)
        for track in tracks
    ]
    for number in range(len(tracks)):
        plot.lines[number].strokeColor = PALETTE[number % len(PALETTE)]
        plot.lines[number].symbol = makeMarker("FilledCircle", size=3)
    times = [point[0] for line in plot.data for point in line]
    plot.xValueAxis.valueMin = min(times)
    plot.xValueAxis.valueMax = max(max(times), min(times) + 1e-3)
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax, plot.yValueAxis.valueStep = 0.0, 1.0, 0.25
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontSize = 7
    drawing.add(plot)
    _band_edges(drawing, plot, model_card)
    drawing.add(String(plot.x + plot.width / 2, 0.1 * cm, "time in the video (s)", fontSize=7, textAnchor="middle"))
    legend = ", ".join(
        f"<font color='{PALETTE[number % len(PALETTE)].hexval()}'>track {track if track is not None else '-'}</font>"
        for number, track in enumerate(tracks)
    )
    return [KeepTogether([
        layout.section("Score timeline", level=2, style=layout.subheading),
        drawing,
        layout.paragraph(f"<i>Probability of a blended face per sampled frame, one line per face track ({legend}); "
                         "the video's score is its best track's robust aggregate.</i>", layout.cell),
    ])]


def _band_edges(drawing: Drawing, plot: LinePlot, model_card: Any) -> None:
    """The model card's moderate and strong thresholds as dashed, labelled lines across the plot."""
    thresholds = model_card.get("thresholds", {}) if isinstance(model_card, Mapping) else {}
    for name in ("moderate", "strong"):
        if isinstance(thresholds.get(name), (int, float)) and 0.0 <= thresholds[name] <= 1.0:
            y = plot.y + plot.height * thresholds[name]
            drawing.add(Line(plot.x, y, plot.x + plot.width, y, strokeColor=colors.grey, strokeDashArray=[2, 2]))
            drawing.add(String(plot.x + plot.width - 2, y + 2, name, fontSize=6, textAnchor="end", fillColor=colors.grey))
