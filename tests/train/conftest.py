"""A tiny face index (64-pixel crops of the public-domain astronaut, four sources) for sampler-fed runs."""

import numpy as np
import pytest
from skimage import data

INDEX_SIZE = 64


def write_tiny_index(folder, faces=8, seed=0):
    """Write an index of tinted copies of the astronaut's aligned face, two faces per source."""
    from facexray_forensics.data.index import write_index
    from facexray_forensics.faces import FaceDetector, align_face

    photo = np.ascontiguousarray(data.astronaut())
    aligned = align_face(photo, FaceDetector().detect(photo)[0].landmarks, size=INDEX_SIZE)
    rng = np.random.default_rng(seed)
    crops = np.stack([np.clip(aligned.crop * rng.uniform(0.7, 1.3, 3), 0, 255).astype(np.uint8) for _ in range(faces)])
    landmarks = np.repeat(aligned.landmarks[None].astype(np.float32), faces, axis=0)
    sources = [f"person{i // 2}" for i in range(faces)]
    write_index(folder, crops, landmarks, sources)
    return folder


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory):
    return write_tiny_index(tmp_path_factory.mktemp("index"))
