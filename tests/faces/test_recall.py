"""Face recall: ``auto`` finds faces ``hog`` misses, ``hog`` is unchanged, each frame says what ran.

The frames are the face benchmark's composites (:mod:`facexray_forensics.bench.faces`)
with fixed seeds and the public-domain astronaut's face as the source, so no shared
data is needed; one optional test composites the shared photos.
"""

import io
import math
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data

from facexray_forensics.bench import faces as bench
from facexray_forensics.faces import FaceDetector, box_iou, shape_predictor_path
from facexray_forensics.faces import detect
from facexray_forensics.faces.extract import DetectionSettings, FaceExtractor
from facexray_forensics.plugins import ScanContext
from facexray_forensics.plugins.builtin import FacesPlugin
from facexray_forensics.records import Frame, Item
from facexray_forensics.scan import ScanSettings

SHARED = Path(os.environ.get("FXR_SHARED_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))
FULL_HD = (1920, 1080)


@pytest.fixture(scope="module")
def astronaut_face():
    return bench.source_face(np.ascontiguousarray(data.astronaut()), FaceDetector())


@pytest.fixture(scope="module")
def extractors():
    """The scan's face path at its defaults (auto, min_face 64) and with hog alone."""
    return {name: FaceExtractor(DetectionSettings(detector=name)) for name in ("auto", "hog")}


def _composite(face, condition, width, size=FULL_HD, seed=11):
    rng = np.random.default_rng(seed)
    return bench.composite(rng, face, bench.background(rng, *size), condition, width)


def _found(case, result) -> bool:
    return any(box_iou(case.truth, crop.detected.box) >= bench.MATCH_IOU for crop in result.crops)


@pytest.fixture(scope="module")
def small_face_1080p(astronaut_face):
    return _composite(astronaut_face, "plain", 100)


def test_auto_finds_a_100px_face_in_1080p_that_hog_at_640_misses(small_face_1080p, extractors):
    hog = extractors["hog"].frame_faces(Frame(small_face_1080p.pixels))
    auto = extractors["auto"].frame_faces(Frame(small_face_1080p.pixels))
    assert not _found(small_face_1080p, hog) and hog.detector == "hog"
    assert _found(small_face_1080p, auto) and len(auto.crops) == 1
    assert auto.detector == "mtcnn" and auto.crops[0].detected.detector == "mtcnn"


def test_auto_finds_a_face_masked_below_the_eyes_and_aligns_it(astronaut_face, extractors):
    case = _composite(astronaut_face, "occluded", 150, size=(640, 480), seed=4)
    assert not _found(case, extractors["hog"].frame_faces(Frame(case.pixels)))
    auto = extractors["auto"].frame_faces(Frame(case.pixels))
    assert auto.detector == "mtcnn" and _found(case, auto)
    # The 68 points may follow the mask, but their extent, which alignment uses, stays on the face.
    landmarks = max(auto.crops, key=lambda crop: box_iou(case.truth, crop.detected.box)).detected.landmarks
    centre, truth_centre = (landmarks.min(0) + landmarks.max(0)) / 2, np.add(case.truth[:2], case.truth[2:]) / 2
    assert np.linalg.norm(centre - truth_centre) < 0.2 * case.width
    assert 0.6 * case.width < (landmarks.max(0) - landmarks.min(0)).max() < 1.6 * case.width


def test_merging_passes_keeps_a_sure_first_box_of_a_face_and_adds_new_ones():
    sure = [detect.Candidate((100, 100, 200, 200), detect.SURE_CONFIDENCE, "hog")]
    later = [detect.Candidate((110, 105, 215, 210), 0.99, "mtcnn"), detect.Candidate((400, 100, 480, 180), 0.95, "mtcnn")]
    assert box_iou(sure[0].box, later[0].box) >= detect.MERGE_IOU
    assert detect.merge_passes(sure, later) == [sure[0], later[1]]


def test_an_unsure_first_box_gives_way_to_the_later_box_of_its_face():
    # hog's 0.01 box of a masked face, under the confidence cut, must not hide MTCNN's box of it.
    unsure = [detect.Candidate((100, 100, 200, 200), 0.01, "hog"), detect.Candidate((600, 600, 680, 680), 0.2, "hog")]
    later = [detect.Candidate((110, 105, 215, 210), 0.99, "mtcnn")]
    assert detect.merge_passes(unsure, later) == [unsure[1], later[0]]


def test_a_face_every_pass_finds_is_reported_once(astronaut_face, monkeypatch):
    """No tiles here (one whole-frame pass has no border to straddle); the risk of a face
    counted twice is between passes, so every pass is made to run on one face."""
    case = _composite(astronaut_face, "plain", 150, size=(800, 600), seed=2)
    monkeypatch.setattr(detect, "SURE_CONFIDENCE", math.inf)
    detector = FaceDetector("auto", min_face=80)
    found = detector.find(case.pixels)
    hog_alone = FaceDetector("hog").detect(case.pixels)
    assert found.detector == "mtcnn" and any(box_iou(case.truth, face.box) > 0 for face in hog_alone)
    faces = [face for face in found.faces if box_iou(case.truth, face.box) > 0]
    # every hog box is unsure here, so hog's box of the face gives way to MTCNN's
    assert len(faces) == 1 and faces[0].detector == "mtcnn"


def _plain_dlib_hog(rgb: np.ndarray, max_side: int = 640) -> list[tuple]:
    """The detector as it was before auto: dlib HOG on a copy at most 640 px, landmarks on the frame."""
    import dlib

    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(shape_predictor_path()))
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    small = rgb
    if scale < 1.0:
        small = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    rects, scores, _ = hog.run(small, 0, 0.0)
    faces = []
    for rect, score in zip(rects, scores):
        box = tuple(v / scale for v in (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1))
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        shape = predictor(rgb, dlib.rectangle(x0, y0, x1 - 1, y1 - 1))
        faces.append((box, score, np.array([(p.x, p.y) for p in shape.parts()], np.float32)))
    return sorted(faces, key=lambda face: -face[1])


def test_hog_mode_is_unchanged(astronaut_face, extractors):
    frames = [np.ascontiguousarray(data.astronaut()), _composite(astronaut_face, "plain", 300, seed=5).pixels]
    for pixels in frames:
        expected = _plain_dlib_hog(pixels)
        faces = FaceDetector("hog").detect(pixels)
        assert [face.box for face in faces] == [box for box, _, _ in expected]
        assert [face.confidence for face in faces] == [score for _, score, _ in expected]
        for face, (_, _, landmarks) in zip(faces, expected):
            np.testing.assert_array_equal(face.landmarks, landmarks)
        assert {face.detector for face in faces} == {"hog"}
        kept = extractors["hog"].frame_faces(Frame(pixels))
        assert [crop.detected.box for crop in kept.crops] == [face.box for face in faces if face.confidence >= 0.1]


def test_auto_is_the_default_of_the_face_path_and_the_scan():
    assert DetectionSettings().detector == ScanSettings().for_plugins([FacesPlugin])["detector"] == "auto"


def _item(pixels: np.ndarray) -> Item:
    encoded = cv2.imencode(".jpg", pixels[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    return Item("frame.jpg", "image", "image/jpeg", len(encoded), lambda: io.BytesIO(encoded), {})


def test_faces_finding_counts_frames_by_the_pass_that_ran(small_face_1080p):
    plugin = FacesPlugin()
    plugin.start_up(ScanContext(settings=ScanSettings().for_plugins([FacesPlugin])))
    assert plugin.extractor.detection.detector == "auto"
    near = plugin.process(_item(np.ascontiguousarray(data.astronaut())), {})
    far = plugin.process(_item(small_face_1080p.pixels), {})
    assert near.values["detectors"] == {"hog": 1}
    assert far.values["detectors"] == {"mtcnn": 1} and len(far.crops) == 1


def test_faces_between_min_face_and_the_hog_window_are_found(astronaut_face, extractors):
    # 72 px: under HOG's 80-px window at full resolution, over the scan's 64-px minimum.
    case = _composite(astronaut_face, "plain", 72, seed=7)
    result = extractors["auto"].frame_faces(Frame(case.pixels))
    assert _found(case, result) and result.detector == "mtcnn"


def test_min_face_is_stated_in_frame_pixels_and_sizes_the_passes(astronaut_face):
    for min_face in (32, 64, 100):
        smallest = FaceDetector("auto", min_face=min_face).smallest_faces(*FULL_HD[::-1])
        assert smallest == {"hog": pytest.approx(240), "mtcnn": min_face}
        cnn = FaceDetector("cnn", min_face=min_face).smallest_faces(*FULL_HD[::-1])["cnn"]
        assert cnn == pytest.approx(max(min_face, 80 * math.sqrt(FULL_HD[0] * FULL_HD[1] / detect.CNN_MAX_PIXELS)))
    assert FaceDetector("cnn", min_face=64).smallest_faces(480, 640)["cnn"] == pytest.approx(64)
    extractor = FaceExtractor(DetectionSettings(min_face=100))
    small, large = (_composite(astronaut_face, "plain", width, seed=7) for width in (90, 130))
    assert not extractor.frame_faces(Frame(small.pixels)).crops
    assert _found(large, extractor.frame_faces(Frame(large.pixels)))


def test_composites_are_deterministic_given_the_seed(astronaut_face):
    first, second = (_composite(astronaut_face, "rotated", 120, size=(1280, 720), seed=3) for _ in range(2))
    np.testing.assert_array_equal(first.pixels, second.pixels)
    assert first.truth == second.truth
    assert bench.width_bin(40) == "40-63" and bench.width_bin(600) == "256-600"


def test_bench_says_where_the_photos_are_missing(tmp_path):
    from facexray_forensics.cli import main

    outcome = CliRunner().invoke(main, ["bench", "faces", "--frames", "1", "--data", str(tmp_path), "--json"])
    assert outcome.exit_code != 0 and "no face photos under" in outcome.output


@pytest.mark.shared_data
def test_bench_on_shared_photos_finds_the_plain_faces_hog_misses():
    if not SHARED.is_dir():
        pytest.skip(f"real face photos not found at {SHARED} (set FXR_SHARED_DATA)")
    result = bench.run(frames=4, resolution="720p", seed=0, data_dir=SHARED, progress=False)
    assert result["faces_by_condition_and_width"]["plain"] == {"40-63": 1, "64-127": 1, "128-255": 1, "256-600": 1}
    assert result["auto"]["recall"] >= 0.75 and result["auto"]["recall"] >= result["hog"]["recall"]
    assert result["auto"]["false_detections_per_frame"] <= 0.25
    assert sum(result["auto"]["detectors"].values()) == 4 and result["source_photos"]
