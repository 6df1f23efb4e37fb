"""Types of the private compiled module; callers use facexray_forensics.ops."""

import numpy as np
import numpy.typing as npt

built_with_cuda: bool

def set_threads(threads: int) -> None: ...
def get_threads() -> int: ...
def delaunay(points: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]: ...
def warp_piecewise_affine(
    image: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
    source: npt.NDArray[np.float64],
    destination: npt.NDArray[np.float64],
    fill: float,
) -> npt.NDArray[np.float32] | npt.NDArray[np.uint8]: ...
def gaussian_kernel(size: int, sigma: float) -> npt.NDArray[np.float32]: ...
def gaussian_blur(
    image: npt.NDArray[np.float32] | npt.NDArray[np.uint8],
    kernel_x: int,
    kernel_y: int,
    sigma_x: float,
    sigma_y: float,
) -> npt.NDArray[np.float32] | npt.NDArray[np.uint8]: ...
def colour_transfer(
    foreground: npt.NDArray[np.float32],
    background: npt.NDArray[np.float32],
    mask: npt.NDArray[np.float32],
    match_std: bool,
) -> npt.NDArray[np.float32]: ...
def blend(
    foreground: npt.NDArray[np.float32],
    background: npt.NDArray[np.float32],
    mask: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]: ...
def face_xray(mask: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
def blend_with_xray(
    foreground: npt.NDArray[np.float32],
    background: npt.NDArray[np.float32],
    mask: npt.NDArray[np.float32],
    colour: str = "none",
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
def all_within(array: npt.NDArray[np.float32], low: float, high: float) -> bool: ...
def all_finite(array: npt.NDArray[np.float32]) -> bool: ...
