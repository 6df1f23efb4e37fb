"""The piecewise-affine warp against scikit-image, and its own invariants."""

import numpy as np
import pytest
from ops_references import jittered_grid, random_mask, skimage_warp
from scipy.spatial import Delaunay

from facexray_forensics import _core, ops


@pytest.mark.parametrize("trial", range(6))
def test_warp_matches_scikit_image_on_random_masks_and_grid_deformations(rng, trial):
    height, width = rng.integers(48, 160, 2)
    mask = random_mask(rng, height, width)
    source = jittered_grid(rng, height, width, 0.06 * min(height, width))
    destination = jittered_grid(rng, height, width, 0.06 * min(height, width))
    fill = float(rng.uniform(0, 1))

    ours = ops.warp_piecewise_affine(mask, source, destination, fill=fill)
    reference = skimage_warp(mask, source, destination, fill)

    assert ours.dtype == np.float32 and ours.shape == mask.shape
    assert np.abs(ours - reference).mean() <= 1e-3
    # Not only on average: pixel centres on triangle edges must agree as well.
    assert np.abs(ours - reference).max() <= 1e-3


def test_warp_matches_scikit_image_on_colour_and_uint8(rng):
    height, width = 90, 120
    image = rng.random((height, width, 3)).astype(np.float32)
    source = jittered_grid(rng, height, width, 8)
    destination = jittered_grid(rng, height, width, 8)
    reference = skimage_warp(image, source, destination, 0.25)
    assert np.abs(ops.warp_piecewise_affine(image, source, destination, 0.25) - reference).mean() <= 1e-3

    image8 = (image * 255).astype(np.uint8)
    reference8 = skimage_warp(image8, source, destination, 17.0)
    ours8 = ops.warp_piecewise_affine(image8, source, destination, 17.0)
    assert ours8.dtype == np.uint8
    # Ours rounds to nearest; the reference stays in float.
    assert np.abs(ours8 - reference8).max() <= 0.5 + 1e-3


def test_warp_matches_scikit_image_on_scattered_points_with_pixels_outside_the_hull(rng):
    height, width = 80, 100
    image = rng.random((height, width)).astype(np.float32)
    destination = rng.uniform((5, 5), (width - 5, height - 5), (25, 2))
    source = destination + rng.normal(0, 3, destination.shape)
    ours = ops.warp_piecewise_affine(image, source, destination, fill=-1.0)
    reference = skimage_warp(image, source, destination, -1.0)
    assert np.abs(ours - reference).mean() <= 1e-3
    outside = Delaunay(destination).find_simplex(np.stack(np.mgrid[0:width, 0:height], -1).reshape(-1, 2)) < 0
    assert outside.any()
    assert np.all(ours.T.reshape(-1)[outside] == -1.0)


def test_triangulation_equals_scipy_delaunay_in_general_position(rng):
    for count in (3, 4, 16, 68, 200):
        points = rng.uniform(0, 255, (count, 2))
        ours = {tuple(sorted(t)) for t in _core.delaunay(points).tolist()}
        reference = {tuple(sorted(t)) for t in Delaunay(points).simplices.tolist()}
        assert ours == reference


def test_triangulation_of_the_regular_grid_covers_the_image():
    grid = ops.grid_points(256, 256).astype(np.float64)
    triangles = _core.delaunay(grid)
    corners = grid[triangles]
    first, second = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    areas = 0.5 * np.abs(first[:, 0] * second[:, 1] - first[:, 1] * second[:, 0])
    assert len(triangles) == 18
    assert np.isclose(areas.sum(), 255.0 * 255.0)
    assert areas.min() > 0


@pytest.mark.parametrize("shape", [(64, 64), (50, 70, 1), (50, 70, 3), (3, 40, 30, 4)])
def test_identity_control_points_give_back_the_input(rng, shape):
    image = rng.random(shape).astype(np.float32)
    height, width = shape[:2] if len(shape) < 4 else shape[1:3]
    grid = ops.grid_points(height, width)
    assert np.array_equal(ops.warp_piecewise_affine(image, grid, grid), image)


def test_identity_with_scattered_points_covering_the_image(rng):
    image = rng.random((60, 80)).astype(np.float32)
    points = np.concatenate([[[0, 0], [79, 0], [0, 59], [79, 59]], rng.uniform((1, 1), (78, 58), (30, 2))])
    assert np.abs(ops.warp_piecewise_affine(image, points, points) - image).max() <= 1e-4


