"""Seconds a scan spends per minute of 720p video at the default sampling.

The clip is made here with PyAV (libx264, 1280×720, 30 frames a second, a
key frame every two seconds as phones record): the bundled astronaut's face
drifts across a smooth background. The clip is then scanned the way the
scan scans a video in one worker process, by its own plugins: hashing,
sampling (seek and decode), face detection with landmarks and alignment,
and the model on the CPU. For comparison the run also times decoding every
frame of the clip, which is what sampling by seeking avoids.
"""

from __future__ import annotations

import fractions
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from facexray_forensics.bench.timing_model import timing_model
from facexray_forensics.evidence.video import DEFAULT_FRAME_COUNT

WIDTH, HEIGHT, RATE = 1280, 720, 30
KEY_FRAME_SECONDS = 2
FACE_SIDE = 480


def make_clip(seconds: float, rate: int = RATE) -> bytes:
    """An H.264 MP4 clip of ``seconds`` at 720p: a face drifting over a smooth background."""
    import av
    from PIL import Image

    samples = Path(__file__).resolve().parents[1] / "samples" / "evidence"
    # The face and its surroundings, enlarged so the face is about 210 pixels wide: a head-and-shoulders shot.
    crop = np.asarray(Image.open(samples / "astronaut.png").convert("RGB"))[40:240, 123:323]
    face = np.asarray(Image.fromarray(crop).resize((FACE_SIDE, FACE_SIDE)))
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    background = np.stack([90 + 60 * np.sin(cols / 170), 110 + 50 * np.cos(rows / 130), 120 + 40 * np.sin((rows + cols) / 300)], axis=-1)
    background = background.astype(np.uint8)
    buffer = io.BytesIO()
    output = av.open(buffer, "w", format="mp4")
    stream = output.add_stream("libx264", rate=rate, options={"preset": "veryfast"})
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.codec_context.time_base = fractions.Fraction(1, rate)
    stream.codec_context.gop_size = KEY_FRAME_SECONDS * rate
    count = round(seconds * rate)
    for index in range(count):
        picture = background.copy()
        x = 40 + round((WIDTH - FACE_SIDE - 80) * index / max(1, count - 1))
        y = 100 + round(60 * np.sin(index / rate))
        picture[y : y + FACE_SIDE, x : x + FACE_SIDE] = face
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts = index
        for packet in stream.encode(frame):
            output.mux(packet)
    for packet in stream.encode():
        output.mux(packet)
    output.close()
    return buffer.getvalue()


def _decode_every_frame(data: bytes) -> int:
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for frame in container.decode(stream) if frame.to_ndarray(format="rgb24") is not None)


def _start_plugins(model_dir: str, frames: int, device: str) -> list:
    """The scan's video plugins, started with its defaults otherwise."""
    from facexray_forensics.plugins import ScanContext
    from facexray_forensics.plugins.builtin import FacesPlugin, FaceXrayPlugin, HashingPlugin
    from facexray_forensics.scan import ScanSettings

    # On a CPU one worker takes the video and its model copy gets that worker's share of the cores.
    plugins = [HashingPlugin(), FacesPlugin(), FaceXrayPlugin()]
    settings = ScanSettings(model_dir=model_dir, video_frames=frames, device=device).for_plugins(plugins)
    context = ScanContext(settings=settings, device=device)
    for plugin in plugins:
        plugin.start_up(context)
    return plugins


def _time_stages(plugins: list, clip: Path) -> tuple[dict, dict[str, float], float, float]:
    """Scan ``clip`` with the plugins in turn: their findings, wall seconds by plugin, the
    process's CPU seconds and the 1-minute load average before the scan."""
    from facexray_forensics.evidence import FileSource

    item = next(iter(FileSource([clip]).items()))
    found: dict = {}
    stage_seconds = {}
    load = os.getloadavg()[0]  # other work on the machine inflates wall time; CPU time shows it
    cpu_start = time.process_time()
    for plugin in plugins:
        start = time.perf_counter()
        found[plugin.name] = plugin.process(item, found)
        stage_seconds[plugin.name] = time.perf_counter() - start
    return found, stage_seconds, time.process_time() - cpu_start, load


def _per_minute_by_stage(stage_seconds: dict[str, float], inner: dict[str, float], per_minute: float) -> dict:
    """Seconds per minute of video of hashing, of the faces plugin's own stages, and of the model."""
    return {
        "hashing": round(stage_seconds["hashing"] * per_minute, 3),
        "decode_sampled": round(inner.get("decode", 0.0) * per_minute, 3),
        "detect_and_landmarks": round(inner.get("detect", 0.0) * per_minute, 3),
        "align": round(inner.get("align", 0.0) * per_minute, 3),
        "model": round(stage_seconds["face_xray"] * per_minute, 3),
    }


def run(seconds: float = 60.0, frames: int = DEFAULT_FRAME_COUNT, model_dir: str | None = None, device: str = "cpu") -> dict:
    """Time one scan of a ``seconds``-long 720p clip; the result's key ``seconds_per_minute`` scales it to a minute.

    ``model_dir`` defaults to the packaged model; while none is packaged, a
    model with random weights is made for the timing (its scores mean nothing,
    its speed is the real model's).
    """
    import torch

    if seconds <= 0 or frames < 1:
        raise ValueError("seconds must be positive and frames at least 1")
    started = time.perf_counter()
    data = make_clip(seconds)
    make_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as work:
        clip = Path(work) / "clip.mp4"
        clip.write_bytes(data)
        model_dir, model_note = timing_model(model_dir, Path(work))
        plugins = _start_plugins(model_dir, frames, device)
        found, stage_seconds, cpu_seconds, load = _time_stages(plugins, clip)
        start = time.perf_counter()
        decoded = _decode_every_frame(data)
        every_frame_seconds = time.perf_counter() - start
        for plugin in plugins:
            plugin.shut_down()
    per_minute = 60.0 / seconds
    faces = found["faces"]
    return {
        "clip_seconds": seconds,
        "resolution": f"{WIDTH}x{HEIGHT}",
        "frame_rate": RATE,
        "key_frame_interval_s": KEY_FRAME_SECONDS,
        "clip_bytes": len(data),
        "frames_sampled": faces.values.get("frames"),
        "faces_scored": len(found["face_xray"].faces),
        "video_score": found["face_xray"].score,
        "seconds_per_minute": round(sum(stage_seconds.values()) * per_minute, 3),
        "cpu_seconds_per_minute": round(cpu_seconds * per_minute, 3),
        "load_average_1min": round(load, 2),
        "stage_seconds_per_minute": _per_minute_by_stage(stage_seconds, faces.stage_seconds, per_minute),
        "decode_every_frame_seconds_per_minute": round(every_frame_seconds * per_minute, 3),
        "frames_in_clip": decoded,
        "model": model_note,
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "clip_make_seconds": round(make_seconds, 2),
    }
