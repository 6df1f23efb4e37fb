"""The BI sampler: Eq. 1 and Eq. 2 against numpy, sources, determinism, the torch dataset."""

import cv2
import numpy as np
import pytest
import torch

from facexray_forensics.data.index import FaceIndex
from facexray_forensics.blending.masks import hull_mask
from facexray_forensics.data.neighbours import nearest_other_source
from facexray_forensics.blending.codecs import h264_round_trip
from facexray_forensics.blending.methods import laplacian_blend, laplacian_levels
from facexray_forensics.blending.config import SamplerConfig
from facexray_forensics.blending.sampler import BlendDataset, BlendSampler

PLAIN = SamplerConfig(augment=False)


@pytest.fixture(scope="module")
def index(astronaut_index):
    return FaceIndex(astronaut_index)


def reference_colour(foreground, background, inside, mode):
    """The paper's colour correction in numpy: per channel, statistics over mask > 0."""
    if mode == "none":
        return foreground
    f, b = foreground[inside].astype(np.float64), background[inside].astype(np.float64)
    corrected = foreground.astype(np.float64) - f.mean(0)
    if mode == "mean_std":
        corrected *= b.std(0) / np.maximum(f.std(0), 1e-12)
    return np.clip(corrected + b.mean(0), 0, 1)


def test_blended_sample_follows_eq1_and_eq2(index):
    sampler = BlendSampler(index, PLAIN)
    seen_modes = set()
    for number in range(24):
        record = sampler.sample(5, number, label=1)
        params = record.params
        assert record.label == 1 and params["background_source"] != params["foreground_source"]
        # Softening: OpenCV's 3×3 Gaussian of the deformed, blurred mask (the window trick must not show).
        reference_soft = np.clip(cv2.GaussianBlur(record.mask, (3, 3), 0, borderType=cv2.BORDER_REFLECT_101), 0, 1)
        np.testing.assert_allclose(record.softened, reference_soft, atol=1e-5)
        # Eq. 2.
        np.testing.assert_allclose(record.xray, 4 * record.softened * (1 - record.softened), atol=1e-5)
        assert record.xray.min() >= 0 and record.xray.max() <= 1 and record.xray.max() > 0.9
        # Eq. 1 with the colour-corrected foreground.
        background = index.crops[params["background"]].astype(np.float64) / 255
        foreground = index.crops[params["foreground"]].astype(np.float64) / 255
        np.testing.assert_allclose(record.background, background, atol=1e-6)
        corrected = reference_colour(foreground, background, record.mask > 0, params["colour_mode"])
        soft = record.softened[..., None].astype(np.float64)
        expected = np.clip(soft * corrected + (1 - soft) * background, 0, 1) * 255
        assert np.abs(record.image - expected).max() <= 0.51 + 1e-3
        seen_modes.add(params["colour_mode"])
    assert seen_modes == {"mean", "mean_std"}


def test_no_deformation_leaves_the_blurred_hull(index):
    sampler = BlendSampler(index, SamplerConfig(augment=False, deform=False))
    for number in range(6):
        record = sampler.sample(1, number, label=1)
        hull = hull_mask(index.landmarks[record.params["background"]], 256, record.params["region"])
        kernel = record.params["blur_kernel"]
        reference = cv2.GaussianBlur(hull, (kernel, kernel), 0, borderType=cv2.BORDER_REFLECT_101)
        np.testing.assert_allclose(record.mask, reference, atol=1e-4)
        assert "grid_offsets" not in record.params


def test_deformation_moves_the_mask(index):
    plain = BlendSampler(index, SamplerConfig(augment=False, deform=False)).sample(2, 0, label=1)
    deformed = BlendSampler(index, PLAIN).sample(2, 0, label=1)
    assert len(deformed.params["grid_offsets"]) == 16
    assert np.abs(plain.mask - deformed.mask).max() > 0.5


def test_no_colour_correction_blends_the_raw_foreground(index):
    sampler = BlendSampler(index, SamplerConfig(augment=False, colour_correction=False))
    record = sampler.sample(3, 0, label=1)
    assert record.params["colour_mode"] == "none"
    foreground = index.crops[record.params["foreground"]] / 255
    background = index.crops[record.params["background"]] / 255
    soft = record.softened[..., None]
    expected = (soft * foreground + (1 - soft) * background) * 255
    assert np.abs(record.image - expected).max() <= 0.51 + 1e-3


def test_real_samples_have_a_zero_xray(index):
    sampler = BlendSampler(index)
    reals = [sampler.sample(0, n) for n in range(80)]
    reals = [r for r in reals if r.label == 0]
    assert 20 < len(reals) < 60  # half real, within chance
    for record in reals:
        assert not record.xray.any() and not record.softened.any() and not record.mask.any()
    plain = BlendSampler(index, PLAIN).sample(0, 0, label=0)
    np.testing.assert_array_equal(plain.image, index.crops[plain.params["background"]])


