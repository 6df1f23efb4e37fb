"""Eq. 1, Eq. 2, the 3×3 softening, their fused form and the colour transfer, against numpy and OpenCV."""

import cv2
import numpy as np
import pytest
from ops_references import random_mask

from facexray_forensics import ops


def images(rng, shape):
    return rng.random(shape).astype(np.float32), rng.random(shape).astype(np.float32)


@pytest.mark.parametrize("mask_channel", [False, True])
def test_blend_equals_eq1(rng, mask_channel):
    foreground, background = images(rng, (70, 90, 3))
    mask = random_mask(rng, 70, 90)
    ours = ops.blend(foreground, background, mask[..., None] if mask_channel else mask)
    m = mask[..., None].astype(np.float64)
    assert np.abs(ours - (m * foreground + (1 - m) * background)).max() <= 1e-6


def test_face_xray_equals_eq2(rng):
    mask = random_mask(rng, 64, 64)
    assert np.abs(ops.face_xray(mask) - 4 * mask.astype(np.float64) * (1 - mask)).max() <= 1e-6


def test_soften_mask_is_the_3x3_gaussian(rng):
    mask = (random_mask(rng, 50, 60) > 0.5).astype(np.float32)
    assert np.abs(ops.soften_mask(mask) - cv2.GaussianBlur(mask, (3, 3), 0)).max() <= 1e-7


@pytest.mark.parametrize("shape", [(64, 80, 3), (33, 17, 1), (40, 50), (4, 30, 20, 3)])
def test_blend_with_xray_equals_soften_then_eq1_and_eq2(rng, shape):
    foreground, background = images(rng, shape)
    spatial = shape[:3] if len(shape) == 4 else shape[:2]
    mask = (rng.random(spatial) > 0.6).astype(np.float32)
    image, xray, softened = ops.blend_with_xray(foreground, background, mask)

    reference_softened = np.stack([cv2.GaussianBlur(m, (3, 3), 0) for m in mask.reshape((-1,) + mask.shape[-2:])])
    reference_softened = reference_softened.reshape(mask.shape)
    assert softened.shape == mask.shape and xray.shape == mask.shape and image.shape == shape
    assert np.abs(softened - reference_softened).max() <= 1e-6
    s = reference_softened.astype(np.float64)
    assert np.abs(xray - 4 * s * (1 - s)).max() <= 1e-6
    s = s if len(shape) == 2 else s[..., None]
    assert np.abs(image - (s * foreground + (1 - s) * background)).max() <= 1e-6


def test_xray_lies_in_unit_range_and_vanishes_where_the_softened_mask_is_0_or_1(rng):
    foreground, background = images(rng, (96, 96, 3))
    mask = np.zeros((96, 96), np.float32)
    mask[20:70, 30:80] = 1.0
    _, xray, softened = ops.blend_with_xray(foreground, background, mask)
    assert xray.min() >= 0 and xray.max() <= 1
    settled = (softened == 0) | (softened == 1)
    assert settled.sum() > 0.8 * softened.size
    assert np.all(xray[settled] == 0)
    assert np.all(xray[~settled] > 0)
    # The boundary is where the X-ray lights up: the softened edge is 0.5 somewhere on it.
    assert np.isclose(xray.max(), 1.0) or xray.max() >= 0.75


def test_mask_rounding_slack_is_clipped_not_passed_on(rng):
    foreground, background = images(rng, (8, 8, 3))
    mask = np.full((8, 8), 1.0 + 5e-4, np.float32)
    assert np.all(ops.face_xray(mask) == 0)
    assert np.array_equal(ops.blend(foreground, background, mask), foreground)


def numpy_colour_transfer(foreground, background, mask, match_std):
    inside = mask.reshape(mask.shape[:2]) > 0
    f = foreground.astype(np.float64)
    mean_f, mean_b = f[inside].mean(0), background[inside].astype(np.float64).mean(0)
    if not match_std:
        return f - mean_f + mean_b
    std_f, std_b = f[inside].std(0), background[inside].astype(np.float64).std(0)
    return (f - mean_f) * (std_b / std_f) + mean_b


