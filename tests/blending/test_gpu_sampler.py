"""The batched GPU sampler: its tensor logic on the CPU device here, and on CUDA where present.

References are independent of the sampler's code paths: the CPU op's Delaunay triangulation,
OpenCV (hull fill, resize, JPEG), the CPU sampler's own samples re-rendered from their
recorded draws, and Eq. 2 in numpy.
"""

import os

import cv2
import numpy as np
import pytest
import torch

from facexray_forensics import _core, ops
from facexray_forensics.blending.config import SamplerConfig
from facexray_forensics.blending.gpu_geometry import delaunay_batch
from facexray_forensics.blending.gpu_jpeg import jpeg_round_trip
from facexray_forensics.blending.gpu_sampler import Draws, GpuBlendSampler, down_up_matrix
from facexray_forensics.blending.masks import hull_mask
from facexray_forensics.blending.sampler import BlendSampler
from facexray_forensics.data.index import FaceIndex
from facexray_forensics.ops import cuda as ops_cuda

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(
                not ops_cuda.cuda_available(), reason="needs a CUDA device and a CUDA build"
            ),
        ],
    ),
]
PLAIN = SamplerConfig(augment=False)
NO_JPEG = SamplerConfig(jpeg_probability=0.0)
EVERY_FLOAT_AUGMENTATION = SamplerConfig(
    jitter_probability=1.0, resize_probability=1.0, blur_probability=1.0, noise_probability=1.0,
    jpeg_probability=0.0, flip_probability=0.5,
)


@pytest.fixture(scope="module")
def index(request):
    """The astronaut index, or a prepared one named by FXR_TEST_INDEX (the GPU machine has no
    dlib to detect landmarks with; scripts/gpu_check.sh carries an index made here)."""
    prepared = os.environ.get("FXR_TEST_INDEX")
    return FaceIndex(prepared or request.getfixturevalue("astronaut_index"))


@pytest.fixture(scope="module")
def cpu_sampler(index):
    return GpuBlendSampler(index, device="cpu")


