"""The pictures of an item's page: the frame with its faces' X-ray maps, the face crops, a video's top frames.

Pixels come from a loader the caller passes (the scan re-decodes the item
read-only); this module decodes nothing itself and opens no evidence. A
picture that cannot be had is replaced by a line saying why.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image as PillowImage
from reportlab.lib.units import cm
from reportlab.platypus import Image, KeepTogether, Table, TableStyle

from facexray_forensics.records import FaceResult, ItemReport
from facexray_forensics.renderers.overlay import draw_faces, heat_map
from facexray_forensics.renderers.pdf.layout import Layout
from facexray_forensics.renderers.pdf.text import frame_label, markup, score_text

#: Called as ``frames(item, frame_index)``; returns the frame the scan analysed
#: (H×W×3 RGB uint8, the same decoding and orientation as the scan) or None.
FrameLoader = Callable[[ItemReport, int], "np.ndarray | None"]

#: Longest side, in pixels, of a picture placed in the PDF; keeps reports small.
PICTURE_PIXELS = 1000
#: Frames shown for a flagged video: those of its highest-scoring faces.
TOP_FRAMES = 3


class Pictures:
    """The pictures of the item pages, drawn from the frames ``frames`` loads (None: no pixels at all)."""

    def __init__(self, layout: Layout, frames: FrameLoader | None):
        self.layout = layout
        self.frames = frames
        self._frames_cache: dict[tuple[str, int], tuple[np.ndarray | None, str | None]] = {}

    def picture(self, item: ItemReport, width: float) -> list:
        """The frame of the item's best face with every face's box and X-ray heat-map, and a caption."""
        faces = item.faces
        # A video's page shows the frame of its highest-scoring face.
        frame_index = max(faces, key=lambda face: face.score).frame_index if faces else 0
        frame, problem = self._frame(item, frame_index)
        if frame is None:
            return [self.layout.paragraph(f"<i>{markup(problem)}</i>")]
        shown = [face for face in faces if face.frame_index == frame_index]
        picture = draw_faces(*shrunk(frame, shown, PICTURE_PIXELS))
        caption = (
            "Boxes are numbered as in the face table and coloured by band "
            "(red strong, orange moderate, yellow inconclusive, green no indication); "
            "the heat-map is the predicted X-ray, bright where the model sees a blending boundary."
            if shown else "No face was scored in this picture."
        )
        return [
            _image_flowable(picture, width, 8.5 * cm),
            self.layout.paragraph(f"<i>{caption}</i>", self.layout.cell),
        ]

    def face_strip(self, item: ItemReport, faces: list[FaceResult]) -> list:
        """Each face's crop beside its X-ray map, as the model saw them, two faces a row."""
        layout = self.layout
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
                layout.paragraph(f"Face {index}: {label}, score {score_text(face.score)}", layout.cell),
            ])
        if not cells:
            return []
        columns = 2
        cells += [""] * (-len(cells) % columns)
        grid = [cells[start:start + columns] for start in range(0, len(cells), columns)]
        table = Table(grid, colWidths=[layout.width / columns] * columns, hAlign="LEFT")
        return [layout.section("Face crops and X-ray maps", level=2, style=layout.subheading), table]

    def top_frames(self, item: ItemReport, faces: list[FaceResult]) -> list:
        """The frames of a flagged video's highest-scoring faces, with their boxes and X-ray maps."""
        layout = self.layout
        best: dict[int, FaceResult] = {}
        for face in sorted(faces, key=lambda face: (-face.score, face.frame_index)):
            best.setdefault(face.frame_index, face)
        chosen = list(best.values())[:TOP_FRAMES]
        cells = []
        for face in sorted(chosen, key=lambda face: face.frame_index):
            frame, problem = self._frame(item, face.frame_index)
            if frame is None:
                cells.append(layout.paragraph(f"<i>{markup(problem)}</i>", layout.cell))
                continue
            shown = [other for other in faces if other.frame_index == face.frame_index]
            cells.append([
                _image_flowable(draw_faces(*shrunk(frame, shown, PICTURE_PIXELS)), layout.width / TOP_FRAMES - 6, 4.5 * cm),
                layout.paragraph(f"Frame {frame_label(face)}: best face {score_text(face.score)}"
                                 + (f", track {face.track}" if face.track is not None else ""), layout.cell),
            ])
        cells += [""] * (TOP_FRAMES - len(cells))
        table = Table([cells], colWidths=[layout.width / TOP_FRAMES] * TOP_FRAMES, hAlign="LEFT")
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        return [KeepTogether([layout.section("Top frames", level=2, style=layout.subheading), table])]

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


def shrunk(frame: np.ndarray, faces: list[FaceResult], longest: int) -> tuple[np.ndarray, list[FaceResult]]:
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
