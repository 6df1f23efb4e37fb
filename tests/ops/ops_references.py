"""Inputs shared by the ops tests, and the scikit-image reference warp (imported by name:
pytest puts tests/ops on sys.path)."""

import warnings

import numpy as np

from facexray_forensics import ops


def random_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A float32 H×W mask: a random ellipse, softened at its edge, like a blurred face hull."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    centre_y, centre_x = rng.uniform(0.3, 0.7, 2) * (height, width)
    radius_y, radius_x = rng.uniform(0.15, 0.4, 2) * (height, width)
    distance = np.sqrt(((rows - centre_y) / radius_y) ** 2 + ((cols - centre_x) / radius_x) ** 2)
    return np.clip((1.2 - distance) / 0.4, 0.0, 1.0).astype(np.float32)


def jittered_grid(rng: np.random.Generator, height: int, width: int, amount: float) -> np.ndarray:
    """The 4×4 grid with every point moved by up to ``amount`` pixels (general position)."""
    grid = ops.grid_points(height, width).astype(np.float64)
    return grid + rng.uniform(-amount, amount, grid.shape)


def skimage_warp(image: np.ndarray, source: np.ndarray, destination: np.ndarray, fill: float) -> np.ndarray:
    """out(dst) = in(src) with scikit-image: its warp wants the map output -> input, dst -> src."""
    from skimage.transform import PiecewiseAffineTransform, warp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        transform = PiecewiseAffineTransform()
        assert transform.estimate(np.asarray(destination, float), np.asarray(source, float))
    return warp(
        image.astype(np.float64), transform, order=1, mode="constant", cval=fill, preserve_range=True
    )
