"""Blending methods other than Eq. 1's alpha blend, for one pair of aligned crops.

The BI sampler draws some of its training blends with these, and the
evaluation sets use them for their Poisson and Laplacian test sets, so a
model is trained and measured on the same two implementations:

- :func:`poisson_blend`: OpenCV's gradient-domain ``seamlessClone`` (normal
  clone) through the binary region :func:`poisson_region` makes of a soft mask;
- :func:`laplacian_blend`: the Burt–Adelson multiband blend through a soft mask.
"""

from __future__ import annotations

import numpy as np


def poisson_region(mask: np.ndarray) -> np.ndarray:
    """The uint8 0/1 region of one or more soft masks (…×H×W in [0, 1]) binarised at 0.5, with
    each mask's outermost pixel ring cleared, since seamlessClone needs its region inside the image."""
    region = (np.asarray(mask) >= 0.5).astype(np.uint8)
    region[..., [0, -1], :] = 0
    region[..., :, [0, -1]] = 0
    return region


def poisson_blend(foreground: np.ndarray, background: np.ndarray, binary: np.ndarray) -> np.ndarray:
    """``cv2.seamlessClone`` of one H×W×3 uint8 pair through an H×W :func:`poisson_region`
    (1 = foreground); an empty region returns the background unchanged."""
    import cv2

    background = np.ascontiguousarray(background)
    if not binary.any():
        return background.copy()
    x, y, width, height = cv2.boundingRect(binary)
    centre = (x + width // 2, y + height // 2)
    return cv2.seamlessClone(np.ascontiguousarray(foreground), background, binary * 255, centre, cv2.NORMAL_CLONE)


def laplacian_levels(height: int, width: int, smallest: int = 8, most: int = 5) -> int:
    """Pyramid levels (the full-size image counts as one) until the smaller side is at most ``smallest`` px."""
    levels, side = 1, min(height, width)
    while side > smallest and levels < most:
        side = (side + 1) // 2  # cv2.pyrDown's output size
        levels += 1
    return levels


def _gaussian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    import cv2

    pyramid = [image]
    for _ in range(levels - 1):
        pyramid.append(cv2.pyrDown(pyramid[-1]))
    return pyramid


def _expand(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.pyrUp(image, dstsize=(like.shape[1], like.shape[0]))


def _laplacian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    gaussian = _gaussian_pyramid(image, levels)
    bands = [fine - _expand(coarse, fine) for fine, coarse in zip(gaussian[:-1], gaussian[1:])]
    return bands + [gaussian[-1]]  # the coarsest level keeps its low-pass image


def laplacian_blend(foreground: np.ndarray, background: np.ndarray, mask: np.ndarray, levels: int) -> np.ndarray:
    """Burt–Adelson multiband blend of one H×W×3 pair (uint8, or float on the 0–255 scale)
    through an H×W mask in [0, 1] (1 = foreground), as uint8.

    Each Laplacian band of the two images is mixed by the mask's Gaussian
    pyramid at that level, so coarse bands cross over a wide seam and fine
    bands a narrow one; the mixed pyramid is collapsed back into an image.
    """
    weights = _gaussian_pyramid(np.asarray(mask, dtype=np.float32), levels)
    front = _laplacian_pyramid(np.asarray(foreground, dtype=np.float32), levels)
    back = _laplacian_pyramid(np.asarray(background, dtype=np.float32), levels)
    mixed = [w[..., None] * f + (1.0 - w[..., None]) * b for w, f, b in zip(weights, front, back)]
    image = mixed[-1]
    for band in reversed(mixed[:-1]):
        image = _expand(image, band) + band
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
