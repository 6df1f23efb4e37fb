"""Property tests: random shapes, point sets, kernels and batch sizes."""

import cv2
import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ops_references import skimage_warp
from scipy.spatial import Delaunay

from facexray_forensics import _core, ops

SETTINGS = settings(max_examples=40, deadline=None)
odd_sizes = st.integers(0, 12).map(lambda k: 2 * k + 1)
seeds = st.integers(0, 2**32 - 1)


@SETTINGS
@given(
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    channels=st.integers(1, 4),
    kernel_x=odd_sizes,
    kernel_y=odd_sizes,
    sigma=st.one_of(st.just(0.0), st.floats(0.1, 8.0)),
    seed=seeds,
)
def test_blur_matches_opencv(height, width, channels, kernel_x, kernel_y, sigma, seed):
    if not (int(cv2.__version__.split(".")[0]) >= 5) and sigma <= 0 and 9 in (kernel_x, kernel_y):
        return  # OpenCV 4 computes the 9-tap kernel that OpenCV 5 (and we) tabulate
    image = np.random.default_rng(seed).random((height, width, channels)).astype(np.float32)
    reference = cv2.GaussianBlur(image, (kernel_x, kernel_y), sigma).reshape(image.shape)
    assert np.abs(ops.gaussian_blur(image, (kernel_x, kernel_y), sigma) - reference).max() <= 1e-4


@SETTINGS
@given(
    batch=st.integers(1, 5),
    height=st.integers(2, 48),
    width=st.integers(2, 48),
    channels=st.sampled_from([1, 2, 3]),
    threads=st.integers(1, 3),
    seed=seeds,
)
def test_batch_ops_equal_per_image_loops(batch, height, width, channels, threads, seed):
    rng = np.random.default_rng(seed)
    ops.set_threads(threads)
    foreground = rng.random((batch, height, width, channels)).astype(np.float32)
    background = rng.random((batch, height, width, channels)).astype(np.float32)
    mask = rng.random((batch, height, width, 1)).astype(np.float32)
    grid = ops.grid_points(height, width).astype(np.float64)
    sources = grid + rng.uniform(-2, 2, (batch,) + grid.shape)
    warped = ops.warp_piecewise_affine(foreground, sources, np.broadcast_to(grid, sources.shape))
    blurred = ops.gaussian_blur(foreground, 5)
    corrected = ops.colour_transfer(foreground, background, mask, match_std=True)
    image, xray, softened = ops.blend_with_xray(foreground, background, mask)
    for n in range(batch):
        assert np.array_equal(warped[n], ops.warp_piecewise_affine(foreground[n], sources[n], grid))
        assert np.array_equal(blurred[n], ops.gaussian_blur(foreground[n], 5))
        assert np.array_equal(corrected[n], ops.colour_transfer(foreground[n], background[n], mask[n], True))
        single = ops.blend_with_xray(foreground[n], background[n], mask[n])
        assert np.array_equal(image[n], single[0]) and np.array_equal(xray[n], single[1])
        assert np.array_equal(softened[n], single[2])


@SETTINGS
@given(
    height=st.integers(8, 64),
    width=st.integers(8, 64),
    count=st.integers(3, 30),
    seed=seeds,
)
def test_warp_of_scattered_points_matches_scikit_image(height, width, count, seed):
    rng = np.random.default_rng(seed)
    destination = rng.uniform(0, (width - 1, height - 1), (count, 2))
    source = destination + rng.normal(0, 2, destination.shape)
    # The triangulation of points close to degenerate is not unique, and then
    # scikit-image (Qhull) and we may pick different, equally valid, meshes.
    triangles = Delaunay(destination)
    areas = np.abs(np.linalg.det(np.concatenate([destination[triangles.simplices], np.ones((len(triangles.simplices), 3, 1))], axis=2)))
    assume(areas.min() > 1e-3 * height * width / count)
    ours_mesh = {tuple(sorted(t)) for t in _core.delaunay(destination).tolist()}
    assume(ours_mesh == {tuple(sorted(t)) for t in triangles.simplices.tolist()})
    image = rng.random((height, width)).astype(np.float32)
    ours = ops.warp_piecewise_affine(image, source, destination, fill=0.5)
    assert np.abs(ours - skimage_warp(image, source, destination, 0.5)).mean() <= 1e-3


