"""Face detection with dlib (HOG by default, mmod CNN optional) and 68 landmarks.

Speed: detection runs on a copy downscaled so its longer side is at most
``max_side`` pixels (640 by default), then boxes are mapped back and the
landmarks are fitted on the full-resolution frame, so accuracy of the
landmarks does not suffer from the downscale. With the HOG detector and no
upsampling, the smallest face found is about :data:`MIN_FACE_SIZE` pixels
(the detector's 80-pixel window) in the *detection* image, i.e.
``MIN_FACE_SIZE / scale`` pixels in the frame. ``upsample=1`` halves that at
about four times the cost.

Faces that touch the frame border (tight crops such as UTKFace) are missed by
a sliding-window detector; ``pad`` adds a border of that fraction of the
side (edge-replicated) before detection, then maps the results back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import importlib.util
from pathlib import Path

import numpy as np

#: Smallest face side, in pixels of the detection image, that HOG finds without upsampling.
MIN_FACE_SIZE = 80

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
    score (HOG: SVM margin, larger is surer, about 0 at the threshold; CNN:
    mmod confidence).
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray = field(repr=False)
    confidence: float


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


class FaceDetector:
    """Find faces and their 68 landmarks in RGB uint8 frames.

    ``method`` is ``"hog"`` (fast, CPU) or ``"cnn"`` (dlib's mmod detector:
    finds more profile and small faces, about 50× slower on CPU).
    ``upsample`` is dlib's pyramid upsampling count; ``max_side`` caps the
    longer side of the image the detector sees; ``pad`` is the border added
    around it (fraction of the longer side) so faces cut by the frame edge are
    still found.
    """

    def __init__(
        self,
        method: str = "hog",
        upsample: int = 0,
        max_side: int = 640,
        pad: float = 0.0,
    ) -> None:
        import dlib

        if method not in ("hog", "cnn"):
            raise ValueError(f"method must be 'hog' or 'cnn', got {method!r}")
        if not isinstance(upsample, int) or upsample < 0:
            raise ValueError(f"upsample must be an int >= 0, got {upsample!r}")
        if max_side < MIN_FACE_SIZE:
            raise ValueError(f"max_side must be at least {MIN_FACE_SIZE}, got {max_side}")
        if not 0.0 <= pad <= 1.0:
            raise ValueError(f"pad must be in [0, 1], got {pad}")
        self.method = method
        self.upsample = upsample
        self.max_side = int(max_side)
        self.pad = float(pad)
        if method == "hog":
            self._detector = dlib.get_frontal_face_detector()
        else:
            self._detector = dlib.cnn_face_detection_model_v1(str(cnn_detector_path()))
        self._predictor = dlib.shape_predictor(str(shape_predictor_path()))
        self._dlib = dlib

    def _boxes(self, image: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        """Detector boxes (x0, y0, x1, y1, confidence) in the coordinates of ``image``."""
        if self.method == "hog":
            rects, scores, _ = self._detector.run(image, self.upsample, 0.0)
            return [
                (r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(s))
                for r, s in zip(rects, scores)
            ]
        found = self._detector(image, self.upsample)
        return [
            (d.rect.left(), d.rect.top(), d.rect.right() + 1, d.rect.bottom() + 1, float(d.confidence))
            for d in found
        ]

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Detect faces in an RGB (or grey) uint8 image; sorted by confidence, highest first."""
        import cv2

        frame = _as_rgb_uint8(image)
        height, width = frame.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        small = frame
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        border = int(round(self.pad * max(small.shape[:2])))
        if border:
            small = cv2.copyMakeBorder(small, border, border, border, border, cv2.BORDER_REPLICATE)
        faces = []
        for x0, y0, x1, y1, confidence in self._boxes(small):
            box = tuple(float((v - border) / scale) for v in (x0, y0, x1, y1))
            rect = self._dlib.rectangle(
                int(round(box[0])), int(round(box[1])), int(round(box[2])) - 1, int(round(box[3])) - 1
            )
            shape = self._predictor(frame, rect)
            landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
            faces.append(DetectedFace(box=box, landmarks=landmarks, confidence=confidence))
        faces.sort(key=lambda face: -face.confidence)
        return faces
