"""The faces plugin: decode frames under limits, detect faces and 68 landmarks, align crops."""

from __future__ import annotations

import time
from collections.abc import Mapping

from facexray_forensics.evidence import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_VIDEO_FRAMES,
    DecodeError,
    DecodeLimits,
    decode_frames,
)
from facexray_forensics.plugins import Plugin, ScanContext
from facexray_forensics.records import Finding, Item, Status

#: Default of ``--min-face``: faces whose box is narrower or shorter than this are not scored.
DEFAULT_MIN_FACE = 64
#: Default of ``--min-confidence``: HOG detections with a smaller SVM margin are counted but not
#: scored. dlib's own cut is 0; at 0.1 the mission patch on the astronaut's suit (0.07) is dropped,
#: while about 1% of the single faces in the Helen photos score below it.
DEFAULT_MIN_CONFIDENCE = 0.1
CROP_SIZE = 256


class FacesPlugin(Plugin):
    """Decode each item's frames and find its faces.

    Settings: ``max_bytes``, ``max_pixels`` (decoding limits), ``video_frames``
    (frames sampled per video), ``min_face`` (pixels) and ``detector`` ("hog"
    or "cnn"). The finding's values count frames and faces, and carry the
    decoder's notes on the stream under ``stream`` (for a video: codec,
    duration, rotation, sampled timestamps, problems); ``data["faces"]``
    hands the aligned crops to the face X-ray plugin as
    ``(frame_index, timestamp, DetectedFace, AlignedFace)``;
    ``data["seconds"]`` times decoding, detection (with landmarks) and alignment.
    """

    name = "faces"
    version = "1.0.0"
    handles = frozenset({"image", "video"})
    requires = ("hashing",)
    parallel = True
    description = "Decodes frames within byte and pixel limits; dlib face detection, 68 landmarks, aligned crops."

    def start_up(self, context: ScanContext) -> None:
        from facexray_forensics.faces import FaceDetector

        settings = context.settings
        self.limits = DecodeLimits(
            int(settings.get("max_bytes", DEFAULT_MAX_BYTES)),
            int(settings.get("max_pixels", DEFAULT_MAX_PIXELS)),
            int(settings.get("video_frames", DEFAULT_VIDEO_FRAMES)),
        )
        self.min_face = int(settings.get("min_face", DEFAULT_MIN_FACE))
        self.min_confidence = float(settings.get("min_confidence", DEFAULT_MIN_CONFIDENCE))
        if self.min_face < 8:
            raise ValueError(f"min_face must be at least 8 pixels, got {self.min_face}")
        self.detector = FaceDetector(method=settings.get("detector", "hog"))

    def process(self, item: Item, earlier: Mapping[str, Finding]) -> Finding:
        from facexray_forensics.faces import align_face

        seconds = {"decode": 0.0, "detect": 0.0, "align": 0.0}
        finding = Finding(self.name, self.version, data={"faces": [], "seconds": seconds})
        counts = {"frames": 0, "faces_detected": 0, "faces_below_confidence": 0, "faces_too_small": 0, "stream": {}}
        finding.values = counts
        frames_too_small = 0
        start = time.perf_counter()
        try:
            for frame in decode_frames(item, self.limits, counts["stream"]):
                height, width = frame.pixels.shape[:2]
                counts["frames"] += 1
                counts.setdefault("width", width)
                counts.setdefault("height", height)
                seconds["decode"] += time.perf_counter() - start
                if min(height, width) < self.min_face:
                    frames_too_small += 1
                    start = time.perf_counter()
                    continue
                start = time.perf_counter()
                detected = self.detector.detect(frame.pixels)
                seconds["detect"] += time.perf_counter() - start
                start = time.perf_counter()
                for face in detected:
                    counts["faces_detected"] += 1
                    if face.confidence < self.min_confidence:
                        counts["faces_below_confidence"] += 1
                        continue
                    x0, y0, x1, y1 = face.box
                    if min(x1 - x0, y1 - y0) < self.min_face:
                        counts["faces_too_small"] += 1
                        continue
                    aligned = align_face(frame.pixels, face.landmarks, size=CROP_SIZE)
                    finding.data["faces"].append((frame.index, frame.timestamp, face, aligned))
                seconds["align"] += time.perf_counter() - start
                start = time.perf_counter()
        except DecodeError as error:
            finding.status, finding.reason = error.status, error.reason
            return finding
        if finding.data["faces"]:
            return finding
        if counts["faces_too_small"]:
            finding.status = Status.FACE_TOO_SMALL
            finding.reason = f"{counts['faces_too_small']} face(s) found, all smaller than {self.min_face} pixels"
        elif frames_too_small and frames_too_small == counts["frames"]:
            finding.status = Status.FACE_TOO_SMALL
            finding.reason = f"the picture is smaller than the minimum face size of {self.min_face} pixels"
        elif counts["faces_below_confidence"]:
            finding.status = Status.NO_FACE
            finding.reason = (
                f"no face found above the detector confidence {self.min_confidence:g} "
                f"({counts['faces_below_confidence']} weaker detection(s) not scored)"
            )
        else:
            finding.status, finding.reason = Status.NO_FACE, "no face found"
        return finding
