"""Face tracks across a video's sampled frames: a face that one frame's detection misses is found again.

The video is made here with PyAV (``tests/evidence/video_media.py``): the public-domain
astronaut (scikit-image) drifts across seven frames, five a second, all of them sampled;
in the middle frame her face is made hard for the detector. Per-frame detection alone
(``FaceExtractor.frame_faces``) misses that frame; the tracked pass (``item_faces``)
finds it inside the box the track predicts, and says how.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from facexray_forensics.evidence import DecodeLimits, decode_frames
from facexray_forensics.faces import FaceDetector, box_iou
from facexray_forensics.faces.extract import DetectionSettings, FaceExtractor
from facexray_forensics.faces.track import TRACK, expected_faces, track_match
from facexray_forensics.plugins import ScanContext
from facexray_forensics.plugins.builtin import FacesPlugin
from facexray_forensics.records import Frame, Item
from facexray_forensics.scan import ScanSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evidence"))
from video_media import encode_video  # noqa: E402  (the evidence tests' video maker)

FRAMES, HARD = 7, 3
SIZE = (352, 288)  # width, height: small, so the frames stay quick to code and detect
PATCH = (slice(20, 260), slice(100, 340))  # the astronaut's head and shoulders, 240 px square
STEP, TOP = 12, 24  # the patch moves 12 px right a frame


@pytest.fixture(scope="module")
def astronaut():
    """The picture and its face's HOG box: the truth, moved with the patch."""
    picture = np.ascontiguousarray(data.astronaut())
    face = max(FaceDetector().detect(picture), key=lambda found: found.confidence)
    return picture, face.box


@pytest.fixture(scope="module")
def extractor():
    return FaceExtractor(DetectionSettings())  # the scan's defaults: auto, min_face 64


def _truth(box, index):
    dx, dy = 20 + STEP * index - PATCH[1].start, TOP - PATCH[0].start
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def _scene(astronaut, hard) -> list[np.ndarray]:
    """The frames, the middle one changed by ``hard(picture, truth box)``."""
    picture, box = astronaut
    frames = []
    for index in range(FRAMES):
        canvas = np.full((SIZE[1], SIZE[0], 3), 105, np.uint8)
        cv2.rectangle(canvas, (0, 230), (SIZE[0], SIZE[1]), (60, 90, 60), -1)
        left = 20 + STEP * index
        canvas[TOP:TOP + 240, left:left + 240] = picture[PATCH]
        if index == HARD:
            hard(canvas, [int(round(value)) for value in _truth(box, index)])
        frames.append(canvas)
    return frames


def _blurred(sigma):
    """A Gaussian blur of ``sigma`` px over an 88-px face and around it."""
    def blur(canvas, box):
        x0, y0, x1, y1 = box
        canvas[y0 - 40:y1 + 40, x0 - 40:x1 + 40] = cv2.GaussianBlur(canvas[y0 - 40:y1 + 40, x0 - 40:x1 + 40], (0, 0), sigma)
    return blur


_blur = _blurred(11)  # no pass finds the face, even in its region
_soft_blur = _blurred(8)  # the whole-frame passes miss it; MTCNN on its enlarged region does not


def _leave(canvas, box):
    """The face is gone: only the background behind it."""
    canvas[TOP:TOP + 240] = 105
    cv2.rectangle(canvas, (0, 230), (SIZE[0], SIZE[1]), (60, 90, 60), -1)


def _video(frames) -> Item:
    content = encode_video(frames, times_ms=[200 * index for index in range(len(frames))])
    return Item(name="walk.mp4", kind="video", mime="video/mp4", size=len(content), open=lambda: io.BytesIO(content))


LIMITS = DecodeLimits(video_frames=FRAMES)


def _hits(result, truth) -> list:
    return [crop for crop in result.crops if box_iou(crop.detected.box, truth) >= 0.5]


