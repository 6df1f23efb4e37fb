"""Media the evidence tests make themselves: short videos encoded with PyAV (libx264).

A plain module (not a conftest) so its helpers import by a unique name.
"""

from __future__ import annotations

import fractions
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "facexray_forensics" / "samples" / "evidence"


def encode_video(
    pictures: Sequence[np.ndarray],
    times_ms: Sequence[int] | None = None,
    container: str = "mp4",
    rotation: int = 0,
    gop: int | None = None,
    preset: str = "ultrafast",
    codec: str = "libx264",
) -> bytes:
    """H.264 video of RGB ``pictures`` shown at ``times_ms`` (default 25 frames a second).

    Unequal gaps between ``times_ms`` make a variable-frame-rate stream;
    ``rotation`` sets the display matrix (counter-clockwise degrees);
    presets slower than "ultrafast" reorder frames (B-frames); ``preset``
    applies to libx264 only.
    """
    import av

    height, width = pictures[0].shape[:2]
    times_ms = list(times_ms) if times_ms is not None else [40 * index for index in range(len(pictures))]
    buffer = io.BytesIO()
    output = av.open(buffer, "w", format=container)
    stream = output.add_stream(codec, rate=25, options={"preset": preset} if codec == "libx264" else {})
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    stream.codec_context.time_base = fractions.Fraction(1, 1000)
    if gop is not None:
        stream.codec_context.gop_size = gop
    if rotation:
        stream.set_display_rotation(rotation)
    for picture, time_ms in zip(pictures, times_ms):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
        frame.pts = time_ms
        for packet in stream.encode(frame):
            output.mux(packet)
    for packet in stream.encode():
        output.mux(packet)
    output.close()
    return buffer.getvalue()


def moving_bar(count: int, height: int = 96, width: int = 128) -> list[np.ndarray]:
    """Pictures that differ frame to frame (a bar grows, a corner marker shows orientation)."""
    pictures = []
    for index in range(count):
        picture = np.full((height, width, 3), 40, np.uint8)
        picture[:, : (index + 1) * width // count] = 200
        picture[:16, :16] = (255, 0, 0)  # top-left marker
        pictures.append(picture)
    return pictures


#: The face's surroundings in the 512×512 bundled astronaut, enlarged so the face is about 115 pixels wide.
FACE_CROP = (slice(40, 240), slice(123, 323))
CROP_SIZE = 256


def face_pictures(count: int) -> list[np.ndarray]:
    """The bundled real astronaut beside its self-blended forgery, drifting a little each frame."""
    pictures = []
    faces = []
    for name in ("astronaut.png", "astronaut_self_blended.jpg"):
        image = np.asarray(Image.open(SAMPLES / name).convert("RGB"))[FACE_CROP]
        faces.append(np.asarray(Image.fromarray(image).resize((CROP_SIZE, CROP_SIZE))))
    for index in range(count):
        canvas = np.full((CROP_SIZE + 32, 2 * CROP_SIZE + 128, 3), 90, np.uint8)
        shift = 2 * index
        canvas[16 : 16 + CROP_SIZE, 16 + shift : 16 + CROP_SIZE + shift] = faces[0]
        canvas[16 : 16 + CROP_SIZE, CROP_SIZE + 80 + shift : 2 * CROP_SIZE + 80 + shift] = faces[1]
        pictures.append(canvas)
    return pictures


def face_video(count: int = 10) -> bytes:
    """The real and the blended astronaut side by side, five frames a second, as MP4."""
    return encode_video(face_pictures(count), times_ms=[200 * index for index in range(count)])
