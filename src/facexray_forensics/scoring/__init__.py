"""The scoring stage: from per-face probabilities to one score per item.

:mod:`facexray_forensics.scoring.tracks` joins a video's faces into tracks
across the sampled frames and aggregates each track robustly.
"""

from facexray_forensics.scoring.tracks import (
    TrackScore,
    aggregate_track,
    assign_tracks,
    box_iou,
    score_tracks,
    video_score,
)

__all__ = ["TrackScore", "aggregate_track", "assign_tracks", "box_iou", "score_tracks", "video_score"]
