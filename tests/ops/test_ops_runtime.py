"""Runtime behaviour: threads, the GIL, and the cache of output buffers."""

import threading
import time

import numpy as np

from facexray_forensics import ops


def test_set_threads_round_trips():
    ops.set_threads(3)
    assert ops.get_threads() == 3
    ops.set_threads(0)
    assert ops.get_threads() >= 1


def test_batch_op_releases_the_gil():
    ops.set_threads(1)
    probe = np.random.default_rng(0).random((8, 256, 256, 3)).astype(np.float32)
    start = time.perf_counter()
    ops.gaussian_blur(probe, 31)
    # Size the batch so the op lasts about 0.4 s on this machine, however fast or busy it is.
    count = int(np.clip(8 * 0.4 / max(time.perf_counter() - start, 1e-4), 8, 512))
    images = np.resize(probe, (count, 256, 256, 3))
    span = {}

    def blur():
        span["start"] = time.perf_counter()
        ops.gaussian_blur(images, 31)
        span["end"] = time.perf_counter()

    worker = threading.Thread(target=blur)
    ticks = []
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
    worker.join()
    # With the GIL held through the op, this thread could not run between its
    # start and end (beyond a switch interval at either edge).
    margin = 0.02
    inside = [t for t in ticks if span["start"] + margin < t < span["end"] - margin]
    assert span["end"] - span["start"] > 4 * margin
    assert len(inside) > 0


def test_outputs_on_reused_buffers_are_independent_and_writable():
    rng = np.random.default_rng(1)
    foreground, background = rng.random((2, 128, 128, 3)).astype(np.float32)
    masks = [rng.random((128, 128)).astype(np.float32) for _ in range(4)]
    kept = ops.blend(foreground, background, masks[0])
    expected = kept.copy()
    for mask in masks[1:]:
        # Freed at once: its buffer returns to the cache and is handed out again.
        ops.blend(foreground, background, mask)
    others = [ops.blend(foreground, background, mask) for mask in masks[1:]]
    assert np.array_equal(kept, expected)
    addresses = {array.__array_interface__["data"][0] for array in [kept, *others]}
    assert len(addresses) == 4
    assert kept.flags.writeable and kept.flags.c_contiguous
    kept[0, 0, 0] = 7.0
    assert all(other[0, 0, 0] != 7.0 for other in others)
