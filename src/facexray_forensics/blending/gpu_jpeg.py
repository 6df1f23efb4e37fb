"""JPEG re-compression of uint8 sample batches on a torch device, for :mod:`.gpu_sampler`.

Two ways: torchvision's nvJPEG encoder and decoder on a CUDA device (``"nvjpeg"``), or a
JPEG model in torch (``"dct"``: JFIF YCbCr, 4:2:0 chroma, 8×8 DCT, the IJG quantisation
tables scaled by quality, rounding), which runs on any device without synchronising and
stays within a few levels of libjpeg. ``"auto"`` takes nvJPEG where torchvision has it.
"""

from __future__ import annotations

import numpy as np
import torch

JPEG_MODES = ("auto", "nvjpeg", "dct")


def resolve_jpeg_mode(mode: str, device: torch.device) -> str:
    """``mode`` as it runs on ``device``: ``"auto"`` becomes nvJPEG where it works, else the model."""
    if mode != "auto":
        if mode == "nvjpeg" and not _has_nvjpeg(device):
            raise ValueError("jpeg='nvjpeg' needs a CUDA device and torchvision with GPU JPEG")
        return mode
    return "nvjpeg" if _has_nvjpeg(device) else "dct"


def _has_nvjpeg(device: torch.device) -> bool:
    """True when torchvision encodes and decodes JPEG on this CUDA device (tried once)."""
    if device.type != "cuda":
        return False
    try:
        probe = torch.zeros(1, 16, 16, 3, dtype=torch.uint8, device=device)
        nvjpeg_round_trip(probe, torch.tensor([90], device=device))
    except Exception:  # no torchvision, or one built without GPU JPEG: any failure means no
        return False
    return True


def nvjpeg_round_trip(pixels: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Encode and decode the samples with quality > 0 through nvJPEG, grouped by quality."""
    from torchvision.io import decode_jpeg, encode_jpeg

    result = pixels.clone()
    wanted = quality.tolist()  # one read-back per batch: qualities group the encoder calls
    groups: dict[int, list[int]] = {}
    for number, value in enumerate(wanted):
        if value > 0:
            groups.setdefault(int(value), []).append(number)
    for value, members in groups.items():
        images = [pixels[number].permute(2, 0, 1).contiguous() for number in members]
        encoded = encode_jpeg(images, quality=value)
        # The decoder reads its input bytes from host memory.
        decoded = decode_jpeg([data.cpu() for data in encoded], device=pixels.device)
        for number, image in zip(members, decoded):
            result[number] = image.permute(1, 2, 0)
    return result


# The JPEG model --------------------------------------------------------------------------

# The IJG (libjpeg) example tables of the JPEG standard, Annex K, in row-major order.
_LUMINANCE_TABLE = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]  # fmt: skip
_CHROMINANCE_TABLE = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
] + [99] * 32  # fmt: skip


def quantisation_tables(quality: torch.Tensor) -> torch.Tensor:
    """B×2×8×8 libjpeg quantisation tables (luminance, chrominance) for qualities 1..100,
    as ``jpeg_set_quality`` scales them (baseline: clamped to 1..255)."""
    quality = quality.clamp(1, 100).double()
    scale = torch.where(quality < 50, 5000.0 / quality, 200.0 - 2.0 * quality)
    base = torch.tensor([_LUMINANCE_TABLE, _CHROMINANCE_TABLE], dtype=torch.float64,
                        device=quality.device)
    tables = torch.floor((base[None] * scale[:, None, None] + 50.0) / 100.0).clamp_(1, 255)
    return tables.reshape(-1, 2, 8, 8).float()


def _dct_matrix(device: torch.device) -> torch.Tensor:
    k = torch.arange(8, dtype=torch.float64, device=device)
    matrix = torch.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    matrix[0] /= np.sqrt(2)
    return matrix.float()


def _blockwise(plane: torch.Tensor, matrix: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Quantise a B×H×W plane (H, W multiples of 8) in the DCT domain and transform back."""
    batch, height, width = plane.shape
    # Rows of 8 against the 8×8 transform: two large products with inner size 8 rather than
    # millions of tiny batched ones.
    blocks = plane.reshape(batch, height // 8, 8, width // 8, 8).permute(0, 1, 3, 2, 4)
    coefficients = ((blocks @ matrix.T).transpose(-1, -2) @ matrix.T).transpose(-1, -2)
    step = table[:, None, None]
    quantised = torch.round(coefficients / step) * step
    restored = ((quantised @ matrix).transpose(-1, -2) @ matrix).transpose(-1, -2)
    return restored.permute(0, 1, 3, 2, 4).reshape(batch, height, width)


def jpeg_round_trip(pixels: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """A JPEG encode-decode model of B×H×W×3 uint8 RGB at per-sample ``quality`` (1..100),
    as libjpeg does it by default: JFIF YCbCr, chroma averaged over 2×2 (4:2:0), 8×8 DCT,
    the standard tables scaled by quality, rounding to the quantisation step, and the chroma
    brought back with the triangle filter of libjpeg's fancy upsampling (bilinear). It
    computes in float where libjpeg uses integer DCTs, so it stays within a few levels of
    a real round trip. Samples whose quality is 0 come back unchanged. Sides must be
    multiples of 16."""
    batch, height, width, _ = pixels.shape
    if height % 16 or width % 16:
        raise ValueError(f"the JPEG model needs sides that are multiples of 16, got {height}×{width}")
    rgb = pixels.float()
    red, green, blue = rgb.unbind(-1)
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    blue_difference = -0.168735892 * red - 0.331264108 * green + 0.5 * blue + 128.0
    red_difference = 0.5 * red - 0.418687589 * green - 0.081312411 * blue + 128.0
    tables = quantisation_tables(quality)
    matrix = _dct_matrix(pixels.device)

    def chroma(plane: torch.Tensor) -> torch.Tensor:
        small = torch.nn.functional.avg_pool2d(plane[:, None], 2)[:, 0]
        restored = _blockwise(small - 128.0, matrix, tables[:, 1]) + 128.0
        return torch.nn.functional.interpolate(
            restored[:, None], scale_factor=2, mode="bilinear", align_corners=False
        )[:, 0]

    luma = _blockwise(luma - 128.0, matrix, tables[:, 0]) + 128.0
    cb = chroma(blue_difference) - 128.0
    cr = chroma(red_difference) - 128.0
    red = luma + 1.402 * cr
    green = luma - 0.344136286 * cb - 0.714136286 * cr
    blue = luma + 1.772 * cb
    decoded = torch.stack([red, green, blue], dim=-1).round_().clamp_(0, 255).to(torch.uint8)
    return torch.where((quality > 0)[:, None, None, None], decoded, pixels)
