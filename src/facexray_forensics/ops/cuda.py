"""The blending ops on torch tensors: CUDA kernels for CUDA tensors, the CPU ops otherwise.

Same names, arguments and results as :mod:`facexray_forensics.ops`, but every image, mask and
point set is a ``torch.Tensor`` and so is every result. Images are H×W, H×W×C or N×H×W×C
float32 (masks N×H×W×1), channels last as in :mod:`facexray_forensics.ops`.

On a CUDA tensor the op runs the extension's CUDA kernel on torch's *current stream* of that
device, writing into tensors allocated here, so it orders with the caller's other GPU work and
never synchronises (except ``validate=True`` checking finiteness, and a warp without
``triangles``, which triangulates on the host). The extension does not link against torch:
tensors cross as DLPack capsules and the stream as its handle. On a CPU tensor the op calls
the CPU op on the tensor's memory, so code written against this module runs, and is tested,
on machines without a GPU.

Example::

    image, xray, softened = ops.cuda.blend_with_xray(foreground, background, mask)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from facexray_forensics import ops
from facexray_forensics.ops import _checks

if TYPE_CHECKING:
    import torch

__all__ = [
    "blend",
    "blend_with_xray",
    "colour_transfer",
    "cuda_available",
    "face_xray",
    "gaussian_blur",
    "gaussian_blur_per_sample",
    "grid_triangles",
    "soften_mask",
    "warp_piecewise_affine",
]


def cuda_available() -> bool:
    """True when the extension has the CUDA ops and torch sees a CUDA device."""
    import torch

    from facexray_forensics import _core

    return bool(_core.built_with_cuda) and torch.cuda.is_available()


def _core_cuda():
    from facexray_forensics import _core

    if not _core.built_with_cuda:
        raise RuntimeError(
            "facexray_forensics was built without CUDA: install it on a machine with a CUDA "
            "toolkit (nvcc) to run the ops on CUDA tensors"
        )
    return _core


def _require_tensor(value, name: str) -> torch.Tensor:
    import torch

    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    return value


def _batched(value, name: str, *, validate: bool) -> torch.Tensor:
    """Check an image tensor as :mod:`facexray_forensics.ops` checks arrays; return it as an N×H×W×C view."""
    import torch

    # Detached: the ops are not differentiable, and DLPack refuses tensors that need grad.
    tensor = _require_tensor(value, name).detach()
    if tensor.dtype != torch.float32:
        raise TypeError(f"{name} must have dtype float32, got {tensor.dtype}")
    _checks.require_image_shape(tuple(tensor.shape), name)
    if not tensor.is_contiguous():
        raise ValueError(f"{name} must be contiguous; pass {name}.contiguous()")
    if validate and not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} contains NaN or infinity")
    return tensor.view(_checks.batch_shape(tuple(tensor.shape)))


def _mask_batch(mask, image: torch.Tensor, batch: torch.Tensor, *, validate: bool) -> torch.Tensor:
    """Check a mask against its image (its spatial shape, optionally ×1); return N×H×W×1."""
    tensor = _require_tensor(mask, "mask").detach()
    _batched(tensor, "mask", validate=validate)
    _checks.require_mask_shape(tuple(tensor.shape), tuple(image.shape), "image")
    if validate:
        _require_unit_range(tensor)
    return tensor.view(*batch.shape[:3], 1)


def _require_unit_range(mask: torch.Tensor) -> None:
    slack = _checks.MASK_SLACK
    if not bool(((mask >= -slack) & (mask <= 1.0 + slack)).all()):
        raise ValueError(_checks.MASK_RANGE_ERROR)


def _same_device(*tensors: torch.Tensor) -> None:
    devices = {tensor.device for tensor in tensors}
    if len(devices) != 1:
        raise ValueError(f"tensors are on different devices: {sorted(map(str, devices))}")


def _stream(tensor: torch.Tensor) -> int:
    import torch

    return torch.cuda.current_stream(tensor.device).cuda_stream


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _tensor(array: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.ascontiguousarray(array)).to(like.device)


def grid_triangles(height: int, width: int, rows: int = 4, cols: int = 4) -> np.ndarray:
    """The triangulation that :func:`facexray_forensics.ops.warp_piecewise_affine` makes of
    ``ops.grid_points(height, width, rows, cols)`` as destination points (T×3 int32).

    Computed by the CPU op's own Delaunay, so a GPU warp onto the regular grid splits every
    cell along the same diagonal as the CPU op does.
    """
    from facexray_forensics import _core

    points = ops.grid_points(height, width, rows=rows, cols=cols).astype(np.float64)
    return np.ascontiguousarray(_core.delaunay(np.ascontiguousarray(points)), dtype=np.int32)


def warp_piecewise_affine(
    image,
    source_points,
    destination_points,
    fill: float = 0.0,
    *,
    triangles=None,
    validate: bool = True,
) -> torch.Tensor:
    """Piecewise-affine warp, out(destination) = in(source), bilinear; ``fill`` outside the
    triangulated hull and for taps outside the input (see :func:`.ops.warp_piecewise_affine`).

    ``source_points`` / ``destination_points`` are P×2 (x, y) or N×P×2 float tensors on the
    image's device. ``triangles`` (CUDA only, optional) is a counter-clockwise triangulation of
    the destination points, T×3 or N×T×3 int32 on the image's device, -1 rows as padding, at
    most ``_core.cuda_max_triangles``; without it every point set is Delaunay-triangulated on
    the host exactly as the CPU op does, which synchronises. The CPU op always triangulates.
    """
    import torch

    batch = _batched(image, "image", validate=validate)
    source = _require_tensor(source_points, "source_points")
    destination = _require_tensor(destination_points, "destination_points")
    if batch.device.type != "cuda":
        result = ops.warp_piecewise_affine(
            _numpy(image), _numpy(source), _numpy(destination), fill=fill
        )
        return _tensor(result, image)
    _same_device(batch, source, destination)
    fill = _checks.require_real(fill, "fill")
    if validate or triangles is None:
        # The CPU op's checks (shapes, counts, finiteness, range) on a host copy.
        batch_size = batch.shape[0] if image.dim() == 4 else None
        for name, points in (("source_points", source), ("destination_points", destination)):
            _checks.require_points(_numpy(points.cpu()), name, batch_size)
    _checks.require_same_shape(
        tuple(source.shape), tuple(destination.shape), "source_points and destination_points"
    )
    source = source.detach().to(torch.float32).contiguous()
    destination = destination.detach().to(torch.float32).contiguous()
    triangles = _device_triangles(triangles, destination, batch)
    core = _core_cuda()
    output = torch.empty_like(image)
    with torch.cuda.device(batch.device):
        core.cuda_warp_piecewise_affine(
            batch, output.view(batch.shape), source, destination, triangles, fill,
            _stream(batch),
        )
    return output


def _device_triangles(triangles, destination: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """The triangulation the CUDA warp takes: ``triangles`` checked, or without it the CPU op's
    Delaunay of each destination point set."""
    import torch

    if triangles is None:
        triangles = _host_triangles(destination).to(batch.device)
    else:
        triangles = _require_tensor(triangles, "triangles")
        if triangles.dtype != torch.int32:
            raise TypeError(f"triangles must have dtype int32, got {triangles.dtype}")
        _same_device(batch, triangles)
    most = _core_cuda().cuda_max_triangles
    if triangles.shape[-2] > most:
        raise ValueError(
            f"the CUDA warp takes at most {most} triangles, got {triangles.shape[-2]}; "
            "use fewer control points or the CPU op"
        )
    return triangles.contiguous()


def _host_triangles(destination: torch.Tensor) -> torch.Tensor:
    """Triangulate each destination point set with the CPU op's Delaunay; pad with -1 rows."""
    import torch

    from facexray_forensics import _core

    sets = destination.detach().to("cpu", torch.float64).reshape(-1, *destination.shape[-2:])
    triangulations = [_core.delaunay(np.ascontiguousarray(points.numpy())) for points in sets]
    most = max(len(triangles) for triangles in triangulations)
    padded = np.full((len(triangulations), most, 3), -1, dtype=np.int32)
    for index, triangles in enumerate(triangulations):
        padded[index, : len(triangles)] = triangles
    return torch.from_numpy(padded[0] if destination.dim() == 2 else padded)


