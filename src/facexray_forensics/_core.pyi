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

# Only in a CUDA build (built_with_cuda; cpp/cuda/bindings.cpp): every tensor is a DLPack
# capsule or an object with __dlpack__ (a torch CUDA tensor), outputs are written in place,
# stream is a cudaStream_t handle (torch.cuda.current_stream().cuda_stream).
cuda_max_triangles: int
cuda_max_sample_kernel: int

def cuda_warp_piecewise_affine(
    image: object,
    output: object,
    source_points: object,
    destination_points: object,
    triangles: object,
    fill: float,
    stream: int,
) -> None: ...
def cuda_gaussian_blur(
    image: object,
    output: object,
    kernel_x: int,
    kernel_y: int,
    sigma_x: float,
    sigma_y: float,
    stream: int,
) -> None: ...
def cuda_gaussian_blur_per_sample(
    image: object, output: object, weights_x: object, weights_y: object, stream: int
) -> None: ...
def cuda_colour_transfer(
    foreground: object,
    background: object,
    mask: object,
    output: object,
    match_std: bool | object,
    stream: int,
) -> None: ...
def cuda_blend(
    foreground: object, background: object, mask: object, output: object, stream: int
) -> None: ...
def cuda_face_xray(mask: object, output: object, stream: int) -> None: ...
def cuda_blend_with_xray(
    foreground: object,
    background: object,
    mask: object,
    image: object,
    xray: object,
    softened: object,
    stream: int,
) -> None: ...
