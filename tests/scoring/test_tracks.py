"""Face tracks across sampled frames and their robust aggregate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facexray_forensics.scoring import aggregate_track, assign_tracks, box_iou, score_tracks, video_score
from facexray_forensics.scoring import tracks as rules

_coordinate = st.integers(min_value=0, max_value=40)


def _raster(box) -> np.ndarray:
    mask = np.zeros((41, 41), bool)
    mask[box[1] : box[3], box[0] : box[2]] = True
    return mask


@settings(max_examples=200, deadline=None)
@given(_coordinate, _coordinate, _coordinate, _coordinate, _coordinate, _coordinate, _coordinate, _coordinate)
def test_iou_equals_pixel_count(a, b, c, d, e, f, g, h):
    first = (min(a, c), min(b, d), max(a, c), max(b, d))
    second = (min(e, g), min(f, h), max(e, g), max(f, h))
    one, two = _raster(first), _raster(second)
    union = (one | two).sum()
    expected = (one & two).sum() / union if union else 0.0
    assert box_iou(first, second) == pytest.approx(expected)


def test_two_faces_keep_their_tracks_through_gaps_and_order():
    left = [(10 + 3 * index, 10, 60 + 3 * index, 60) for index in range(6)]
    right = [(200 - 3 * index, 20, 250 - 3 * index, 70) for index in range(6)]
    frames, boxes, truth = [], [], []
    for index in range(6):
        faces = [(left[index], "left"), (right[index], "right")]
        if index % 2:
            faces.reverse()  # detection order must not matter
        if index == 3:
            faces = [face for face in faces if face[1] == "right"]  # the left face is missed once
        for box, who in faces:
            frames.append(index)
            boxes.append(box)
            truth.append(who)
    tracks = assign_tracks(frames, boxes)
    assert {who: {track for track, name in zip(tracks, truth) if name == who} for who in ("left", "right")} == {
        "left": {0},
        "right": {1},
    }


def test_a_long_absence_or_a_jump_starts_a_new_track():
    box = (0, 0, 50, 50)
    far = (300, 300, 350, 350)
    assert assign_tracks([0, 4], [box, box], max_gap=2) == [0, 1]
    assert assign_tracks([0, 3], [box, box], max_gap=2) == [0, 0]
    assert assign_tracks([0, 1], [box, far]) == [0, 1]


def test_two_faces_of_one_frame_never_share_a_track():
    box = (0, 0, 50, 50)
    assert assign_tracks([0, 0, 1, 1], [box, box, box, box]) == [0, 1, 0, 1]


def test_assign_tracks_rejects_bad_input():
    with pytest.raises(ValueError):
        assign_tracks([0], [])
    with pytest.raises(ValueError):
        assign_tracks([0], [(0, 0, 1, 1)], min_iou=0.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40))
def test_aggregate_follows_the_confident_strategy(scores):
    values = np.array(scores)
    forged = values[values >= rules.CONFIDENT_FORGED]
    real = values[values <= rules.CONFIDENT_REAL]
    if len(forged) >= rules.MIN_CONFIDENT_FRAMES and len(forged) >= rules.CONFIDENT_FORGED_SHARE * len(values):
        expected = (forged.mean(), "confident forged")
    elif len(real) >= rules.CONFIDENT_REAL_SHARE * len(values):
        expected = (real.mean(), "confident real")
    else:
        expected = (values.mean(), "mean")
    score, rule = aggregate_track(scores)
    assert rule == expected[1] and score == pytest.approx(expected[0])
    assert values.min() - 1e-12 <= score <= values.max() + 1e-12


def test_confident_frames_outweigh_hidden_ones():
    # 5 clearly forged frames among 7 where the boundary is hidden: the mean would dilute them.
    scores = [0.95] * 5 + [0.3] * 7
    assert aggregate_track(scores) == (pytest.approx(0.95), "confident forged")
    assert aggregate_track([0.95, 0.1, 0.1]) == (pytest.approx(0.3833333), "mean")  # one stray frame never decides


def test_aggregate_rejects_non_probabilities():
    for bad in ([], [1.5], [float("nan")]):
        with pytest.raises(ValueError):
            aggregate_track(bad)


def test_video_score_is_the_best_track():
    tracks = score_tracks([0, 0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9, 0.9], [0.0, 1.0, 0.0, 1.0, 2.0])
    assert [track.track for track in tracks] == [0, 1]
    assert tracks[1].rule == "confident forged" and (tracks[1].first_s, tracks[1].last_s) == (0.0, 2.0)
    assert video_score(tracks) == pytest.approx(0.9)
    assert video_score([]) is None
