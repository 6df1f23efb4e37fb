"""Bad input gives a clear ValueError or TypeError, never a crash."""

import numpy as np
import pytest

from facexray_forensics import _core, ops

GRID = ops.grid_points(32, 32)


def image(shape=(32, 32, 3), dtype=np.float32):
    return np.full(shape, 0.5, dtype=dtype)


def mask(shape=(32, 32)):
    return np.full(shape, 0.5, np.float32)


# Each op called with its standard good arguments, with one of them replaced.
CALLS = {
    "warp": lambda **k: ops.warp_piecewise_affine(k.get("image", image()), k.get("source", GRID), k.get("destination", GRID)),
    "blur": lambda **k: ops.gaussian_blur(k.get("image", image()), k.get("kernel", 5)),
    "colour": lambda **k: ops.colour_transfer(k.get("image", image()), k.get("other", image()), k.get("mask", mask())),
    "blend": lambda **k: ops.blend(k.get("image", image()), k.get("other", image()), k.get("mask", mask())),
    "xray": lambda **k: ops.face_xray(k.get("image", mask())),
    "soften": lambda **k: ops.soften_mask(k.get("image", mask())),
    "fused": lambda **k: ops.blend_with_xray(k.get("image", image()), k.get("other", image()), k.get("mask", mask())),
}
MASKED = ["colour", "blend", "fused"]


@pytest.mark.parametrize("name", CALLS)
def test_good_arguments_work(name):
    CALLS[name]()


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.float16, bool])
def test_wrong_dtype_is_a_type_error(name, dtype):
    with pytest.raises(TypeError, match="dtype"):
        CALLS[name](image=image(dtype=dtype) if name not in ("xray", "soften") else mask().astype(dtype))


@pytest.mark.parametrize("name", ["colour", "blend", "fused", "xray", "soften"])
def test_uint8_only_where_documented(name):
    with pytest.raises(TypeError, match="float32"):
        CALLS[name](image=image(dtype=np.uint8) if name not in ("xray", "soften") else np.zeros((8, 8), np.uint8))


@pytest.mark.parametrize("name", CALLS)
def test_not_an_array_is_a_type_error(name):
    with pytest.raises(TypeError, match="numpy.ndarray"):
        CALLS[name](image=[[0.5, 0.5], [0.5, 0.5]])


@pytest.mark.parametrize("colour", [None, "mean", "mean_std"])
@pytest.mark.parametrize("which", ["foreground", "background"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0, 0), (31, 31, 2), (16, 16, 1)])
def test_fused_blend_names_a_bad_value_anywhere_in_either_image(colour, which, bad, where):
    # The fused op finds NaN and infinity while it blends, also where the mask
    # is 0 (corners here), which the colour correction never reads.
    images = {"foreground": image((2, 32, 32, 3)), "background": image((2, 32, 32, 3))}
    images[which][(1,) + where] = bad
    disc = np.zeros((2, 32, 32, 1), np.float32)
    disc[:, 8:24, 8:24] = 1.0
    with pytest.raises(ValueError, match=f"{which} contains NaN or infinity"):
        ops.blend_with_xray(images["foreground"], images["background"], disc, colour=colour)


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("shape", [(32,), (1, 1, 32, 32, 3)])
def test_wrong_rank(name, shape):
    with pytest.raises(ValueError, match="rank"):
        CALLS[name](image=np.zeros(shape, np.float32))