def test_no_sample_blends_one_source(index):
    sampler = BlendSampler(index)
    for number in range(300):
        record = sampler.sample(9, number, label=1)
        background, foreground = record.params["background"], record.params["foreground"]
        assert index.sources[background] != index.sources[foreground]
        assert foreground in index.neighbours[background]


def test_same_seed_same_samples(index):
    first, second = BlendSampler(index), BlendSampler(index)
    for number in range(20):
        a, b = first.sample(11, number), second.sample(11, number)
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.xray, b.xray)
        assert a.params == b.params
    other = [BlendSampler(index).sample(12, n).params for n in range(20)]
    assert other != [first.sample(11, n).params for n in range(20)]


def test_flip_moves_the_xray_with_the_image(index):
    still = SamplerConfig(jitter_probability=0, resize_probability=0, blur_probability=0,
                          noise_probability=0, jpeg_probability=0, flip_probability=0)
    flipped = SamplerConfig(jitter_probability=0, resize_probability=0, blur_probability=0,
                            noise_probability=0, jpeg_probability=0, flip_probability=1)
    a = BlendSampler(index, still).sample(4, 0, label=1)
    b = BlendSampler(index, flipped).sample(4, 0, label=1)
    assert b.params["augment"] == {"flip": True}
    np.testing.assert_array_equal(b.image, a.image[:, ::-1])
    np.testing.assert_array_equal(b.xray, a.xray[:, ::-1])
    np.testing.assert_array_equal(b.softened, a.softened[:, ::-1])


def test_augmentations_change_the_image_not_the_xray(index):
    jpeg = SamplerConfig(jitter_probability=1, resize_probability=1, blur_probability=1,
                         noise_probability=1, jpeg_probability=1, flip_probability=0)
    a = BlendSampler(index, PLAIN).sample(6, 0, label=1)
    b = BlendSampler(index, jpeg).sample(6, 0, label=1)
    assert set(b.params["augment"]) == {"jitter", "resize", "blur", "noise", "jpeg"}
    np.testing.assert_array_equal(a.xray, b.xray)
    difference = np.abs(a.image.astype(int) - b.image.astype(int)).mean()
    assert 0.5 < difference < 40


def test_colour_jitter_matches_its_definition():
    from facexray_forensics.blending.augment import jitter

    image = np.random.default_rng(0).random((32, 40, 3), dtype=np.float32)
    brightness, contrast, saturation = 1.1, 0.85, 1.2
    # Reference, step by step in float64 with OpenCV's grey weights.
    weights = np.array([0.299, 0.587, 0.114])
    step = image.astype(np.float64) * brightness
    step = (step - (step @ weights).mean()) * contrast + (step @ weights).mean()
    grey = (step @ weights)[..., None]
    expected = grey + (step - grey) * saturation
    np.testing.assert_allclose(jitter(image.copy(), brightness, contrast, saturation), expected, atol=1e-5)


def test_held_out_pool(index):
    held_out = ["s1", "s4", "s6"]
    sampler = BlendSampler(index, sources=held_out)
    for number in range(60):
        record = sampler.sample(0, number)
        assert record.params["background_source"] in held_out
        if record.label:
            assert record.params["foreground_source"] in held_out
            assert record.params["foreground_source"] != record.params["background_source"]
    # The pool's table is cached in the index folder and equals a fresh computation.
    cached = list((index.folder / "pools").glob("neighbours-*.npy"))
    assert cached
    again = BlendSampler(index, sources=held_out)
    np.testing.assert_array_equal(again._table, sampler._table)
    pool = sampler.pool
    fresh = nearest_other_source(index.landmarks[pool], index.sources[pool], k=100)
    assert any(np.array_equal(np.load(path), fresh) for path in cached)
    with pytest.raises(ValueError):
        BlendSampler(index, sources=["nobody"])
    with pytest.raises(ValueError):
        BlendSampler(index, sources=["s1"]).sample(0, 0, label=1)  # one source: nothing to blend


def _alpha_and(index, method, seed, number):
    """Sample (seed, number) of an uncorrected, unaugmented sampler as the alpha blend and by ``method``."""
    raw = dict(augment=False, colour_correction=False)
    alpha = BlendSampler(index, SamplerConfig(**raw)).sample(seed, number, label=1)
    record = BlendSampler(index, SamplerConfig(**raw, blend_methods=(method,))).sample(seed, number, label=1)
    assert alpha.params["blend_method"] == "alpha" and record.params["blend_method"] == method
    return alpha, record


