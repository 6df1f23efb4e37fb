"""The neighbour table: for every face, the nearest faces of *other* sources by landmarks.

Landmarks are normalised per face (centred on their mean, scaled to unit norm
over all 136 coordinates), so the distance compares face shape and pose, not
position or size. For unit vectors ``|a - b|² = 2 - 2 a·b``, so the nearest
faces are those with the largest dot products: one matrix product and one
top-k per chunk of rows, with same-source pairs masked out; the top-k goes
through group maxima (see :func:`nearest_other_source`).
``fxr-forensic bench neighbours`` (:mod:`facexray_forensics.bench.neighbours`) times 100,000 faces.
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
    # Selection by groups: split each row's columns into groups of `group`; every one of the row's
    # k best lies in one of the k groups with the best maxima (k other values beat anything outside),
    # so a top-k over the group maxima and a top-k over those k groups' members is exact and reads
    # each value once instead of sorting the whole row.
    group = max(1, int(round(np.sqrt(count / width))))
    groups = -(-count // group)
    similarity = torch.full((rows, groups * group), float("-inf"))  # padding stays -inf
    for start in tqdm(range(0, count, rows), desc="neighbour table", unit="chunk", disable=not progress):
        stop = min(start + rows, count)
        height = stop - start
        block = similarity[:height]
        torch.matmul(vectors[start:stop], vectors.T, out=block[:, :count])
        chunk_groups = group_of[start:stop]
        sizes = group_sizes[chunk_groups]
        local_rows = np.repeat(np.arange(height), sizes)
        within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        columns = order[np.repeat(group_starts[chunk_groups], sizes) + within]
        block[torch.from_numpy(local_rows), torch.from_numpy(columns)] = float("-inf")
        grouped = block.view(height, groups, group)
        best_groups = torch.topk(grouped.amax(dim=2), min(width, groups), dim=1).indices
        members = torch.gather(grouped, 1, best_groups[:, :, None].expand(-1, -1, group))
        values, positions = torch.topk(members.reshape(height, -1), width, dim=1)
        indices = best_groups.gather(1, positions // group) * group + positions % group
        indices[values == float("-inf")] = -1
        table[start:stop, :width] = indices.numpy()
    return table
