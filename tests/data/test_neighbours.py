"""The neighbour table against a brute-force numpy reference."""

import numpy as np
import pytest

from facexray_forensics.data.neighbours import nearest_other_source, normalise_landmarks


def brute_force(landmarks, sources):
    """Float64 distances between normalised landmarks, same-source pairs at infinity."""
    points = landmarks.astype(np.float64)
    points = points - points.mean(axis=1, keepdims=True)
    flat = points.reshape(len(points), -1)
    flat /= np.linalg.norm(flat, axis=1, keepdims=True)
    distance = np.sqrt(((flat[:, None, :] - flat[None, :, :]) ** 2).sum(-1))
    distance[sources[:, None] == sources[None, :]] = np.inf
    return distance


@pytest.mark.parametrize("chunk", [7, 64, 1000])
def test_table_equals_brute_force(chunk):
    rng = np.random.default_rng(4)
    landmarks = rng.normal(128, 30, size=(260, 68, 2))
    sources = rng.integers(0, 50, size=260)
    table = nearest_other_source(landmarks, sources, k=100, chunk=chunk)
    distance = brute_force(landmarks, sources)
    reference = np.argsort(distance, axis=1, kind="stable")[:, :100]
    assert table.shape == (260, 100) and table.dtype == np.int32
    assert (table >= 0).all()
    rows = np.arange(260)[:, None]
    # Same neighbours at the same ranks; where float32 rounding swaps a near-tie, the distances agree.
    np.testing.assert_allclose(distance[rows, table], distance[rows, reference], atol=1e-5)
    assert (table == reference).mean() > 0.999
    assert not (sources[table] == sources[:, None]).any()


def test_rows_end_in_minus_one_when_few_other_sources():
    rng = np.random.default_rng(0)
    landmarks = rng.normal(size=(10, 68, 2))
    sources = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
    table = nearest_other_source(landmarks, sources, k=6)
    for face in range(10):
        others = int((sources != sources[face]).sum())
        valid = table[face][table[face] >= 0]
        assert len(valid) == min(6, others)
        assert (table[face][len(valid):] == -1).all()
        assert not (sources[valid] == sources[face]).any()
        assert len(set(valid.tolist())) == len(valid)


def test_one_source_has_no_neighbours():
    table = nearest_other_source(np.random.default_rng(1).normal(size=(5, 68, 2)), np.zeros(5, int), k=3)
    assert (table == -1).all()


def test_normalisation_ignores_position_and_size():
    rng = np.random.default_rng(2)
    landmarks = rng.normal(size=(3, 68, 2))
    moved = landmarks * 3.5 + np.array([40.0, -7.0])
    np.testing.assert_allclose(normalise_landmarks(moved), normalise_landmarks(landmarks), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(normalise_landmarks(landmarks), axis=1), 1.0, atol=1e-6)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        normalise_landmarks(np.zeros((2, 68, 3)))
    with pytest.raises(ValueError):
        normalise_landmarks(np.zeros((2, 68, 2)))  # all points coincide
    with pytest.raises(TypeError):
        nearest_other_source(np.ones((2, 68, 2)), np.array([0.5, 1.5]))
    with pytest.raises(ValueError):
        nearest_other_source(np.random.default_rng(0).normal(size=(3, 68, 2)), np.array([0, 1]))
