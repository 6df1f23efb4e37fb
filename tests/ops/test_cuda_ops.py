"""The CUDA ops against the CPU ops (max abs diff <= 1e-4 in float32), and their input checks.

The equivalence tests need a CUDA device and skip without one; the checks that a CPU tensor is
refused by the CUDA entry points run wherever the extension was built with CUDA.
"""

import numpy as np
import pytest

from facexray_forensics import _core, ops

torch = pytest.importorskip("torch")
ops_cuda = pytest.importorskip("facexray_forensics.ops.cuda")

TOLERANCE = 1e-4
needs_cuda = pytest.mark.skipif(
    not ops_cuda.cuda_available(), reason="needs a CUDA device and an extension built with CUDA"
)
needs_cuda_build = pytest.mark.skipif(
    not _core.built_with_cuda, reason="the extension was built without a CUDA toolkit"
)


def on_gpu(array: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(array)).cuda()


def assert_close(gpu_result, cpu_result: np.ndarray) -> None:
    result = gpu_result.cpu().numpy()
    assert result.shape == cpu_result.shape
    assert np.isfinite(result).all()
    difference = np.abs(result - cpu_result).max()
    assert difference <= TOLERANCE, f"max abs diff {difference}"


def random_shape(rng: np.random.Generator, channels=(1, 3)) -> tuple[int, int, int, int]:
    return (
        int(rng.integers(1, 5)),
        int(rng.integers(5, 300)),
        int(rng.integers(5, 300)),
        int(rng.choice(channels)),
    )


def deformed_grid(rng: np.random.Generator, height: int, width: int, count: int) -> np.ndarray:
    """``count`` 4×4 grids moved by up to 0.3 of a cell (the sampler's range and beyond)."""
    grid = ops.grid_points(height, width).astype(np.float32)
    cell = np.array([(width - 1) / 3, (height - 1) / 3], dtype=np.float32)
    moves = rng.uniform(-0.3, 0.3, size=(count, *grid.shape)).astype(np.float32) * cell
    return grid[None] + moves


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("seed", range(6))
def test_warp_matches_cpu_on_random_grids(seed):
    rng = np.random.default_rng(seed)
    n, h, w, c = random_shape(rng)
    image = rng.random((n, h, w, c), dtype=np.float32)
    source = deformed_grid(rng, h, w, n)
    destination = deformed_grid(rng, h, w, n) if seed % 2 else np.repeat(
        ops.grid_points(h, w).astype(np.float32)[None], n, axis=0
    )
    # The CPU op places its samples in float32 (a few 1e-5 px off at 300 px), so values and
    # fill stay within [0, 1] to keep that under the 1e-4 tolerance.
    fill = float(rng.uniform(0, 1))
    expected = ops.warp_piecewise_affine(image, source, destination, fill=fill)
    result = ops_cuda.warp_piecewise_affine(
        on_gpu(image), on_gpu(source), on_gpu(destination), fill=fill
    )
    assert_close(result, expected)


@pytest.mark.gpu
@needs_cuda
def test_warp_matches_cpu_with_shared_scattered_points():
    rng = np.random.default_rng(11)
    h, w = 97, 131
    image = rng.random((3, h, w, 3), dtype=np.float32)
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=np.float32)
    inner = rng.uniform([5, 5], [w - 6, h - 6], size=(40, 2)).astype(np.float32)
    destination = np.concatenate([corners, inner])
    source = destination + rng.normal(0, 2.0, destination.shape).astype(np.float32)
    expected = ops.warp_piecewise_affine(image, source, destination)
    assert_close(
        ops_cuda.warp_piecewise_affine(on_gpu(image), on_gpu(source), on_gpu(destination)),
        expected,
    )


@pytest.mark.gpu
@needs_cuda
def test_warp_with_precomputed_grid_triangles_matches_cpu():
    rng = np.random.default_rng(12)
    h, w = 256, 256
    mask = (rng.random((8, h, w, 1)) > 0.5).astype(np.float32)
    destination = np.repeat(ops.grid_points(h, w).astype(np.float32)[None], 8, axis=0)
    source = deformed_grid(rng, h, w, 8)
    triangles = on_gpu(ops_cuda.grid_triangles(h, w))
    expected = ops.warp_piecewise_affine(mask, source, destination)
    result = ops_cuda.warp_piecewise_affine(
        on_gpu(mask), on_gpu(source), on_gpu(destination), triangles=triangles
    )
    assert_close(result, expected)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("kernel_size", [1, 3, 5, 7, 9, 15, 31, 65, (3, 11), (21, 5), 67, 101])
