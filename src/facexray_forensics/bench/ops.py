"""Speed of the blending ops on one thread, against the usual Python reference chain.

The per-sample chain of a blended-image training sample is
warp (the mask, piecewise affine on a 4×4 grid) → Gaussian blur (the mask) →
colour transfer (the foreground) → blend (Eq. 1) → X-ray (Eq. 2). The same
run times that chain built from scikit-image's PiecewiseAffineTransform and
``warp``, ``cv2.GaussianBlur`` and numpy, which is what public Face X-ray
re-implementations spend their CPU time on, and checks that both chains agree.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

from facexray_forensics import ops


def _median_ms(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and median thread CPU time of one call, in ms.

    The CPU time is what the call itself used: on a shared, loaded machine the
    wall clock also counts the time other processes held the core.
    """
    function()  # warm caches and lazy imports outside the timing
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.thread_time()
        function()
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return round(statistics.median(walls) * 1e3, 4), round(statistics.median(cpus) * 1e3, 4)


def _inputs(size: int, seed: int) -> dict:
    """A smooth foreground and background, an elliptic face mask and a jittered 4×4 grid."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / size
    images = []
    for _ in range(2):
        phase = rng.uniform(0, 2 * np.pi, 3).astype(np.float32)
        image = 0.5 + 0.4 * np.sin(6 * rows[..., None] + 4 * cols[..., None] + phase)
        images.append(np.ascontiguousarray(image, dtype=np.float32))
    inside = ((rows - 0.5) / 0.32) ** 2 + ((cols - 0.5) / 0.25) ** 2 <= 1.0
    mask = inside.astype(np.float32)[..., None]
    source = ops.grid_points(size, size)
    destination = source + rng.uniform(-size / 40, size / 40, source.shape).astype(np.float32)
    destination = np.clip(destination, 0, size - 1)
    return {
        "foreground": images[0],
        "background": images[1],
        "mask": mask,
        "source": source,
        "destination": destination,
    }


def _chain(data: dict, kernel_size: int) -> tuple[np.ndarray, np.ndarray]:
    warped = ops.warp_piecewise_affine(data["mask"], data["source"], data["destination"])
    blurred = ops.gaussian_blur(warped, kernel_size)
    # Colour correction fused into the blend: the corrected foreground is never stored.
    image, xray, _ = ops.blend_with_xray(
        data["foreground"], data["background"], blurred, colour="mean"
    )
    return image, xray


def _reference_chain(data: dict, kernel_size: int) -> tuple[np.ndarray, np.ndarray]:
    import cv2
    from skimage.transform import PiecewiseAffineTransform, warp

    # Maps output (destination) coordinates to input (source) ones, as warp wants.
    transform = PiecewiseAffineTransform()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # estimate() vs from_estimate() across versions
        transform.estimate(data["destination"], data["source"])
    warped = warp(data["mask"][..., 0], transform, order=1, mode="constant", cval=0.0)
    blurred = cv2.GaussianBlur(warped.astype(np.float32), (kernel_size, kernel_size), 0)
    foreground, background = data["foreground"], data["background"]
    inside = blurred > 0
    corrected = foreground - foreground[inside].mean(axis=0) + background[inside].mean(axis=0)
    softened = cv2.GaussianBlur(blurred, (3, 3), 0)[..., None]
    image = softened * corrected + (1 - softened) * background
    xray = 4 * softened * (1 - softened)
    return image, xray


def _time_ops(data: dict, kernel_size: int, repeats: int) -> dict[str, float]:
    """Median ms of each op alone, on the intermediate images of one pass of the chain."""
    mask, foreground, background = data["mask"], data["foreground"], data["background"]
    warped = ops.warp_piecewise_affine(mask, data["source"], data["destination"])
    blurred = ops.gaussian_blur(warped, kernel_size)
    corrected = ops.colour_transfer(foreground, background, blurred)
    softened = ops.soften_mask(blurred)
    timings = {
        "warp_piecewise_affine": lambda: ops.warp_piecewise_affine(
            mask, data["source"], data["destination"]
        ),
        "warp_piecewise_affine_rgb": lambda: ops.warp_piecewise_affine(
            foreground, data["source"], data["destination"]
        ),
        "gaussian_blur": lambda: ops.gaussian_blur(warped, kernel_size),
        "gaussian_blur_rgb": lambda: ops.gaussian_blur(foreground, kernel_size),
        "colour_transfer": lambda: ops.colour_transfer(foreground, background, blurred),
        "soften_mask": lambda: ops.soften_mask(blurred),
        "blend": lambda: ops.blend(corrected, background, softened),
        "face_xray": lambda: ops.face_xray(softened),
        "blend_with_xray": lambda: ops.blend_with_xray(corrected, background, blurred),
        "blend_with_xray_colour": lambda: ops.blend_with_xray(
            foreground, background, blurred, colour="mean"
        ),
    }
    return {name: _median_ms(function, repeats)[0] for name, function in timings.items()}


def _time_chains(data: dict, kernel_size: int, repeats: int, reference_repeats: int) -> dict:
    """Median wall and CPU ms of our chain (on the face mask and on a dense one) and of the reference chain."""
    chain_ms, chain_cpu_ms = _median_ms(lambda: _chain(data, kernel_size), repeats)
    # A faint stripe down the middle column, so that no row of the mask is empty.
    column = data["mask"].shape[1] // 2
    dense = dict(data, mask=data["mask"].copy())
    dense["mask"][:, column] = np.maximum(dense["mask"][:, column], 1e-3)
    chain_dense_mask_ms = _median_ms(lambda: _chain(dense, kernel_size), repeats)[0]
    reference_chain_ms, reference_chain_cpu_ms = _median_ms(
        lambda: _reference_chain(data, kernel_size), reference_repeats
    )
    return {
        "chain_ms": chain_ms,
        "chain_dense_mask_ms": chain_dense_mask_ms,
        "reference_chain_ms": reference_chain_ms,
        "speedup": round(reference_chain_ms / chain_ms, 1),
        "chain_cpu_ms": chain_cpu_ms,
        "reference_chain_cpu_ms": reference_chain_cpu_ms,
        "cpu_speedup": round(reference_chain_cpu_ms / chain_cpu_ms, 1),
    }


def _chains_max_abs_diff(data: dict, kernel_size: int) -> float:
    """The largest difference of the two chains' images and X-rays."""
    image, xray = _chain(data, kernel_size)
    reference_image, reference_xray = _reference_chain(data, kernel_size)
    return max(
        float(np.abs(image - reference_image).max()), float(np.abs(xray - reference_xray).max())
    )