def test_a_pure_translation_moves_the_image(rng):
    image = rng.random((40, 50)).astype(np.float32)
    grid = ops.grid_points(40, 50).astype(np.float64)
    # out(dst) = in(src): content at source (x, y) appears at (x + 3, y + 2).
    moved = ops.warp_piecewise_affine(image, grid, grid + (3, 2), fill=0.0)
    assert np.abs(moved[2:, 3:] - image[:-2, :-3]).max() <= 1e-5
    assert np.all(moved[:2] == 0) and np.all(moved[:, :3] == 0)


def test_batch_equals_a_loop_over_images_on_several_threads(rng):
    ops.set_threads(2)
    images = rng.random((5, 64, 48, 3)).astype(np.float32)
    sources = np.stack([jittered_grid(rng, 64, 48, 5) for _ in range(5)])
    destinations = np.stack([jittered_grid(rng, 64, 48, 5) for _ in range(5)])
    batch = ops.warp_piecewise_affine(images, sources, destinations, fill=0.5)
    loop = np.stack([ops.warp_piecewise_affine(i, s, d, 0.5) for i, s, d in zip(images, sources, destinations)])
    assert np.array_equal(batch, loop)
    shared = ops.warp_piecewise_affine(images, sources[0], destinations[0])
    assert np.array_equal(shared[3], ops.warp_piecewise_affine(images[3], sources[0], destinations[0]))


def test_grid_points_span_the_image():
    grid = ops.grid_points(256, 200)
    assert grid.shape == (16, 2) and grid.dtype == np.float32
    assert grid[0].tolist() == [0, 0] and grid[-1].tolist() == [199, 255]
    assert np.allclose(np.unique(grid[:, 0]), np.linspace(0, 199, 4))
    assert ops.grid_points(10, 10, rows=3, cols=5).shape == (15, 2)


@pytest.mark.parametrize("width", [37, 256])
def test_one_channel_warp_equals_each_channel_of_the_same_image_in_colour(rng, width):
    # One channel goes through the vectorised span sampler (AVX2 where the CPU
    # has it), several channels through the plain loop: the same arithmetic,
    # so the same bits, also on spans shorter than a vector and at their ends.
    height = 61
    mask = random_mask(rng, height, width)
    source = jittered_grid(rng, height, width, 0.08 * min(height, width))
    destination = jittered_grid(rng, height, width, 0.08 * min(height, width))
    single = ops.warp_piecewise_affine(mask, source, destination, fill=0.25)
    colour = ops.warp_piecewise_affine(np.repeat(mask[..., None], 3, axis=2), source, destination, fill=0.25)
    for channel in range(3):
        assert np.array_equal(single, colour[..., channel])


@pytest.mark.parametrize("trial", range(8))
def test_spans_over_rows_of_zeros_are_zero_and_nothing_else_is_skipped(rng, trial):
    # Spans whose taps all lie in all-zero rows are written as zeros without
    # sampling. Large values beside the zero bands make any wrongly skipped
    # tap (even a weight of 1e-3) show against scikit-image.
    height, width = 96, 80
    image = rng.uniform(500, 1000, (height, width)).astype(np.float32)
    bands = [slice(0, int(rng.integers(5, 30))), slice(40, 40 + int(rng.integers(1, 12))), slice(int(rng.integers(70, 90)), height)]
    for band in bands:
        image[band] = 0.0
    source = jittered_grid(rng, height, width, 6.0)
    destination = jittered_grid(rng, height, width, 6.0)
    ours = ops.warp_piecewise_affine(image, source, destination, fill=0.0)
    reference = skimage_warp(image, source, destination, 0.0)
    assert np.abs(ours - reference).max() <= 0.3
    assert not np.signbit(ours).any()  # zeros written are +0, as sampling them gives
    colour = ops.warp_piecewise_affine(np.repeat(image[..., None], 3, axis=2), source, destination, fill=0.0)
    assert np.array_equal(colour[..., 1], ours)
    image8 = (image / 4).astype(np.uint8)  # 125..250 beside the zero bands
    ours8 = ops.warp_piecewise_affine(image8, source, destination, fill=0.0)
    assert np.abs(ours8 - skimage_warp(image8, source, destination, 0.0)).max() <= 0.5 + 1e-3
