"""Lossy re-encoding of RGB uint8 crops, as evidence passes through it: JPEG and H.264.

The BI sampler degrades training samples with these, and the evaluation sets
their test images, so both meet the same encoders.
"""

from __future__ import annotations

import io

import numpy as np


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """One H×W×3 RGB uint8 image encoded as a JPEG of ``quality`` (OpenCV, 4:2:0) and decoded."""
    import cv2

    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("OpenCV could not encode a JPEG")
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def h264_round_trip(images: np.ndarray, crf: int, preset: str = "medium") -> np.ndarray:
    """N×H×W×3 RGB uint8 crops encoded in order as the frames of one H.264 video (libx264,
    yuv420p), and decoded back.

    libx264 runs on one thread: its output depends on the thread count, and
    so would a report on another machine. At 64 px a side its mb-tree
    lookahead was seen to vary from run to run; at 128 and 256 px it does not.
    """
    import av

    count, height, width = images.shape[:3]
    if height % 2 or width % 2:
        raise ValueError(f"H.264 in yuv420p needs even crop sides, got {height}×{width}")
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="matroska") as container:
        options = {"crf": str(crf), "preset": preset, "threads": "1"}
        stream = container.add_stream("libx264", rate=25, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for image in images:  # encode() converts each RGB frame to the stream's yuv420p
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
        container.mux(stream.encode())  # flush the frames the encoder still holds
    buffer.seek(0)
    with av.open(buffer, mode="r") as container:
        decoded = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
    if len(decoded) != count:
        raise ValueError(f"H.264 round trip returned {len(decoded)} frames for {count}")
    return decoded