@pytest.mark.parametrize("name", CALLS)
def test_non_contiguous(name):
    strided = np.zeros((32, 64, 3), np.float32)[:, ::2] if name not in ("xray", "soften") else np.zeros((32, 64), np.float32)[:, ::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        CALLS[name](image=strided)


@pytest.mark.parametrize("name", CALLS)
def test_unaligned(name):
    shape = (32, 32, 3) if name not in ("xray", "soften") else (32, 32)
    raw = np.zeros(4 * int(np.prod(shape)) + 1, np.uint8)
    unaligned = np.frombuffer(raw.data, np.float32, int(np.prod(shape)), offset=1).reshape(shape)
    with pytest.raises(ValueError, match="aligned"):
        CALLS[name](image=unaligned)


@pytest.mark.parametrize("name", MASKED)
def test_non_contiguous_mask(name):
    with pytest.raises(ValueError, match="C-contiguous"):
        CALLS[name](mask=np.zeros((32, 64), np.float32)[:, ::2])


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(name, bad):
    value = image() if name not in ("xray", "soften") else mask()
    value.flat[37] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        CALLS[name](image=value)


@pytest.mark.parametrize("name", ["colour", "blend", "fused"])
def test_nan_in_the_other_image_or_the_mask(name):
    other = image()
    other[3, 4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        CALLS[name](other=other)
    bad_mask = mask()
    bad_mask[5, 5] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        CALLS[name](mask=bad_mask)


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("shape", [(0, 32, 3), (32, 0), (0, 32, 32, 3)])
def test_zero_size(name, shape):
    with pytest.raises(ValueError, match="empty"):
        CALLS[name](image=np.zeros(shape, np.float32))


@pytest.mark.parametrize("name", MASKED)
def test_mismatched_shapes(name):
    with pytest.raises(ValueError, match="same shape"):
        CALLS[name](other=image((32, 31, 3)))
    with pytest.raises(ValueError, match="mask shape"):
        CALLS[name](mask=mask((31, 32)))
    with pytest.raises(ValueError, match="mask shape"):
        CALLS[name](mask=mask((32, 32, 3)))


@pytest.mark.parametrize("name", MASKED + ["xray"])
def test_mask_outside_the_unit_range(name):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        if name == "xray":
            CALLS[name](image=np.full((8, 8), 255.0, np.float32))
        else:
            CALLS[name](mask=np.full((32, 32), -0.5, np.float32))


@pytest.mark.parametrize("kernel", [0, 2, 4, -3, (3, 4), (5, -1), 1003])
def test_bad_kernel_sizes(kernel):
    with pytest.raises(ValueError, match="kernel"):
        ops.gaussian_blur(image(), kernel)


@pytest.mark.parametrize("kernel", [3.0, "5", True, (3, 3, 3), None])
def test_kernel_sizes_of_the_wrong_kind(kernel):
    with pytest.raises((TypeError, ValueError), match="kernel"):
        ops.gaussian_blur(image(), kernel)


@pytest.mark.parametrize("sigma", [np.nan, np.inf, "1", (1.0, 2.0, 3.0)])
def test_bad_sigma(sigma):
    with pytest.raises((TypeError, ValueError), match="sigma"):
        ops.gaussian_blur(image(), 5, sigma)


@pytest.mark.parametrize("fill", [10**400, -(10**400), np.float64("nan"), float("-inf")])
def test_a_fill_beyond_any_float_is_refused_clearly(fill):
    grid = ops.grid_points(12, 12)
    with pytest.raises(ValueError, match="fill must be finite"):
        ops.warp_piecewise_affine(mask(), grid, grid, fill=fill)


def test_collinear_destination_points():
    line = np.stack([np.linspace(0, 31, 6), np.linspace(0, 31, 6)], axis=1)
    with pytest.raises(ValueError, match="collinear"):
        ops.warp_piecewise_affine(image(), line, line)


def test_duplicate_destination_points():
    points = GRID.copy()
    points[5] = points[9]
    with pytest.raises(ValueError, match="coincide"):
        ops.warp_piecewise_affine(image(), GRID, points)


def test_a_degenerate_point_set_in_a_batch_is_named():
    ops.set_threads(2)
    points = np.stack([GRID] * 4).astype(np.float64)
    points[2, 7] = points[2, 8]
    with pytest.raises(ValueError, match="point set 2: destination points 7 and 8 coincide"):
        ops.warp_piecewise_affine(image((4, 32, 32, 1)), points, points)


def test_degenerate_source_points_are_allowed():
    # Squashing the whole image onto one source point is a valid (if odd) map.
    result = ops.warp_piecewise_affine(image(), np.zeros_like(GRID), GRID)
    assert np.allclose(result, 0.5)


@pytest.mark.parametrize("count", [0, 1, 2])
def test_too_few_points(count):
    with pytest.raises(ValueError, match="at least 3"):
        ops.warp_piecewise_affine(image(), GRID[:count], GRID[:count])


def test_point_shapes_and_values():
    with pytest.raises(ValueError, match="same shape"):
        ops.warp_piecewise_affine(image(), GRID, GRID[:15])
    with pytest.raises(ValueError, match="shape"):
        ops.warp_piecewise_affine(image(), GRID[:, :1], GRID[:, :1])
    with pytest.raises(ValueError, match="shape"):
        ops.warp_piecewise_affine(image(), GRID[None], GRID[None])  # N×P×2 needs a batch
    with pytest.raises(ValueError, match="point sets"):
        ops.warp_piecewise_affine(image((3, 32, 32, 1)), np.stack([GRID] * 2), np.stack([GRID] * 2))
    bad = GRID.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        ops.warp_piecewise_affine(image(), bad, GRID)
    with pytest.raises(ValueError, match="beyond"):
        ops.warp_piecewise_affine(image(), GRID * 1e7, GRID)
    with pytest.raises(TypeError, match="real numbers"):
        ops.warp_piecewise_affine(image(), GRID.astype(complex), GRID)


def test_bad_fill():
    with pytest.raises(ValueError, match="fill"):
        ops.warp_piecewise_affine(image(), GRID, GRID, fill=np.nan)
    with pytest.raises(TypeError, match="fill"):
        ops.warp_piecewise_affine(image(), GRID, GRID, fill="zero")


def test_bad_thread_counts_and_grid_arguments():
    with pytest.raises(ValueError, match="threads"):
        ops.set_threads(-1)
    with pytest.raises(ValueError):
        ops.grid_points(1, 10)
    with pytest.raises(TypeError):
        ops.grid_points(10.0, 10)
    with pytest.raises(TypeError, match="match_std"):
        ops.colour_transfer(image(), image(), mask(), match_std="yes")


def test_private_module_rejects_what_would_read_out_of_bounds():
    from facexray_forensics import _core

    with pytest.raises(ValueError, match="rank"):
        _core.blend(image(), image(), mask())
    with pytest.raises(ValueError, match="mask shape"):
        _core.blend(image((1, 32, 32, 3)), image((1, 32, 32, 3)), mask((1, 16, 32, 1)))
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.face_xray(np.zeros((1, 8, 16, 1), np.float32)[:, :, ::2])
    with pytest.raises(ValueError, match="dtype"):
        _core.gaussian_blur(np.zeros((1, 8, 8, 1)), 3, 3, 0.0, 0.0)


@pytest.mark.parametrize("special", [np.nan, -np.nan, np.inf, -np.inf, "signalling nan", "negative payload nan"])
def test_the_finiteness_check_finds_one_bad_value_at_any_position(special):
    # The check reads exponent bits in vector blocks: every position of a
    # block and of the scalar tail, and every kind of NaN, must be caught.
    specials = {
        "signalling nan": np.array([0x7F800001], np.uint32).view(np.float32)[0],
        "negative payload nan": np.array([0xFFC12345], np.uint32).view(np.float32)[0],
    }
    value = specials.get(special, special)
    edge_values = [np.finfo(np.float32).max, -np.finfo(np.float32).max, np.finfo(np.float32).smallest_subnormal, -0.0]
    for size in (1, 7, 8, 9, 33, 100):
        data = np.resize(np.array(edge_values, np.float32), size)
        assert _core.all_finite(data) == bool(np.isfinite(data).all())
        for position in range(size):
            bad = data.copy()
            bad[position] = value
            assert not _core.all_finite(bad)
