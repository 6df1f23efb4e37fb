"""The faces plugin: the shared face path (decode under limits, detect, 68 landmarks, align) per item."""

from __future__ import annotations

import time
from collections.abc import Mapping

from facexray_forensics.evidence import DecodeError, DecodeLimits
from facexray_forensics.faces.detect import METHODS
from facexray_forensics.faces.extract import CropGeometry, DetectionSettings, FaceExtractor, FrameFaces
from facexray_forensics.faces.track import SECOND_LOOKS
from facexray_forensics.plugins import Plugin, ScanContext, Setting
from facexray_forensics.plugins.builtin.face_xray import MODEL_DIR
from facexray_forensics.records import Finding, Item, Status


def model_geometry(settings: Mapping) -> CropGeometry:
    """The crop geometry the scan's model was trained on, from its card (the default model's
    when no ``model_dir`` is set; the 256-pixel default when no model is installed at all)."""
    from facexray_forensics.model.weight_files import default_model_dir, read_card

    directory = settings["model_dir"] or default_model_dir()
    return read_card(directory).geometry if directory is not None else CropGeometry()


def _count(counts: dict, frame: FrameFaces) -> None:
    """Add one frame's sizes and face counts to the finding's values."""
    counts["frames"] += 1
    counts.setdefault("width", frame.width)
    counts.setdefault("height", frame.height)
    counts["faces_detected"] += frame.detected
    counts["faces_below_confidence"] += frame.below_confidence
    counts["faces_too_small"] += frame.too_small
    if frame.detector:
        counts["detectors"][frame.detector] = counts["detectors"].get(frame.detector, 0) + 1
    for crop in frame.crops:
        if crop.detected.detector in SECOND_LOOKS:
            found_again = counts["faces_recovered"]
            found_again[crop.detected.detector] = found_again.get(crop.detected.detector, 0) + 1
    counts["track_misses"] += frame.track_misses


class FacesPlugin(Plugin):
    """Decode each item's frames and find its faces, through :class:`FaceExtractor`, the
    same path the training faces took.

    Besides its declared settings it reads the scan's ``max_bytes``; the
    crop geometry comes from the card of the model in ``model_dir``. The
    finding's values count frames and faces, count under ``detectors``
    the frames by the detector pass that ran last on them ("hog", "mtcnn",
    "cnn"; see :mod:`facexray_forensics.faces.detect`), count under
    ``faces_recovered`` the faces a video's face track found again where a
    frame's detection missed them, by how ("hog_region", "mtcnn_region",
    "cnn_region", "track"; see :mod:`facexray_forensics.faces.track`), and under
    ``track_misses`` those it looked for there in vain, and carry the
    decoder's notes on the stream under ``stream`` (for a video: codec,
    duration, rotation, sampled timestamps, problems); ``crops`` hands the
    :class:`~facexray_forensics.faces.extract.FaceCrop` records to the face
    X-ray plugin; ``stage_seconds`` times decoding, detection
    (with landmarks) and alignment.
    """

    name = "faces"
    version = "1.4.0"
    handles = frozenset({"image", "video"})
    requires = ("hashing",)
    parallel = True
    description = ("Decodes frames within byte and pixel limits; face detection (dlib's HOG, then MTCNN where "
                   "needed), dlib's 68 landmarks, aligned crops.")
    settings = (
        MODEL_DIR,
        Setting("max_pixels", "int", DecodeLimits.max_pixels, "Refuse to decode pictures whose header declares more "
                "pixels than this (decompression-bomb guard).", minimum=1),
        Setting("video_frames", "int", DecodeLimits.video_frames, "Frames sampled from each video, evenly over its "
                "running time; a video's score is its best face track's.", minimum=1),
        Setting("min_face", "int", DetectionSettings.min_face, "Faces with a box side under this many pixels are not "
                "scored (face_too_small).", minimum=8),
        # dlib's own cut is 0; at 0.1 the mission patch on the astronaut's suit (0.07) is dropped,
        # while about 1% of the single faces in the Helen photos score below it.
        Setting("min_confidence", "float", DetectionSettings.min_confidence, "Face detections with a confidence "
                "(HOG: SVM margin; MTCNN: face probability, kept from 0.9) under this are counted but not scored; 0 keeps "
                "everything the detectors return."),
        Setting("detector", "choice", DetectionSettings.detector, "Face detector: auto (per frame: dlib's HOG, then "
                "MTCNN down to min_face unless HOG is sure of a face in a small frame; recorded per frame), hog (fast; "
                "misses faces under 240 px in 1080p and most masked faces), mtcnn (alone) or cnn (dlib's mmod CNN, "
                "seconds per frame on a CPU).", choices=METHODS),
    )

    def start_up(self, context: ScanContext) -> None:
        settings = context.settings
        self.limits = DecodeLimits(settings["max_bytes"], settings["max_pixels"], settings["video_frames"])
        detection = DetectionSettings(detector=settings["detector"], min_face=settings["min_face"],
                                      min_confidence=settings["min_confidence"])
        self.extractor = FaceExtractor(detection, model_geometry(settings))

    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        seconds = {"decode": 0.0, "detect": 0.0, "align": 0.0}
        finding = Finding(self.name, self.version, stage_seconds=seconds)
        counts = {"frames": 0, "faces_detected": 0, "faces_below_confidence": 0, "faces_too_small": 0,
                  "detectors": {}, "faces_recovered": {}, "track_misses": 0, "stream": {}}
        finding.values = counts
        frames_too_small = 0
        start = time.perf_counter()
        try:
            for frame in self.extractor.item_faces(item, self.limits, counts["stream"]):
                seconds["decode"] += time.perf_counter() - start - frame.detect_seconds - frame.align_seconds
                seconds["detect"] += frame.detect_seconds
                seconds["align"] += frame.align_seconds
                _count(counts, frame)
                frames_too_small += frame.frame_too_small
                finding.crops.extend(frame.crops)
                start = time.perf_counter()
        except DecodeError as error:
            finding.status, finding.reason = error.status, error.reason
            return finding
        if not finding.crops:
            finding.status, finding.reason = self._no_face(counts, frames_too_small)
        return finding

    def _no_face(self, counts: dict, frames_too_small: int) -> tuple[Status, str]:
        min_face, min_confidence = self.extractor.detection.min_face, self.extractor.detection.min_confidence
        if counts["faces_too_small"]:
            return Status.FACE_TOO_SMALL, f"{counts['faces_too_small']} face(s) found, all smaller than {min_face} pixels"
        if frames_too_small and frames_too_small == counts["frames"]:
            return Status.FACE_TOO_SMALL, f"the picture is smaller than the minimum face size of {min_face} pixels"
        if counts["faces_below_confidence"]:
            return Status.NO_FACE, (
                f"no face found above the detector confidence {min_confidence:g} "
                f"({counts['faces_below_confidence']} weaker detection(s) not scored)"
            )
        return Status.NO_FACE, "no face found"
