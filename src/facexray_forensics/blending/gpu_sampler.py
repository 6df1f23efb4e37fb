"""The BI sampler of :mod:`.sampler`, made in batches on one torch device.

The face pool (crops, the hull of every face region, the neighbour table) is copied once to
the device; every draw, the mask rasterisation, the deformation, blur, colour correction,
blend, X-ray and the augmentations then run there, batch by batch, with no copy back to the
host. On CUDA the per-pixel steps are the extension's CUDA kernels (:mod:`..ops.cuda`); on a
CPU device they are the CPU ops, so the same code runs, and is tested, without a GPU.

Semantics are those of :class:`.sampler.BlendSampler`, step for step (same configuration,
same distributions, same ops), with these differences that the maths leaves:

- Draws come from a seeded ``torch.Generator`` on the device, batch by batch, so a stream is
  reproducible from ``(seed, batch_size)`` on one device type; it is not the per-sample numpy
  stream of the CPU sampler. :meth:`GpuBlendSampler.render` also takes the draws of CPU
  samples (:meth:`Draws.from_params`), which renders the CPU sampler's samples again.
- The hull mask is the set of pixel centres within half a pixel of the hull of the region's
  landmarks, rounded to 1/16 pixel as ``cv2.fillConvexPoly`` rounds them; OpenCV's scan
  conversion differs from it on a few boundary pixels.
- The deformation triangulates each deformed grid by the empty-circumcircle test over all
  triangles of its points, which is the CPU op's Delaunay triangulation for points in
  general position (random offsets are).
- A blended sample whose mask comes out empty stays the background (the CPU sampler raises);
  it has no X-ray, like a real one, but keeps its label.
- Down-and-up resizing is OpenCV's INTER_AREA then INTER_LINEAR, written as one matrix per
  side and applied with a batched matrix product.
- JPEG: with ``jpeg="nvjpeg"`` torchvision's nvJPEG encoder and decoder on the GPU (grouped
  by quality, which reads the qualities back once per batch); with ``jpeg="dct"`` a
  JPEG model in torch (JFIF YCbCr, 4:2:0 chroma, 8×8 DCT, the IJG quantisation tables
  scaled by quality, rounding), which runs on any device without synchronising and stays
  within a few levels of libjpeg. ``"auto"`` takes nvJPEG where torchvision has it for CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from facexray_forensics.blending.config import SamplerConfig
from facexray_forensics.blending.gpu_geometry import delaunay_batch, hull_planes, rasterise_hulls
from facexray_forensics.blending.gpu_jpeg import (
    JPEG_MODES,
    jpeg_round_trip,
    nvjpeg_round_trip,
    resolve_jpeg_mode,
)
from facexray_forensics.blending.sampler import BlendSampler
from facexray_forensics.data.index import FaceIndex
from facexray_forensics.ops import cuda as ops_cuda

_AUGMENT_BLUR_SIZES = (3, 5)


@dataclass
class Draws:
    """Everything drawn for a batch of B samples, as tensors on the sampler's device.

    Faces are numbers into the sampler's pool (``GpuBlendSampler.pool`` maps them to index
    face numbers). Switched-off steps hold neutral values: zero offsets, jitter factors 1,
    ``resize`` 0, ``augment_blur`` 1, ``noise_sigma`` 0, ``jpeg_quality`` 0.
    """

    label: torch.Tensor  # B int64, 1 blended, 0 real
    background: torch.Tensor  # B int64 pool numbers
    foreground: torch.Tensor  # B int64 pool numbers (the background for real samples)
    region: torch.Tensor  # B int64 into config.regions
    offsets: torch.Tensor  # B×G×2 float32 grid offsets in pixels
    blur_kernel: torch.Tensor  # B int64 odd
    match_std: torch.Tensor  # B bool: colour mode "mean_std"
    jitter: torch.Tensor  # B×3 float32 brightness, contrast, saturation
    resize: torch.Tensor  # B int64 small side, 0 for none
    augment_blur: torch.Tensor  # B int64 odd kernel, 1 for none
    noise_sigma: torch.Tensor  # B float32
    noise_origin: torch.Tensor  # B×2 int64 (y, x) window in the noise bank
    jpeg_quality: torch.Tensor  # B int64, 0 for none
    flip: torch.Tensor  # B bool

    def __len__(self) -> int:
        return int(self.label.shape[0])

    def to(self, device: str | torch.device) -> Draws:
        """The same draws on another device (to render one batch on two devices)."""
        return Draws(**{field.name: getattr(self, field.name).to(device) for field in fields(self)})

    @classmethod
    def from_params(cls, params: list[dict], sampler: GpuBlendSampler) -> Draws:
        """The draws recorded in :class:`.sampler.SampleRecord` ``params`` (rounded as
        recorded), for rendering the CPU sampler's samples on this sampler's device."""
        local = {int(face): number for number, face in enumerate(sampler.pool)}
        config = sampler.config
        grid_points = sampler.grid.shape[0]
        rows: dict[str, list] = {field.name: [] for field in fields(cls)}
        for record in params:
            augment = record.get("augment", {})
            background = local[int(record["background"])]
            rows["label"].append(int(record["label"]))
            rows["background"].append(background)
            rows["foreground"].append(local[int(record.get("foreground", record["background"]))])
            rows["region"].append(config.regions.index(record.get("region", config.regions[0])))
            rows["offsets"].append(record.get("grid_offsets", np.zeros((grid_points, 2)).tolist()))
            rows["blur_kernel"].append(int(record.get("blur_kernel", 1)))
            rows["match_std"].append(record.get("colour_mode") == "mean_std")
            rows["jitter"].append(augment.get("jitter", [1.0, 1.0, 1.0]))
            rows["resize"].append(int(augment.get("resize", 0)))
            rows["augment_blur"].append(int(augment.get("blur", 1)))
            noise = augment.get("noise", [0.0, 0, 0])
            rows["noise_sigma"].append(float(noise[0]))
            rows["noise_origin"].append([int(noise[1]), int(noise[2])])
            rows["jpeg_quality"].append(int(augment.get("jpeg", 0)))
            rows["flip"].append(bool(augment.get("flip", False)))
        device = sampler.device
        floats = {"offsets", "jitter", "noise_sigma"}
        bools = {"match_std", "flip"}
        values = {}
        for name, column in rows.items():
            dtype = torch.float32 if name in floats else torch.bool if name in bools else torch.int64
            values[name] = torch.tensor(column, dtype=dtype, device=device)
        return cls(**values)


@dataclass
class GpuBatch:
    """A rendered batch on the sampler's device.

    ``image`` B×S×S×3 uint8 (what the model sees); ``mask`` B×S×S float32, the deformed and
    blurred hull mask before softening; ``softened`` the mask after the 3×3 Gaussian (the M
    of Eq. 1 and 2); ``xray`` = 4·softened·(1 − softened); ``label`` B int64. Real samples
    have all-zero mask, softened and xray. Flips move the masks with the image.
    """

    image: torch.Tensor
    mask: torch.Tensor
    softened: torch.Tensor
    xray: torch.Tensor
    label: torch.Tensor

    def training_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(image B×3×S×S float32 in [0, 1], xray B×1×S×S float32, label B int64)."""
        image = self.image.permute(0, 3, 1, 2).float().div_(255.0)
        return image, self.xray[:, None], self.label


