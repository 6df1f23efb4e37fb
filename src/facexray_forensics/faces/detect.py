"""Face detection with dlib's HOG, MTCNN, or dlib's mmod CNN (or HOG then MTCNN, per frame) and 68 landmarks.

Every pass runs on a rescaled copy of the frame (or a pyramid of its own);
its boxes are mapped back and the 68 landmarks are always fitted on the
full-resolution frame, so the landmarks do not suffer from the rescaling.
The passes, and the smallest face (box side in frame pixels) each finds:

``hog``
    HOG on a copy downscaled so its longer side is at most ``max_side``
    (640): about :data:`MIN_FACE_SIZE` pixels of that copy, i.e. 80 px in a
    640-px frame, 240 px in 1080p, 480 px in 4K; ``upsample=1`` halves that
    at about four times the cost. About 20 ms for any frame size.
``mtcnn``
    The MTCNN cascade (:mod:`facexray_forensics.faces.mtcnn`) over the whole
    frame, its pyramid starting where ``min_face`` meets its 12-pixel window,
    so it finds ``min_face`` at any frame size; a fraction of a second for a
    1080p frame at 64 px. It finds most faces HOG misses: under a surgical
    mask, a hand or sunglasses, turned, blurred or small. Its boxes (brow
    to below the chin) are mapped to HOG's convention by
    :data:`MTCNN_TO_HOG_BOX`, so every pass reports the same kind of box
    and the 68-point fit, trained on HOG boxes, starts where it expects.
    Only faces of O-Net probability at least :data:`MTCNN_MIN_PROBABILITY`
    are kept.
``cnn``
    dlib's mmod CNN, whose smallest box is about :data:`CNN_MIN_FACE_SIZE`
    (80, measured) pixels of its input, at the scale
    ``CNN_MIN_FACE_SIZE / min_face`` capped at :data:`CNN_MAX_PIXELS`
    (about 15 s of one core here): ``min_face`` up to frames of about
    1.3 Mpx at 64 px, then 80 px in 1080p and 160 px in 4K. Chosen by name
    only: MTCNN finds as much on ``fxr-forensic bench faces`` at a tiny
    fraction of the time.

``method="auto"`` runs ``hog``, then ``mtcnn`` unless ``hog`` found a sure
face (margin at least :data:`SURE_CONFIDENCE`) in a frame small enough for
its copy to show faces down to :data:`HOG_BLIND_RATIO` times ``min_face``.
In a large frame MTCNN therefore always runs, so a small or masked second
face beside a sure one is still found. Boxes of the later pass that overlap an earlier one (IoU at least
:data:`MERGE_IOU`) are dropped, so a face is reported once, with the box
of the first pass that found it (``hog`` mode's own box where that pass
found it). The 68 landmarks of a masked face come from a predictor trained
on unoccluded faces and may follow the occluder rather than the hidden
mouth or chin; the alignment uses only their extent and centre, which stay
close to the face.

:meth:`FaceDetector.find_in_region` looks again inside one box, where a face
track (:mod:`facexray_forensics.faces.track`) expects a face that the frame's
passes missed: the box enlarged by :data:`REGION_MARGIN` on each side is cut
out and each pass runs on that region alone, scaled so a face of the box's
size spans :data:`REGION_FACE_WINDOWS` detector windows whatever the frame's
size. Its faces are recorded as ``"hog_region"``, ``"mtcnn_region"`` or
``"cnn_region"``.

Faces that touch the frame border (tight crops such as UTKFace) are missed by
a sliding-window detector; ``pad`` adds a border of that fraction of the
side (edge-replicated) before each pass, then maps the results back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import importlib.util
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

#: Smallest face side, in pixels of the detection image, that HOG finds without upsampling.
MIN_FACE_SIZE = 80
#: Smallest box side, in pixels of its input, that the mmod CNN finds without upsampling
#: (measured on the astronaut's face: found from a 62-px landmark width, with an 80-px box).
CNN_MIN_FACE_SIZE = 80
#: Largest copy, in pixels, of the ``cnn`` pass (a 1080p frame: about 15 s of one core here).
CNN_MAX_PIXELS = 2_100_000
#: HOG margin from which ``auto`` trusts a face and, in a frame HOG's copy sees whole, runs no MTCNN. On 150 photos of
#: the shared LFW, UTKFace and Helen sets the best face scores 1.76 at the median and 0.59
#: at the 5th percentile, so about 4% of plain photos take the slower passes; the
#: astronaut's mission patch scores 0.07.
SURE_CONFIDENCE = 0.5
#: ``auto`` runs MTCNN beside a sure HOG face where HOG's copy misses faces up to more than this
#: many times ``min_face``: in 1080p (240 px against 64) but not at 640x480 (80 px), where MTCNN
#: would add 20 ms to HOG's 25 for faces of 64-80 px only.
HOG_BLIND_RATIO = 2.0
#: Boxes of two passes overlapping this much (intersection over union) are one face.
MERGE_IOU = 0.3
#: What ``FaceDetector(method=...)`` accepts.
METHODS = ("auto", "hog", "mtcnn", "cnn")
#: The whole-frame passes of each method, in order.
PASSES = {"auto": ("hog", "mtcnn"), "hog": ("hog",), "mtcnn": ("mtcnn",), "cnn": ("cnn",)}
#: The passes :meth:`FaceDetector.find_in_region` runs, in order, for each method.
REGION_PASSES = PASSES
#: HOG's box from MTCNN's: (left shift, top shift, width, height) in MTCNN box sides. The medians
#: over 144 photos of the shared LFW and Helen sets where both found the one face (interquartile
#: ranges 0.13, 0.15, 0.12, 0.13): HOG's box starts at the brows, a fifth of a side lower.
MTCNN_TO_HOG_BOX = (-0.012, 0.198, 1.116, 1.110)
#: Least O-Net probability of a kept MTCNN face. On 40 faceless 1080p backgrounds of the face
#: benchmark the cascade's own 0.7 let through one box, of 0.906.
MTCNN_MIN_PROBABILITY = 0.9
#: MTCNN's pyramid starts this much below ``min_face``: its boxes are smaller than HOG's
#: (:data:`MTCNN_TO_HOG_BOX`), and a face a little under the first level's window is missed.
MTCNN_REACH = 0.8
#: What :meth:`FaceDetector.find_in_region` adds to each side of the expected box, in box sides:
#: the face may have moved or grown since the frames the box was predicted from.
REGION_MARGIN = 0.5
#: The expected face's side in the region's copy, in detector windows: a face a third smaller
#: than expected still fills a window, and a 2×2-side region stays a few hundred pixels wide.
REGION_FACE_WINDOWS = 1.5
#: Detector window side, in pixels of its input, of each kind of pass.
_WINDOWS = {"hog": MIN_FACE_SIZE, "cnn": CNN_MIN_FACE_SIZE, "mtcnn": MIN_FACE_SIZE}

_MODEL_PACKAGE = "face_recognition_models"


def _model_file(name: str) -> Path:
    # find_spec locates the package without running its __init__, which imports
    # pkg_resources (gone from current setuptools); the files are plain package data.
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {_MODEL_PACKAGE} package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"dlib model {name} is missing from the {_MODEL_PACKAGE} package")
    return path


def shape_predictor_path() -> Path:
    """Path of dlib's 68-point shape predictor shipped in ``face-recognition-models``."""
    return _model_file("shape_predictor_68_face_landmarks.dat")


