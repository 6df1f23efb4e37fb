"""FF++-style aligned face crops.

The crop is a square centred on the centre of the landmarks' bounding box,
with side :data:`CROP_SCALE` (1.3) times the longer side of that box, and no
rotation. FF++-derived pipelines resize such a crop to 317 pixels and then to
256; we resize once, straight to ``size`` (256), which gives the same geometry
with one interpolation instead of two. Parts of the square outside the frame
are filled with black. The crop is a pure scale and translation of the frame,
so ``matrix`` (frame -> crop) maps any point, landmarks included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Side of the crop square relative to the longer side of the landmark extent.
CROP_SCALE = 1.3


@dataclass(frozen=True)
class AlignedFace:
    """A square face crop (size×size×3 uint8), its 68 landmarks in crop pixels
    (float32), and the 2×3 affine ``matrix`` that maps frame points to crop points."""

    crop: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    matrix: np.ndarray = field(repr=False)


def crop_box(landmarks: np.ndarray, scale: float = CROP_SCALE) -> tuple[float, float, float]:
    """The crop square for ``landmarks`` (P×2): centre x, centre y and side, in frame pixels."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 2:
        raise ValueError(f"landmarks must be P×2 with P >= 2, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("landmarks must be finite")
    low, high = points.min(axis=0), points.max(axis=0)
    side = scale * float(max(high - low))
    if side <= 0:
        raise ValueError("landmarks have zero extent")
    centre = (low + high) / 2.0
    return float(centre[0]), float(centre[1]), side


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 256, scale: float = CROP_SCALE) -> AlignedFace:
    """Cut the square face crop around ``landmarks`` from ``image`` (H×W×3 uint8):
    ``size`` pixels a side, covering ``scale`` times the landmarks' longer extent.

    Returns an :class:`AlignedFace` whose landmarks are in crop pixels.
    """
    import cv2

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError("image must be a uint8 numpy array")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be H×W×3, got shape {image.shape}")
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    centre_x, centre_y, side = crop_box(landmarks, scale)
    scale = size / side
    # Centre-to-centre: frame pixel (centre_x, centre_y) lands on the crop's middle.
    matrix = np.array(
        [
            [scale, 0.0, size / 2.0 - 0.5 - centre_x * scale],
            [0.0, scale, size / 2.0 - 0.5 - centre_y * scale],
        ],
        dtype=np.float64,
    )
    if scale < 1.0:
        # Shrinking: pre-filter by area resampling so small crops do not alias.
        crop = _area_crop(image, centre_x, centre_y, side, size)
    else:
        crop = cv2.warpAffine(
            image, matrix, (size, size), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
        )
    points = np.asarray(landmarks, dtype=np.float64)
    crop_points = points @ matrix[:, :2].T + matrix[:, 2]
    return AlignedFace(
        crop=np.ascontiguousarray(crop),
        landmarks=crop_points.astype(np.float32),
        matrix=matrix.astype(np.float32),
    )


def _area_crop(image: np.ndarray, centre_x: float, centre_y: float, side: float, size: int) -> np.ndarray:
    """Area-shrink the window around the crop square, then place it exactly with a
    near-identity warp; the result equals the crop of :func:`align_face`'s matrix."""
    import cv2

    height, width = image.shape[:2]
    scale = size / side
    left = int(np.floor(centre_x - side / 2.0)) - 1
    top = int(np.floor(centre_y - side / 2.0)) - 1
    right = int(np.ceil(centre_x + side / 2.0)) + 2
    bottom = int(np.ceil(centre_y + side / 2.0)) + 2
    window = image[max(0, top):min(height, bottom), max(0, left):min(width, right)]
    pads = (max(0, -top), max(0, bottom - height), max(0, -left), max(0, right - width))
    if any(pads):
        window = cv2.copyMakeBorder(window, *pads, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    window_height, window_width = window.shape[:2]
    shrunk_width = max(1, int(round(window_width * scale)))
    shrunk_height = max(1, int(round(window_height * scale)))
    shrunk = cv2.resize(window, (shrunk_width, shrunk_height), interpolation=cv2.INTER_AREA)
    factor_x = shrunk_width / window_width
    factor_y = shrunk_height / window_height
    # A shrunk index r sits at frame index (r + 0.5) / factor + left - 0.5.
    matrix = np.array(
        [
            [scale / factor_x, 0.0, (0.5 / factor_x + left - 0.5 - centre_x) * scale + size / 2.0 - 0.5],
            [0.0, scale / factor_y, (0.5 / factor_y + top - 0.5 - centre_y) * scale + size / 2.0 - 0.5],
        ]
    )
    return cv2.warpAffine(
        shrunk, matrix, (size, size), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
    )
