"""Fixtures: small face indexes made from the public-domain astronaut photo."""

import cv2
import numpy as np
import pytest
from skimage import data

from facexray_forensics.data.index import write_index
from facexray_forensics.faces import FaceDetector, align_face

def astronaut_variants(count: int, seed: int = 0):
    """``count`` aligned faces: the astronaut under random similarity transforms and colour shifts.

    Returns crops N×256×256×3 uint8 and crop landmarks N×68×2 (detected once on
    the photo, then carried through each transform exactly)."""
    rng = np.random.default_rng(seed)
    photo = np.ascontiguousarray(data.astronaut())
    landmarks = FaceDetector().detect(photo)[0].landmarks
    centre = landmarks.mean(axis=0)
    crops, marks = [], []
    for _ in range(count):
        angle = rng.uniform(-12, 12)
        scale = rng.uniform(0.85, 1.15)
        matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
        matrix[:, 2] += rng.uniform(-20, 20, 2)
        moved = cv2.warpAffine(photo, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT_101)
        tint = rng.uniform(0.7, 1.3, 3)
        moved = np.clip(moved * tint, 0, 255).astype(np.uint8)
        moved_marks = landmarks @ matrix[:, :2].T.astype(np.float32) + matrix[:, 2].astype(np.float32)
        aligned = align_face(moved, moved_marks)
        crops.append(aligned.crop)
        marks.append(aligned.landmarks)
    return np.stack(crops), np.stack(marks).astype(np.float32)


@pytest.fixture(scope="session")
def astronaut_faces():
    return astronaut_variants(24)


@pytest.fixture(scope="session")
def astronaut_index(tmp_path_factory, astronaut_faces):
    """24 faces in 8 sources of 3 faces each (source ``s0`` ... ``s7``)."""
    crops, marks = astronaut_faces
    folder = tmp_path_factory.mktemp("index")
    sources = [f"s{i // 3}" for i in range(len(crops))]
    write_index(folder, crops, marks, sources)
    return folder
