"""``fxr-forensic bench neighbours``: the neighbour table (:mod:`facexray_forensics.data.neighbours`) on synthetic landmarks."""

from __future__ import annotations

import os
import time

import numpy as np

from facexray_forensics.data.neighbours import nearest_other_source


def run(faces: int = 100_000, k: int = 100, seed: int = 0) -> dict:
    """Time :func:`nearest_other_source` on synthetic landmarks (about 3 faces per source).

    Reports wall seconds and the process's CPU seconds (all threads), with the
    1-minute load average: on a shared machine the wall time grows with the load,
    the CPU time much less."""
    import torch

    rng = np.random.default_rng(seed)
    base = rng.normal(size=(68, 2)).astype(np.float32) * 40 + 128
    landmarks = base + rng.normal(scale=6.0, size=(faces, 68, 2)).astype(np.float32)
    sources = np.sort(rng.integers(0, max(1, faces // 3), size=faces)).astype(np.int32)
    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    table = nearest_other_source(landmarks, sources, k=k)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "faces": faces,
        "k": k,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "faces_per_s": round(faces / seconds, 1),
        "threads": torch.get_num_threads(),
        "load_average_1min": round(max(load_before, os.getloadavg()[0]), 2),
        "cpu_count": os.cpu_count(),
        "filled": bool((table >= 0).all()),
    }
