"""The augmentations of a BI sample (:mod:`.sampler`): colour jitter, down-and-up resizing, blur,
noise, JPEG re-compression, H.264 and the flip, planned per sample and applied in that order.

A plan is JSON-ready (it goes into the sample's ``params``); the float ones work on H×W×3
float32 in [0, 1], the codecs on the 8-bit sample.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import numpy as np

from facexray_forensics.blending.codecs import h264_round_trip

if TYPE_CHECKING:
    from facexray_forensics.blending.config import SamplerConfig

# The augmentations that work on the float image; a real sample without any stays 8-bit.
FLOAT_AUGMENTATIONS = frozenset({"jitter", "resize", "blur", "noise"})

#: OpenCV's RGB -> grey weights.
_GREY = np.array([0.299, 0.587, 0.114])


def plan_augmentation(rng: np.random.Generator, config: SamplerConfig, size: int) -> dict:
    """Choose the augmentations of one sample and their parameters (JSON-ready).

    Switches and parameters are drawn in a fixed order, the flip last, so a
    sample and its flipped twin differ in nothing else."""
    plan: dict = {}
    if rng.random() < config.jitter_probability:
        factors = rng.uniform(1 - config.jitter_strength, 1 + config.jitter_strength, 3)
        plan["jitter"] = [round(float(v), 4) for v in factors]
    if rng.random() < config.resize_probability:
        plan["resize"] = max(8, int(round(size * rng.uniform(*config.resize_scale))))
    if rng.random() < config.blur_probability:
        plan["blur"] = int(rng.choice((3, 5)))
    if rng.random() < config.noise_probability:
        plan["noise"] = [round(float(rng.uniform(*config.noise_sigma)), 5),
                         *(int(v) for v in rng.integers(0, size, 2))]
    if rng.random() < config.jpeg_probability:
        plan["jpeg"] = int(rng.integers(config.jpeg_quality[0], config.jpeg_quality[1] + 1))
    # Drawn only when enabled, so configs without it keep their streams.
    if config.h264_probability and rng.random() < config.h264_probability:
        plan["h264"] = int(rng.integers(config.h264_crf[0], config.h264_crf[1] + 1))
        if config.h264_frames > 1:
            plan["h264_motion"] = [int(v) for v in rng.integers(-config.h264_motion, config.h264_motion + 1, 2)]
    if rng.random() < config.flip_probability:
        plan["flip"] = True
    return plan


def degrade(
    image: np.ndarray,
    plan: dict,
    noise: np.ndarray,
    stage: Callable[[str], AbstractContextManager],
) -> np.ndarray:
    """Apply the planned float augmentations to ``image`` (H×W×3 float32 in [0, 1]), in place
    where possible. ``noise`` is the bank the noise windows come from; ``stage(name)`` times
    each step."""
    import cv2

    from facexray_forensics import ops

    size = image.shape[0]
    if "jitter" in plan:
        with stage("jitter"):
            image = jitter(image, *plan["jitter"])
    if "resize" in plan:
        with stage("resize"):
            small = plan["resize"]
            image = cv2.resize(image, (small, small), interpolation=cv2.INTER_AREA)
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    if "blur" in plan:
        with stage("blur_augment"):
            image = ops.gaussian_blur(np.ascontiguousarray(image), plan["blur"])
    if "noise" in plan:
        with stage("noise"):
            sigma, y, x = plan["noise"]
            image = cv2.scaleAdd(noise[y:y + size, x:x + size], sigma, image)
    return image


def h264(pixels: np.ndarray, plan: dict, frames: int) -> np.ndarray:
    """The sample through H.264: one intra frame, or the last of ``frames`` frames of a short
    moving sequence (with ``plan["h264_motion"]``)."""
    import cv2

    if "h264_motion" not in plan:
        return h264_round_trip(pixels[None], plan["h264"], "veryfast")[0]
    dy, dx = plan["h264_motion"]
    earlier = [cv2.warpAffine(pixels, np.float32([[1, 0, -dx * k], [0, 1, -dy * k]]), pixels.shape[1::-1],
                              borderMode=cv2.BORDER_REFLECT_101)
               for k in range(frames - 1, 0, -1)]
    return h264_round_trip(np.stack([*earlier, pixels]), plan["h264"], "medium")[-1]


def jitter(image: np.ndarray, brightness: float, contrast: float, saturation: float) -> np.ndarray:
    """Brightness, then contrast about the mean grey, then saturation about each pixel's grey.

    All three are affine in (r, g, b), so they fold into one 3×4 colour matrix
    applied in a single pass (``cv2.transform``)."""
    import cv2

    mean_grey = float(_GREY @ np.array(cv2.mean(image)[:3]))
    own = saturation * contrast * brightness
    of_grey = (1 - saturation) * contrast * brightness
    constant = (1 - contrast) * brightness * mean_grey
    matrix = np.zeros((3, 4))
    matrix[:, :3] = of_grey * _GREY[None, :] + own * np.eye(3)
    matrix[:, 3] = constant
    return cv2.transform(image, matrix)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] float32 -> uint8, rounded to nearest."""
    import cv2

    return cv2.convertScaleAbs(image, alpha=255.0)
