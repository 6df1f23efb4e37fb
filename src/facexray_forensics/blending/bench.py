"""Benchmarks of the BI pipeline: end-to-end samples per second and where the time goes."""

from __future__ import annotations

import os
import time

import numpy as np

from facexray_forensics.blending.sampler import BlendDataset, SamplerConfig


def run(index_dir: str | os.PathLike, samples: int = 2000, seed: int = 0, warmup: int = 50,
        config: SamplerConfig | None = None) -> dict:
    """Draw ``samples`` BI samples in this process, as the training dataset yields them
    (torch tensors), and report samples per second plus the share of each stage."""
    import cv2
    import torch

    from facexray_forensics import ops

    dataset = BlendDataset(index_dir, seed=seed, config=config)
    sampler = dataset.sampler
    for number in range(warmup):  # page the index in, warm the allocators
        dataset.tensors(10**9 + number)
    started = time.perf_counter()
    for number in range(samples):
        dataset.tensors(number)
    seconds = time.perf_counter() - started
    # A second pass with per-stage timers (a little overhead) for the split.
    stages: dict = {}
    timed_started = time.perf_counter()
    labels = 0
    for number in range(samples):
        record = sampler.draw(np.random.default_rng([seed, number]), timings=stages)
        labels += record.label
    timed = time.perf_counter() - timed_started
    stages["other (rng, records, tensors)"] = max(0.0, seconds - sum(stages.values()))
    return {
        "samples_per_s": round(samples / seconds, 1),
        "samples": samples,
        "blended_fraction": round(labels / samples, 3),
        "size": sampler.size,
        "index_faces": len(sampler.index),
        "ms_per_sample": round(1e3 * seconds / samples, 3),
        "stage_ms_per_sample": {name: round(1e3 * value / samples, 3)
                                for name, value in sorted(stages.items(), key=lambda kv: -kv[1])},
        "timed_pass_samples_per_s": round(samples / timed, 1),
        "threads": {"ops": ops.get_threads(), "torch": torch.get_num_threads(),
                    "opencv": cv2.getNumThreads()},
    }
