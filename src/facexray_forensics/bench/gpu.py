"""Speed of the blending pipeline on a torch device: the ops chain and the batched BI sampler.

The ops chain is the per-sample chain of :mod:`.ops` (warp the mask on a deformed 4×4 grid,
blur it, colour-correct the foreground, blend with Eq. 1 and compute the Eq. 2 X-ray), run on
whole batches through :mod:`facexray_forensics.ops.cuda`. The sampler is
:class:`facexray_forensics.blending.gpu_sampler.GpuBlendSampler` end to end: draws, masks,
deformation, blur, colour, blend, X-ray and augmentations. Times are medians of repeated
runs after a warm-up, with the device synchronised around each run.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from pathlib import Path


def _device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def _median_seconds(function, repeats: int, device) -> float:
    """Median wall-clock seconds of ``function()``, the device synchronised around each call."""
    import torch

    def synchronise():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    function()
    synchronise()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        synchronise()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_ops(device: str = "cuda", batch: int = 1024, size: int = 256, repeats: int = 20,
            kernel_size: int = 11, seed: int = 0) -> dict:
    """Samples per second of the ops chain on ``batch`` samples of ``size``², and the median
    milliseconds per op for the whole batch."""
    import torch

    from facexray_forensics import ops
    from facexray_forensics.blending.gpu_geometry import delaunay_batch
    from facexray_forensics.ops import cuda as ops_cuda

    target = torch.device(device)
    generator = torch.Generator(device=target).manual_seed(seed)
    rows = torch.linspace(-1, 1, size, device=target)
    inside = (rows[:, None] / 0.64) ** 2 + (rows[None, :] / 0.5) ** 2 <= 1
    mask = inside.float()[None, :, :, None].repeat(batch, 1, 1, 1).contiguous()
    foreground = torch.rand(batch, size, size, 3, generator=generator, device=target)
    background = torch.rand(batch, size, size, 3, generator=generator, device=target)
    grid = torch.from_numpy(ops.grid_points(size, size)).to(target)
    source = grid.expand(batch, -1, -1).contiguous()
    moves = torch.randn(batch, *grid.shape, generator=generator, device=target) * (size * 0.03)
    destination = (grid + moves).contiguous()
    triangles = delaunay_batch(destination)

    def warp():
        return ops_cuda.warp_piecewise_affine(
            mask, source, destination, triangles=triangles, validate=False
        )

    def blur():
        return ops_cuda.gaussian_blur(mask, kernel_size, validate=False)

    def colour():
        return ops_cuda.colour_transfer(foreground, background, mask, validate=False)

    def blend():
        return ops_cuda.blend_with_xray(foreground, background, mask, validate=False)

    def chain():
        moved = ops_cuda.warp_piecewise_affine(
            mask, source, destination, triangles=triangles, validate=False
        )
        soft = ops_cuda.gaussian_blur(moved, kernel_size, validate=False)
        corrected = ops_cuda.colour_transfer(foreground, background, soft, validate=False)
        return ops_cuda.blend_with_xray(corrected, background, soft, validate=False)

    per_op = {
        name: round(1e3 * _median_seconds(function, repeats, target), 4)
        for name, function in (("warp", warp), ("blur", blur), ("colour", colour),
                               ("blend_with_xray", blend))
    }
    seconds = _median_seconds(chain, repeats, target)
    return {
        "ops_samples_per_s": round(batch / seconds, 1),
        "ops_chain_ms": round(1e3 * seconds, 4),
        "ops_batch_ms": per_op,
        "ops_batch": batch,
        "ops_kernel_size": kernel_size,
    }


def run_sampler(index_dir: str | os.PathLike, device: str = "cuda", batch: int = 1024,
                batches: int = 20, seed: int = 0, jpeg: str = "auto") -> dict:
    """Samples per second of the batched BI sampler, draws and augmentation included."""
    import torch

    from facexray_forensics.blending.gpu_sampler import GpuBlendSampler

    target = torch.device(device)
    sampler = GpuBlendSampler(index_dir, device=target, jpeg=jpeg)
    generator = torch.Generator(device=target).manual_seed(seed)
    labels = []

    def one_batch():
        labels.append(sampler.render(sampler.draw(batch, generator)).label.sum())

    seconds = _median_seconds(one_batch, batches, target)
    blended = float(torch.stack(labels).sum()) / (batch * len(labels))
    return {
        "sampler_samples_per_s": round(batch / seconds, 1),
        "sampler_batch_ms": round(1e3 * seconds, 3),
        "sampler_batch": batch,
        "sampler_jpeg": sampler.jpeg,
        "sampler_blended_fraction": round(blended, 3),
        "index_faces": len(sampler.pool),
        "size": sampler.size,
    }


def run(index_dir: str | os.PathLike, device: str = "cuda", batch: int = 1024,
        repeats: int = 20, jpeg: str = "auto", results_dir: str | os.PathLike | None = None) -> dict:
    """Both benchmarks on one device (the sampler with nvJPEG also with the DCT JPEG model,
    as ``sampler_dct_samples_per_s``). With ``results_dir``, also write the result as
    ``<results_dir>/<device name>.json`` (e.g. ``nvidia-h100-80gb-hbm3.json``)."""
    import torch

    target = torch.device(device)
    result = {"device": _device_name(target), "torch": torch.__version__}
    result.update(run_ops(device, batch=batch, repeats=repeats))
    result.update(run_sampler(index_dir, device, batch=batch, batches=repeats, jpeg=jpeg))
    if result["sampler_jpeg"] == "nvjpeg":  # the DCT model too, to weigh the two
        model = run_sampler(index_dir, device, batch=batch, batches=repeats, jpeg="dct")
        result["sampler_dct_samples_per_s"] = model["sampler_samples_per_s"]
    if results_dir is not None:
        slug = re.sub(r"[^a-z0-9]+", "-", result["device"].lower()).strip("-")
        path = Path(results_dir) / f"{slug}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        result["written_to"] = str(path)
    return result