@pytest.mark.parametrize("match_std", [False, True])
@pytest.mark.parametrize("channels", [1, 3, 4, 5])
def test_colour_transfer_equals_the_numpy_statistics(rng, match_std, channels):
    foreground = (rng.random((61, 47, channels)) * 200 + 30).astype(np.float32)
    background = (rng.random((61, 47, channels)) * 90 + 100).astype(np.float32)
    mask = random_mask(rng, 61, 47)
    ours = ops.colour_transfer(foreground, background, mask, match_std=match_std)
    reference = numpy_colour_transfer(foreground, background, mask, match_std)
    assert np.abs(ours - reference).max() <= 1e-3  # values up to 255: ~4e-6 relative
    inside = mask > 0
    assert np.allclose(ours[inside].mean(0), background[inside].mean(0), atol=1e-3)


@pytest.mark.parametrize("columns", [[0], [31], [32], [63, 64], [5, 100], [129]])
def test_colour_transfer_finds_isolated_mask_pixels_anywhere_in_a_row(rng, columns):
    # The rows are scanned for mask > 0 in blocks of 32: single pixels at and
    # around block edges, and tiny or negative-zero values, must all be found.
    foreground, background = images(rng, (5, 130, 3))
    mask = np.full((5, 130), -0.0, np.float32)
    mask[2, columns] = np.float32(1e-30)
    mask[4, columns[-1]] = 0.5
    ours = ops.colour_transfer(foreground, background, mask)
    assert np.abs(ours - numpy_colour_transfer(foreground, background, mask, False)).max() <= 1e-5
    image, _, _ = ops.blend_with_xray(foreground, background, mask, colour="mean")
    softened = ops.soften_mask(mask)
    assert np.abs(image - ops.blend(ours, background, softened)).max() <= 1e-6


def test_colour_transfer_uses_only_pixels_inside_the_mask(rng):
    foreground, background = images(rng, (40, 40, 3))
    mask = np.zeros((40, 40), np.float32)
    mask[10:20, 10:20] = 0.3
    changed = foreground.copy()
    changed[mask == 0] = 1e6  # outside: must not move the statistics
    shifted = ops.colour_transfer(changed, background, mask)
    plain = ops.colour_transfer(foreground, background, mask)
    assert np.allclose(shifted[mask > 0], plain[mask > 0], atol=1e-5)


def test_colour_transfer_with_an_empty_mask_returns_the_foreground(rng):
    foreground, background = images(rng, (20, 30, 3))
    result = ops.colour_transfer(foreground, background, np.zeros((20, 30), np.float32))
    assert np.array_equal(result, foreground)


def test_colour_transfer_of_a_flat_foreground_only_shifts_it(rng):
    foreground = np.full((20, 20, 3), 0.25, np.float32)
    _, background = images(rng, (20, 20, 3))
    mask = np.ones((20, 20), np.float32)
    result = ops.colour_transfer(foreground, background, mask, match_std=True)
    assert np.allclose(result, background.reshape(-1, 3).mean(0), atol=1e-6)


def test_batched_blend_ops_equal_loops_on_several_threads(rng):
    ops.set_threads(2)
    foreground, background = images(rng, (5, 32, 40, 3))
    mask = rng.random((5, 32, 40, 1)).astype(np.float32)
    for function in (ops.blend, ops.colour_transfer):
        batch = function(foreground, background, mask)
        loop = np.stack([function(f, b, m) for f, b, m in zip(foreground, background, mask)])
        assert np.array_equal(batch, loop)
    fused = ops.blend_with_xray(foreground, background, mask)
    for index in range(5):
        single = ops.blend_with_xray(foreground[index], background[index], mask[index])
        for batch_part, single_part in zip(fused, single):
            assert np.array_equal(batch_part[index], single_part)
    assert np.array_equal(ops.face_xray(mask)[4], ops.face_xray(mask[4]))


