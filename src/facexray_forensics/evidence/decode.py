"""Frames from items, with limits checked before any pixel is decoded.

One frame decoder per item kind (:data:`FRAME_DECODERS`): still images here,
videos by :mod:`facexray_forensics.evidence.video`. A decoder raises
:class:`DecodeError`, whose ``status`` is the item's recorded outcome
(unreadable, unsupported, too large), never a crash, and may fill a ``notes``
dict with what it learned about the item's stream.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from facexray_forensics.evidence.video import DEFAULT_FRAME_COUNT as DEFAULT_VIDEO_FRAMES
from facexray_forensics.evidence.video import FrameTooLarge, sample_video
from facexray_forensics.records import Frame, Item, Status

#: Defaults of ``--max-bytes`` and ``--max-pixels``.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_PIXELS = 100_000_000


@dataclass(frozen=True)
class DecodeLimits:
    """What a decoder may take on: bytes read and pixels decoded per frame, frames per video."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    video_frames: int = DEFAULT_VIDEO_FRAMES

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0 or self.video_frames <= 0:
            raise ValueError("decode limits must be positive")


class DecodeError(Exception):
    """An item that gives no frames, with the outcome to record and why."""

    def __init__(self, status: Status, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


FrameDecoder = Callable[[Item, DecodeLimits, dict], Iterator[Frame]]

_PILLOW_FORMATS = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF",
    "image/webp": "WEBP", "image/bmp": "BMP", "image/tiff": "TIFF",
}


def _header_problem(data: bytes, pillow_format: str) -> str:
    """Why Pillow's reader for the sniffed format rejects the header (Image.open only says it cannot identify)."""
    from PIL import Image

    try:
        Image.OPEN[pillow_format][0](io.BytesIO(data))
    except Exception as error:  # the plugin's own complaint: bad CRC, bad size, ...
        return f"{type(error).__name__}: {error}"
    return "Pillow cannot identify it"


