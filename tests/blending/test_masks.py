"""Hull masks against scikit-image's polygon rasteriser and their region nesting."""

import numpy as np
import pytest
from scipy.spatial import ConvexHull
from skimage.draw import polygon2mask

from facexray_forensics.blending.masks import REGIONS, hull_mask, region_points


def reference_mask(points, size):
    hull = points[ConvexHull(points).vertices]
    return polygon2mask((size, size), hull[:, ::-1]).astype(np.float32)


@pytest.mark.parametrize("region", REGIONS)
def test_mask_matches_the_reference_hull(astronaut_faces, region):
    _, marks = astronaut_faces
    for landmarks in marks[:4]:
        mask = hull_mask(landmarks, 256, region)
        reference = reference_mask(region_points(landmarks, region).astype(np.float64), 256)
        assert mask.dtype == np.float32 and set(np.unique(mask)) <= {0.0, 1.0}
        union = np.logical_or(mask, reference).sum()
        assert np.logical_and(mask, reference).sum() / union > 0.97


def test_regions_nest(astronaut_faces):
    _, marks = astronaut_faces
    landmarks = marks[0]
    face, inner, lower, eyes = (hull_mask(landmarks, 256, r) for r in REGIONS)
    assert face.sum() > inner.sum() > max(lower.sum(), eyes.sum()) > 0
    # Subsets of the points give sub-hulls (one pixel of rasterisation slack).
    for part in (lower, eyes):
        assert (part * (1 - inner)).sum() < 0.01 * part.sum()
    assert (inner * (1 - face)).sum() < 0.01 * inner.sum()
    # The forehead lies above the brows, the lower face below the eyes.
    assert np.flatnonzero(face.max(1))[0] < np.flatnonzero(inner.max(1))[0]
    assert np.flatnonzero(lower.max(1))[0] > landmarks[36:48, 1].mean()


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        hull_mask(np.zeros((5, 2)), 64)
    with pytest.raises(ValueError):
        hull_mask(np.random.default_rng(0).uniform(0, 60, (68, 2)), 64, "ears")
