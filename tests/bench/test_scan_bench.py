"""The scan benchmark's images: 640×480, all different, one face each."""

import hashlib

import cv2
import numpy as np

from facexray_forensics.bench.scan import make_images
from facexray_forensics.faces import FaceDetector


def test_images_are_distinct_640_by_480_with_one_face():
    images = make_images(3)
    assert len({hashlib.sha256(image).hexdigest() for image in images}) == 3
    detector = FaceDetector()
    for image in images:
        pixels = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
        assert pixels.shape == (480, 640, 3)
        assert len(detector.detect(np.ascontiguousarray(pixels[:, :, ::-1]))) == 1