def test_blur_matches_cpu(kernel_size):
    rng = np.random.default_rng(sum(np.atleast_1d(kernel_size)))
    n, h, w, c = random_shape(rng)
    image = rng.random((n, h, w, c), dtype=np.float32)
    for sigma in (0.0, float(rng.uniform(0.3, 12.0))):
        expected = ops.gaussian_blur(image, kernel_size, sigma)
        assert_close(ops_cuda.gaussian_blur(on_gpu(image), kernel_size, sigma), expected)


@pytest.mark.gpu
@needs_cuda
def test_blur_kernel_wider_than_image_reflects_like_cpu():
    rng = np.random.default_rng(5)
    image = rng.random((2, 6, 4, 1), dtype=np.float32)
    for size in (9, 31, 81):
        assert_close(ops_cuda.gaussian_blur(on_gpu(image), size), ops.gaussian_blur(image, size))


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("match_std", [False, True])
def test_colour_transfer_matches_cpu(match_std):
    rng = np.random.default_rng(21 + match_std)
    for _ in range(3):
        n, h, w, c = random_shape(rng, channels=(1, 3, 4, 6))
        foreground = rng.random((n, h, w, c), dtype=np.float32)
        background = rng.random((n, h, w, c), dtype=np.float32) * 0.5 + 0.25
        mask = (rng.random((n, h, w, 1)) > 0.6).astype(np.float32)
        mask[0] = 0.0  # an empty mask leaves that sample unchanged on both devices
        expected = ops.colour_transfer(foreground, background, mask, match_std=match_std)
        result = ops_cuda.colour_transfer(
            on_gpu(foreground), on_gpu(background), on_gpu(mask), match_std=match_std
        )
        assert_close(result, expected)


@pytest.mark.gpu
@needs_cuda
def test_blend_xray_and_fused_pass_match_cpu():
    rng = np.random.default_rng(31)
    for _ in range(4):
        n, h, w, c = random_shape(rng)
        foreground = rng.random((n, h, w, c), dtype=np.float32)
        background = rng.random((n, h, w, c), dtype=np.float32)
        # Soft values with runs of exact 0 and 1, as a blurred hull mask has.
        mask = np.clip(rng.uniform(-0.5, 1.5, (n, h, w, 1)), 0, 1).astype(np.float32)
        args = [on_gpu(a) for a in (foreground, background, mask)]
        assert_close(ops_cuda.blend(*args), ops.blend(foreground, background, mask))
        assert_close(ops_cuda.face_xray(args[2]), ops.face_xray(mask))
        assert_close(ops_cuda.soften_mask(args[2]), ops.soften_mask(mask))
        for gpu, cpu in zip(
            ops_cuda.blend_with_xray(*args), ops.blend_with_xray(foreground, background, mask)
        ):
            assert_close(gpu, cpu)


@pytest.mark.gpu
@needs_cuda
def test_ranks_two_and_three_keep_their_shape():
    rng = np.random.default_rng(41)
    plane = rng.random((40, 50), dtype=np.float32)
    colour = rng.random((40, 50, 3), dtype=np.float32)
    assert_close(ops_cuda.gaussian_blur(on_gpu(plane), 5), ops.gaussian_blur(plane, 5))
    assert_close(ops_cuda.gaussian_blur(on_gpu(colour), 5), ops.gaussian_blur(colour, 5))
    # A tensor that needs grad crosses too (DLPack alone would refuse it).
    assert_close(
        ops_cuda.gaussian_blur(on_gpu(colour).requires_grad_(), 5), ops.gaussian_blur(colour, 5)
    )


@pytest.mark.gpu
@needs_cuda
def test_ops_run_on_the_callers_stream():
    rng = np.random.default_rng(51)
    image = rng.random((16, 256, 256, 3), dtype=np.float32)
    expected = ops.gaussian_blur(image, 11)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        gpu_image = on_gpu(image)
        result = ops_cuda.gaussian_blur(gpu_image, 11)
        result = (result + 0.0).cpu()  # ordered after the blur on the same stream
    assert_close(result, expected)


@pytest.mark.gpu
@needs_cuda
def test_outputs_are_fully_written():
    """Poisoned allocator memory must never show through: every element is written."""
    rng = np.random.default_rng(61)
    image = rng.random((3, 70, 90, 3), dtype=np.float32)
    for _ in range(3):
        torch.full((3 * 70 * 90 * 3 * 4,), float("nan"), device="cuda")  # poison, then free
        result = ops_cuda.gaussian_blur(on_gpu(image), 7).cpu().numpy()
        assert np.isfinite(result).all()


