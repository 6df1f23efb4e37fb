"""The bundled sample evidence: reproducible from its generator, small, and what it claims to be."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("skimage")

from facexray_forensics.blending.masks import hull_mask  # noqa: E402
from facexray_forensics.faces import FaceDetector  # noqa: E402
from facexray_forensics.metadata import read_exif  # noqa: E402
from facexray_forensics.samples import SAMPLES, evidence_dir  # noqa: E402
from facexray_forensics.samples.build import TRUNCATED_FRACTION, build  # noqa: E402

BUNDLED = evidence_dir()
#: dlib's HOG detector also reports weak false positives (one in the suit of
#: the JPEG astronaut, at about 0.07); a real face scores above 1.
CONFIDENT = 0.5


@pytest.fixture(scope="module")
def detector():
    return FaceDetector("hog")


def _confident_faces(detector, pixels):
    return [face for face in detector.detect(pixels.astype(np.uint8)) if face.confidence > CONFIDENT]


def _pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    directory = tmp_path_factory.mktemp("samples")
    return build(directory)


def test_bundled_files_are_exactly_the_listed_samples_and_small():
    names = sorted(path.name for path in BUNDLED.iterdir())
    assert names == sorted(SAMPLES)
    assert sum(path.stat().st_size for path in BUNDLED.iterdir()) < 3 * 1024 * 1024


def test_generator_reproduces_the_bundled_pixels(rebuilt):
    assert sorted(rebuilt) == sorted(SAMPLES)
    for name, path in rebuilt.items():
        if SAMPLES[name][2] == "unreadable":
            continue
        fresh, bundled = _pixels(path), _pixels(BUNDLED / name)
        assert fresh.shape == bundled.shape, name
        difference = np.abs(fresh - bundled)
        if name.endswith(".png"):
            assert difference.max() == 0, name  # lossless: the same pixels
        else:
            # JPEG encoders and float rounding may differ between machines by a level or two.
            assert difference.mean() < 0.5 and difference.max() <= 12, (name, difference.mean(), difference.max())


def test_truncated_sample_is_a_prefix_of_the_original_and_does_not_decode(rebuilt):
    original = (BUNDLED / "astronaut.jpg").read_bytes()
    truncated = (BUNDLED / "astronaut_truncated.jpg").read_bytes()
    assert truncated == original[: int(len(original) * TRUNCATED_FRACTION)]
    fresh = rebuilt["astronaut_truncated.jpg"].read_bytes()
    assert fresh == rebuilt["astronaut.jpg"].read_bytes()[: len(fresh)]
    with pytest.raises(OSError, match="truncated"):
        Image.open(io.BytesIO(truncated)).load()


def test_png_copy_is_the_public_domain_original():
    from skimage import data

    assert np.array_equal(_pixels(BUNDLED / "astronaut.png"), data.astronaut().astype(np.int16))
    # The JPEG is the same picture up to compression.
    assert np.abs(_pixels(BUNDLED / "astronaut.jpg") - data.astronaut()).mean() < 3.0


@pytest.mark.parametrize("name", ["astronaut_self_blended.jpg", "astronaut_mirror_blended.jpg"])
def test_blends_change_the_face_and_leave_the_rest(name, detector):
    original = _pixels(BUNDLED / "astronaut.png")
    blended = _pixels(BUNDLED / name)
    (face,) = _confident_faces(detector, original)
    region = hull_mask(face.landmarks, original.shape[:2], "face") > 0
    # Far from the hull (beyond the deformation and blur), only JPEG noise remains.
    import cv2

    near = cv2.dilate(region.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
    difference = np.abs(blended - original).mean(axis=2)
    inside, outside = difference[region].mean(), difference[~near].mean()
    assert outside < 3.0, outside
    assert inside > 3 * outside and inside > 4.0, (inside, outside)
    # Still one detectable face where the original's was.
    (found,) = _confident_faces(detector, blended)
    assert np.abs(np.subtract(found.box, face.box)).max() < 20


def test_no_face_sample_has_no_face_and_the_real_ones_have_one(detector):
    for name, (_, truth, _) in SAMPLES.items():
        if truth == "corrupt":
            continue
        faces = _confident_faces(detector, _pixels(BUNDLED / name))
        assert len(faces) == (0 if truth == "no face" else 1), name


def test_samples_carry_their_provenance_in_exif():
    summary = read_exif((BUNDLED / "astronaut.jpg").read_bytes())
    assert summary["software"] == "facexray-forensics sample generator"
    assert summary["editing_software"] == []
    assert summary["error"] is None


def test_source_pictures_are_public_domain_or_cc0():
    from skimage import data

    assert "public domain" in data.astronaut.__doc__
    assert "CC0" in data.coffee.__doc__
