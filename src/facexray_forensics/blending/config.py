"""The configuration of the BI sampler (:mod:`.sampler`, :mod:`.gpu_sampler`): every knob, checked
when it is made."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from facexray_forensics.blending.masks import REGIONS

COLOUR_MODES = ("mean", "mean_std")
BLEND_METHODS = ("alpha", "laplacian", "poisson")


@dataclass(frozen=True)
class SamplerConfig:
    """Every knob of the sampler. ``deform=False`` and ``colour_correction=False``
    are the ablations of paper Table 5; ``augment=False`` turns all augmentation off."""

    blend_probability: float = 0.5
    regions: tuple[str, ...] = REGIONS
    region_weights: tuple[float, ...] = (0.4, 0.2, 0.2, 0.2)
    deform: bool = True
    # Standard deviation of each grid point's offset, as a fraction of the side, drawn per sample.
    deform_scale: tuple[float, float] = (0.01, 0.05)
    grid: int = 4
    # Odd sizes, inclusive, for a 256-pixel crop; other crop sizes scale them (blur_kernel_for).
    blur_kernel: tuple[int, int] = (5, 31)
    colour_correction: bool = True
    colour_modes: tuple[str, ...] = COLOUR_MODES
    # How the pair is blended through the mask, drawn per sample with these weights. Other methods
    # than Eq. 1 teach the boundary of seams with no colour step (Poisson) or a multiband crossing.
    blend_methods: tuple[str, ...] = ("alpha",)
    blend_method_weights: tuple[float, ...] = (1.0,)
    augment: bool = True
    jitter_probability: float = 0.5
    jitter_strength: float = 0.15  # brightness, contrast and saturation factors in 1 ± this
    resize_probability: float = 0.2
    resize_scale: tuple[float, float] = (0.4, 0.9)
    blur_probability: float = 0.1
    noise_probability: float = 0.15
    noise_sigma: tuple[float, float] = (0.004, 0.03)
    jpeg_probability: float = 0.3
    jpeg_quality: tuple[int, int] = (40, 95)
    # One H.264 intra frame (libx264 veryfast, about 10 ms at 128 px), after any JPEG: video evidence.
    h264_probability: float = 0.0
    h264_crf: tuple[int, int] = (18, 36)
    # Above 1, the sample is instead the last of this many frames coded in one sequence (libx264
    # medium), the earlier ones the sample shifted by a drawn motion: video evidence's P frames are
    # predicted from moving neighbours and quantised coarser than an intra frame of the same CRF.
    h264_frames: int = 1
    h264_motion: int = 3  # the largest shift per frame, pixels, in each direction
    flip_probability: float = 0.5

    def __post_init__(self) -> None:
        for name in ("blend_probability", "jitter_probability", "resize_probability", "blur_probability",
                     "noise_probability", "jpeg_probability", "h264_probability", "flip_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        unknown = set(self.regions) - set(REGIONS)
        if not self.regions or unknown:
            raise ValueError(f"regions must be a non-empty subset of {REGIONS}, got {self.regions}")
        if len(self.region_weights) != len(self.regions) or min(self.region_weights) < 0 \
                or sum(self.region_weights) <= 0:
            raise ValueError("region_weights must be one non-negative weight per region, not all zero")
        low, high = self.blur_kernel
        if low < 1 or low % 2 == 0 or high % 2 == 0 or high < low:
            raise ValueError(f"blur_kernel must be two odd sizes low <= high, got {self.blur_kernel}")
        if not self.blend_methods or not set(self.blend_methods) <= set(BLEND_METHODS):
            raise ValueError(f"blend_methods must be a non-empty subset of {BLEND_METHODS}, got {self.blend_methods}")
        if len(self.blend_method_weights) != len(self.blend_methods) or min(self.blend_method_weights) < 0 \
                or sum(self.blend_method_weights) <= 0:
            raise ValueError("blend_method_weights must be one non-negative weight per method, not all zero")
        if not set(self.colour_modes) <= set(COLOUR_MODES) or not self.colour_modes:
            raise ValueError(f"colour_modes must be a non-empty subset of {COLOUR_MODES}")
        if self.grid < 2:
            raise ValueError(f"grid must be >= 2, got {self.grid}")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError(f"jpeg_quality must be 1 <= low <= high <= 100, got {self.jpeg_quality}")
        if not 0 <= self.h264_crf[0] <= self.h264_crf[1] <= 51:
            raise ValueError(f"h264_crf must be 0 <= low <= high <= 51, got {self.h264_crf}")
        if self.h264_frames < 1 or self.h264_motion < 0:
            raise ValueError(f"h264_frames must be >= 1 and h264_motion >= 0, got {self.h264_frames}, {self.h264_motion}")

    def as_dict(self) -> dict:
        return asdict(self)

    def blur_kernel_for(self, size: int) -> tuple[int, int]:
        """The blur kernel range for ``size``-pixel crops: :attr:`blur_kernel` scaled from 256,
        kept odd, so the boundary's softness relative to the face does not depend on the crop size."""
        low, high = (max(1, 2 * round(k * size / 512.0 - 0.5) + 1) for k in self.blur_kernel)
        return low, max(low, high)
