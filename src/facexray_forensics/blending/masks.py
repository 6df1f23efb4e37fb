"""Blending masks from the 68 landmarks: convex hulls of face regions.

The regions follow what face manipulations replace:

- ``face``: the whole face, from the chin to the forehead. The 68 points stop
  at the eyebrows, so the brows are lifted by 30% of the brow-to-chin height
  to add the forehead (face swaps such as FaceSwap and Deepfakes).
- ``inner``: the hull of all 68 points, i.e. the face without the forehead.
- ``lower``: the lower face and mouth: the lower jaw line (points 2–14) and
  the nose below its bridge (29–35) (mouth re-enactment such as NeuralTextures).
- ``eyes_nose``: brows, eyes and nose (17–47), for manipulations of the eye region.
"""

from __future__ import annotations

import numpy as np

REGIONS = ("face", "inner", "lower", "eyes_nose")

_JAW = np.arange(0, 17)
_BROWS = np.arange(17, 27)
_CHIN = 8
_NOSE_TOP = 27
_FOREHEAD_LIFT = 0.3


def region_points(landmarks: np.ndarray, region: str) -> np.ndarray:
    """The points whose convex hull is ``region`` (see the module docstring), P×2 float32."""
    points = np.asarray(landmarks, dtype=np.float32)
    if points.shape != (68, 2):
        raise ValueError(f"landmarks must be 68×2, got shape {points.shape}")
    if region == "face":
        # Lift the brows away from the chin along the face's own vertical axis.
        lift = (points[_NOSE_TOP] - points[_CHIN]) * _FOREHEAD_LIFT
        return np.concatenate([points, points[_BROWS] + lift])
    if region == "inner":
        return points
    if region == "lower":
        return np.concatenate([points[2:15], points[29:36]])
    if region == "eyes_nose":
        return points[17:48]
    raise ValueError(f"region must be one of {REGIONS}, got {region!r}")


def hull_mask(landmarks: np.ndarray, size: int | tuple[int, int], region: str = "face") -> np.ndarray:
    """A float32 H×W mask: 1 inside the convex hull of the region's points, 0 outside.

    ``size`` is the side of a square mask or (height, width).
    """
    import cv2

    height, width = (size, size) if isinstance(size, (int, np.integer)) else size
    points = region_points(landmarks, region)
    if not np.isfinite(points).all():
        raise ValueError("landmarks must be finite")
    hull = cv2.convexHull(np.round(points * 16).astype(np.int32))
    mask = np.zeros((height, width), dtype=np.uint8)
    # Four fractional bits: the hull edge falls within 1/16 pixel of the landmarks.
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(np.float32)