class GpuBlendSampler:
    """BI samples in batches on ``device``, from a face index.

    ``index``, ``config``, ``sources`` and ``neighbours`` are those of
    :class:`.sampler.BlendSampler`, whose pool and neighbour table this sampler takes over.
    The whole pool's crops go to the device (S·S·3 bytes a face: 196 kB at 256).
    """

    def __init__(
        self,
        index: FaceIndex | str | Path,
        config: SamplerConfig | None = None,
        sources: Iterable[str] | None = None,
        neighbours: int = 100,
        device: str | torch.device = "cuda",
        jpeg: str = "auto",
    ) -> None:
        if jpeg not in JPEG_MODES:
            raise ValueError(f"jpeg must be one of {JPEG_MODES}, got {jpeg!r}")
        self.device = torch.device(device)
        if self.device.type == "cuda" and not ops_cuda.cuda_available():
            raise ValueError("device is CUDA but no CUDA device or CUDA build is available")
        reference = BlendSampler(index, config, sources, neighbours)
        self.index = reference.index
        self.config = reference.config
        self.size = reference.size
        self.pool = reference.pool
        self.grid = reference.grid.astype(np.float32)
        self.jpeg = resolve_jpeg_mode(jpeg, self.device)
        local = np.full(len(self.index), -1, dtype=np.int64)
        local[self.pool] = np.arange(len(self.pool))
        table = reference._table[self.pool]
        table = np.where(table >= 0, local[np.maximum(table, 0)], -1)
        counts = reference._counts[self.pool]
        device = self.device
        self._crops = torch.from_numpy(np.ascontiguousarray(self.index.crops[self.pool])).to(device)
        self._table = torch.from_numpy(table).to(device)
        self._counts = torch.from_numpy(counts.astype(np.int64)).to(device)
        self._backgrounds = torch.from_numpy(np.flatnonzero(counts > 0)).to(device)
        self._region_cumulative = torch.from_numpy(reference._region_cumulative).to(device)
        self._hulls = torch.from_numpy(
            hull_planes(self.index.landmarks[self.pool], self.config.regions)
        ).to(device)
        self._noise = torch.from_numpy(reference._noise).to(device)
        self._grid = torch.from_numpy(self.grid).to(device)
        self._resize_matrices: dict[int, torch.Tensor] = {}
        self._resize_table: torch.Tensor | None = None

    # Draws ---------------------------------------------------------------------------------

    def draw(self, batch_size: int, generator: torch.Generator, augment: bool | None = None) -> Draws:
        """Draw a batch's parameters with ``generator`` (on the sampler's device)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        random = _BatchRandom(generator, self.device, batch_size)
        blend = self._draw_blend(random)
        do_augment = self.config.augment if augment is None else augment
        return Draws(**blend, **self._draw_augmentations(random, do_augment))

    def _draw_blend(self, random: _BatchRandom) -> dict[str, torch.Tensor]:
        """Label, faces, region, deformation, mask blur and colour mode of each sample."""
        config, device, size, batch_size = self.config, self.device, self.size, random.batch_size
        label = (random.uniform(batch_size) < config.blend_probability).long()
        if len(self._backgrounds) == 0:
            if config.blend_probability > 0:
                raise ValueError("no face in the pool has a neighbour of another source; cannot blend")
            blended_background = torch.zeros(batch_size, dtype=torch.int64, device=device)
        else:
            pick = (random.uniform(batch_size) * len(self._backgrounds)).long()
            blended_background = self._backgrounds[pick.clamp_(max=len(self._backgrounds) - 1)]
        counts = self._counts[blended_background].clamp(min=1)
        choice = torch.minimum((random.uniform(batch_size) * counts).long(), counts - 1)
        foreground = self._table[blended_background, choice]
        real_background = (random.uniform(batch_size) * len(self.pool)).long()
        real_background = real_background.clamp_(max=len(self.pool) - 1)
        blended = label.bool()
        background = torch.where(blended, blended_background, real_background)
        foreground = torch.where(blended, foreground, background)
        region = torch.searchsorted(
            self._region_cumulative, random.uniform(batch_size).double(), right=True
        ).clamp_(max=len(config.regions) - 1)
        if config.deform:
            low, high = config.deform_scale
            scale = low + (high - low) * random.uniform(batch_size)
            offsets = random.normal(batch_size, *self.grid.shape) * (scale * size)[:, None, None]
        else:
            offsets = torch.zeros(batch_size, *self.grid.shape, device=device)
        low, high = config.blur_kernel_for(size)
        blur_kernel = 2 * random.integers(low // 2, high // 2 + 1) + 1
        modes = torch.tensor([mode == "mean_std" for mode in config.colour_modes], device=device)
        match_std = modes[random.integers(0, len(config.colour_modes))]
        return dict(
            label=label, background=background, foreground=foreground, region=region,
            offsets=offsets.float(), blur_kernel=blur_kernel, match_std=match_std,
        )

    def _draw_augmentations(self, random: _BatchRandom, do_augment: bool) -> dict[str, torch.Tensor]:
        """The augmentations of each sample; all neutral without ``do_augment``."""
        config, device, size, batch_size = self.config, self.device, self.size, random.batch_size
        off = torch.zeros(batch_size, dtype=torch.bool, device=device)

        def chance(probability: float) -> torch.Tensor:
            return random.uniform(batch_size) < probability if do_augment else off

        strength = config.jitter_strength
        jitter = torch.where(
            chance(config.jitter_probability)[:, None],
            1 - strength + 2 * strength * random.uniform(batch_size, 3),
            torch.ones(batch_size, 3, device=device),
        )
        low, high = config.resize_scale
        small = torch.round(size * (low + (high - low) * random.uniform(batch_size))).long().clamp_(min=8)
        resize = torch.where(chance(config.resize_probability), small, 0)
        sizes = torch.tensor(_AUGMENT_BLUR_SIZES, device=device)
        augment_blur = torch.where(
            chance(config.blur_probability), sizes[random.integers(0, len(sizes))], 1
        )
        low, high = config.noise_sigma
        noise_sigma = torch.where(
            chance(config.noise_probability), low + (high - low) * random.uniform(batch_size), 0.0
        )
        noise_origin = torch.stack([random.integers(0, size), random.integers(0, size)], dim=1)
        low, high = config.jpeg_quality
        jpeg_quality = torch.where(chance(config.jpeg_probability), random.integers(low, high + 1), 0)
        return dict(
            jitter=jitter, resize=resize, augment_blur=augment_blur,
            noise_sigma=noise_sigma.float(), noise_origin=noise_origin,
            jpeg_quality=jpeg_quality, flip=chance(config.flip_probability),
        )

    # Rendering -----------------------------------------------------------------------------

    def render(self, draws: Draws, keep_layers: bool = False) -> GpuBatch | tuple[GpuBatch, dict]:
        """Make the batch that ``draws`` describe. With ``keep_layers`` also return the
        un-augmented blend, the colour-corrected foreground and the background (float32)."""
        config = self.config
        scale = np.float32(1 / 255)
        background = self._crops[draws.background].float().mul_(scale)
        foreground = self._crops[draws.foreground].float().mul_(scale)
        mask = self.hull_masks(draws.background, draws.region)
        if config.deform:
            destination = self._grid + draws.offsets
            triangles = delaunay_batch(destination)
            mask = ops_cuda.warp_piecewise_affine(
                mask, self._grid.expand_as(destination).contiguous(), destination,
                triangles=triangles, validate=False,
            )
        mask = ops_cuda.gaussian_blur_per_sample(
            mask, draws.blur_kernel, max_size=config.blur_kernel_for(mask.shape[-1])[1], validate=False
        )
        mask = mask * draws.label.to(mask.dtype)[:, None, None, None]
        if config.colour_correction:
            foreground = ops_cuda.colour_transfer(
                foreground, background, mask, match_std=draws.match_std, validate=False
            ).clamp_(0.0, 1.0)
        image, xray, softened = ops_cuda.blend_with_xray(
            foreground, background, mask, validate=False
        )
        layers = {"blend": image.clone(), "foreground": foreground, "background": background}
        pixels = self._jpeg(_to_uint8(self._augment(image, draws).clamp_(0.0, 1.0)), draws.jpeg_quality)
        flip = draws.flip[:, None, None]
        pixels = torch.where(flip[..., None], pixels.flip(2), pixels)
        mask, softened, xray = (
            torch.where(flip, layer[..., 0].flip(2), layer[..., 0]) for layer in (mask, softened, xray)
        )
        batch = GpuBatch(image=pixels, mask=mask, softened=softened, xray=xray, label=draws.label)
        return (batch, layers) if keep_layers else batch

    def batches(self, batch_size: int, seed: int = 0, start: int = 0) -> Iterator[GpuBatch]:
        """An endless stream of rendered batches drawn from ``seed``, from batch ``start``
        on (the draws of earlier batches are made and dropped, so a run resumes exactly)."""
        generator = torch.Generator(device=self.device)
        generator.manual_seed(int(seed))
        for _ in range(start):
            self.draw(batch_size, generator)
        while True:
            yield self.render(self.draw(batch_size, generator))

    def hull_masks(self, faces: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        """B×S×S×1 float32 masks: 1 where a pixel centre lies inside the face's region hull
        (widened by half a pixel, as OpenCV fills it; see :mod:`.gpu_geometry`)."""
        return rasterise_hulls(self._hulls[faces, regions], self.size)

    # Augmentations ---------------------------------------------------------------------------

    def _augment(self, image: torch.Tensor, draws: Draws) -> torch.Tensor:
        """The float augmentations, jitter, resize, blur and noise, in the CPU sampler's
        order; each is a no-op where its draw is neutral."""
        image = _jitter(image, draws.jitter)
        image = self._resize(image, draws.resize)
        image = ops_cuda.gaussian_blur_per_sample(
            image, draws.augment_blur, max_size=max(_AUGMENT_BLUR_SIZES), validate=False
        )
        return self._noise_add(image, draws.noise_sigma, draws.noise_origin)

    def _resize(self, image: torch.Tensor, small: torch.Tensor) -> torch.Tensor:
        if self._resize_table is None:
            low, high = self.config.resize_scale
            sides = range(max(8, int(np.floor(self.size * low))), int(np.ceil(self.size * high)) + 1)
            table = np.stack(
                [np.eye(self.size, dtype=np.float32)]
                + [down_up_matrix(self.size, side) for side in range(1, max(sides) + 1)]
            )
            self._resize_table = torch.from_numpy(table).to(self.device)
        matrices = self._resize_table[small]  # B×S×S; row 0 is the identity
        batch, height, width, channels = image.shape
        rows = torch.bmm(matrices, image.reshape(batch, height, width * channels))
        rows = rows.reshape(batch, height, width, channels).transpose(1, 2).contiguous()
        both = torch.bmm(matrices, rows.reshape(batch, width, height * channels))
        resized = both.reshape(batch, width, height, channels).transpose(1, 2)
        # Samples without a resize keep their pixels exactly, even where float32 matrix
        # products run in TF32.
        return torch.where((small > 0)[:, None, None, None], resized, image).contiguous()

    def _noise_add(self, image: torch.Tensor, sigma: torch.Tensor, origin: torch.Tensor) -> torch.Tensor:
        span = torch.arange(self.size, device=self.device)
        rows = (origin[:, 0, None] + span)[:, :, None]
        columns = (origin[:, 1, None] + span)[:, None, :]
        window = self._noise[rows, columns]  # B×S×S×3
        return torch.addcmul(image, window, sigma[:, None, None, None])

    def _jpeg(self, pixels: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """JPEG re-compression of the 8-bit samples whose quality is > 0, after quantisation
        as in the CPU sampler."""
        if self.jpeg == "nvjpeg":
            return nvjpeg_round_trip(pixels, quality)
        return jpeg_round_trip(pixels, quality)


# Helpers ---------------------------------------------------------------------------------


class _BatchRandom:
    """One batch's random numbers from one generator on one device, in the order drawn."""

    def __init__(self, generator: torch.Generator, device: torch.device, batch_size: int) -> None:
        self.generator, self.device, self.batch_size = generator, device, batch_size

    def uniform(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator, device=self.device)

    def normal(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator, device=self.device)

    def integers(self, low: int, high: int) -> torch.Tensor:  # [low, high), one per sample
        return torch.randint(low, high, (self.batch_size,), generator=self.generator, device=self.device)


