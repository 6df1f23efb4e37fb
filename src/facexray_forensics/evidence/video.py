"""Video frames for a scan: N frames spread evenly over the presentation time.

PyAV decodes from any seekable binary stream (``Item.open()``), so a video
inside a disk image is read straight from the image, never copied out.

The running time is cut into N equal slices, one sample each, centred on N
evenly spaced target times. A key frame inside a slice is taken when there
is one, because it decodes on its own after one seek; otherwise the frame
shown at the target time is decoded, seeking to the key frame before it
when that lies beyond what has been decoded already, and decoding on from
where the decoder is when not. Phones write a key frame every second or
two, so most samples cost one seek and one frame. Slices are times, not
frame numbers, so variable frame rate spreads the samples evenly all the
same. The display matrix
(rotation side data, e.g. a phone held upright) is applied, so faces stand
the right way up for the detector.

A stream that is partly broken yields the frames that could be decoded and a
list of problems; one that yields no frame at all raises ValueError, which
the scan records as an unreadable item.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np

from facexray_forensics.records import Frame

#: Frames sampled per video by default. The DFDC winners scored 32 frames a
#: video; fewer miss short forged stretches, more cost time linearly.
DEFAULT_FRAME_COUNT = 32


class FrameTooLarge(ValueError):
    """The video's pictures are larger than the pixel limit."""


def target_times(start: float, duration: float, count: int) -> list[float]:
    """``count`` times evenly spaced over ``[start, start + duration)``, the first at ``start``."""
    if count < 1:
        raise ValueError(f"frame count must be at least 1, got {count}")
    if not math.isfinite(duration) or duration < 0:
        raise ValueError(f"duration must be finite and non-negative, got {duration}")
    return [start + duration * index / count for index in range(count)]


def _rotate(pixels: np.ndarray, degrees: int) -> np.ndarray:
    """Turn the decoded picture ``degrees`` counter-clockwise, as the display matrix asks."""
    quarter_turns = round(degrees / 90) % 4
    return np.ascontiguousarray(np.rot90(pixels, quarter_turns)) if quarter_turns else pixels


class _Reader:
    """Seek-and-decode over one PyAV video stream, collecting problems on the way."""

    def __init__(self, container, stream):
        self.container = container
        self.stream = stream
        self.problems: list[str] = []
        self.position: float | None = None  # time of the last decoded frame
        self.overshot = False  # a seek landed after its target: this container seeks imprecisely
        self._sought: float | None = None  # the target of a seek not yet followed by a frame
        self._frames: Iterator | None = None

    def _decode(self) -> Iterator:
        import av

        try:
            for packet in self.container.demux(self.stream):
                try:
                    yield from packet.decode()
                except av.error.FFmpegError as error:  # one bad packet: note it and go on
                    self.problems.append(f"undecodable packet at {_seconds(packet.pts, self.stream)}: {error}")
        except av.error.FFmpegError as error:
            self.problems.append(f"stream ends early after {self.position}: {error}")

    def seek(self, seconds: float) -> None:
        """Jump to the key frame at or before ``seconds``."""
        import av

        offset = round(seconds / self.stream.time_base)
        try:
            self.container.seek(offset, stream=self.stream, backward=True, any_frame=False)
        except av.error.FFmpegError as error:
            self.problems.append(f"seek to {seconds:.3f}s failed: {error}")
        self._frames = None  # frames buffered before the seek belong to the old position
        self._sought = seconds

    def rewind(self) -> None:
        """Go back to the very start (byte 0), which every demuxer gets right."""
        self.container.seek(0)
        self._frames = None
        self._sought = None
        self.position = None
        self.overshot = False

    def frame_at(self, seconds: float):
        """The first decodable frame whose presentation time is at or after ``seconds``, or None."""
        if self._frames is None:
            self._frames = self._decode()
        for frame in self._frames:
            if frame.pts is None or frame.is_corrupt:
                continue
            self.position = float(frame.pts * self.stream.time_base)
            if self._sought is not None:
                # A backward seek must land at or before its target; MPEG-TS, for one, may not.
                self.overshot = self.position > self._sought + 1e-6
                self._sought = None
                if self.overshot:
                    return None
            if self.position >= seconds - 1e-6:
                return frame
        if self._sought is not None:  # a seek that gives no frame at all also went astray
            self.overshot = True
            self._sought = None
        return None


def _seconds(pts, stream) -> str:
    return "unknown time" if pts is None else f"{float(pts * stream.time_base):.3f}s"


def _packet_times(container, stream) -> tuple[list[float], float | None, str | None]:
    """Presentation times of the key frames and of the stream's end, from one pass over packet headers.

    Reading packets without decoding them costs little (milliseconds a
    minute of video) and, unlike container indexes (MP4's sample table gives
    decoding times; Matroska's cues may be read only on demand), is exact.
    Returns ``(key_times, end, error)``; ``error`` says why the pass stopped
    early on a broken stream.
    """
    import av

    base = stream.time_base
    keys, end, error = [], None, None
    try:
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            time = float(packet.pts * base)
            if packet.is_keyframe:
                keys.append(time)
            finish = time + float((packet.duration or 0) * base)
            end = finish if end is None else max(end, finish)
    except av.error.FFmpegError as failure:
        error = str(failure)  # a truncated stream: what was read still tells where the frames are
    container.seek(0)
    return sorted(keys), end, error


