"""The geometry of :mod:`.gpu_sampler` on a torch device: face-region hulls as half-planes and
their rasterised masks, and the Delaunay triangulation of small point sets in batches.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from facexray_forensics.blending.masks import region_points

_HULL_ROUNDING = 16  # cv2.fillConvexPoly(..., shift=4) in masks.hull_mask
# OpenCV's fill also takes the pixels its outline touches; pixel centres within half a pixel
# of the hull reproduce it best (measured on the astronaut faces: 0.3% of a mask differs at
# most, all on boundary pixels).
_HULL_MARGIN = 0.5


def hull_planes(landmarks: np.ndarray, regions: tuple[str, ...]) -> np.ndarray:
    """F×R×E×3 float32 edge half-planes (a, b, c) of each face's region hulls, widened by
    ``_HULL_MARGIN`` pixels: inside when a·x + b·y + c >= 0, (a, b) of unit length; padded
    with always-true planes."""
    import cv2

    hulls = []
    for face in landmarks:
        for region in regions:
            points = region_points(face, region)
            hull = cv2.convexHull(np.round(points * _HULL_ROUNDING).astype(np.int32))
            hulls.append(hull.reshape(-1, 2).astype(np.float64) / _HULL_ROUNDING)
    edges = max(len(hull) for hull in hulls)
    planes = np.zeros((len(hulls), edges, 3), dtype=np.float32)
    planes[:, :, 2] = 1.0
    for number, hull in enumerate(hulls):
        following = np.roll(hull, -1, axis=0)
        delta = following - hull
        signed_area = np.sum(hull[:, 0] * following[:, 1] - following[:, 0] * hull[:, 1])
        orientation = 1.0 if signed_area > 0 else -1.0
        length = np.maximum(np.hypot(delta[:, 0], delta[:, 1]), 1e-12)
        # cross(delta, p - vertex)·orientation >= 0 inside
        a = -delta[:, 1] * orientation / length
        b = delta[:, 0] * orientation / length
        c = _HULL_MARGIN - (a * hull[:, 0] + b * hull[:, 1])
        planes[number, : len(hull)] = np.stack([a, b, c], axis=1)
    return planes.reshape(len(landmarks), len(regions), edges, 3)


def rasterise_hulls(planes: torch.Tensor, size: int) -> torch.Tensor:
    """B×S×S×1 float32 masks of B×E×3 hull planes (see :func:`hull_planes`): 1 where a
    pixel centre lies inside, on an S×S grid."""
    a, b, c = planes.unbind(-1)
    rows = torch.arange(size, device=planes.device, dtype=planes.dtype)
    # Per row y each edge bounds x from one side (a > 0: x >= ..., a < 0: x <= ...);
    # horizontal edges accept or reject the whole row.
    level = b[:, :, None] * rows + c[:, :, None]  # B×E×S
    steep = a.abs() > 1e-9
    bound = -level / torch.where(steep, a, torch.ones_like(a))[:, :, None]
    infinity = torch.tensor(float("inf"), device=planes.device, dtype=planes.dtype)
    lower = torch.where((a > 1e-9)[:, :, None], bound, -infinity).amax(dim=1)
    upper = torch.where((a < -1e-9)[:, :, None], bound, infinity).amin(dim=1)
    row_open = torch.where(~steep[:, :, None], level >= 0, True).all(dim=1)  # B×S
    columns = rows[None, None, :]
    inside = (columns >= lower[:, :, None]) & (columns <= upper[:, :, None]) & row_open[:, :, None]
    return inside.to(torch.float32)[..., None]


_TRIANGLE_CACHE: dict = {}


def delaunay_batch(points: torch.Tensor) -> torch.Tensor:
    """Delaunay triangulations of a batch of small point sets, B×P×2 -> B×T×3 int32.

    Keeps every triangle of three points whose circumcircle holds no other point (tested in
    float64), counter-clockwise, padded with -1 rows to T = 2P − 5, the most a set of P
    points in general position has. This is the CPU op's triangulation wherever it is
    unique (no four points on one circle), and needs no host round trip.
    """
    batch, count, _ = points.shape
    key = (count, str(points.device))
    if key not in _TRIANGLE_CACHE:
        triples = torch.tensor(list(itertools.combinations(range(count), 3)), device=points.device)
        others = torch.tensor(
            [[d for d in range(count) if d not in triple] for triple in triples.tolist()],
            device=points.device,
        )
        _TRIANGLE_CACHE[key] = (triples, others)
    triples, others = _TRIANGLE_CACHE[key]
    coordinates = points.double()
    a, b, c = (coordinates[:, triples[:, k]] for k in range(3))  # B×K×2
    orientation = (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (
        c[..., 0] - a[..., 0]
    )
    scale = (coordinates.amax(dim=1) - coordinates.amin(dim=1)).amax(dim=1)  # B
    proper = orientation.abs() > 1e-12 * (scale**2)[:, None]
    d = coordinates[:, others]  # B×K×(P−3)×2
    ax, ay = (a[..., k, None] - d[..., k] for k in range(2))
    bx, by = (b[..., k, None] - d[..., k] for k in range(2))
    cx, cy = (c[..., k, None] - d[..., k] for k in range(2))
    determinant = (
        (ax * ax + ay * ay) * (bx * cy - cx * by)
        + (bx * bx + by * by) * (cx * ay - ax * cy)
        + (cx * cx + cy * cy) * (ax * by - bx * ay)
    )
    # The determinant is positive for a point inside a counter-clockwise triangle's circle.
    inside = determinant * torch.sign(orientation)[..., None] > 0
    empty = proper & ~inside.any(dim=2)  # B×K
    most = 2 * count - 5
    order = torch.sort(empty.to(torch.int8), dim=1, descending=True, stable=True).indices[:, :most]
    chosen = triples[order]  # B×T×3
    clockwise = orientation.gather(1, order) < 0
    chosen = torch.where(clockwise[..., None], chosen[..., [0, 2, 1]], chosen)
    keep = empty.gather(1, order)
    return torch.where(keep[..., None], chosen, -1).to(torch.int32).contiguous()
