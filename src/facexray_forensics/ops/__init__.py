"""The image ops of the blending pipeline, computed by the compiled ``_core``.

Images are numpy arrays of rank 2 (H×W), 3 (H×W×C) or 4 (N×H×W×C, a batch).
A mask goes with an image and has its spatial shape, with or without a
trailing channel of 1: H×W or H×W×1 for one image, N×H×W or N×H×W×1 for a
batch. Control points are P×2 arrays of (x, y) = (column, row) pixel
coordinates, or N×P×2 for a batch. Pixel centres lie on integer coordinates,
as in scikit-image and OpenCV.

Everything is float32; ``warp_piecewise_affine`` and ``gaussian_blur`` also
take uint8 (computed in float32, rounded to nearest). Batches run on several
threads (see :func:`set_threads`) with the GIL released.

Inputs are checked, never silently converted: a wrong dtype raises TypeError;
a wrong rank or shape, a non-contiguous, unaligned or empty array, NaN or infinity, a
bad kernel size or a degenerate point set raises ValueError.
"""

from __future__ import annotations

import numbers

import numpy as np

from facexray_forensics import _core
from facexray_forensics.ops import _checks

__all__ = [
    "blend",
    "blend_with_xray",
    "colour_transfer",
    "face_xray",
    "gaussian_blur",
    "get_threads",
    "grid_points",
    "set_threads",
    "soften_mask",
    "warp_piecewise_affine",
]


def set_threads(threads: int) -> None:
    """Set the worker threads of the batch ops; 0 means one per hardware thread."""
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 0:
        raise ValueError(f"threads must be a non-negative integer, got {threads!r}")
    _core.set_threads(int(threads))


def get_threads() -> int:
    """Return the number of worker threads the batch ops use."""
    return _core.get_threads()


def _require_image(
    value: object, name: str, dtypes: tuple[type, ...], check_finite: bool = True
) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.dtype not in dtypes:
        allowed = " or ".join(np.dtype(d).name for d in dtypes)
        raise TypeError(f"{name} must have dtype {allowed}, got {value.dtype}")
    _checks.require_image_shape(value.shape, name)
    if not value.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous; pass np.ascontiguousarray({name})")
    if not value.flags.aligned:
        # Vectorised kernels may assume each value sits at a multiple of its size.
        raise ValueError(f"{name} is not aligned in memory; pass a copy ({name}.copy())")
    if check_finite and value.dtype == np.float32:
        _require_finite(value, name)
    return value


def _require_finite(value: np.ndarray, name: str) -> None:
    if not _core.all_finite(value):
        raise ValueError(f"{name} contains NaN or infinity")


def _require_unit_range(mask: np.ndarray) -> None:
    """One pass checks both range and finiteness; the diagnosis only runs on failure."""
    if _core.all_within(mask, -_checks.MASK_SLACK, 1.0 + _checks.MASK_SLACK):
        return
    _require_finite(mask, "mask")
    raise ValueError(_checks.MASK_RANGE_ERROR)


def _as_batch(image: np.ndarray) -> np.ndarray:
    """View any accepted rank as N×H×W×C (free: the array is contiguous)."""
    return image.reshape(_checks.batch_shape(image.shape))


def _require_mask(mask: object, image: np.ndarray, image_name: str) -> np.ndarray:
    """Check a mask against its image and return it as N×H×W×1."""
    # The range check below also rejects NaN and infinity.
    _require_image(mask, "mask", (np.float32,), check_finite=False)
    _checks.require_mask_shape(mask.shape, image.shape, image_name)
    _require_unit_range(mask)
    return mask.reshape(_checks.batch_shape(image.shape)[:3] + (1,))