def gaussian_blur(
    image, kernel_size, sigma: float | tuple[float, float] = 0.0, *, validate: bool = True
) -> torch.Tensor:
    """Separable Gaussian blur as ``cv2.GaussianBlur`` with BORDER_REFLECT_101
    (see :func:`.ops.gaussian_blur`): odd ``kernel_size`` or (kx, ky); ``sigma`` or
    (sigma_x, sigma_y), derived from the size when <= 0."""
    import torch

    batch = _batched(image, "image", validate=validate)
    if batch.device.type != "cuda":
        return _tensor(ops.gaussian_blur(_numpy(image), kernel_size, sigma), image)
    kernel_x, kernel_y = _checks.kernel_sizes(kernel_size)
    sigma_x, sigma_y = _checks.sigmas(sigma)
    core = _core_cuda()
    output = torch.empty_like(image)
    with torch.cuda.device(batch.device):
        core.cuda_gaussian_blur(
            batch, output.view(batch.shape), kernel_x, kernel_y, sigma_x, sigma_y, _stream(batch)
        )
    return output


_KERNEL_TABLES: dict = {}


def _kernel_table(width: int, device) -> torch.Tensor:
    """Row (k − 1)/2 holds the CPU op's Gaussian of odd size k <= ``width`` (sigma derived),
    zero-padded around its centre to ``width`` taps; cached per width and device."""
    import torch

    from facexray_forensics import _core

    key = (width, str(device))
    if key not in _KERNEL_TABLES:
        table = np.zeros((width // 2 + 1, width), dtype=np.float32)
        for row in range(len(table)):
            size = 2 * row + 1
            offset = (width - size) // 2
            table[row, offset : offset + size] = _core.gaussian_kernel(size, 0.0)
        _KERNEL_TABLES[key] = torch.from_numpy(table).to(device)
    return _KERNEL_TABLES[key]


def gaussian_blur_per_sample(
    image, kernel_sizes, max_size: int | None = None, *, validate: bool = True
) -> torch.Tensor:
    """Blur sample ``i`` of an N×H×W×C batch with an odd square Gaussian of
    ``kernel_sizes[i]`` (sigma derived from the size), in one pass over the batch.

    Equal to ``gaussian_blur(image[i], kernel_sizes[i])`` for every i. ``max_size`` bounds
    the sizes (at most ``_core.cuda_max_sample_kernel``); giving it saves reading the sizes
    back from the device.
    """
    import torch

    batch = _batched(image, "image", validate=validate)
    if image.dim() != 4:
        raise ValueError(f"image must be an N×H×W×C batch, got shape {tuple(image.shape)}")
    sizes = _require_tensor(kernel_sizes, "kernel_sizes")
    if sizes.shape != (batch.shape[0],) or sizes.dtype not in (torch.int32, torch.int64):
        raise ValueError(
            f"kernel_sizes must be {batch.shape[0]} integers, got {tuple(sizes.shape)} "
            f"{sizes.dtype}"
        )
    if max_size is None or validate:
        host = sizes.cpu()
        largest = int(host.max())
        if bool((host < 1).any() | (host % 2 == 0).any()):
            raise ValueError("kernel sizes must be positive and odd")
        if max_size is not None and largest > max_size:
            raise ValueError(f"kernel size {largest} exceeds max_size {max_size}")
        max_size = largest if max_size is None else max_size
    if batch.device.type != "cuda":
        results = [
            ops.gaussian_blur(_numpy(sample), int(size)) for sample, size in zip(image, sizes)
        ]
        return _tensor(np.stack(results), image)
    core = _core_cuda()
    if max_size % 2 == 0 or not 1 <= max_size <= core.cuda_max_sample_kernel:
        raise ValueError(
            f"max_size must be odd, 1 to {core.cuda_max_sample_kernel}, got {max_size}"
        )
    full = _kernel_table(core.cuda_max_sample_kernel, batch.device)
    centre = core.cuda_max_sample_kernel // 2
    radius = max_size // 2
    weights = full[(sizes.to(batch.device).long() - 1) // 2, centre - radius : centre + radius + 1]
    weights = weights.contiguous()
    output = torch.empty_like(image)
    with torch.cuda.device(batch.device):
        core.cuda_gaussian_blur_per_sample(batch, output, weights, weights, _stream(batch))
    return output


def soften_mask(mask, *, validate: bool = True) -> torch.Tensor:
    """The 3×3 Gaussian softening of a mask (OpenCV's [1 2 1]/4 kernel, BORDER_REFLECT_101)."""
    return gaussian_blur(mask, 3, 0.0, validate=validate)


def _image_and_mask(foreground, background, mask, validate: bool):
    front = _batched(foreground, "foreground", validate=validate)
    back = _batched(background, "background", validate=validate)
    _checks.require_same_shape(
        tuple(foreground.shape), tuple(background.shape), "foreground and background"
    )
    weights = _mask_batch(mask, foreground, front, validate=validate)
    _same_device(front, back, weights)
    return front, back, weights


def colour_transfer(
    foreground, background, mask, match_std=False, *, validate: bool = True
) -> torch.Tensor:
    """Move each channel's mean (and standard deviation when ``match_std``) of the foreground
    inside ``mask`` > 0 to the background's, per sample (see :func:`.ops.colour_transfer`).

    ``match_std`` is a bool for the whole batch or, for an N×H×W×C batch, a bool tensor of N
    per-sample choices.
    """
    import torch

    front, back, weights = _image_and_mask(foreground, background, mask, validate)
    if isinstance(match_std, torch.Tensor):
        if foreground.dim() != 4 or match_std.shape != (front.shape[0],):
            raise ValueError(
                f"per-sample match_std needs an N×H×W×C batch and N flags, got "
                f"{tuple(match_std.shape)} for {tuple(foreground.shape)}"
            )
        _same_device(front, match_std)
        flags = match_std.to(torch.int32).contiguous()
    elif isinstance(match_std, (bool, np.bool_)):
        flags = bool(match_std)
    else:
        raise TypeError(f"match_std must be a bool or a tensor, got {type(match_std).__name__}")
    if front.device.type != "cuda":
        if isinstance(flags, bool):
            result = ops.colour_transfer(
                _numpy(foreground), _numpy(background), _numpy(mask), match_std=flags
            )
        else:
            result = np.stack([
                ops.colour_transfer(_numpy(f), _numpy(b), _numpy(m), match_std=bool(flag))
                for f, b, m, flag in zip(foreground, background, mask, flags)
            ])
        return _tensor(result, foreground)
    core = _core_cuda()
    output = torch.empty_like(foreground)
    with torch.cuda.device(front.device):
        core.cuda_colour_transfer(
            front, back, weights, output.view(front.shape), flags, _stream(front)
        )
    return output


def blend(foreground, background, mask, *, validate: bool = True) -> torch.Tensor:
    """Eq. 1: mask·foreground + (1 − mask)·background, mask clipped to [0, 1]."""
    import torch

    front, back, weights = _image_and_mask(foreground, background, mask, validate)
    if front.device.type != "cuda":
        result = ops.blend(_numpy(foreground), _numpy(background), _numpy(mask))
        return _tensor(result, foreground)
    core = _core_cuda()
    output = torch.empty_like(foreground)
    with torch.cuda.device(front.device):
        core.cuda_blend(front, back, weights, output.view(front.shape), _stream(front))
    return output


def face_xray(mask, *, validate: bool = True) -> torch.Tensor:
    """Eq. 2: 4·mask·(1 − mask), mask clipped to [0, 1]."""
    import torch

    weights = _batched(mask, "mask", validate=validate)
    if validate:
        _require_unit_range(weights)
    if weights.device.type != "cuda":
        return _tensor(ops.face_xray(_numpy(mask)), mask)
    core = _core_cuda()
    output = torch.empty_like(mask)
    with torch.cuda.device(weights.device):
        core.cuda_face_xray(weights, output.view(weights.shape), _stream(weights))
    return output


def blend_with_xray(
    foreground, background, mask, *, validate: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Soften the mask (3×3 Gaussian), blend (Eq. 1) and compute the X-ray (Eq. 2) in one pass.

    Returns (image, xray, softened): the image in the foreground's shape, the X-ray and the
    softened mask (clipped to [0, 1]) in the mask's shape.
    """
    import torch

    front, back, weights = _image_and_mask(foreground, background, mask, validate)
    if front.device.type != "cuda":
        results = ops.blend_with_xray(_numpy(foreground), _numpy(background), _numpy(mask))
        return tuple(_tensor(result, foreground) for result in results)
    core = _core_cuda()
    image = torch.empty_like(foreground)
    xray = torch.empty_like(mask)
    softened = torch.empty_like(mask)
    with torch.cuda.device(front.device):
        core.cuda_blend_with_xray(
            front, back, weights, image.view(front.shape), xray.view(weights.shape),
            softened.view(weights.shape), _stream(front),
        )
    return image, xray, softened