@pytest.mark.gpu
@needs_cuda
def test_bad_gpu_input_gives_clear_errors():
    image = torch.rand(2, 32, 32, 3, device="cuda")
    with pytest.raises(TypeError, match="float32"):
        ops_cuda.gaussian_blur(image.double(), 3)
    with pytest.raises(ValueError, match="contiguous"):
        ops_cuda.gaussian_blur(image.transpose(1, 2), 3)
    with pytest.raises(ValueError, match="odd"):
        ops_cuda.gaussian_blur(image, 4)
    with pytest.raises(ValueError, match="NaN"):
        ops_cuda.gaussian_blur(torch.full_like(image, float("nan")), 3)
    with pytest.raises(ValueError, match="different devices"):
        ops_cuda.blend(image, image.cpu(), torch.rand(2, 32, 32, 1, device="cuda"))
    with pytest.raises(ValueError, match="mask"):
        ops_cuda.blend(image, image, torch.rand(2, 31, 32, 1, device="cuda"))
    with pytest.raises(ValueError, match="collinear"):
        line = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], device="cuda")
        ops_cuda.warp_piecewise_affine(image, line, line)


@needs_cuda_build
def test_cuda_entry_points_refuse_cpu_tensors():
    image = torch.zeros(1, 8, 8, 1)
    with pytest.raises(ValueError, match="CUDA device"):
        _core.cuda_gaussian_blur(image, torch.zeros_like(image), 3, 3, 0.0, 0.0, 0)
    with pytest.raises(ValueError, match="CUDA device"):
        _core.cuda_face_xray(image.numpy(), image, 0)
    with pytest.raises(TypeError, match="CUDA tensor"):
        _core.cuda_face_xray([1.0], image, 0)


def test_cpu_tensors_use_the_cpu_ops():
    rng = np.random.default_rng(71)
    foreground = rng.random((2, 20, 30, 3), dtype=np.float32)
    background = rng.random((2, 20, 30, 3), dtype=np.float32)
    mask = rng.random((2, 20, 30, 1), dtype=np.float32)
    tensors = [torch.from_numpy(a) for a in (foreground, background, mask)]
    for result, expected in zip(
        ops_cuda.blend_with_xray(*tensors), ops.blend_with_xray(foreground, background, mask)
    ):
        assert isinstance(result, torch.Tensor)
        np.testing.assert_array_equal(result.numpy(), expected)
    with pytest.raises(TypeError, match="torch.Tensor"):
        ops_cuda.face_xray(mask)


@pytest.mark.gpu
@needs_cuda
def test_per_sample_blur_and_colour_match_cpu_per_sample():
    rng = np.random.default_rng(81)
    n = 7
    image = rng.random((n, 64, 80, 3), dtype=np.float32)
    background = rng.random((n, 64, 80, 3), dtype=np.float32)
    mask = (rng.random((n, 64, 80, 1)) > 0.5).astype(np.float32)
    sizes = np.array([1, 3, 5, 7, 11, 31, 65])
    blurred = ops_cuda.gaussian_blur_per_sample(on_gpu(image), torch.from_numpy(sizes).cuda())
    assert_close(blurred, np.stack([ops.gaussian_blur(x, int(k)) for x, k in zip(image, sizes)]))
    flags = rng.random(n) > 0.5
    corrected = ops_cuda.colour_transfer(
        on_gpu(image), on_gpu(background), on_gpu(mask), match_std=torch.from_numpy(flags).cuda()
    )
    expected = np.stack([
        ops.colour_transfer(f, b, m, match_std=bool(flag))
        for f, b, m, flag in zip(image, background, mask, flags)
    ])
    assert_close(corrected, expected)


def test_per_sample_ops_on_cpu_tensors_follow_each_sample():
    rng = np.random.default_rng(82)
    image = rng.random((3, 30, 40, 1), dtype=np.float32)
    sizes = torch.tensor([1, 5, 9])
    result = ops_cuda.gaussian_blur_per_sample(torch.from_numpy(image), sizes).numpy()
    for sample, size, blurred in zip(image, sizes.tolist(), result):
        np.testing.assert_array_equal(blurred, ops.gaussian_blur(sample, size))
    with pytest.raises(ValueError, match="odd"):
        ops_cuda.gaussian_blur_per_sample(torch.from_numpy(image), torch.tensor([1, 4, 9]))