def grid_points(height: int, width: int, rows: int = 4, cols: int = 4) -> np.ndarray:
    """Return a regular rows×cols grid of (x, y) points spanning an image, as (rows·cols)×2 float32.

    The corners lie on the corner pixel centres (0, 0) and (width−1, height−1),
    so the triangulated grid covers every pixel. Points run row by row.
    """
    for name, number in (("height", height), ("width", width), ("rows", rows), ("cols", cols)):
        if isinstance(number, bool) or not isinstance(number, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {type(number).__name__}")
    if height < 2 or width < 2:
        raise ValueError(f"the image must be at least 2×2 pixels, got {height}×{width}")
    if rows < 2 or cols < 2:
        raise ValueError(f"the grid needs at least 2 rows and 2 columns, got {rows}×{cols}")
    ys = np.linspace(0.0, height - 1.0, int(rows), dtype=np.float32)
    xs = np.linspace(0.0, width - 1.0, int(cols), dtype=np.float32)
    x, y = np.meshgrid(xs, ys)
    return np.stack([x.ravel(), y.ravel()], axis=1)


def warp_piecewise_affine(
    image: np.ndarray,
    source_points: np.ndarray,
    destination_points: np.ndarray,
    fill: float = 0.0,
) -> np.ndarray:
    """Warp an image so that what lies at each source point moves to its destination point.

    The destination points are Delaunay-triangulated; inside each triangle the
    output at a destination position p samples the input bilinearly at the
    affine image of p in the source triangle (out(dst) = in(src)). Output
    pixels outside the triangulated hull, and taps outside the input, take
    ``fill``. The same result as scikit-image's
    ``warp(image, PiecewiseAffineTransform.from_estimate(dst, src), order=1,
    mode="constant", cval=fill)``.

    Args:
        image: float32 or uint8, H×W, H×W×C or N×H×W×C.
        source_points: P×2 (x, y) points, or N×P×2 for a batch.
        destination_points: the same shape as ``source_points``; they must not
            coincide or all lie on one line.
        fill: the value outside the hull (rounded for uint8).

    Returns:
        The warped image, with the input's shape and dtype.
    """
    _require_image(image, "image", (np.float32, np.uint8))
    batch_size = image.shape[0] if image.ndim == 4 else None
    source = _checks.require_points(source_points, "source_points", batch_size)
    destination = _checks.require_points(destination_points, "destination_points", batch_size)
    _checks.require_same_shape(source.shape, destination.shape, "source_points and destination_points")
    fill_value = _checks.require_real(fill, "fill")
    result = _core.warp_piecewise_affine(_as_batch(image), source, destination, fill_value)
    return result.reshape(image.shape)


def gaussian_blur(
    image: np.ndarray, kernel_size: int | tuple[int, int], sigma: float | tuple[float, float] = 0.0
) -> np.ndarray:
    """Blur with a separable Gaussian, as ``cv2.GaussianBlur(image, (kx, ky), sigma)``.

    Args:
        image: float32 or uint8, H×W, H×W×C or N×H×W×C.
        kernel_size: an odd positive int, or (kx, ky) = (width, height) of the kernel.
        sigma: one sigma for both axes or (sigma_x, sigma_y); a sigma <= 0 is
            derived from its kernel size as OpenCV does
            (0.3·((k−1)/2 − 1) + 0.8, or OpenCV's fixed kernels for k <= 9).

    Borders are BORDER_REFLECT_101. uint8 is blurred in float32 and rounded to
    nearest, so it may differ from OpenCV's fixed-point result by 1.

    Returns:
        The blurred image, with the input's shape and dtype.
    """
    _require_image(image, "image", (np.float32, np.uint8))
    kernel_x, kernel_y = _checks.kernel_sizes(kernel_size)
    sigma_x, sigma_y = _checks.sigmas(sigma)
    result = _core.gaussian_blur(_as_batch(image), kernel_x, kernel_y, sigma_x, sigma_y)
    return result.reshape(image.shape)


def colour_transfer(
    foreground: np.ndarray, background: np.ndarray, mask: np.ndarray, match_std: bool = False
) -> np.ndarray:
    """Correct the foreground's colour towards the background's inside the mask.

    Per channel, over the pixels where mask > 0, the foreground's mean is moved
    to the background's (the paper's colour correction); with ``match_std``
    its standard deviation is scaled to the background's as well (a flat
    foreground channel is only shifted). The correction applies to the whole
    image; nothing is clipped. With no pixel inside the mask the foreground
    comes back unchanged.

    Args:
        foreground, background: float32 images of the same shape.
        mask: float32 in [0, 1], the images' spatial shape (optionally ×1).

    Returns:
        The corrected foreground, float32, the foreground's shape.
    """
    _require_image(foreground, "foreground", (np.float32,))
    _require_image(background, "background", (np.float32,))
    _checks.require_same_shape(foreground.shape, background.shape, "foreground and background")
    mask_batch = _require_mask(mask, foreground, "foreground")
    if not isinstance(match_std, (bool, np.bool_)):
        raise TypeError(f"match_std must be a bool, got {type(match_std).__name__}")
    result = _core.colour_transfer(
        _as_batch(foreground), _as_batch(background), mask_batch, bool(match_std)
    )
    return result.reshape(foreground.shape)


def blend(foreground: np.ndarray, background: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend by Eq. 1 of the paper: I = M·F + (1 − M)·B.

    Args:
        foreground, background: float32 images of the same shape.
        mask: float32 in [0, 1], the images' spatial shape (optionally ×1);
            values are clipped to [0, 1].

    Returns:
        The blended image, float32, the foreground's shape.
    """
    # NaN and infinity in the images are found by the kernel as it blends.
    _require_image(foreground, "foreground", (np.float32,), check_finite=False)
    _require_image(background, "background", (np.float32,), check_finite=False)
    _checks.require_same_shape(foreground.shape, background.shape, "foreground and background")
    mask_batch = _require_mask(mask, foreground, "foreground")
    result = _core.blend(_as_batch(foreground), _as_batch(background), mask_batch)
    return result.reshape(foreground.shape)


def face_xray(mask: np.ndarray) -> np.ndarray:
    """Return the face X-ray of Eq. 2, B = 4·M·(1 − M), of a (softened) mask.

    Args:
        mask: float32 in [0, 1], any accepted image shape; values are clipped
            to [0, 1], so the X-ray lies in [0, 1].

    Returns:
        The X-ray, float32, the mask's shape.
    """
    _require_image(mask, "mask", (np.float32,), check_finite=False)
    _require_unit_range(mask)
    return _core.face_xray(_as_batch(mask)).reshape(mask.shape)


def soften_mask(mask: np.ndarray) -> np.ndarray:
    """Soften a mask with the 3×3 Gaussian (OpenCV's [1 2 1]/4 kernel, BORDER_REFLECT_101).

    Args:
        mask: float32, any accepted image shape.

    Returns:
        The softened mask, float32, the mask's shape.
    """
    _require_image(mask, "mask", (np.float32,))
    return _core.gaussian_blur(_as_batch(mask), 3, 3, 0.0, 0.0).reshape(mask.shape)


_COLOUR_MODES = (None, "mean", "mean_std")


def blend_with_xray(
    foreground: np.ndarray,
    background: np.ndarray,
    mask: np.ndarray,
    *,
    colour: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Soften the mask, blend (Eq. 1) and compute the X-ray (Eq. 2) in one pass.

    Equal to ``s = soften_mask(mask); (blend(foreground, background, s),
    face_xray(s), s)``, but reads each input once. With ``colour`` the
    foreground is colour-corrected first, equal to blending
    ``colour_transfer(foreground, background, mask, match_std=colour ==
    "mean_std")`` (statistics inside mask > 0 of the mask as given, not the
    softened one), without storing the corrected foreground.

    Args:
        foreground, background: float32 images of the same shape.
        mask: float32 in [0, 1], the images' spatial shape (optionally ×1).
        colour: None (no correction), ``"mean"`` or ``"mean_std"``.

    Returns:
        (image, xray, softened): the blended image in the foreground's shape;
        the X-ray and the softened mask (clipped to [0, 1]) in the mask's shape.
    """
    # NaN and infinity in the images are found by the kernel as it blends
    # (ValueError, the same message): a separate pass would read them twice.
    _require_image(foreground, "foreground", (np.float32,), check_finite=False)
    _require_image(background, "background", (np.float32,), check_finite=False)
    _checks.require_same_shape(foreground.shape, background.shape, "foreground and background")
    mask_batch = _require_mask(mask, foreground, "foreground")
    if not (colour is None or isinstance(colour, str)):
        raise TypeError(f"colour must be None or a str, got {type(colour).__name__}")
    if colour not in _COLOUR_MODES:
        raise ValueError(f"colour must be None, 'mean' or 'mean_std', got {colour!r}")
    image, xray, softened = _core.blend_with_xray(
        _as_batch(foreground), _as_batch(background), mask_batch, colour or "none"
    )
    return image.reshape(foreground.shape), xray.reshape(mask.shape), softened.reshape(mask.shape)
