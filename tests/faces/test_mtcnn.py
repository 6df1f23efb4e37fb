"""MTCNN: suppression against OpenCV's, the pyramid against its formula, the weights' check,
its landmarks against dlib's 68 points, and its place in ``auto``."""

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from facexray_forensics.bench import faces as bench
from facexray_forensics.faces import FaceDetector, box_iou, detect, mtcnn


@pytest.fixture(scope="module")
def astronaut():
    return np.ascontiguousarray(data.astronaut())


def _random_boxes(rng, count):
    corners = rng.uniform(0, 200, (count, 2))
    sides = rng.uniform(10, 80, (count, 2))
    return np.concatenate([corners, corners + sides], axis=1), rng.uniform(0, 1, count)


@pytest.mark.parametrize("seed", range(5))
def test_suppression_keeps_what_opencv_keeps(seed):
    boxes, scores = _random_boxes(np.random.default_rng(seed), 60)
    ours = mtcnn.non_maximum_suppression(boxes, scores, 0.4)
    rects = [(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes]
    theirs = np.asarray(cv2.dnn.NMSBoxes(rects, scores.tolist(), 0.0, 0.4)).ravel()
    assert list(ours) == list(theirs)


def test_suppression_over_the_smaller_box_drops_a_box_inside_another():
    boxes = np.array([[0, 0, 100, 100], [10, 10, 40, 40], [200, 200, 230, 230]], float)
    scores = np.array([0.9, 0.8, 0.7])
    assert list(mtcnn.non_maximum_suppression(boxes, scores, 0.7)) == [0, 1, 2]  # IoU 0.09
    assert list(mtcnn.non_maximum_suppression(boxes, scores, 0.7, over_smaller=True)) == [0, 2]


def test_the_pyramid_starts_at_min_face_and_stops_at_the_window():
    scales = mtcnn.pyramid_scales(1080, 1920, 40)
    assert scales[0] == pytest.approx(12 / 40)
    np.testing.assert_allclose(np.diff(np.log(scales)), np.log(mtcnn.PYRAMID_FACTOR))
    assert 1080 * scales[-1] >= 12 > 1080 * scales[-1] * mtcnn.PYRAMID_FACTOR


def test_weights_that_are_not_the_recorded_file_are_refused(monkeypatch):
    mtcnn.load_stages.cache_clear()
    monkeypatch.setattr(mtcnn, "WEIGHTS_SHA256", "0" * 64)
    try:
        with pytest.raises(mtcnn.WeightsError, match="expected 0000"):
            mtcnn.load_stages()
        with pytest.raises(mtcnn.WeightsError):
            FaceDetector("auto")
    finally:
        mtcnn.load_stages.cache_clear()


def test_the_five_landmarks_agree_with_dlibs_68_and_the_box_maps_to_hogs(astronaut):
    (hog,) = FaceDetector("hog").detect(astronaut)
    (face,) = mtcnn.detect_faces(astronaut, 40)
    points = hog.landmarks
    dlib_five = np.array([points[36:42].mean(0), points[42:48].mean(0), points[30], points[48], points[54]])
    side = hog.box[2] - hog.box[0]
    assert np.linalg.norm(face.landmarks - dlib_five, axis=1).max() < 0.1 * side
    (mapped,) = FaceDetector("mtcnn").detect(astronaut)
    assert mapped.detector == "mtcnn" and mapped.confidence > 0.99
    assert box_iou(mapped.box, hog.box) > max(0.75, box_iou(face.box, hog.box))


def test_detection_leaves_torchs_thread_count_as_it_was(astronaut):
    before = torch.get_num_threads()
    mtcnn.detect_faces(astronaut, 40)
    assert torch.get_num_threads() == before


def test_faceless_frames_give_no_face():
    rng = np.random.default_rng(21)
    detector = FaceDetector("mtcnn", min_face=32)
    assert [detector.detect(bench.background(rng, 1280, 720)) for _ in range(4)] == [[]] * 4


def test_auto_stops_at_a_sure_hog_face_in_a_small_frame(astronaut):
    found = FaceDetector("auto", min_face=64).find(astronaut)
    assert found.detector == "hog" and [face.detector for face in found.faces] == ["hog"]


def test_auto_finds_a_masked_face_beside_a_sure_one_in_a_large_frame(astronaut):
    source = bench.source_face(astronaut, FaceDetector())
    rng = np.random.default_rng(3)
    sure = bench.composite(rng, source, bench.background(rng, 1920, 1080), "plain", 400)
    frame = bench.composite(rng, source, sure.pixels, "occluded", 90)
    assert box_iou(sure.truth, frame.truth) == 0  # drawn apart with this seed
    found = FaceDetector("auto", min_face=64).find(frame.pixels)
    assert found.detector == "mtcnn"
    by_truth = {name: max(found.faces, key=lambda face: box_iou(face.box, case.truth))
                for name, case in (("sure", sure), ("masked", frame))}
    assert by_truth["sure"].detector == "hog" and box_iou(by_truth["sure"].box, sure.truth) >= bench.MATCH_IOU
    assert by_truth["masked"].detector == "mtcnn" and box_iou(by_truth["masked"].box, frame.truth) >= bench.MATCH_IOU
    assert len(found.faces) == 2
    assert detect.HOG_BLIND_RATIO * 64 < FaceDetector("auto", min_face=64).smallest_faces(1080, 1920)["hog"]