def _to_rgb(image) -> np.ndarray:
    """Pillow image of any mode -> H×W×3 uint8 RGB (CMYK, 16-bit, palette, alpha)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit grey: keep the top byte rather than let convert() clip at 255.
        values = np.asarray(image, dtype=np.uint32) if image.mode == "I" else np.asarray(image).astype(np.uint32)
        grey = np.clip(values >> 8, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if image.mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float32))
        span = float(values.max() - values.min()) or 1.0
        grey = ((values - values.min()) / span * 255.0 + 0.5).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if image.mode != "RGB":
        image = image.convert("RGBA" if "transparency" in image.info else image.mode).convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def decode_still_image(item: Item, limits: DecodeLimits, notes: dict) -> Iterator[Frame]:
    """Decode a still image (the first frame of an animated GIF, WebP or TIFF).

    The declared size is read from the header first: more than
    ``limits.max_pixels`` is refused as too large before decoding, which
    defuses decompression bombs. EXIF orientation is applied, so faces are
    upright as a viewer shows them.
    """
    from PIL import Image  # Pillow: header-only open gives the declared size before decoding

    if item.mime not in _PILLOW_FORMATS:
        raise DecodeError(Status.UNSUPPORTED, f"{item.mime or 'unknown'} images are not decoded by this version")
    if item.size > limits.max_bytes:
        raise DecodeError(Status.TOO_LARGE, f"{item.size} bytes, over the limit of {limits.max_bytes}")
    try:
        with item.open() as stream:
            data = stream.read(limits.max_bytes + 1)
    except OSError as error:
        raise DecodeError(Status.UNREADABLE, f"cannot read: {error.strerror or error}") from error
    if len(data) > limits.max_bytes:
        raise DecodeError(Status.TOO_LARGE, f"more than {limits.max_bytes} bytes")
    if not data:
        raise DecodeError(Status.UNREADABLE, "empty file")
    pillow_limit = Image.MAX_IMAGE_PIXELS
    try:
        # Pillow's own guard follows ours (it refuses at twice its limit), so --max-pixels rules.
        Image.MAX_IMAGE_PIXELS = limits.max_pixels
        return _decode_with_pillow(data, item.mime, limits, notes)
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit


def _decode_with_pillow(data: bytes, mime: str, limits: DecodeLimits, notes: dict) -> list[Frame]:
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        # Pillow's bomb warning: our own limit is checked just below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[mime]])
        except Image.DecompressionBombError as error:
            raise DecodeError(Status.TOO_LARGE, f"declared size refused: {error}") from error
        except Image.UnidentifiedImageError as error:
            raise DecodeError(Status.UNREADABLE, f"bad header: {_header_problem(data, _PILLOW_FORMATS[mime])}") from error
        except Exception as error:  # Pillow raises several kinds on a bad header
            raise DecodeError(Status.UNREADABLE, f"bad header: {type(error).__name__}: {error}") from error
        width, height = image.size
        notes.update(format=image.format, mode=image.mode)
        if width <= 0 or height <= 0:
            raise DecodeError(Status.UNREADABLE, f"declared size {width}×{height}")
        if width * height > limits.max_pixels:
            raise DecodeError(
                Status.TOO_LARGE, f"declared {width}×{height} = {width * height} pixels, over the limit of {limits.max_pixels}"
            )
        try:
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
            pixels = _to_rgb(image)
        except Image.DecompressionBombError as error:
            raise DecodeError(Status.TOO_LARGE, f"refused while decoding: {error}") from error
        except Exception as error:  # truncated data, bad CRC, broken codec streams
            raise DecodeError(Status.UNREADABLE, f"corrupt: {type(error).__name__}: {error}") from error
    return [Frame(pixels=pixels, index=0, timestamp=None)]


def decode_video(item: Item, limits: DecodeLimits, notes: dict) -> Iterator[Frame]:
    """``limits.video_frames`` frames spread evenly over the video's running time.

    Streamed from ``item.open()`` (no copy, so no byte limit applies); each
    picture is held to ``limits.max_pixels``. ``notes`` gets the stream's
    description (codec, size, rotation, duration, timestamps, problems).
    """
    try:
        yield from sample_video(item.open, limits.video_frames, limits.max_pixels, notes)
    except FrameTooLarge as error:
        raise DecodeError(Status.TOO_LARGE, str(error)) from error
    except ValueError as error:
        raise DecodeError(Status.UNREADABLE, str(error)) from error
    except OSError as error:
        raise DecodeError(Status.UNREADABLE, f"cannot read: {error.strerror or error}") from error


#: Frame decoder per item kind.
FRAME_DECODERS: dict[str, FrameDecoder] = {"image": decode_still_image, "video": decode_video}


def decode_frames(item: Item, limits: DecodeLimits, notes: dict | None = None) -> Iterator[Frame]:
    """The frames of ``item``, by the decoder of its kind; DecodeError when there is none.

    ``notes``, when given, is filled by the decoder with what it learns about
    the item's stream (see :data:`FRAME_DECODERS`).
    """
    decoder = FRAME_DECODERS.get(item.kind)
    if decoder is None:
        raise DecodeError(Status.UNSUPPORTED, unsupported_reason(item))
    return decoder(item, limits, {} if notes is None else notes)


def unsupported_reason(item: Item) -> str:
    """Why an item gives no frames: a link, a special file, an open error or an unanalysed type."""
    file_type = item.origin.get("file_type")
    if file_type == "symbolic link":
        return f"symbolic link to {item.origin.get('link_target')!r}, not followed"
    if file_type is not None:
        return f"not a regular file ({file_type})"
    if "open_error" in item.origin:
        return f"cannot open: {item.origin['open_error']}"
    if item.size == 0:
        return "empty file (0 bytes)"
    if item.kind == "disk_image":
        return f"{item.mime}: {item.kind.replace('_', ' ')}s are not analysed by this version"
    return "not a recognised image type"
