"""Faces: detection lands on the face, crops are consistent, bad input is refused."""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from facexray_forensics.faces import (
    CROP_SCALE,
    FaceDetector,
    align_face,
    cnn_detector_path,
    shape_predictor_path,
)

SHARED = Path(os.environ.get("FXR_SHARED_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


@pytest.fixture(scope="module")
def astronaut():
    return np.ascontiguousarray(data.astronaut())


# Hand-marked on skimage.data.astronaut() by a person looking at the image (x, y pixels):
# centre of the subject's right eye (viewer's left), left eye, nose tip, mouth centre.
ASTRONAUT_MARKS = {"eye_a": (202, 100), "eye_b": (247, 102), "nose": (225, 125), "mouth": (225, 144)}


def test_model_files_are_found():
    assert shape_predictor_path().is_file()
    assert shape_predictor_path().stat().st_size > 50_000_000
    assert cnn_detector_path().is_file()


def test_landmarks_land_on_the_face(detector, astronaut):
    faces = detector.detect(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float32
    found = {
        "eye_a": face.landmarks[36:42].mean(0),
        "eye_b": face.landmarks[42:48].mean(0),
        "nose": face.landmarks[30],
        "mouth": face.landmarks[48:68].mean(0),
    }
    for name, mark in ASTRONAUT_MARKS.items():
        assert np.linalg.norm(found[name] - np.float32(mark)) < 8.0, name
    x0, y0, x1, y1 = face.box
    assert ((face.landmarks[:, 0] >= x0 - 5) & (face.landmarks[:, 0] <= x1 + 5)).all()


def test_detection_on_a_downscaled_copy_maps_back(detector, astronaut):
    big = cv2.resize(astronaut, (1536, 1536), interpolation=cv2.INTER_CUBIC)
    small_face = detector.detect(astronaut)[0]
    big_face = detector.detect(big)[0]  # detected at 640, landmarks fitted at 1536
    expected = (small_face.landmarks + 0.5) * 3 - 0.5
    assert np.median(np.linalg.norm(big_face.landmarks - expected, axis=1)) < 6.0


def test_cnn_detector_agrees_with_hog(astronaut):
    hog = FaceDetector().detect(astronaut)[0]
    cnn = FaceDetector(method="cnn").detect(astronaut)
    assert len(cnn) == 1
    assert np.median(np.linalg.norm(cnn[0].landmarks - hog.landmarks, axis=1)) < 5.0


def test_crop_is_consistent_with_its_matrix(detector, astronaut):
    face = detector.detect(astronaut)[0]
    aligned = align_face(astronaut, face.landmarks, size=256)
    assert aligned.crop.shape == (256, 256, 3) and aligned.crop.dtype == np.uint8
    mapped = face.landmarks @ aligned.matrix[:, :2].T + aligned.matrix[:, 2]
    np.testing.assert_allclose(aligned.landmarks, mapped, atol=1e-3)
    # 1.3× the landmark extent: the landmarks span 256 / 1.3 pixels along the longer side.
    extent = (aligned.landmarks.max(0) - aligned.landmarks.min(0)).max()
    assert extent == pytest.approx(256 / CROP_SCALE, abs=0.01)
    # The crop pixel at each landmark equals the frame pixel there (OpenCV's remap as reference).
    inverse = cv2.invertAffineTransform(aligned.matrix.astype(np.float64))
    grid_y, grid_x = np.mgrid[0:256, 0:256].astype(np.float32)
    map_x = (inverse[0, 0] * grid_x + inverse[0, 1] * grid_y + inverse[0, 2]).astype(np.float32)
    map_y = (inverse[1, 0] * grid_x + inverse[1, 1] * grid_y + inverse[1, 2]).astype(np.float32)
    reference = cv2.remap(astronaut, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    assert np.abs(reference.astype(int) - aligned.crop.astype(int)).max() <= 1


def test_crop_follows_a_shifted_frame(detector, astronaut):
    face = detector.detect(astronaut)[0]
    shifted = np.zeros((600, 620, 3), np.uint8)
    shifted[40:552, 70:582] = astronaut
    first = align_face(astronaut, face.landmarks)
    second = align_face(shifted, face.landmarks + np.float32([70, 40]))
    # OpenCV's fixed-point interpolation may round one level apart.
    assert np.abs(first.crop.astype(int) - second.crop.astype(int)).max() <= 1
    np.testing.assert_allclose(first.landmarks, second.landmarks, atol=1e-3)


def test_shrinking_crop_matches_the_same_geometry(detector, astronaut):
    face = detector.detect(astronaut)[0]
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    small = align_face(astronaut, face.landmarks)
    large = align_face(big, (face.landmarks + 0.5) * 4 - 0.5)
    np.testing.assert_allclose(small.landmarks, large.landmarks, atol=1e-3)
    # Same content, area-filtered from the big copy instead of interpolated from the small one.
    assert np.abs(small.crop.astype(float) - large.crop.astype(float)).mean() < 3.0


def test_crop_outside_the_frame_is_black(detector, astronaut):
    face = detector.detect(astronaut)[0]
    cut = astronaut[:, 200:].copy()  # the face now touches the left edge
    aligned = align_face(cut, face.landmarks - np.float32([200, 0]))
    left = int(np.floor(aligned.matrix[0, 2] - 0.5 * aligned.matrix[0, 0]))
    assert left > 2 and not aligned.crop[:, : left - 1].any()


@pytest.mark.parametrize(
    "image, error",
    [
        (np.zeros((100, 100, 3), np.float32), TypeError),
        (np.zeros((100, 100, 5), np.uint8), ValueError),
        (np.zeros((4, 4, 3), np.uint8), ValueError),
        ([[0, 1]], TypeError),
    ],
)
def test_bad_images_are_refused(detector, image, error):
    with pytest.raises(error):
        detector.detect(image)


def test_bad_landmarks_are_refused(astronaut):
    with pytest.raises(ValueError):
        align_face(astronaut, np.zeros((68, 2), np.float32))
    with pytest.raises(ValueError):
        align_face(astronaut, np.full((68, 2), np.nan, np.float32))
    with pytest.raises(ValueError):
        FaceDetector(method="sift")


@pytest.mark.shared_data
def test_real_faces_from_shared_data(detector):
    if not SHARED.is_dir():
        pytest.skip(f"real face photos not found at {SHARED} (set FXR_SHARED_DATA)")
    files = sorted((SHARED / "lfw").glob("*/*.jpg"))[:400:50] + sorted((SHARED / "utkface").glob("*.jpg"))[:400:50]
    found = 0
    for path in files:
        rgb = cv2.imread(str(path))[:, :, ::-1].copy()
        faces = detector.detect(rgb)
        if not faces:
            continue
        found += 1
        face = faces[0]
        x0, y0, x1, y1 = face.box
        inside = ((face.landmarks[:, 0] >= x0 - 10) & (face.landmarks[:, 0] <= x1 + 10)
                  & (face.landmarks[:, 1] >= y0 - 10) & (face.landmarks[:, 1] <= y1 + 10))
        assert inside.mean() > 0.9
        # These sets are centred face photos: the nose tip sits in the middle third.
        height, width = rgb.shape[:2]
        nose = face.landmarks[30]
        assert width / 3 < nose[0] < 2 * width / 3 and height / 3 < nose[1] < 2 * height / 3
        aligned = align_face(rgb, face.landmarks)
        assert aligned.crop.shape == (256, 256, 3)
    assert found >= len(files) - 1
