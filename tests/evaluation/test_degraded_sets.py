"""The Laplacian-blended test set, the degradations of test sets, and the rows evaluate() reports for them."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from scipy.ndimage import convolve1d
from skimage.data import astronaut

from facexray_forensics.blending.codecs import h264_round_trip as h264
from facexray_forensics.blending.methods import laplacian_blend, laplacian_levels
from facexray_forensics.evaluation.evaluate import evaluate, score_row
from facexray_forensics.data.sets import DEGRADATIONS, EvaluationSet, jpeg, laplacian_blended

SIZE = 128  # libx264 is not bit-reproducible on 64 px frames (see codecs.h264_round_trip)
PAIRS, REALS = 8, 6


def _faces(count: int, shift: int) -> np.ndarray:
    """Distinct RGB crops of the astronaut's face: flips and brightness steps."""
    face = cv2.resize(astronaut()[20:220, 140:340], (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.int16)
    variants = [face, face[:, ::-1], face[::-1], face[::-1, ::-1]]
    return np.stack([np.clip(variants[i % 4] + shift + 12 * (i // 4) - 20, 0, 255) for i in range(count)]).astype(np.uint8)


def _masks(count: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    axis = np.arange(SIZE) + 0.5
    masks = []
    for _ in range(count):
        cx, cy, rx, ry = *(SIZE * rng.uniform(0.4, 0.6, 2)), *(SIZE * rng.uniform(0.2, 0.28, 2))
        distance = np.hypot((axis[None, :] - cx) / rx, (axis[:, None] - cy) / ry)
        masks.append(np.clip((1.2 - distance) / 0.4, 0.0, 1.0))
    return np.stack(masks).astype(np.float32)


def _set(real: np.ndarray | None = None) -> EvaluationSet:
    foreground, background, mask = _faces(PAIRS, 30), _faces(PAIRS, -10)[::-1].copy(), _masks(PAIRS)
    blended = np.rint(mask[..., None] * foreground + (1 - mask[..., None]) * background).astype(np.uint8)
    real = _faces(REALS, 0) if real is None else real
    return EvaluationSet(foreground, background, mask, blended, real,
                         [(f"f{i}", f"b{i}") for i in range(PAIRS)], [f"r{i}" for i in range(len(real))])


# Laplacian-pyramid blending


def test_level_count_halves_the_crop_until_its_smaller_side_is_at_most_8_px_and_at_most_5_levels():
    assert [laplacian_levels(side, side) for side in (8, 16, 64, 128, 256)] == [1, 2, 4, 5, 5]
    assert laplacian_levels(128, 40) == 4  # 40 -> 20 -> 10 -> 5


def test_a_constant_mask_gives_exactly_the_alpha_blend():
    foreground, background = _faces(2, 30), _faces(2, -10)
    for weight in (0.0, 1.0, 1.0 / 3.0):  # a third never lands on a rounding tie
        mask = np.full((SIZE, SIZE), weight, np.float32)
        expected = np.rint(weight * foreground[0].astype(np.float64) + (1 - weight) * background[1]).astype(np.uint8)
        np.testing.assert_array_equal(laplacian_blend(foreground[0], background[1], mask, 5), expected)


def test_one_level_is_the_alpha_blend_through_the_mask():
    foreground, background = _faces(2, 30), _faces(2, -10)
    mask = np.round(_masks(1)[0] * 3) / 3  # thirds: no rounding ties
    m = mask[..., None].astype(np.float64)
    expected = np.rint(m * foreground[0] + (1 - m) * background[1]).astype(np.uint8)
    np.testing.assert_array_equal(laplacian_blend(foreground[0], background[1], mask.astype(np.float32), 1), expected)


_KERNEL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _smooth(image: np.ndarray) -> np.ndarray:
    # scipy's "mirror" is OpenCV's BORDER_REFLECT_101, the border of pyrDown and pyrUp.
    return convolve1d(convolve1d(image, _KERNEL, axis=0, mode="mirror"), _KERNEL, axis=1, mode="mirror")


def _reference_blend(foreground, background, mask, levels):
    """Burt–Adelson by hand: pyrDown = smooth then drop odd rows and columns; pyrUp = zero-fill then 4× smooth."""
    down = lambda image: _smooth(image)[::2, ::2]  # noqa: E731

    def up(image):
        filled = np.zeros((2 * image.shape[0], 2 * image.shape[1], *image.shape[2:]))
        filled[::2, ::2] = image
        return 4.0 * _smooth(filled)

    def gaussian(image):
        pyramid = [image]
        for _ in range(levels - 1):
            pyramid.append(down(pyramid[-1]))
        return pyramid

    def laplacian(image):
        g = gaussian(image)
        return [g[k] - up(g[k + 1]) for k in range(levels - 1)] + [g[-1]]

    weights = [w[..., None] for w in gaussian(mask.astype(np.float64))]
    front, back = laplacian(foreground.astype(np.float64)), laplacian(background.astype(np.float64))
    mixed = [w * f + (1 - w) * b for w, f, b in zip(weights, front, back)]
    image = mixed[-1]
    for band in reversed(mixed[:-1]):
        image = up(image) + band
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def test_the_blend_matches_a_hand_written_pyramid_and_differs_from_the_alpha_blend():
    rng = np.random.default_rng(2)
    foreground = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    background = cv2.GaussianBlur(rng.integers(0, 256, (32, 32, 3)).astype(np.uint8), (5, 5), 0)
    soft = cv2.resize(_masks(1)[0], (32, 32), interpolation=cv2.INTER_AREA)
    step = np.zeros((32, 32), np.float32)
    step[:, :13] = 1.0
    for mask in (soft, step):
        ours = laplacian_blend(foreground, background, mask, 3).astype(int)
        reference = _reference_blend(foreground, background, mask, 3).astype(int)
        assert np.abs(ours - reference).max() <= 1 and np.mean(ours != reference) < 0.01  # float32 vs float64 ties
    # Across a hard seam the coarse bands cross over several pixels, unlike the alpha blend's cut.
    alpha = np.rint(step[..., None] * foreground + (1 - step[..., None]) * background)
    difference = np.abs(ours - alpha).mean(axis=(0, 2))  # per column; the seam is at column 13
    assert difference[10:17].min() > 1.0 and difference[:5].max() < 0.1 and difference[24:].max() < 0.1


def test_laplacian_set_has_the_eq2_xray_of_the_mask_and_blends_the_pairs():
    item = _set()
    images, xrays = laplacian_blended(item)
    assert images.shape == item.foreground.shape and images.dtype == np.uint8
    np.testing.assert_allclose(xrays, 4.0 * item.mask * (1.0 - item.mask), atol=1e-6)
    inside, outside = item.mask == 1.0, item.mask == 0.0
    distance = lambda a, b: np.abs(a.astype(int) - b).mean()  # noqa: E731
    # Inside the mask it is nearer the foreground, outside nearer the background.
    assert distance(images[inside], item.foreground[inside]) < distance(images[inside], item.background[inside]) / 2
    assert distance(images[outside], item.background[outside]) < distance(images[outside], item.foreground[outside]) / 2


# Degradations


@pytest.mark.parametrize("name", [name for name in DEGRADATIONS if name != "none"])
def test_each_degradation_changes_the_pixels_deterministically_and_keeps_shape_and_dtype(name):
    images = _faces(PAIRS, 0)
    degraded = DEGRADATIONS[name].apply(images)
    assert degraded.shape == images.shape and degraded.dtype == np.uint8
    assert np.mean(degraded != images) > 0.1
    assert np.abs(degraded.astype(int) - images).mean() < 12  # still the same faces
    np.testing.assert_array_equal(DEGRADATIONS[name].apply(images), degraded)


def test_no_degradation_keeps_the_pixels():
    images = _faces(PAIRS, 0)
    np.testing.assert_array_equal(DEGRADATIONS["none"].apply(images), images)


def test_jpeg_is_the_opencv_round_trip_in_rgb_order():
    images = _faces(3, 0)
    for quality in (60, 75, 90):
        expected = []
        for image in images:
            ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
            expected.append(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])
        np.testing.assert_array_equal(jpeg(images, quality), np.stack(expected))
    assert DEGRADATIONS["jpeg75"].apply(images).tobytes() == jpeg(images, 75).tobytes()


def test_h264_keeps_the_frame_order_and_stronger_compression_loses_more():
    brightness = np.array([40, 200, 90, 150, 10, 120, 230, 60])
    face = _faces(1, 0)[0].astype(int)
    images = np.stack([np.clip(face * 0.3 + level, 0, 255) for level in brightness]).astype(np.uint8)
    decoded = h264(images, crf=23)
    assert decoded.shape == images.shape and decoded.dtype == np.uint8
    assert list(np.argsort(decoded.mean(axis=(1, 2, 3)))) == list(np.argsort(images.mean(axis=(1, 2, 3))))
    error = lambda crf: np.abs(h264(images, crf).astype(int) - images).mean()  # noqa: E731
    assert error(23) < error(30)
    with pytest.raises(ValueError, match="even"):
        h264(images[:, :63], crf=23)


# evaluate() with fake predictors


class _SharpnessPredictor:
    """Scores a crop by its mean absolute Laplacian; counts the crops of each call."""

    model_sha256 = "0" * 64
    card = SimpleNamespace(architecture="fake")

    def __init__(self):
        self.calls = []

    def margins(self, images):
        self.calls.append(len(images))
        grey = np.asarray(images, np.float32).mean(axis=-1)
        sharpness = np.array([np.abs(cv2.Laplacian(g, cv2.CV_32F)).mean() for g in grey], np.float64)
        return grey / 255.0, sharpness


_LABELS = ("", " · JPEG q60", " · JPEG q75", " · JPEG q90", " · H.264 CRF 23", " · H.264 CRF 30", " · down-up ×0.5")
_BLENDS = ("alpha-blended BI", "Poisson-blended", "Laplacian-blended")


def test_every_blend_and_degradation_gets_a_row_and_real_faces_run_once_per_degradation():
    predictor = _SharpnessPredictor()
    report = evaluate(predictor, _set(), pixel_stride=2, progress=False)
    expected = [*_BLENDS, "all blended"] + [blend + label for label in _LABELS[1:] for blend in _BLENDS]
    assert list(report["rows"]) == expected and report["degradations"] == list(DEGRADATIONS)
    for name, row in report["rows"].items():
        assert row["real"] == REALS and row["blended"] == (3 * PAIRS if name == "all blended" else PAIRS)
        assert 0.0 <= row["auc"] <= 1.0 and row["pixel_auc"] is not None
    assert predictor.calls.count(REALS) == len(DEGRADATIONS) and predictor.calls.count(PAIRS) == 3 * len(DEGRADATIONS)


def test_fewer_degradations_give_fewer_rows_and_unknown_ones_are_refused():
    report = evaluate(_SharpnessPredictor(), _set(), progress=False, degradations=("jpeg75",))
    assert list(report["rows"]) == [blend + " · JPEG q75" for blend in _BLENDS]  # no pooling without "none"
    with pytest.raises(ValueError, match="jpeg50"):
        evaluate(_SharpnessPredictor(), _set(), progress=False, degradations=("none", "jpeg50"))


def test_each_row_is_scored_against_the_real_faces_degraded_the_same_way():
    # The real faces are the alpha blends themselves: degraded alike, every alpha row ties (AUC 0.5);
    # undegraded real faces would be sharper than the degraded blends and the AUC would leave 0.5.
    item = _set(real=_set().blended.copy())
    report = evaluate(_SharpnessPredictor(), item, progress=False)
    alpha_rows = {name: row for name, row in report["rows"].items() if name.startswith("alpha-blended BI")}
    assert len(alpha_rows) == len(DEGRADATIONS)
    assert all(row["auc"] == 0.5 for row in alpha_rows.values())
    # The check has teeth: against the undegraded real faces the down-up row is far from a tie.
    predictor = _SharpnessPredictor()
    degraded_xrays, degraded_margins = predictor.margins(DEGRADATIONS["downup"].apply(item.blended))
    real_xrays, real_margins = predictor.margins(item.real)
    true_xrays = 4.0 * item.mask * (1.0 - item.mask)
    assert score_row((degraded_margins, true_xrays, degraded_xrays), (real_margins, real_xrays))["auc"] < 0.1