def cnn_detector_path() -> Path:
    """Path of dlib's mmod CNN face detector shipped in ``face-recognition-models``."""
    return _model_file("mmod_human_face_detector.dat")


@dataclass(frozen=True)
class DetectedFace:
    """One face in a frame.

    ``box`` is (x0, y0, x1, y1) in frame pixels; ``landmarks`` are the 68 dlib
    points (x, y) in frame pixels, float32; ``confidence`` is the detector's
    score (HOG: SVM margin, larger is surer, about 0 at the threshold; MTCNN:
    O-Net's face probability; CNN: mmod confidence); ``detector`` is the pass
    that found it: ``"hog"``, ``"mtcnn"`` or ``"cnn"``, ``"hog_region"``,
    ``"mtcnn_region"`` or ``"cnn_region"`` (the pass run again where a face
    track expects a face), or ``"track"`` (no
    pass found it: the landmarks fitted in the box a face track predicts, and
    ``confidence`` is their crop's match with the track's neighbouring crops;
    see :mod:`facexray_forensics.faces.track`).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray = field(repr=False)
    confidence: float
    detector: str


@dataclass(frozen=True)
class FrameDetection:
    """The faces of one frame (most confident first) and the last pass that ran on it."""

    faces: list[DetectedFace]
    detector: str


class Candidate(NamedTuple):
    """One box of one pass, before its landmarks."""

    box: tuple[float, float, float, float]  # frame pixels
    confidence: float
    detector: str


def box_iou(first: Sequence[float], second: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    area = (first[2] - first[0]) * (first[3] - first[1]) + (second[2] - second[0]) * (second[3] - second[1])
    return overlap / (area - overlap)


def merge_passes(earlier: list[Candidate], later: list[Candidate]) -> list[Candidate]:
    """One box per face from two passes (boxes overlapping by :data:`MERGE_IOU` are one face).
    A sure box of the first pass wins, so auto keeps hog's boxes where hog is sure; an unsure
    one gives way to the later pass's box of the same face, which a confidence cut would
    otherwise drop with hog's."""
    def one_of(boxes: list[Candidate], found: Candidate) -> bool:
        return any(box_iou(found.box, other.box) >= MERGE_IOU for other in boxes)

    kept = [found for found in earlier if found.confidence >= SURE_CONFIDENCE or not one_of(later, found)]
    return kept + [found for found in later if not one_of(kept, found)]


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image must be H×W, H×W×3 or H×W×4, got shape {image.shape}")
    if image.shape[2] == 4:
        image = image[:, :, :3]
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"image is too small for face detection: {image.shape[:2]}")
    return np.ascontiguousarray(image)


