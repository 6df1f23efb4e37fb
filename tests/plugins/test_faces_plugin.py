"""The faces plugin: detections under the confidence floor are counted, never scored or silently lost."""

import io

import cv2
import numpy as np
import pytest
from skimage import data

from facexray_forensics.faces import FaceDetector
from facexray_forensics.plugins import ScanContext
from facexray_forensics.plugins.builtin import FacesPlugin
from facexray_forensics.records import Item, Status
from facexray_forensics.scan import ScanSettings


def _item(encoded: bytes) -> Item:
    return Item("astronaut.jpg", "image", "image/jpeg", len(encoded), lambda: io.BytesIO(encoded), {})


@pytest.fixture(scope="module")
def astronaut():
    pixels = data.astronaut()
    encoded = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    decoded = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    confidences = sorted(face.confidence for face in FaceDetector().detect(decoded[:, :, ::-1].copy()))
    return encoded, confidences


def _process(encoded, min_confidence):
    plugin = FacesPlugin()
    plugin.start_up(ScanContext(settings=ScanSettings(min_confidence=min_confidence).for_plugins([FacesPlugin])))
    return plugin.process(_item(encoded), {})


def test_floor_splits_the_detections_by_confidence(astronaut):
    encoded, confidences = astronaut
    assert len(confidences) >= 2, "the astronaut picture should give its face and at least one weaker detection"
    floor = (confidences[0] + confidences[-1]) / 2
    kept = _process(encoded, floor)
    assert kept.status is None
    assert len(kept.crops) == sum(confidence >= floor for confidence in confidences)
    assert kept.values["faces_below_confidence"] == sum(confidence < floor for confidence in confidences)
    assert kept.values["faces_detected"] == len(confidences)
    everything = _process(encoded, 0.0)
    assert len(everything.crops) == len(confidences) and everything.values["faces_below_confidence"] == 0


def test_only_weak_detections_give_no_face_with_the_reason(astronaut):
    encoded, confidences = astronaut
    finding = _process(encoded, confidences[-1] + 1.0)
    assert finding.status is Status.NO_FACE
    assert f"{len(confidences)} weaker detection(s) not scored" in finding.reason