def _per_frame_and_tracked(extractor, item):
    alone = [extractor.frame_faces(frame) for frame in decode_frames(item, LIMITS)]
    tracked = list(extractor.item_faces(item, LIMITS))
    assert [result.index for result in tracked] == list(range(FRAMES))
    return alone, tracked


def test_a_blurred_frame_missed_alone_is_found_by_the_landmarks_in_the_tracked_box(astronaut, extractor):
    alone, tracked = _per_frame_and_tracked(extractor, _video(_scene(astronaut, _blur)))
    truths = [_truth(astronaut[1], index) for index in range(FRAMES)]
    assert all(len(_hits(alone[index], truths[index])) == 1 for index in range(FRAMES) if index != HARD)
    assert not alone[HARD].crops and alone[HARD].detector == "mtcnn"  # every whole-frame pass ran, in vain
    (found,) = _hits(tracked[HARD], truths[HARD])
    assert len(tracked[HARD].crops) == 1 and found.detected.detector == TRACK
    assert found.detected.confidence >= 0.7 and tracked[HARD].track_misses == 0
    # The other frames are as their own detection left them.
    for index in set(range(FRAMES)) - {HARD}:
        boxes = [crop.detected.box for crop in tracked[index].crops]
        assert boxes == [crop.detected.box for crop in alone[index].crops]


def test_a_blurred_face_the_whole_frame_misses_is_found_by_mtcnn_on_its_region(astronaut, extractor):
    alone, tracked = _per_frame_and_tracked(extractor, _video(_scene(astronaut, _soft_blur)))
    truth = _truth(astronaut[1], HARD)
    assert not _hits(alone[HARD], truth) and alone[HARD].detector == "mtcnn"
    (found,) = _hits(tracked[HARD], truth)
    assert found.detected.detector == "mtcnn_region"


def test_a_face_that_left_is_a_recorded_miss_and_is_not_carried_on(astronaut, extractor):
    item = _video(_scene(astronaut, _leave))
    tracked = list(extractor.item_faces(item, LIMITS))
    assert not tracked[HARD].crops and tracked[HARD].track_misses == 1
    assert sum(result.track_misses for result in tracked) == 1
    assert all(crop.detected.detector == "hog" for result in tracked for crop in result.crops)


def test_the_faces_finding_counts_the_faces_found_again(astronaut):
    plugin = FacesPlugin()
    plugin.start_up(ScanContext(settings=ScanSettings(video_frames=FRAMES).for_plugins([FacesPlugin])))
    finding = plugin.process(_video(_scene(astronaut, _blur)), {})
    assert finding.values["faces_recovered"] == {TRACK: 1} and finding.values["track_misses"] == 0
    assert len(finding.crops) == FRAMES and finding.values["frames"] == FRAMES


def test_the_expected_box_is_interpolated_by_time_and_the_check_refuses_another_picture(astronaut, extractor):
    frames = _scene(astronaut, lambda canvas, box: None)
    results = [extractor.frame_faces(Frame(frames[index], index, 0.2 * index)) for index in (2, 4)]
    # Frame 3 shown at 0.5 s, a quarter of the way from 0.4 s to 0.8 s: a quarter of the way between the boxes.
    (expected,) = expected_faces(Frame(frames[3], 3, 0.5), results[0], results[1])
    start, end = results[0].crops[0].detected.box, results[1].crops[0].detected.box
    assert expected.box == pytest.approx([a + 0.25 * (b - a) for a, b in zip(start, end)])
    assert len(expected.neighbours) == 2
    neighbour = results[0].crops[0]
    assert track_match(neighbour.aligned.crop, neighbour.detected.landmarks, expected.neighbours) > 0.99
    cat = cv2.resize(np.ascontiguousarray(data.chelsea()), neighbour.aligned.crop.shape[1::-1])
    assert track_match(cat, neighbour.detected.landmarks, expected.neighbours) < 0.7
