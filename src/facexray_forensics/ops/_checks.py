"""The argument checks the numpy ops and the torch ops share, on shapes and plain numbers.

Both modules accept the same images, masks, point sets, kernel sizes and sigmas and refuse
the rest with the same messages; only what needs the array library (dtype, contiguity,
finiteness) is checked in each module itself.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

# Masks may overshoot [0, 1] by float rounding after a blur; more than this
# means a caller passed something else (a 0..255 mask, say).
MASK_SLACK = 1e-3
MASK_RANGE_ERROR = "mask values must lie in [0, 1]"
MAX_KERNEL_SIZE = 1001
MAX_POINTS = 4096
# Control points farther out than this cannot be meant for an image and
# would only lose precision in the triangulation.
MAX_COORDINATE = 1e6


def require_image_shape(shape: tuple[int, ...], name: str) -> None:
    """An image is H×W, H×W×C or N×H×W×C, and not empty."""
    if len(shape) not in (2, 3, 4):
        raise ValueError(
            f"{name} must have rank 2 (H×W), 3 (H×W×C) or 4 (N×H×W×C), got shape {shape}"
        )
    if math.prod(shape) == 0:
        raise ValueError(f"{name} is empty (shape {shape})")


def batch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The N×H×W×C shape the kernels see of an image of any accepted rank."""
    if len(shape) == 2:
        return (1, shape[0], shape[1], 1)
    if len(shape) == 3:
        return (1,) + shape
    return shape


def require_mask_shape(
    mask_shape: tuple[int, ...], image_shape: tuple[int, ...], image_name: str
) -> None:
    """A mask has its image's spatial shape, with or without a trailing channel of 1."""
    spatial = image_shape[:3] if len(image_shape) == 4 else image_shape[:2]
    if mask_shape not in (spatial, spatial + (1,)):
        raise ValueError(
            f"mask shape {mask_shape} does not match {image_name} shape {image_shape}; "
            f"expected {spatial} or {spatial + (1,)}"
        )


def require_same_shape(first: tuple[int, ...], second: tuple[int, ...], names: str) -> None:
    if first != second:
        raise ValueError(f"{names} must have the same shape, got {first} and {second}")


def require_points(value: object, name: str, batch_size: int | None) -> np.ndarray:
    """Check control points and return them as a contiguous S×P×2 float64 array.

    ``batch_size`` is the number of images of a batch, None for a single image (which takes
    one P×2 set only).
    """
    points = np.asarray(value)
    if points.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {points.dtype}")
    points = np.ascontiguousarray(points, dtype=np.float64)
    if points.ndim == 2 and points.shape[1] == 2:
        points = points.reshape((1,) + points.shape)
    elif not (points.ndim == 3 and points.shape[2] == 2 and batch_size is not None):
        expected = "P×2" if batch_size is None else "P×2 or N×P×2"
        raise ValueError(f"{name} must have shape {expected}, got {points.shape}")
    sets = 1 if batch_size is None else batch_size
    if points.shape[0] not in (1, sets):
        raise ValueError(f"{name} holds {points.shape[0]} point sets for a batch of {sets}")
    count = points.shape[1]
    if count < 3:
        raise ValueError(f"{name} needs at least 3 points, got {count}")
    if count > MAX_POINTS:
        raise ValueError(f"{name} may hold at most {MAX_POINTS} points, got {count}")
    # One reduction checks both: NaN fails every comparison, infinity the bound.
    largest = np.abs(points).max()
    if not largest <= MAX_COORDINATE:
        if not math.isfinite(largest):
            raise ValueError(f"{name} contains NaN or infinity")
        raise ValueError(f"{name} has coordinates beyond ±{MAX_COORDINATE:g} pixels")
    return points


def require_real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def kernel_sizes(kernel_size: object) -> tuple[int, int]:
    """(kx, ky) of an odd positive int or a pair of them."""
    sizes = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    if len(sizes) != 2:
        raise ValueError(f"kernel_size must be an int or a (kx, ky) pair, got {kernel_size!r}")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"kernel sizes must be integers, got {kernel_size!r}")
        if size < 1 or size % 2 == 0:
            raise ValueError(f"kernel sizes must be positive and odd, got {kernel_size!r}")
        if size > MAX_KERNEL_SIZE:
            raise ValueError(f"kernel sizes may be at most {MAX_KERNEL_SIZE}, got {kernel_size!r}")
    return int(sizes[0]), int(sizes[1])


def sigmas(sigma: object) -> tuple[float, float]:
    """(sigma_x, sigma_y) of one sigma for both axes or a pair."""
    pair = sigma if isinstance(sigma, (tuple, list)) else (sigma, sigma)
    if len(pair) != 2:
        raise ValueError(f"sigma must be a number or a (sigma_x, sigma_y) pair, got {sigma!r}")
    return require_real(pair[0], "sigma"), require_real(pair[1], "sigma")
