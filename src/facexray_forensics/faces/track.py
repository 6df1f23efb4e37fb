"""A second look along face tracks, for a face that one sampled frame of a video misses.

Each sampled frame is first detected alone
(:meth:`~facexray_forensics.faces.extract.FaceExtractor.frame_faces`). A face
found in the previous sampled frame is then expected in this one: at its box
interpolated, by time, towards the same track's box in the next sampled
frame, or at its previous box where the next frame does not have it. Faces
are joined into tracks as a video's score joins them
(:func:`~facexray_forensics.scoring.tracks.assign_tracks`: box IoU at least
:data:`~facexray_forensics.scoring.tracks.MIN_TRACK_IOU`). Where no face of
the frame overlaps the expected box that much, the frame is looked at again
there:

1. the detector's passes on the expected box's region alone
   (:meth:`~facexray_forensics.faces.detect.FaceDetector.find_in_region`:
   ``hog_region``, then ``mtcnn_region`` under ``auto``), with the scan's
   confidence cut;
2. else the 68 landmarks fitted in the expected box (detector ``"track"``),
   kept only when they pass :func:`track_match`: their aligned crop looks
   like the track's neighbouring crops and their extent is the neighbours';
3. else the miss is counted (``FrameFaces.track_misses``).

Only faces a pass found predict, never a ``"track"`` fit: a track is carried
over one frame that every pass misses, not along a run of them on landmarks
alone. Recovered faces go through the same cuts and alignment as the rest and
join the video's tracks like any other face.

Limitations: the check compares appearance, not identity. On 80 LFW faces,
aligned crops of two different people reach :data:`MIN_MATCH` in about 2 in
100 pairs over the whole crop and 5 in 100 over its upper half, while faces
and non-faces (background, a cat, clothing) stay under 0.3; so a different
face standing exactly where a track expects its own could be taken for it. A
face that moves more than :data:`~facexray_forensics.faces.detect.REGION_MARGIN`
of its side from its expected box is not looked for there.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from facexray_forensics.faces.align import align_face
from facexray_forensics.faces.detect import REGION_PASSES, DetectedFace, box_iou
from facexray_forensics.records import Frame
from facexray_forensics.scoring.tracks import MIN_TRACK_IOU, assign_tracks

if TYPE_CHECKING:
    from facexray_forensics.faces.extract import FaceCrop, FaceExtractor, FrameFaces

#: The detector recorded for a face whose landmarks were fitted in its track's expected box.
TRACK = "track"
#: The detectors of the faces a second look found: the region passes and the track fit.
SECOND_LOOKS = frozenset({f"{name}_region" for passes in REGION_PASSES.values() for name in passes} | {TRACK})
#: Normalised cross-correlation from which a fitted face's crop is the track's face. Measured on
#: the astronaut's face between two sharp frames: 0.93 with a grey block over its lower half
#: (upper half), 0.87 under a Gaussian blur of sigma 9 px on an 88-px face, 0.73 at 12 px.
MIN_MATCH = 0.7
#: Side of the grey thumbnails compared: coarse enough that blur and compression barely change them.
THUMBNAIL = 16
#: How far a fitted face's landmark extent may be from its neighbours' (ratio): a fit that
#: collapsed or spread over the region is not a face.
EXTENT_RANGE = (0.75, 1.33)


@dataclass(frozen=True)
class ExpectedFace:
    """A face a track expects in a frame: its predicted box (frame pixels) and the crops,
    in the previous and, where it has the face, the next sampled frame, it comes from."""

    box: tuple[float, float, float, float]
    neighbours: tuple[FaceCrop, ...]


def interpolate(first: tuple[float, ...], second: tuple[float, ...], fraction: float) -> tuple[float, ...]:
    """The box ``fraction`` of the way from ``first`` to ``second`` (0: first, 1: second)."""
    return tuple(a + fraction * (b - a) for a, b in zip(first, second))


def _fraction(before: FaceCrop, now: Frame, after: FaceCrop) -> float:
    """Where ``now`` lies between two sampled frames: by time, or by sample number where a time is unknown."""
    times = (before.timestamp, now.timestamp, after.timestamp)
    if None in times or not times[0] < times[2]:
        times = (before.frame_index, now.index, after.frame_index)
    return (times[1] - times[0]) / (times[2] - times[0])


def expected_faces(now: Frame, previous: FrameFaces, following: FrameFaces | None) -> list[ExpectedFace]:
    """Where each face a pass found in ``previous`` should be in ``now``, given ``following``
    (the next sampled frame's own detection, or None at the end)."""
    anchors = [crop for crop in previous.crops if crop.detected.detector != TRACK]
    after = following.crops if following is not None else []
    # Sample numbers 0 and 2: one frame apart, as the track of a video's score would join them.
    tracks = assign_tracks([0] * len(anchors) + [2] * len(after), [crop.detected.box for crop in anchors + after])
    partners = dict(zip(tracks[len(anchors):], after))
    expected = []
    for anchor, track in zip(anchors, tracks):
        later = partners.get(track)
        if later is None:
            expected.append(ExpectedFace(anchor.detected.box, (anchor,)))
        else:
            box = interpolate(anchor.detected.box, later.detected.box, _fraction(anchor, now, later))
            expected.append(ExpectedFace(box, (anchor, later)))
    return expected


def _thumbnail(crop: np.ndarray) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.resize(grey, (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA)


def _correlation(first: np.ndarray, second: np.ndarray) -> float:
    first, second = first - first.mean(), second - second.mean()
    norm = float(np.linalg.norm(first) * np.linalg.norm(second))
    return float((first * second).sum()) / norm if norm > 0 else 0.0


def _extent(landmarks: np.ndarray) -> float:
    return float((landmarks.max(axis=0) - landmarks.min(axis=0)).max())


def track_match(crop: np.ndarray, landmarks: np.ndarray, neighbours: Iterable[FaceCrop]) -> float:
    """How well a fitted face (its aligned ``crop`` and frame ``landmarks``) matches its
    track's neighbouring crops: the best normalised cross-correlation of grey thumbnails,
    over the whole crop or its upper half (a mask or a hand hides the lower); -1 when its
    landmark extent is outside :data:`EXTENT_RANGE` of theirs."""
    neighbours = list(neighbours)
    ratio = _extent(landmarks) / np.mean([_extent(crop.detected.landmarks) for crop in neighbours])
    if not EXTENT_RANGE[0] <= ratio <= EXTENT_RANGE[1]:
        return -1.0
    mine, half = _thumbnail(crop), THUMBNAIL // 2
    return max(
        max(_correlation(mine, theirs), _correlation(mine[:half], theirs[:half]))
        for theirs in (_thumbnail(neighbour.aligned.crop) for neighbour in neighbours)
    )


def look_again(extractor: FaceExtractor, frame: Frame, expected: ExpectedFace) -> DetectedFace | None:
    """The expected face in ``frame``: found by the region passes, else fitted in its box
    and checked by :func:`track_match`; None when neither finds it."""
    cut = extractor.detection.min_confidence
    found = extractor.detector.find_in_region(frame.pixels, expected.box, min_confidence=cut)
    if found.faces:
        return found.faces[0]
    fitted = extractor.detector.fit_box(frame.pixels, expected.box, 0.0, TRACK)
    geometry = extractor.geometry
    crop = align_face(frame.pixels, fitted.landmarks, size=geometry.size, scale=geometry.scale).crop
    match = track_match(crop, fitted.landmarks, expected.neighbours)
    # The match stands as the face's confidence: it is what the face was kept on.
    return replace(fitted, confidence=match) if match >= MIN_MATCH else None


def _second_look(extractor: FaceExtractor, frame: Frame, result: FrameFaces,
                 previous: FrameFaces | None, following: FrameFaces | None) -> FrameFaces:
    """``result`` (``frame``'s own faces) with the faces its tracks expect looked for again."""
    if previous is None or result.frame_too_small:
        return result
    started = time.perf_counter()
    for expected in expected_faces(frame, previous, following):
        if any(box_iou(crop.detected.box, expected.box) >= MIN_TRACK_IOU for crop in result.crops):
            continue
        face = look_again(extractor, frame, expected)
        if face is None:
            result.track_misses += 1
        else:
            extractor.keep_face(frame, face, result)
    result.detect_seconds += time.perf_counter() - started
    return result


def track_faces(extractor: FaceExtractor, frames: Iterable[Frame]) -> Iterator[FrameFaces]:
    """The faces of each frame, in order, with a second look where a track expects a face.

    A frame is finished once the next one is detected, so one frame's pixels are held back.
    """
    previous: FrameFaces | None = None
    held: tuple[Frame, FrameFaces] | None = None
    for frame in frames:
        detected = extractor.frame_faces(frame)
        if held is not None:
            previous = _second_look(extractor, *held, previous, detected)
            yield previous
        held = (frame, detected)
    if held is not None:
        yield _second_look(extractor, *held, previous, None)