@SETTINGS
@given(height=st.integers(2, 40), width=st.integers(2, 40), rows=st.integers(2, 6), cols=st.integers(2, 6), seed=seeds)
def test_identity_warp_on_any_grid(height, width, rows, cols, seed):
    image = np.random.default_rng(seed).random((height, width, 2)).astype(np.float32)
    grid = ops.grid_points(height, width, rows, cols)
    assert np.abs(ops.warp_piecewise_affine(image, grid, grid) - image).max() <= 1e-5


def assert_valid_mesh(points: np.ndarray, triangles: np.ndarray, slack: float = 0.0) -> None:
    """Counter-clockwise triangles that tile the convex hull of the points."""
    from scipy.spatial import ConvexHull

    corners = points[triangles]
    first, second = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    signed = first[:, 0] * second[:, 1] - first[:, 1] * second[:, 0]
    assert signed.min() > -slack
    assert np.isclose(signed.sum() / 2, ConvexHull(points).volume, rtol=1e-9)


@SETTINGS
@given(count=st.integers(3, 80), seed=seeds, scale=st.sampled_from([2.0**-3, 1.0, 2.0**5]))
def test_triangulation_of_lattice_points_is_exact(count, seed, scale):
    # Points on a coarse lattice: many collinear and cocircular subsets, all
    # exactly representable, so the mesh must be exact too.
    rng = np.random.default_rng(seed)
    points = np.unique(rng.integers(0, 6, (count, 2)) * scale, axis=0)
    assume(len(points) >= 3 and np.linalg.matrix_rank(points - points.mean(0)) == 2)
    triangles = _core.delaunay(points)
    assert_valid_mesh(points, triangles)
    assert set(np.unique(triangles)) == set(range(len(points)))  # every point is a vertex


@SETTINGS
@given(count=st.integers(3, 80), seed=seeds, scale=st.sampled_from([0.1, 1 / 3, 0.7, 1e3 / 7]))
def test_triangulation_of_inexact_lattices_and_circles_stays_a_mesh(count, seed, scale):
    # Decimal or circular coordinates are rounded: collinear and cocircular
    # points come out a hair off. The mesh may then hold slivers of rounding
    # size, but must still tile the hull (before, cocircular points made the
    # triangulation explode).
    rng = np.random.default_rng(seed)
    lattice = np.unique(np.round(rng.uniform(0, 5, (count, 2))) * scale, axis=0)
    angles = np.sort(rng.choice(360, size=min(count, 360), replace=False)) * np.pi / 180
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1) * scale * 10
    for points in (lattice, circle, np.vstack([circle, [[0.0, 0.0]]])):
        if len(points) < 3 or np.linalg.matrix_rank(points - points.mean(0)) < 2:
            continue
        if np.min(np.abs(points[:, None] - points[None])[~np.eye(len(points), dtype=bool)].max(-1)) <= 1e-8 * np.ptp(points):
            continue  # coinciding after rounding: rejected, tested elsewhere
        triangles = _core.delaunay(points)
        assert len(triangles) <= 2 * len(points)
        assert_valid_mesh(points, triangles, slack=1e-9 * np.ptp(points) ** 2)


@SETTINGS
@given(height=st.integers(1, 30), width=st.integers(1, 30), seed=seeds, binary=st.booleans())
def test_xray_is_in_unit_range_and_zero_where_settled(height, width, seed, binary):
    rng = np.random.default_rng(seed)
    mask = rng.random((height, width)).astype(np.float32)
    if binary:
        mask = (mask > 0.5).astype(np.float32)
    foreground = rng.random((height, width, 3)).astype(np.float32)
    background = rng.random((height, width, 3)).astype(np.float32)
    image, xray, softened = ops.blend_with_xray(foreground, background, mask)
    assert xray.min() >= 0 and xray.max() <= 1
    settled = (softened == 0) | (softened == 1)
    assert np.all(xray[settled] == 0)
    s = softened.astype(np.float64)[..., None]
    assert np.abs(image - (s * foreground + (1 - s) * background)).max() <= 1e-6