def test_laplacian_blend_mixes_the_pair_through_the_softened_mask(index):
    alpha, record = _alpha_and(index, "laplacian", 8, 0)
    # The same mask as the alpha blend of that sample; Eq. 2 of it as the target.
    np.testing.assert_array_equal(record.softened, alpha.softened)
    np.testing.assert_allclose(record.xray, 4 * record.softened * (1 - record.softened), atol=1e-6)
    foreground = index.crops[record.params["foreground"]]
    background = index.crops[record.params["background"]]
    expected = laplacian_blend(foreground, background, record.softened, laplacian_levels(256, 256))
    np.testing.assert_array_equal(record.image, expected)
    # Far from the mask the background stays; deep inside it the foreground shows.
    far = cv2.dilate((record.softened > 0).astype(np.uint8), np.ones((65, 65), np.uint8)) == 0
    deep = cv2.erode((record.softened > 0.999).astype(np.uint8), np.ones((41, 41), np.uint8)) == 1
    assert far.any() and deep.any()
    assert np.abs(record.image[far].astype(int) - background[far]).max() <= 2
    assert np.abs(record.image[deep].astype(int) - foreground[deep]).mean() < 3


def test_poisson_blend_is_opencv_seamless_clone_of_the_binarised_mask(index):
    alpha, record = _alpha_and(index, "poisson", 9, 1)
    binary = (alpha.softened >= 0.5).astype(np.uint8)
    binary[[0, -1], :] = 0
    binary[:, [0, -1]] = 0
    np.testing.assert_array_equal(record.mask, binary.astype(np.float32))
    x, y, width, height = cv2.boundingRect(binary)
    foreground = index.crops[record.params["foreground"]]
    background = index.crops[record.params["background"]]
    expected = cv2.seamlessClone(foreground, background, binary * 255, (x + width // 2, y + height // 2),
                                 cv2.NORMAL_CLONE)
    np.testing.assert_array_equal(record.image, expected)
    soft = np.clip(cv2.GaussianBlur(binary.astype(np.float32), (3, 3), 0, borderType=cv2.BORDER_REFLECT_101), 0, 1)
    np.testing.assert_allclose(record.xray, 4 * soft * (1 - soft), atol=1e-5)


def test_blend_methods_are_drawn_by_their_weights(index):
    mixed = BlendSampler(index, SamplerConfig(augment=False, blend_methods=("alpha", "laplacian", "poisson"),
                                              blend_method_weights=(0.5, 0.5, 0.0)))
    drawn = [mixed.sample(10, n, label=1).params["blend_method"] for n in range(40)]
    assert set(drawn) == {"alpha", "laplacian"}
    assert 8 < drawn.count("alpha") < 32
    assert BlendSampler(index, PLAIN).sample(10, 0, label=1).params["blend_method"] == "alpha"


def test_h264_augmentation_is_one_intra_frame_of_the_sample(index):
    quiet = dict(jitter_probability=0, resize_probability=0, blur_probability=0, noise_probability=0,
                 jpeg_probability=0, flip_probability=0)
    clean = BlendSampler(index, SamplerConfig(**quiet)).sample(13, 0, label=1)
    coded = BlendSampler(index, SamplerConfig(**quiet, h264_probability=1, h264_crf=(30, 30))).sample(13, 0, label=1)
    assert coded.params["augment"] == {"h264": 30}
    np.testing.assert_array_equal(coded.xray, clean.xray)
    np.testing.assert_array_equal(coded.image, h264_round_trip(clean.image[None], 30, "veryfast")[0])
    error = np.abs(coded.image.astype(int) - clean.image.astype(int)).mean()
    assert 0.2 < error < 10


def test_h264_sequence_codes_the_sample_last_after_its_shifted_copies(index):
    quiet = dict(jitter_probability=0, resize_probability=0, blur_probability=0, noise_probability=0,
                 jpeg_probability=0, flip_probability=0)
    clean = BlendSampler(index, SamplerConfig(**quiet)).sample(13, 0, label=1)
    sequence = SamplerConfig(**quiet, h264_probability=1, h264_crf=(30, 30), h264_frames=3, h264_motion=2)
    coded = BlendSampler(index, sequence).sample(13, 0, label=1)
    dy, dx = coded.params["augment"]["h264_motion"]
    assert coded.params["augment"] == {"h264": 30, "h264_motion": [dy, dx]} and max(abs(dy), abs(dx)) <= 2
    size = clean.image.shape[0]
    padded = np.pad(clean.image, ((8, 8), (8, 8), (0, 0)), mode="reflect")  # OpenCV's BORDER_REFLECT_101
    earlier = [padded[8 + dy * k:8 + dy * k + size, 8 + dx * k:8 + dx * k + size] for k in (2, 1)]
    expected = h264_round_trip(np.stack([*earlier, clean.image]), 30, "medium")[-1]
    np.testing.assert_array_equal(coded.image, expected)
    np.testing.assert_array_equal(coded.xray, clean.xray)
    drawn = {tuple(BlendSampler(index, sequence).sample(13, n, label=1).params["augment"]["h264_motion"])
             for n in range(12)}
    assert len(drawn) > 3  # the motion is drawn per sample


def test_bad_config_is_refused():
    with pytest.raises(ValueError):
        SamplerConfig(blend_probability=1.5)
    with pytest.raises(ValueError):
        SamplerConfig(blur_kernel=(4, 9))
    with pytest.raises(ValueError):
        SamplerConfig(regions=("face", "ears"), region_weights=(1, 1))
    with pytest.raises(ValueError, match="blend_methods"):
        SamplerConfig(blend_methods=("alpha", "feather"), blend_method_weights=(1, 1))
    with pytest.raises(ValueError, match="blend_method_weights"):
        SamplerConfig(blend_methods=("alpha", "poisson"), blend_method_weights=(1,))
    with pytest.raises(ValueError, match="h264_crf"):
        SamplerConfig(h264_crf=(30, 60))
    with pytest.raises(ValueError, match="h264_frames"):
        SamplerConfig(h264_frames=0)


def test_dataset_yields_tensors_in_resumable_order(astronaut_index, index):
    dataset = BlendDataset(astronaut_index, seed=7, length=8, chunk=4)
    items = list(dataset)
    assert len(items) == 8
    for number, (image, xray, label) in enumerate(items):
        assert image.shape == (3, 256, 256) and image.dtype == torch.float32
        assert xray.shape == (1, 256, 256) and xray.dtype == torch.float32
        assert 0 <= image.min() and image.max() <= 1 and label.dtype == torch.int64
        record = BlendSampler(index).sample(7, number)
        np.testing.assert_allclose(image.numpy(), record.image.transpose(2, 0, 1) / 255, atol=1e-7)
        assert int(label) == record.label
    # Two workers, batches of 4: the loader gives samples 0..7 in order; resuming at 4 gives 4..7.
    loader = torch.utils.data.DataLoader(BlendDataset(astronaut_index, seed=7, length=8, chunk=4),
                                         batch_size=4, num_workers=2)
    batches = list(loader)
    np.testing.assert_array_equal(batches[0][0].numpy(), torch.stack([i[0] for i in items[:4]]).numpy())
    np.testing.assert_array_equal(batches[1][1].numpy(), torch.stack([i[1] for i in items[4:]]).numpy())
    resumed = BlendDataset(astronaut_index, seed=7, length=4, chunk=4)
    resumed.load_state_dict(dataset.state_dict(consumed=4))
    np.testing.assert_array_equal(next(iter(resumed))[0].numpy(), items[4][0].numpy())
    # In-process iteration tracks its own position (what train.data.Batched relies on).
    stream = BlendDataset(astronaut_index, seed=7, chunk=4)
    iterator = iter(stream)
    for _ in range(3):
        next(iterator)
    follower = BlendDataset(astronaut_index, seed=0)
    follower.load_state_dict(stream.state_dict())
    assert follower.state_dict() == {"seed": 7, "start": 3}
    np.testing.assert_array_equal(next(iter(follower))[1].numpy(), items[3][1].numpy())


def test_training_batches_resume_exactly(astronaut_index):
    from facexray_forensics.train.data import Batched

    whole = Batched(BlendDataset(astronaut_index, seed=3), batch_size=2)
    batches = iter(whole)
    next(batches)
    state = whole.state_dict()
    expected = next(batches)
    resumed = Batched(BlendDataset(astronaut_index, seed=0), batch_size=2)
    resumed.load_state_dict(state)
    for tensor, reference in zip(next(iter(resumed)), expected):
        np.testing.assert_array_equal(tensor.numpy(), reference.numpy())


def test_poisson_region_binarises_each_mask_and_clears_its_ring_without_touching_it():
    from facexray_forensics.blending.methods import poisson_region

    masks = np.full((2, 6, 7), 0.6, np.float32)
    masks[1, 2, 3] = 0.4
    before = masks.copy()
    region = poisson_region(masks)
    np.testing.assert_array_equal(masks, before)
    expected = np.zeros((2, 6, 7), np.uint8)
    expected[:, 1:-1, 1:-1] = 1
    expected[1, 2, 3] = 0
    np.testing.assert_array_equal(region, expected)
