"""The weights that ship inside the package: verified, deterministic, and they see a blending boundary.

The CPU preview model is the only one shipped so far (the GPU-trained default
comes with its own card); every packaged weights directory must pass these.
"""

from pathlib import Path

import numpy as np
import pytest
from skimage import data

import facexray_forensics.model as model_package
from facexray_forensics import ops
from facexray_forensics.blending.masks import hull_mask
from facexray_forensics.faces import FaceDetector, align_face
from facexray_forensics.model import Predictor, load_weights

PACKAGED = sorted(path.parent for path in (Path(model_package.__file__).parent / "weights").glob("*/model_card.json"))


@pytest.fixture(scope="module")
def astronaut_pair():
    """The public-domain astronaut's aligned face, real and blended with a recoloured copy of itself."""
    image = data.astronaut()
    face = max(FaceDetector().detect(image), key=lambda found: found.confidence)
    aligned = align_face(image, face.landmarks)
    crop = aligned.crop.astype(np.float32)
    mask = ops.gaussian_blur(hull_mask(aligned.landmarks, crop.shape[:2], "face"), 15)
    foreground = np.clip(crop * np.array([1.15, 0.9, 0.85], np.float32) + 8.0, 0.0, 255.0)
    blended, xray, softened = ops.blend_with_xray(foreground, crop, mask)
    crops = np.stack([np.clip(np.round(blended), 0, 255).astype(np.uint8), aligned.crop])
    return crops, xray, softened


def test_a_model_ships():
    assert PACKAGED, "no weights directory with a model card inside the package"


@pytest.mark.parametrize("directory", PACKAGED, ids=lambda path: path.name)
def test_prediction_is_deterministic_and_matches_the_card(directory, astronaut_pair):
    crops, _, _ = astronaut_pair
    loaded = load_weights(directory)
    xray, probability = Predictor(loaded).predict(crops)
    again_xray, again_probability = Predictor(load_weights(directory)).predict(crops)
    assert np.array_equal(xray, again_xray) and np.array_equal(probability, again_probability)
    reference = loaded.card.notes["reference_prediction"]  # recorded when the model was shipped
    np.testing.assert_allclose(probability, reference["probability"], atol=1e-4)
    np.testing.assert_allclose(xray.mean(axis=(1, 2)), reference["xray_mean"], atol=1e-4)


@pytest.mark.parametrize("directory", PACKAGED, ids=lambda path: path.name)
def test_xray_is_higher_on_the_blending_boundary_than_inside_the_face(directory, astronaut_pair):
    crops, xray_true, softened = astronaut_pair
    predicted = Predictor(load_weights(directory)).predict(crops[:1])[0][0]
    boundary = xray_true > 0.5  # Eq. 2 of the mask the blend used
    inside = softened > 0.99
    assert predicted[boundary].mean() > 1.5 * predicted[inside].mean()


@pytest.mark.parametrize("directory", PACKAGED, ids=lambda path: path.name)
def test_band_thresholds_are_ordered_at_their_false_positive_rates(directory):
    thresholds = load_weights(directory).card.thresholds
    assert 0.0 <= thresholds.inconclusive <= thresholds.moderate <= thresholds.strong <= 1.0
    assert list(thresholds.false_positive_rates) == [0.2, 0.05, 0.01]