@pytest.mark.parametrize("colour", ["mean", "mean_std"])
@pytest.mark.parametrize("shape", [(64, 80, 3), (33, 17, 1), (40, 50), (3, 30, 20, 3), (2, 25, 31, 5)])
def test_blend_with_colour_equals_colour_transfer_then_blend_and_numpy(rng, colour, shape):
    foreground = (rng.random(shape) * 0.6 + 0.1).astype(np.float32)
    background = (rng.random(shape) * 0.5 + 0.4).astype(np.float32)
    count = shape[0] if len(shape) == 4 else 1
    height, width = shape[1:3] if len(shape) == 4 else shape[:2]
    masks = np.stack([random_mask(rng, height, width) for _ in range(count)])
    mask = masks.reshape(shape[:3] + (1,)) if len(shape) == 4 else masks[0]
    match_std = colour == "mean_std"
    image, xray, softened = ops.blend_with_xray(foreground, background, mask, colour=colour)

    # Against the unfused ops.
    corrected = ops.colour_transfer(foreground, background, mask, match_std=match_std)
    unfused = ops.blend_with_xray(corrected, background, mask)
    assert np.abs(image - unfused[0]).max() <= 1e-6
    assert np.array_equal(xray, unfused[1]) and np.array_equal(softened, unfused[2])

    # Against numpy statistics and Eq. 1 with the OpenCV softening, image by image.
    flat_shape = (count, height, width, -1)
    for f, b, m, ours in zip(foreground.reshape(flat_shape), background.reshape(flat_shape),
                             mask.reshape((count, height, width)), image.reshape(flat_shape)):
        reference_corrected = numpy_colour_transfer(f, b, m, match_std)
        s = cv2.GaussianBlur(m, (3, 3), 0).astype(np.float64)[..., None]
        assert np.abs(ours - (s * reference_corrected + (1 - s) * b)).max() <= 1e-5


def test_blend_with_colour_and_an_empty_mask_blends_the_foreground_unchanged(rng):
    foreground, background = images(rng, (20, 30, 3))
    mask = np.zeros((20, 30), np.float32)
    fused = ops.blend_with_xray(foreground, background, mask, colour="mean_std")
    plain = ops.blend_with_xray(foreground, background, mask)
    for fused_part, plain_part in zip(fused, plain):
        assert np.array_equal(fused_part, plain_part)


def test_blend_with_colour_batches_equal_loops_on_several_threads(rng):
    ops.set_threads(2)
    foreground, background = images(rng, (5, 32, 40, 3))
    mask = rng.random((5, 32, 40, 1)).astype(np.float32)
    fused = ops.blend_with_xray(foreground, background, mask, colour="mean_std")
    for index in range(5):
        single = ops.blend_with_xray(foreground[index], background[index], mask[index], colour="mean_std")
        for batch_part, single_part in zip(fused, single):
            assert np.array_equal(batch_part[index], single_part)


@pytest.mark.parametrize("colour, error", [("median", ValueError), ("", ValueError), ("none", ValueError),
                                           (1, TypeError), (True, TypeError), (b"mean", TypeError)])
def test_blend_with_a_bad_colour_mode_is_refused(rng, colour, error):
    foreground, background = images(rng, (8, 8, 3))
    mask = np.ones((8, 8), np.float32)
    with pytest.raises(error, match="colour"):
        ops.blend_with_xray(foreground, background, mask, colour=colour)


def test_blend_colour_mode_is_keyword_only(rng):
    foreground, background = images(rng, (8, 8, 3))
    with pytest.raises(TypeError):
        ops.blend_with_xray(foreground, background, np.ones((8, 8), np.float32), "mean")
