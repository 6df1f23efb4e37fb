"""Benchmarks of the BI pipeline: end-to-end samples per second and where the time goes."""

from __future__ import annotations

import os
import time

import numpy as np

from facexray_forensics.blending.config import SamplerConfig
from facexray_forensics.blending.sampler import BlendDataset


def run(index_dir: str | os.PathLike, samples: int = 2000, seed: int = 0, warmup: int = 100,
        config: SamplerConfig | None = None) -> dict:
    """Draw ``samples`` BI samples in this process as the training dataset yields them
    (torch tensors) and report samples per second, by wall clock and by CPU time.

    On a shared machine the wall-clock rate understates the pipeline, so the
    CPU time of the process (``samples_per_cpu_s``) and the 1-minute load
    average are reported with it. A second pass with per-stage timers (CPU
    time of this thread) gives the split.
    """
    import cv2
    import torch

    from facexray_forensics import ops

    # One single-threaded pipeline, as in a DataLoader worker: OpenCV's thread pool
    # costs more CPU than it saves on 256×256 images.
    cv2.setNumThreads(1)
    dataset = BlendDataset(index_dir, seed=seed, config=config)
    sampler = dataset.sampler
    for number in range(warmup):  # page the index in, warm the allocators
        dataset.tensors(10**9 + number)
    load_before = os.getloadavg()[0]
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    for number in range(samples):
        dataset.tensors(number)
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    stages: dict = {}
    labels = 0
    timed_started = time.thread_time()
    for number in range(samples):
        record = sampler.draw(np.random.default_rng([seed, number]), timings=stages)
        labels += record.label
    timed = time.thread_time() - timed_started
    stages["other (rng, copies, records)"] = max(0.0, timed - sum(stages.values()))
    return {
        "samples_per_s": round(samples / wall, 1),
        "samples_per_cpu_s": round(samples / cpu, 1),
        "ms_per_sample": round(1e3 * wall / samples, 3),
        "cpu_ms_per_sample": round(1e3 * cpu / samples, 3),
        "samples": samples,
        "blended_fraction": round(labels / samples, 3),
        "size": sampler.size,
        "index_faces": len(sampler.index),
        "stage_cpu_ms_per_sample": {name: round(1e3 * value / samples, 3)
                                    for name, value in sorted(stages.items(), key=lambda kv: -kv[1])},
        "load_average_1min": round(max(load_before, os.getloadavg()[0]), 2),
        "cpu_count": os.cpu_count(),
        "threads": {"ops": ops.get_threads(), "torch": torch.get_num_threads(),
                    "opencv": cv2.getNumThreads()},
    }