def generator(device: str, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


@pytest.mark.parametrize("device", DEVICES)
def test_xray_is_eq2_of_the_softened_mask_and_reals_are_zero(index, device):
    sampler = GpuBlendSampler(index, device=device)
    batch = sampler.render(sampler.draw(12, generator(device, 1)))
    softened = batch.softened.double().cpu().numpy()
    xray = batch.xray.double().cpu().numpy()
    np.testing.assert_allclose(xray, 4 * softened * (1 - softened), atol=1e-6)
    labels = batch.label.cpu().numpy()
    assert set(labels) == {0, 1}
    assert not xray[labels == 0].any() and not batch.mask.cpu().numpy()[labels == 0].any()
    assert xray[labels == 1].max(axis=(1, 2)).min() > 0.9
    assert batch.image.dtype == torch.uint8 and batch.image.shape == (12, 256, 256, 3)
    image, target, label = batch.training_tensors()
    assert image.shape == (12, 3, 256, 256) and target.shape == (12, 1, 256, 256)
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0


def test_same_seed_same_batch_and_no_same_source_blend(index, cpu_sampler):
    first = cpu_sampler.draw(16, generator("cpu", 7))
    second = cpu_sampler.draw(16, generator("cpu", 7))
    other = cpu_sampler.draw(16, generator("cpu", 8))
    for name in ("background", "foreground", "offsets", "jitter", "flip"):
        assert torch.equal(getattr(first, name), getattr(second, name))
    assert not torch.equal(first.offsets, other.offsets)
    a, b = cpu_sampler.render(first), cpu_sampler.render(second)
    assert torch.equal(a.image, b.image) and torch.equal(a.xray, b.xray)
    resumed = next(cpu_sampler.batches(4, seed=3, start=1))
    stream = cpu_sampler.batches(4, seed=3)
    next(stream)
    assert torch.equal(next(stream).image, resumed.image)
    many = cpu_sampler.draw(2000, generator("cpu", 9))
    blended = many.label.bool()
    backgrounds = cpu_sampler.pool[many.background[blended].numpy()]
    foregrounds = cpu_sampler.pool[many.foreground[blended].numpy()]
    assert (index.sources[backgrounds] != index.sources[foregrounds]).all()
    for background, foreground in zip(backgrounds, foregrounds):
        assert foreground in index.neighbours[background]
    assert 0.45 < float(many.label.float().mean()) < 0.55


def test_delaunay_batch_equals_the_cpu_triangulation():
    rng = np.random.default_rng(3)
    grid = ops.grid_points(256, 256)
    points = grid[None] + rng.normal(0, 1, (64, 16, 2)) * rng.uniform(2.5, 13, (64, 1, 1))
    scattered = rng.uniform(0, 255, (16, 16, 2))
    for sets in (points, scattered):
        triangles = delaunay_batch(torch.from_numpy(sets.astype(np.float32))).numpy()
        for found, coordinates in zip(triangles, sets.astype(np.float32).astype(np.float64)):
            expected = _core.delaunay(np.ascontiguousarray(coordinates))
            found = found[found[:, 0] >= 0]
            assert {frozenset(t) for t in found.tolist()} == {frozenset(t) for t in expected.tolist()}
            a, b, c = (coordinates[found[:, k]] for k in range(3))
            orientation = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
            assert (orientation > 0).all()


def test_hull_masks_match_opencv_fill(index, cpu_sampler):
    config = cpu_sampler.config
    faces = torch.arange(len(cpu_sampler.pool)).repeat_interleave(len(config.regions))
    regions = torch.arange(len(config.regions)).repeat(len(cpu_sampler.pool))
    masks = cpu_sampler.hull_masks(faces, regions)[..., 0].numpy()
    for mask, face, region in zip(masks, faces.tolist(), regions.tolist()):
        expected = hull_mask(index.landmarks[cpu_sampler.pool[face]], 256, config.regions[region])
        differ = mask != expected
        assert differ.sum() <= 0.01 * expected.sum()
        # Disagreement only on the hull's boundary pixels.
        boundary = cv2.dilate(expected, np.ones((3, 3))) != cv2.erode(expected, np.ones((3, 3)))
        assert not (differ & ~boundary).any()


@pytest.mark.parametrize("small", [8, 77, 102, 128, 200, 230])
def test_down_up_matrix_is_opencv_area_then_linear(small):
    image = np.random.default_rng(small).random((256, 256, 3), dtype=np.float32)
    matrix = down_up_matrix(256, small)
    rows = (matrix @ image.reshape(256, -1)).reshape(256, 256, 3)
    result = np.stack([rows[..., channel] @ matrix.T for channel in range(3)], axis=-1)
    down = cv2.resize(image, (small, small), interpolation=cv2.INTER_AREA)
    expected = cv2.resize(down, (256, 256), interpolation=cv2.INTER_LINEAR)
    assert np.abs(result - expected).max() <= 1e-4


def test_jpeg_model_stays_close_to_libjpeg(index):
    crops = np.array(index.crops[:4])
    qualities = np.array([40, 60, 80, 95])
    decoded = jpeg_round_trip(torch.from_numpy(crops), torch.from_numpy(qualities)).numpy()
    previous_error = np.inf
    for crop, model, quality in zip(crops, decoded, qualities):
        ok, encoded = cv2.imencode(".jpg", crop[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        assert ok
        reference = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float64)
        assert np.abs(model - reference).mean() <= 1.5, quality
        error = np.abs(model.astype(np.float64) - crop).mean()
        assert 0 < error < previous_error  # it compresses, less as quality rises
        previous_error = error
    untouched = jpeg_round_trip(torch.from_numpy(crops), torch.zeros(4, dtype=torch.int64))
    assert torch.equal(untouched, torch.from_numpy(crops))


@pytest.mark.parametrize(
    "config", [PLAIN, NO_JPEG, EVERY_FLOAT_AUGMENTATION], ids=["plain", "augmented", "every"]
)
def test_renders_the_cpu_samplers_draws(index, config):
    """The CPU sampler's samples, rendered again from their recorded draws."""
    reference = BlendSampler(index, config)
    records = [reference.sample(21, number, label=number % 4 != 0) for number in range(8)]
    sampler = GpuBlendSampler(index, config, device="cpu")
    batch = sampler.render(Draws.from_params([record.params for record in records], sampler))
    for number, record in enumerate(records):
        softened = batch.softened[number].numpy()
        # Draws are recorded rounded (offsets to 1e-3 px) and the hull fill may differ on
        # boundary pixels, so the masks agree closely but not bit for bit.
        assert np.abs(softened - record.softened).mean() < 2e-3
        assert np.abs(softened - record.softened).max() < 0.5
        image = batch.image[number].numpy().astype(np.int64)
        assert np.abs(image - record.image).mean() < 0.5
        assert int(batch.label[number]) == record.label


@pytest.mark.gpu
@pytest.mark.skipif(not ops_cuda.cuda_available(), reason="needs a CUDA device and a CUDA build")
@pytest.mark.parametrize("jpeg", ["dct", "nvjpeg"])
def test_cuda_renders_what_the_cpu_device_renders(index, cpu_sampler, jpeg):
    try:
        gpu = GpuBlendSampler(index, device="cuda", jpeg=jpeg)
    except ValueError as error:
        pytest.skip(str(error))
    draws = cpu_sampler.draw(16, generator("cpu", 5))
    expected = cpu_sampler.render(draws)
    result = gpu.render(draws.to("cuda"))
    for name in ("mask", "softened", "xray"):
        assert (getattr(result, name).cpu() - getattr(expected, name)).abs().max() <= 1e-4, name
    difference = (result.image.cpu().long() - expected.image.long()).abs().float()
    # Float rounding may move a pixel by one level; libjpeg and the model differ more.
    assert float(difference.mean()) < (0.05 if jpeg == "dct" else 1.5)


def test_gpu_benchmark_reports_its_keys_and_writes_the_device_file(index, tmp_path):
    from facexray_forensics.bench.gpu import run

    result = run(index.folder, device="cpu", batch=2, repeats=1, results_dir=tmp_path)
    for key in ("device", "ops_samples_per_s", "sampler_samples_per_s"):
        assert key in result
    assert result["ops_samples_per_s"] > 0 and result["sampler_samples_per_s"] > 0
    written = list(tmp_path.glob("*.json"))
    assert len(written) == 1 and written[0].stem.startswith("cpu")  # named after the device
    assert '"sampler_samples_per_s"' in written[0].read_text()