def _to_uint8(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] float -> uint8 rounded to nearest, ties to even (cv2.convertScaleAbs)."""
    return torch.round(image * 255.0).clamp_(0, 255).to(torch.uint8)


def _jitter(image: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Brightness, contrast about the mean grey, saturation about the grey (as the CPU
    sampler folds them); factors (1, 1, 1) leave a sample exactly as it was."""
    brightness, contrast, saturation = (factors[:, k, None, None] for k in range(3))
    weights = torch.tensor([0.299, 0.587, 0.114], device=image.device, dtype=image.dtype)
    grey = (image * weights).sum(dim=3)  # cv2.COLOR_RGB2GRAY
    mean = grey.mean(dim=(1, 2), keepdim=True)
    own = saturation * contrast * brightness
    of_grey = (1 - saturation) * contrast * brightness
    constant = (1 - contrast) * brightness * mean
    return image * own[..., None] + (grey * of_grey + constant)[..., None]


def down_up_matrix(size: int, small: int) -> np.ndarray:
    """The size×size matrix of resizing a side of ``size`` pixels to ``small`` with
    OpenCV's INTER_AREA and back with INTER_LINEAR (both as cv2.resize does for float32)."""
    scale = size / small
    down = np.zeros((small, size), dtype=np.float64)
    for target in range(small):
        start, stop = target * scale, (target + 1) * scale
        first, last = int(np.floor(start)), int(np.ceil(stop))
        for source in range(first, min(last, size)):
            overlap = min(stop, source + 1) - max(start, source)
            if overlap > 0:
                down[target, source] = overlap / scale
    up = np.zeros((size, small), dtype=np.float64)
    ratio = small / size
    for target in range(size):
        position = (target + 0.5) * ratio - 0.5
        source = int(np.floor(position))
        fraction = position - source
        if source < 0:
            source, fraction = 0, 0.0
        if source >= small - 1:
            source, fraction = small - 1, 0.0
        up[target, source] += 1.0 - fraction
        if fraction > 0:
            up[target, source + 1] += fraction
    return (up @ down).astype(np.float32)