def run(
    size: int = 256,
    repeats: int = 200,
    reference_repeats: int = 20,
    kernel_size: int = 11,
    seed: int = 0,
) -> dict:
    """Time each op, our chain and the reference chain on one thread; return the medians in ms.

    Returns a dict with ``size``, ``threads`` (1), ``kernel_size``, ``repeats``,
    ``ops`` (op name → median ms), ``chain_ms``, ``reference_ops``,
    ``reference_chain_ms``, ``speedup`` (reference / ours), the same for
    thread CPU time (``chain_cpu_ms``, ``reference_chain_cpu_ms``,
    ``cpu_speedup``), ``chain_max_abs_diff`` (largest difference of the two
    chains' X-rays and images, a guard that both compute the same thing) and
    ``load_average`` (1 minute, to judge how busy the machine was).

    The mask is an ellipse like a face hull, so its top and bottom rows are
    empty; the warp and the blur give those +0 without computing them.
    ``chain_dense_mask_ms`` times our chain on the same mask with a faint
    vertical stripe added, so that no row is empty: the cost where that
    shortcut never applies.
    """
    import cv2

    if size < 8:
        raise ValueError(f"size must be at least 8, got {size}")
    if repeats < 1 or reference_repeats < 1:
        raise ValueError("repeats must be positive")
    data = _inputs(size, seed)
    previous_threads, previous_cv2_threads = ops.get_threads(), cv2.getNumThreads()
    ops.set_threads(1)
    cv2.setNumThreads(1)
    try:
        op_ms = _time_ops(data, kernel_size, repeats)
        chains = _time_chains(data, kernel_size, repeats, reference_repeats)
        difference = _chains_max_abs_diff(data, kernel_size)
    finally:
        ops.set_threads(previous_threads)
        cv2.setNumThreads(previous_cv2_threads)
    return {
        "size": size,
        "threads": 1,
        "kernel_size": kernel_size,
        "repeats": repeats,
        "reference_repeats": reference_repeats,
        "ops": op_ms,
        **chains,
        "chain_max_abs_diff": difference,
        "load_average": round(os.getloadavg()[0], 2),
    }
