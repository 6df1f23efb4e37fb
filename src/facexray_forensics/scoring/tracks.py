"""From per-frame face scores to one score per video.

Faces in the sampled frames of a video are joined into tracks by box
overlap, each track gets one robust score, and the video's score is the
highest track score: one forged face among real ones is what an examiner
must see, while a single odd frame of a face should not decide alone.

Pure functions over plain values; no I/O, no model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: A face joins a track when its box overlaps the track's last box by at least
#: this intersection over union. Samples lie about two seconds apart in a
#: one-minute video at the default sampling, so the bar is set low.
MIN_TRACK_IOU = 0.3

#: A track stays open across this many sampled frames without its face
#: (a turned head or a missed detection) before a new track starts.
MAX_TRACK_GAP = 2

#: The "confident strategy" of the DFDC winners, with our thresholds: a frame
#: is confidently forged at probability >= CONFIDENT_FORGED and confidently
#: real at <= CONFIDENT_REAL.
CONFIDENT_FORGED = 0.8
CONFIDENT_REAL = 0.2
#: Confidently forged frames decide a track when they are at least this share
#: of its frames and at least MIN_CONFIDENT_FRAMES of them: a forgery that
#: shows in a good part of the track is not diluted by frames where the
#: boundary is hidden (motion blur, profile), yet one stray frame cannot decide.
CONFIDENT_FORGED_SHARE = 0.4
MIN_CONFIDENT_FRAMES = 3
#: Confidently real frames decide when nearly all frames are confidently real.
CONFIDENT_REAL_SHARE = 0.9


def box_iou(first: Sequence[float], second: Sequence[float]) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1); 0 when either is empty."""
    x0, y0 = max(first[0], second[0]), max(first[1], second[1])
    x1, y1 = min(first[2], second[2]), min(first[3], second[3])
    intersection = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area_first = max(0.0, first[2] - first[0]) * max(0.0, first[3] - first[1])
    area_second = max(0.0, second[2] - second[0]) * max(0.0, second[3] - second[1])
    union = area_first + area_second - intersection
    return intersection / union if union > 0 else 0.0


def assign_tracks(
    frame_indices: Sequence[int],
    boxes: Sequence[Sequence[float]],
    min_iou: float = MIN_TRACK_IOU,
    max_gap: int = MAX_TRACK_GAP,
) -> list[int]:
    """Track number (0, 1, ...) of each face, given its sampled frame and box.

    Frames are visited in order; within a frame, face-track pairs are taken
    greedily by descending overlap with the track's latest box, each face and
    each track at most once, so two faces in one frame never share a track.
    Numbers follow first appearance, so the result is deterministic.
    """
    if len(frame_indices) != len(boxes):
        raise ValueError(f"{len(frame_indices)} frame indices for {len(boxes)} boxes")
    if not 0.0 < min_iou <= 1.0:
        raise ValueError(f"min_iou must be in (0, 1], got {min_iou}")
    if max_gap < 0:
        raise ValueError(f"max_gap must be non-negative, got {max_gap}")
    order = sorted(range(len(boxes)), key=lambda face: (frame_indices[face], face))
    tracks: list[tuple[int, Sequence[float]]] = []  # per track: last frame index, last box
    assigned = [-1] * len(boxes)
    position = 0
    while position < len(order):
        frame = frame_indices[order[position]]
        faces = []
        while position < len(order) and frame_indices[order[position]] == frame:
            faces.append(order[position])
            position += 1
        open_tracks = [number for number, (last, _) in enumerate(tracks) if frame - last - 1 <= max_gap]
        pairs = sorted(
            (
                (-box_iou(boxes[face], tracks[number][1]), number, face)
                for face in faces
                for number in open_tracks
            ),
        )
        taken_tracks: set[int] = set()
        for negative_iou, number, face in pairs:
            if -negative_iou < min_iou:
                break
            if assigned[face] >= 0 or number in taken_tracks:
                continue
            assigned[face] = number
            taken_tracks.add(number)
        for face in faces:
            if assigned[face] < 0:
                assigned[face] = len(tracks)
                tracks.append((frame, boxes[face]))
            else:
                tracks[assigned[face]] = (frame, boxes[face])
    return assigned


def aggregate_track(scores: Sequence[float]) -> tuple[float, str]:
    """One score for a track of per-frame probabilities, and the rule that gave it.

    Rules, first match wins: "confident forged" (mean of the frames at or
    above CONFIDENT_FORGED when they are at least CONFIDENT_FORGED_SHARE of
    the track and at least MIN_CONFIDENT_FRAMES), "confident real" (mean of
    the frames at or below CONFIDENT_REAL when they are at least
    CONFIDENT_REAL_SHARE of the track), else "mean" of all frames.
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("a track needs at least one score")
    if not np.all(np.isfinite(values)) or values.min() < 0.0 or values.max() > 1.0:
        raise ValueError("track scores must be probabilities in [0, 1]")
    forged = values[values >= CONFIDENT_FORGED]
    if forged.size >= MIN_CONFIDENT_FRAMES and forged.size >= CONFIDENT_FORGED_SHARE * values.size:
        return float(forged.mean()), "confident forged"
    real = values[values <= CONFIDENT_REAL]
    if real.size >= CONFIDENT_REAL_SHARE * values.size:
        return float(real.mean()), "confident real"
    return float(values.mean()), "mean"


@dataclass(frozen=True)
class TrackScore:
    """One face track of a video: where it appears and its aggregated score."""

    track: int
    score: float
    rule: str
    frames: int
    first_s: float | None
    last_s: float | None
    peak: float

    def as_dict(self) -> dict:
        """Plain values for a finding."""
        return {
            "track": self.track,
            "score": self.score,
            "rule": self.rule,
            "frames": self.frames,
            "first_s": self.first_s,
            "last_s": self.last_s,
            "peak": self.peak,
        }


def score_tracks(
    tracks: Sequence[int], scores: Sequence[float], timestamps: Sequence[float | None]
) -> list[TrackScore]:
    """Aggregate per-face scores by track (as numbered by :func:`assign_tracks`)."""
    if not len(tracks) == len(scores) == len(timestamps):
        raise ValueError("tracks, scores and timestamps must have one entry per face")
    results = []
    for number in sorted(set(tracks)):
        members = [face for face, track in enumerate(tracks) if track == number]
        values = [scores[face] for face in members]
        times = [timestamps[face] for face in members if timestamps[face] is not None]
        score, rule = aggregate_track(values)
        results.append(
            TrackScore(
                track=number,
                score=score,
                rule=rule,
                frames=len(members),
                first_s=min(times) if times else None,
                last_s=max(times) if times else None,
                peak=float(max(values)),
            )
        )
    return results


def video_score(track_scores: Sequence[TrackScore]) -> float | None:
    """The highest track score; None (not 0) when no face was tracked."""
    return max((track.score for track in track_scores), default=None)
