"""One way from a file to its aligned faces, shared by the scan and the face index.

decode (the scan's frame decoders: Pillow with EXIF orientation, PyAV for
videos, under :class:`DecodeLimits`) -> detect (:class:`FaceDetector` with
:class:`DetectionSettings`) -> keep faces above the confidence and size cuts
-> align (:func:`align_face` at the model's :class:`CropGeometry`). Each
frame is detected alone; where a face track has a face in the frames around
one that missed it, :mod:`facexray_forensics.faces.track` looks again in
that frame (:meth:`FaceExtractor.item_faces`).

The face index that training draws from and the faces stage of a scan both
go through :class:`FaceExtractor`, so the model is trained on exactly the
crops a scan gives it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field

from facexray_forensics.evidence.decode import DecodeLimits, decode_frames
from facexray_forensics.faces.align import CROP_SCALE, AlignedFace, align_face
from facexray_forensics.faces.detect import DetectedFace, FaceDetector
from facexray_forensics.faces.track import track_faces
from facexray_forensics.records import Frame, Item

#: Normalisations a model can declare for its input; "imagenet": (x/255 - mean) / std of ImageNet.
NORMALISATIONS = ("imagenet",)


@dataclass(frozen=True)
class CropGeometry:
    """The input a model was trained on: crop side in pixels, the square's size
    relative to the landmark extent, and the pixel normalisation. Recorded in the
    model card; the scan reads it from there."""

    size: int = 256
    scale: float = CROP_SCALE
    normalisation: str = "imagenet"

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 32 or self.size % 32:
            raise ValueError(f"crop size must be a multiple of 32 pixels, got {self.size!r}")
        if not 1.0 <= self.scale <= 3.0:
            raise ValueError(f"crop scale must be in [1, 3], got {self.scale}")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {self.normalisation!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> CropGeometry:
        return cls(int(data["size"]), float(data["scale"]), str(data["normalisation"]))


@dataclass(frozen=True)
class DetectionSettings:
    """How faces are found and which are kept: the detector ("auto", "hog", "mtcnn" or "cnn",
    see :mod:`facexray_forensics.faces.detect`), the upsampling and input cap of its
    HOG pass, and the cuts (``min_face`` pixels of box side in the original frame,
    ``min_confidence`` of the detector's score). ``min_face`` is stated here once: it
    is the cut, and it sizes the passes that look for small faces, so that none of
    them stops short of it."""

    detector: str = "auto"
    upsample: int = 0
    max_side: int = 640
    min_face: int = 64
    min_confidence: float = 0.1

    def __post_init__(self) -> None:
        if self.min_face < 8:
            raise ValueError(f"min_face must be at least 8 pixels, got {self.min_face}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FaceCrop:
    """One kept face: where it was (frame number and time), what the detector
    found, and the aligned crop the model sees."""

    frame_index: int
    timestamp: float | None
    detected: DetectedFace = field(repr=False)
    aligned: AlignedFace = field(repr=False)

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.detected.box
        return (x1 - x0) * (y1 - y0)


@dataclass
class FrameFaces:
    """What one frame gave: its size, the kept faces, and the counts of the rest."""

    index: int
    width: int
    height: int
    crops: list[FaceCrop] = field(default_factory=list)
    detected: int = 0
    below_confidence: int = 0
    too_small: int = 0
    frame_too_small: bool = False  # the frame itself is smaller than the minimum face
    detector: str = ""  # the detector pass that ran last ("hog", "mtcnn", "cnn"); "" when none ran
    track_misses: int = 0  # faces a track expected here that no second look found (faces.track)
    detect_seconds: float = 0.0  # detection with landmarks
    align_seconds: float = 0.0


class FaceExtractor:
    """Decode, detect, filter and align, with one set of settings."""

    def __init__(self, detection: DetectionSettings = DetectionSettings(),
                 geometry: CropGeometry = CropGeometry()) -> None:
        self.detection = detection
        self.geometry = geometry
        self.detector = FaceDetector(method=detection.detector, upsample=detection.upsample,
                                     max_side=detection.max_side, min_face=detection.min_face)

    def frame_faces(self, frame: Frame) -> FrameFaces:
        """The faces of one decoded frame, above the cuts, aligned; with the detector pass
        that ran last on it."""
        height, width = frame.pixels.shape[:2]
        result = FrameFaces(frame.index, width, height)
        if min(height, width) < self.detection.min_face:
            result.frame_too_small = True
            return result
        started = time.perf_counter()
        detection = self.detector.find(frame.pixels)
        result.detect_seconds = time.perf_counter() - started
        result.detector = detection.detector
        for face in detection.faces:
            self.keep_face(frame, face, result)
        result.align_seconds = time.perf_counter() - started - result.detect_seconds
        return result

    def keep_face(self, frame: Frame, face: DetectedFace, result: FrameFaces) -> FaceCrop | None:
        """Count ``face`` in ``result`` and, when it passes the confidence and size cuts,
        align it and add its crop; the crop, or None where a cut dropped it."""
        result.detected += 1
        if face.confidence < self.detection.min_confidence:
            result.below_confidence += 1
            return None
        x0, y0, x1, y1 = face.box
        if min(x1 - x0, y1 - y0) < self.detection.min_face:
            result.too_small += 1
            return None
        aligned = align_face(frame.pixels, face.landmarks, size=self.geometry.size, scale=self.geometry.scale)
        crop = FaceCrop(frame.index, frame.timestamp, face, aligned)
        result.crops.append(crop)
        return crop

    def item_faces(self, item: Item, limits: DecodeLimits, notes: dict | None = None) -> Iterator[FrameFaces]:
        """Every decoded frame of ``item`` with its faces, in order; in a video, faces a track
        expects but a frame's detection missed are looked for again there (one frame is held
        back until the next is detected). Raises
        :class:`~facexray_forensics.evidence.DecodeError` when the item gives no frames."""
        yield from track_faces(self, decode_frames(item, limits, notes))
