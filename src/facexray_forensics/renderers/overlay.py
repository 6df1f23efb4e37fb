"""The X-ray heat-map, alone or laid over the analysed frame with each face's box.

Shared by the PDF report and the X-ray PNG writer, so both colour a map the
same way. The maps come from the records: each face's X-ray is in crop
pixels, warped back onto the frame with the face's alignment matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import cv2
import numpy as np

from facexray_forensics.records import Band, FaceResult

#: Box colours (RGB) by band; a face without a band gets UNBANDED_COLOUR.
BAND_COLOURS: Mapping[Band, tuple[int, int, int]] = {
    Band.STRONG: (220, 30, 30),
    Band.MODERATE: (245, 140, 0),
    Band.INCONCLUSIVE: (230, 210, 0),
    Band.NO_INDICATION: (40, 170, 60),
}
UNBANDED_COLOUR = (60, 120, 230)


def heat_map(xray: np.ndarray) -> np.ndarray:
    """An X-ray map (H×W float, clipped to [0, 1]) as an H×W×3 RGB uint8 heat-map (OpenCV's JET)."""
    values = np.asarray(xray, dtype=np.float32)
    if values.ndim != 2:
        values = values.squeeze()  # H×W×1 and 1×H×W maps
    if values.ndim != 2:
        raise ValueError(f"an X-ray map must be H×W, got shape {np.shape(xray)}")
    values = np.clip(values, 0.0, 1.0)
    return cv2.applyColorMap(np.round(values * 255.0).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]


def xray_on_frame(xray: np.ndarray, matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """The face's X-ray map (crop pixels) resampled onto a ``height``×``width`` frame.

    ``matrix`` is the 2×3 affine frame -> crop of the alignment. Each frame
    pixel takes the bilinear value of the map at its crop position; pixels
    that fall outside the crop get 0. Returns float32 in [0, 1].
    """
    xray = np.asarray(xray, dtype=np.float32)
    if xray.ndim == 3 and xray.shape[-1] == 1:
        xray = xray[..., 0]
    if xray.ndim != 2:
        raise ValueError(f"xray must be H×W, got shape {xray.shape}")
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (2, 3) or not np.isfinite(matrix).all():
        raise ValueError(f"matrix must be a finite 2×3 affine, got shape {matrix.shape}")
    # WARP_INVERSE_MAP: matrix maps output (frame) positions to input (crop) positions.
    warped = cv2.warpAffine(
        xray, matrix, (int(width), int(height)),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
    )
    return np.clip(warped, 0.0, 1.0)


def draw_faces(frame: np.ndarray, faces: Iterable[FaceResult], strength: float = 0.65) -> np.ndarray:
    """The frame with each face's X-ray as a heat-map and its numbered box on top.

    The heat-map is mixed in proportion to the X-ray value, so pixels where
    every map is 0 keep their colour. Box colours follow the face's band.
    Returns a new H×W×3 RGB uint8 array.
    """
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be H×W×3 uint8, got {frame.dtype} {frame.shape}")
    faces = list(faces)
    height, width = frame.shape[:2]
    heat = np.zeros((height, width), dtype=np.float32)
    for face in faces:
        if face.xray is not None and face.matrix is not None:
            heat = np.maximum(heat, xray_on_frame(face.xray, face.matrix, height, width))
    alpha = (strength * heat)[..., None]
    picture = np.round(frame * (1.0 - alpha) + heat_map(heat) * alpha).astype(np.uint8)
    thickness = max(1, round(max(height, width) / 400))
    for number, face in enumerate(faces, start=1):
        colour = BAND_COLOURS.get(face.band, UNBANDED_COLOUR)
        x0, y0, x1, y1 = (int(round(value)) for value in face.box)
        cv2.rectangle(picture, (x0, y0), (x1, y1), colour, thickness)
        scale = max(0.4, thickness * 0.5)
        label_y = y0 - 4 * thickness if y0 - 4 * thickness > 12 * scale else y1 + int(24 * scale)
        cv2.putText(picture, str(number), (x0, label_y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness)
    return picture
