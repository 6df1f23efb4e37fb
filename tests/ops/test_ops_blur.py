"""The Gaussian blur against cv2.GaussianBlur."""

import cv2
import numpy as np
import pytest

from facexray_forensics import _core, ops

# OpenCV 4 computes the derived 9-tap kernel; OpenCV 5 tabulates it, and we follow 5.
OPENCV_TABULATES_NINE = int(cv2.__version__.split(".")[0]) >= 5


@pytest.mark.parametrize("kernel_size", range(3, 32, 2))
def test_blur_matches_opencv_on_float32(rng, kernel_size):
    image = rng.random((37, 53, 3)).astype(np.float32) * 255
    for sigma in (0.0, 0.6, 1.7, 4.5, -1.0):
        if kernel_size == 9 and sigma <= 0 and not OPENCV_TABULATES_NINE:
            continue
        ours = ops.gaussian_blur(image, kernel_size, sigma)
        reference = cv2.GaussianBlur(image, (kernel_size, kernel_size), sigma)
        assert np.abs(ours - reference).max() <= 1e-4 * 255, (kernel_size, sigma)


def test_blur_matches_opencv_on_unit_range_float32_within_1e4(rng):
    image = rng.random((64, 64)).astype(np.float32)
    for kernel_size in range(3, 32, 2):
        for sigma in (0.0, 1.0, 3.0):
            reference = cv2.GaussianBlur(image, (kernel_size, kernel_size), sigma)
            if kernel_size == 9 and sigma <= 0 and not OPENCV_TABULATES_NINE:
                continue
            assert np.abs(ops.gaussian_blur(image, kernel_size, sigma) - reference).max() <= 1e-4


def test_blur_kernels_equal_opencv_kernels():
    for size in range(1, 32, 2):
        for sigma in (0.0, 0.8, 2.5):
            if size == 9 and sigma <= 0 and not OPENCV_TABULATES_NINE:
                continue
            reference = cv2.getGaussianKernel(size, sigma).ravel()
            assert np.abs(_core.gaussian_kernel(size, sigma) - reference).max() <= 1e-7


@pytest.mark.parametrize("kernel_size,sigma", [((3, 15), 0.0), ((21, 5), 0.0), ((7, 11), (2.0, 0.5))])
def test_blur_with_different_sizes_and_sigmas_per_axis(rng, kernel_size, sigma):
    image = rng.random((40, 30, 2)).astype(np.float32)
    sigma_x, sigma_y = sigma if isinstance(sigma, tuple) else (sigma, sigma)
    reference = cv2.GaussianBlur(image, kernel_size, sigmaX=sigma_x, sigmaY=sigma_y)
    assert np.abs(ops.gaussian_blur(image, kernel_size, sigma) - reference).max() <= 1e-4


def test_kernels_wider_than_the_image_reflect_like_opencv(rng):
    for shape in ((1, 1), (1, 7), (5, 1), (3, 4), (2, 2)):
        image = rng.random(shape).astype(np.float32)
        reference = cv2.GaussianBlur(image, (31, 15), 0)
        assert np.abs(ops.gaussian_blur(image, (31, 15)) - reference).max() <= 1e-5, shape


@pytest.mark.parametrize("kernel_size", [3, 5, 9, 11, 17, 31])
def test_blur_uint8_is_within_one_of_opencv(rng, kernel_size):
    image = rng.integers(0, 256, (45, 61, 3), dtype=np.uint8)
    ours = ops.gaussian_blur(image, kernel_size)
    assert ours.dtype == np.uint8
    reference = cv2.GaussianBlur(image, (kernel_size, kernel_size), 0)
    assert np.abs(ours.astype(int) - reference).max() <= 1
    # And exact against the float computation rounded to nearest.
    exact = np.rint(ops.gaussian_blur(image.astype(np.float32), kernel_size))
    assert np.abs(ours - exact).max() <= 1


def test_batch_blur_equals_a_loop_on_several_threads(rng):
    ops.set_threads(2)
    images = rng.random((6, 33, 47, 3)).astype(np.float32)
    batch = ops.gaussian_blur(images, 7, 1.5)
    assert np.array_equal(batch, np.stack([ops.gaussian_blur(image, 7, 1.5) for image in images]))
    assert np.abs(batch[2] - cv2.GaussianBlur(images[2], (7, 7), 1.5)).max() <= 1e-4


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
@pytest.mark.parametrize("kernel_size", [3, 11, 31])
def test_rows_of_zeros_blur_like_opencv_and_to_exact_zeros(rng, dtype, kernel_size):
    # All-zero rows are left out of the computation: check around them, in
    # bands narrower and wider than the kernel, at both borders and beside -0.
    image = (rng.random((90, 40, 3)) * (255 if dtype == np.uint8 else 1)).astype(dtype)
    for band in (slice(0, 20), slice(30, 33), slice(45, 75), slice(85, 90)):
        image[band] = 0
    if dtype == np.float32:
        image[40] = -0.0
    ours = ops.gaussian_blur(image, kernel_size)
    reference = cv2.GaussianBlur(image, (kernel_size, kernel_size), 0, borderType=cv2.BORDER_REFLECT_101)
    tolerance = 1 if dtype == np.uint8 else 1e-5
    assert np.abs(ours.astype(np.float64) - reference).max() <= tolerance
    radius = kernel_size // 2
    zero = np.all(image.reshape(90, -1) == 0, axis=1)
    for row in range(90):
        window = [min(max(row + k, -(row + k)), 2 * 89 - (row + k)) for k in range(-radius, radius + 1)]
        if all(zero[w] and not np.signbit(image[w]).any() for w in window):
            assert not ours[row].view(np.uint8 if dtype == np.uint8 else np.uint32).any()