def _capped(scale: float, pixels: int, max_pixels: int) -> float:
    """``scale``, lowered where the rescaled copy would have more than ``max_pixels``."""
    return min(scale, math.sqrt(max_pixels / pixels))


def _any_sure(found: list[Candidate]) -> bool:
    return any(face.confidence >= SURE_CONFIDENCE for face in found)


class FaceDetector:
    """Find faces and their 68 landmarks in RGB uint8 frames.

    ``method`` is ``"hog"`` (the fast pass alone; the face index uses it),
    ``"mtcnn"`` (the MTCNN pass alone), ``"cnn"`` (dlib's mmod pass alone,
    hundreds of times slower than HOG on a CPU) or ``"auto"`` (hog, then
    mtcnn where hog is not enough; see the module notes). ``upsample`` is
    dlib's pyramid upsampling count of the hog pass and ``max_side`` caps the
    longer side of the image it sees; ``min_face`` (box side in frame pixels)
    sizes the mtcnn and cnn passes; ``pad`` is the border added around each
    pass's image (fraction of its longer side) so faces cut by the frame edge
    are still found.
    """

    def __init__(
        self,
        method: str = "hog",
        upsample: int = 0,
        max_side: int = 640,
        pad: float = 0.0,
        min_face: int = MIN_FACE_SIZE,
    ) -> None:
        import dlib

        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if not isinstance(upsample, int) or upsample < 0:
            raise ValueError(f"upsample must be an int >= 0, got {upsample!r}")
        if max_side < MIN_FACE_SIZE:
            raise ValueError(f"max_side must be at least {MIN_FACE_SIZE}, got {max_side}")
        if not 0.0 <= pad <= 1.0:
            raise ValueError(f"pad must be in [0, 1], got {pad}")
        if min_face < 8:
            raise ValueError(f"min_face must be at least 8 pixels, got {min_face}")
        self.method = method
        self.upsample = upsample
        self.max_side = int(max_side)
        self.pad = float(pad)
        self.min_face = int(min_face)
        self.passes = PASSES[method]
        if "hog" in self.passes:
            self._hog = dlib.get_frontal_face_detector()
        if "cnn" in self.passes:
            self._cnn = dlib.cnn_face_detection_model_v1(str(cnn_detector_path()))
        if "mtcnn" in self.passes:
            from facexray_forensics.faces import mtcnn

            mtcnn.load_stages()  # fails here, at start-up, where the shipped weights are not the recorded file
            self._mtcnn = mtcnn.detect_faces
        self._predictor = dlib.shape_predictor(str(shape_predictor_path()))
        self._dlib = dlib

    def _scale(self, detector: str, height: int, width: int) -> float:
        """How much ``detector``'s pass rescales a height × width frame (MTCNN has its own pyramid)."""
        if detector == "hog":
            return min(1.0, self.max_side / max(height, width))
        if detector == "mtcnn":
            return 1.0
        return _capped(CNN_MIN_FACE_SIZE / self.min_face, height * width, CNN_MAX_PIXELS)

    def smallest_faces(self, height: int, width: int) -> dict[str, float]:
        """The smallest box side, in frame pixels, that each of this method's passes finds
        in a height × width frame."""
        window = {"hog": MIN_FACE_SIZE * 0.5**self.upsample, "mtcnn": self.min_face, "cnn": CNN_MIN_FACE_SIZE}
        return {name: window[name] / self._scale(name, height, width) for name in self.passes}

    def _copy(self, frame: np.ndarray, scale: float) -> tuple[np.ndarray, int]:
        """``frame`` rescaled by ``scale`` and padded by ``pad``, and the border's width."""
        import cv2

        copy = frame
        if scale != 1.0:
            height, width = frame.shape[:2]
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            # Area averaging does not alias when shrinking; bilinear is as good and faster when enlarging.
            copy = cv2.resize(frame, size, interpolation=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR)
        border = int(round(self.pad * max(copy.shape[:2])))
        if border:
            copy = cv2.copyMakeBorder(copy, border, border, border, border, cv2.BORDER_REPLICATE)
        return copy, border

    def _boxes(self, detector: str, image: np.ndarray, smallest: float,
               upsample: int) -> list[tuple[float, float, float, float, float]]:
        """Detector boxes (x0, y0, x1, y1, confidence) in the coordinates of ``image``, in HOG's
        box convention; ``smallest`` is the face side in ``image`` pixels MTCNN must reach,
        ``upsample`` HOG's pyramid upsampling."""
        if detector == "cnn":
            return [
                (d.rect.left(), d.rect.top(), d.rect.right() + 1, d.rect.bottom() + 1, float(d.confidence))
                for d in self._cnn(image, 0)
            ]
        if detector == "mtcnn":
            left, top, width, height = MTCNN_TO_HOG_BOX
            boxes = []
            for face in self._mtcnn(image, smallest * MTCNN_REACH):
                x0, y0, x1, _ = face.box
                side = x1 - x0
                x0, y0 = x0 + left * side, y0 + top * side
                if face.probability >= MTCNN_MIN_PROBABILITY:
                    boxes.append((x0, y0, x0 + width * side, y0 + height * side, face.probability))
            return boxes
        rects, scores, _ = self._hog.run(image, upsample, 0.0)
        return [(r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(s)) for r, s in zip(rects, scores)]

    def _run_pass(self, frame: np.ndarray, detector: str, scale: float | None = None,
                  offset: tuple[int, int] = (0, 0), name: str | None = None) -> list[Candidate]:
        """One pass over ``frame`` (at its own scale unless ``scale`` is given, as for a region),
        its boxes moved by ``offset`` (where ``frame`` is a region) and recorded as ``name``
        (default: the pass)."""
        whole_frame = scale is None
        scale = self._scale(detector, *frame.shape[:2]) if whole_frame else scale
        image, border = self._copy(frame, scale)
        # A region is scaled so the expected face spans REGION_FACE_WINDOWS windows: MTCNN must
        # reach one, and HOG's upsampling would only repeat what the region's scale already does.
        smallest = self.min_face * scale if whole_frame else _WINDOWS[detector]
        upsample = self.upsample if whole_frame else 0
        shift = (offset[0], offset[1], offset[0], offset[1])
        return [
            Candidate(tuple(float((v - border) / scale + s) for v, s in zip((x0, y0, x1, y1), shift)),
                      confidence, name or detector)
            for x0, y0, x1, y1, confidence in self._boxes(detector, image, smallest, upsample)
        ]

    def _auto(self, frame: np.ndarray) -> tuple[list[Candidate], str]:
        """hog, then mtcnn unless hog is sure of a face and sees nearly all sizes; the boxes
        and the last pass."""
        found = self._run_pass(frame, "hog")
        height, width = frame.shape[:2]
        hog_sees_most_sizes = self.smallest_faces(height, width)["hog"] <= HOG_BLIND_RATIO * self.min_face
        if hog_sees_most_sizes and _any_sure(found):
            return found, "hog"
        return merge_passes(found, self._run_pass(frame, "mtcnn")), "mtcnn"

    def _fit(self, frame: np.ndarray, found: Candidate) -> DetectedFace:
        """The face of one box, with its 68 landmarks fitted on the full-resolution frame."""
        x0, y0, x1, y1 = found.box
        rect = self._dlib.rectangle(int(round(x0)), int(round(y0)), int(round(x1)) - 1, int(round(y1)) - 1)
        shape = self._predictor(frame, rect)
        landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
        return DetectedFace(box=found.box, landmarks=landmarks, confidence=found.confidence, detector=found.detector)

    def find(self, image: np.ndarray) -> FrameDetection:
        """Detect faces in an RGB (or grey) uint8 image, and say which pass ran last."""
        frame = _as_rgb_uint8(image)
        if self.method == "auto":
            found, last = self._auto(frame)
        else:
            found, last = self._run_pass(frame, self.method), self.method
        faces = [self._fit(frame, box) for box in found]
        faces.sort(key=lambda face: -face.confidence)
        return FrameDetection(faces, last)

    def find_in_region(self, image: np.ndarray, box: Sequence[float], min_confidence: float = 0.0) -> FrameDetection:
        """Faces where one is expected: inside ``box`` (frame pixels) enlarged by
        :data:`REGION_MARGIN`, by this method's :data:`REGION_PASSES` on that region alone,
        each at the scale where a face of the box's size spans :data:`REGION_FACE_WINDOWS`
        windows. Only boxes overlapping ``box`` (IoU at least :data:`MERGE_IOU`) with at least
        ``min_confidence`` count; the passes stop at the first that finds one. Detectors are
        named ``"<pass>_region"``; the detection's ``detector`` is the last pass that ran."""
        frame = _as_rgb_uint8(image)
        height, width = frame.shape[:2]
        side = max(box[2] - box[0], box[3] - box[1])
        margin = REGION_MARGIN * side
        left, top = max(0, math.floor(box[0] - margin)), max(0, math.floor(box[1] - margin))
        right, bottom = min(width, math.ceil(box[2] + margin)), min(height, math.ceil(box[3] + margin))
        if side <= 0 or min(right - left, bottom - top) < 8:
            return FrameDetection([], "")
        region = np.ascontiguousarray(frame[top:bottom, left:right])
        found: list[Candidate] = []
        name = ""
        for detector in REGION_PASSES[self.method]:
            name = f"{detector}_region"
            scale = REGION_FACE_WINDOWS * _WINDOWS[detector] / side
            found = [candidate for candidate in self._run_pass(region, detector, scale, (left, top), name)
                     if box_iou(candidate.box, box) >= MERGE_IOU and candidate.confidence >= min_confidence]
            if found:
                break
        faces = sorted((self._fit(frame, candidate) for candidate in found), key=lambda face: -face.confidence)
        return FrameDetection(faces, name)

    def fit_box(self, image: np.ndarray, box: Sequence[float], confidence: float, detector: str) -> DetectedFace:
        """The 68 landmarks fitted inside ``box`` with no detection, recorded with ``confidence``
        and ``detector``: for a face whose place is known but that no pass finds."""
        return self._fit(_as_rgb_uint8(image), Candidate(tuple(float(v) for v in box), confidence, detector))

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Detect faces in an RGB (or grey) uint8 image; sorted by confidence, highest first."""
        return self.find(image).faces