def sample_video(
    open_stream: Callable[[], BinaryIO],
    count: int = DEFAULT_FRAME_COUNT,
    max_pixels: int | None = None,
    notes: dict | None = None,
) -> Iterator[Frame]:
    """Yield ``count`` frames evenly spaced in presentation time, in time order.

    ``open_stream`` returns a fresh readable, seekable binary stream (an
    ``Item.open``). Frames are RGB uint8, turned upright by the display
    matrix, with ``timestamp`` in seconds and ``index`` the sample number
    (repeats are dropped when the video has fewer frames than ``count``).
    ``notes``, when given, is filled with the stream's description: codec,
    displayed size, rotation, duration, average rate, frame count, the
    sampled timestamps and any problems met. Raises ValueError when the data
    is not a video or no frame decodes, :class:`FrameTooLarge` when a
    picture has more than ``max_pixels`` pixels.
    """
    import av

    if count < 1:
        raise ValueError(f"frame count must be at least 1, got {count}")
    notes = {} if notes is None else notes
    with open_stream() as raw:
        try:
            container = av.open(raw, mode="r")
        except (av.error.FFmpegError, UnicodeDecodeError) as error:
            raise ValueError(f"not a readable video: {error}") from error
        try:
            yield from _sample(container, count, max_pixels, notes)
        finally:
            container.close()


def _sample(container, count: int, max_pixels: int | None, notes: dict) -> Iterator[Frame]:
    if not container.streams.video:
        raise ValueError("no video stream in the container")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    width, height = stream.codec_context.width, stream.codec_context.height
    if max_pixels is not None and width * height > max_pixels:
        raise FrameTooLarge(f"{width}×{height} = {width * height} pixels a frame, over the limit of {max_pixels}")
    base = stream.time_base
    start = float((stream.start_time or 0) * base)
    keys, end, error = _packet_times(container, stream)
    if end is None or end <= start:
        raise ValueError(f"no timed video packets: the stream is empty or broken{f' ({error})' if error else ''}")
    reader = _Reader(container, stream)
    if error:
        reader.problems.append(f"the stream breaks after {end - start:.3f}s: {error}")
    declared = _declared_duration(container, stream)
    if declared is not None and end - start < declared - 0.5:
        reader.problems.append(f"the stream ends after {end - start:.3f}s of the {declared:.3f}s its header declares")
    rate = stream.average_rate
    timestamps: list[float] = []
    notes.update(
        codec=stream.codec_context.name,
        width=width,
        height=height,
        rotation=0,
        duration_s=end - start,
        average_rate=float(rate) if rate else None,
        frame_count=stream.frames or None,
        timestamps=timestamps,
        problems=reader.problems,
    )
    targets = target_times(start, end - start, count)
    half_slice = (end - start) / count / 2
    stalled = False  # the decoder ran dry; only a seek can go on
    sequential = False  # seeking proved unreliable: decode on from the start instead
    for target in targets:
        taken = timestamps[-1] if timestamps else None
        nearby = _key_in_slice(keys, target, half_slice, taken)
        if nearby is not None:
            target = nearby
        if taken is not None and target <= reader.position:
            continue  # the frame already taken covers this time (more targets than frames)
        key = _last_at_or_before(keys, target)
        if not sequential and (stalled or reader.position is None or (key is not None and key > reader.position)):
            reader.seek(target)
        frame = reader.frame_at(target)
        if reader.overshot:
            reader.problems.append("seeking lands after its target in this container: decoded sequentially")
            sequential = True
            reader.rewind()
            frame = reader.frame_at(target)
        stalled = frame is None
        if frame is None:
            continue
        rotation = round(frame.rotation or 0) % 360  # counter-clockwise, 0 <= rotation < 360
        pixels = _rotate(frame.to_ndarray(format="rgb24"), rotation)
        notes.update(rotation=rotation, height=pixels.shape[0], width=pixels.shape[1])
        timestamps.append(reader.position)
        yield Frame(pixels=pixels, index=len(timestamps) - 1, timestamp=reader.position)
    if stalled:
        reader.problems.append(f"no frame at or after {targets[-1]:.3f}s: the stream ends or breaks early")
    if not timestamps:
        raise ValueError(f"no decodable video frame: {'; '.join(reader.problems) or 'no frame decoded'}")


def _key_in_slice(keys: list[float], target: float, half_slice: float, taken: float | None) -> float | None:
    """The key frame nearest ``target`` within half a slice of it and after the last frame taken, or None.

    """
    import bisect

    low = bisect.bisect_left(keys, target - half_slice)
    high = bisect.bisect_right(keys, target + half_slice)
    candidates = [key for key in keys[low:high] if taken is None or key > taken + 1e-6]
    return min(candidates, key=lambda key: (abs(key - target), key), default=None)


def _declared_duration(container, stream) -> float | None:
    """The running time the container's header declares, in seconds, or None."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    return container.duration / 1e6 if container.duration else None  # in AV_TIME_BASE units


def _last_at_or_before(times: list[float], target: float) -> float | None:
    import bisect

    index = bisect.bisect_right(times, target + 1e-6)
    return times[index - 1] if index else None
