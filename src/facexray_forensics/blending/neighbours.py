"""The neighbour table: for every face, the nearest faces of *other* sources by landmarks.

Landmarks are normalised per face (centred on their mean, scaled to unit norm
over all 136 coordinates), so the distance compares face shape and pose, not
position or size. For unit vectors ``|a - b|² = 2 - 2 a·b``, so the nearest
faces are those with the largest dot products: one matrix product and one
top-k per chunk of rows, with same-source pairs masked out. 100,000 faces take
well under a minute on two cores (``bench_neighbours``).
"""

from __future__ import annotations

import numpy as np


def normalise_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """N×P×2 landmarks -> N×(2P) float32 rows, each centred and of unit norm."""
    points = np.asarray(landmarks, dtype=np.float32)
    if points.ndim != 3 or points.shape[2] != 2:
        raise ValueError(f"landmarks must be N×P×2, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("landmarks must be finite")
    centred = points - points.mean(axis=1, keepdims=True)
    flat = centred.reshape(len(points), -1)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    if (norms <= 0).any():
        raise ValueError("a face's landmarks all coincide")
    return np.ascontiguousarray(flat / norms, dtype=np.float32)


def nearest_other_source(
    landmarks: np.ndarray,
    sources: np.ndarray,
    k: int = 100,
    chunk: int = 1024,
    progress: bool = False,
) -> np.ndarray:
    """The ``k`` nearest faces of another source for each face, nearest first.

    ``landmarks`` N×P×2, ``sources`` N integer source ids. Returns N×k int32
    face indices; where fewer than ``k`` faces of other sources exist the row
    ends with -1.
    """
    import torch
    from tqdm import tqdm

    source_ids = np.asarray(sources)
    if source_ids.ndim != 1 or not np.issubdtype(source_ids.dtype, np.integer):
        raise TypeError("sources must be a 1-D integer array")
    count = len(source_ids)
    if len(landmarks) != count:
        raise ValueError(f"{len(landmarks)} landmark sets but {count} sources")
    if k < 1 or chunk < 1:
        raise ValueError("k and chunk must be >= 1")
    table = np.full((count, k), -1, dtype=np.int32)
    if count < 2:
        return table
    vectors = torch.from_numpy(normalise_landmarks(landmarks))
    # Faces grouped by source: for a row, its own source's members are one slice of `order`.
    order = np.argsort(source_ids, kind="stable")
    _, group_of, group_sizes = np.unique(source_ids, return_inverse=True, return_counts=True)
    group_starts = np.concatenate([[0], np.cumsum(group_sizes)[:-1]])
    width = min(k, count)
    rows = min(chunk, count)
    similarity = torch.empty(rows, count)
    for start in tqdm(range(0, count, rows), desc="neighbour table", unit="chunk", disable=not progress):
        stop = min(start + rows, count)
        block = similarity[: stop - start]
        torch.matmul(vectors[start:stop], vectors.T, out=block)
        groups = group_of[start:stop]
        sizes = group_sizes[groups]
        local_rows = np.repeat(np.arange(stop - start), sizes)
        within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        columns = order[np.repeat(group_starts[groups], sizes) + within]
        block[torch.from_numpy(local_rows), torch.from_numpy(columns)] = float("-inf")
        values, indices = torch.topk(block, width, dim=1, largest=True, sorted=True)
        indices[values == float("-inf")] = -1
        table[start:stop, :width] = indices.numpy()
    return table


def bench_neighbours(faces: int = 100_000, k: int = 100, seed: int = 0) -> dict:
    """Time :func:`nearest_other_source` on synthetic landmarks (about 3 faces per source)."""
    import time

    import torch

    rng = np.random.default_rng(seed)
    base = rng.normal(size=(68, 2)).astype(np.float32) * 40 + 128
    landmarks = base + rng.normal(scale=6.0, size=(faces, 68, 2)).astype(np.float32)
    sources = np.sort(rng.integers(0, max(1, faces // 3), size=faces)).astype(np.int32)
    started = time.perf_counter()
    table = nearest_other_source(landmarks, sources, k=k)
    seconds = time.perf_counter() - started
    return {
        "faces": faces,
        "k": k,
        "seconds": round(seconds, 2),
        "faces_per_s": round(faces / seconds, 1),
        "threads": torch.get_num_threads(),
        "filled": bool((table >= 0).all()),
    }
