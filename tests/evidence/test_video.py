"""Video sampling: evenly in presentation time, by seeking, upright, and broken streams recorded."""

from __future__ import annotations

import io

import numpy as np
import pytest
from video_media import encode_video, moving_bar

from facexray_forensics.evidence import DecodeError, DecodeLimits, decode_frames
from facexray_forensics.evidence.video import FrameTooLarge, sample_video, target_times
from facexray_forensics.records import Item, Status


class Reference:
    """Every frame decoded in order by plain PyAV: times, pictures, key frames, and start and duration per the container."""

    def __init__(self, data: bytes):
        import av

        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            self.pictures, self.keys = {}, []
            for frame in container.decode(stream):
                time = float(frame.pts * stream.time_base)
                self.pictures[time] = frame.to_ndarray(format="rgb24")
                if frame.key_frame:
                    self.keys.append(time)
            self.start = float((stream.start_time or 0) * stream.time_base)
            self.duration = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        self.times = sorted(self.pictures)

    def expected_times(self, count: int) -> list[float]:
        """The module's rule, restated: one sample per slice of the running time, centred on an even target;
        the key frame nearest the target when the slice holds one after the last sample, else the first
        frame at or after the target; a frame is never taken twice."""
        chosen: list[float] = []
        half = self.duration / count / 2
        for index in range(count):
            target = self.start + self.duration * index / count
            last = chosen[-1] if chosen else -np.inf
            keys = [key for key in self.keys if abs(key - target) <= half + 1e-9 and key > last + 1e-9]
            if keys:
                target = min(keys, key=lambda key: (abs(key - target), key))
            later = [time for time in self.times if time >= target - 1e-6]
            if later and later[0] > last + 1e-9:
                chosen.append(later[0])
        return chosen


def _sample(data: bytes, count: int, notes: dict | None = None):
    return list(sample_video(lambda: io.BytesIO(data), count, notes=notes))


@pytest.mark.parametrize(
    "times_ms",
    [
        [40 * index for index in range(60)],  # constant 25 frames a second
        [sum((20, 40, 160)[step % 3] for step in range(index)) for index in range(60)],  # variable frame rate
    ],
    ids=["cfr", "vfr"],
)
@pytest.mark.parametrize("gop", [12, 250])
def test_frames_are_the_ones_shown_at_even_times(times_ms, gop):
    data = encode_video(moving_bar(len(times_ms)), times_ms=times_ms, gop=gop)
    reference = Reference(data)
    notes: dict = {}
    frames = _sample(data, 8, notes)
    times = [frame.timestamp for frame in frames]
    assert times == pytest.approx(reference.expected_times(8))
    assert len(frames) == 8 and times == sorted(set(times))
    half = reference.duration / 16
    for index, time in enumerate(times):  # one sample in each eighth of the running time
        assert abs(time - (reference.start + 2 * half * index)) <= half + max(np.diff(reference.times)) + 1e-6
    assert [frame.index for frame in frames] == list(range(len(frames)))
    for frame in frames:  # a seek that landed off a key frame would show as damaged pixels
        assert np.array_equal(frame.pixels, reference.pictures[frame.timestamp])
    assert notes["timestamps"] == times
    assert notes["codec"] == "h264" and notes["problems"] == []
    assert notes["duration_s"] == pytest.approx(reference.duration)


def test_seeking_skips_most_frames(monkeypatch):
    """With a key frame every 10 frames, 4 samples of 100 frames are 4 key frames: a handful decoded, not 100."""
    import av

    data = encode_video(moving_bar(100), gop=10)
    decoded = []
    original = av.packet.Packet.decode

    def counting(packet):
        result = original(packet)
        decoded.extend(result)
        return result

    monkeypatch.setattr(av.packet.Packet, "decode", counting)
    frames = _sample(data, 4)
    assert len(frames) == 4
    assert 4 <= len(decoded) < 25
    assert set(Reference(data).keys) >= {frame.timestamp for frame in frames}


def test_b_frames_reorder_and_key_frames_are_still_hit():
    """With B-frames the index holds decoding times; samples must still be the key frames, found by one seek each."""
    data = encode_video(moving_bar(60), gop=12, preset="medium")
    reference = Reference(data)
    notes: dict = {}
    frames = _sample(data, 5, notes)
    assert [frame.timestamp for frame in frames] == pytest.approx(reference.expected_times(5))
    assert notes["problems"] == []  # no seek landed late, so no fall-back to decoding everything
    for frame in frames:
        assert np.array_equal(frame.pixels, reference.pictures[frame.timestamp])


@pytest.mark.parametrize("codec", ["libx265", "libvpx-vp9", "libsvtav1", "mpeg4", "mjpeg"])
def test_other_codecs_sample_the_same_way(codec):
    """HEVC, VP9, AV1, MPEG-4 part 2 and Motion JPEG, in Matroska, as the bundled FFmpeg decodes them."""
    data = encode_video(moving_bar(30), container="matroska", codec=codec, gop=10)
    reference = Reference(data)
    notes: dict = {}
    frames = _sample(data, 4, notes)
    assert [frame.timestamp for frame in frames] == pytest.approx(reference.expected_times(4))
    for frame in frames:
        assert np.array_equal(frame.pixels, reference.pictures[frame.timestamp])
    assert notes["codec"] in {"hevc", "vp9", "av1", "libdav1d", "libaom-av1", "mpeg4", "mjpeg"}


def test_more_samples_than_frames_gives_each_frame_once():
    data = encode_video(moving_bar(5))
    assert [frame.timestamp for frame in _sample(data, 32)] == pytest.approx(Reference(data).times)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_display_matrix_is_applied(rotation):
    pictures = moving_bar(6, height=48, width=80)
    data = encode_video(pictures, rotation=rotation)
    reference = Reference(data)  # plain decoding ignores the display matrix
    notes: dict = {}
    frames = _sample(data, 3, notes)
    for frame in frames:
        assert np.array_equal(frame.pixels, np.rot90(reference.pictures[frame.timestamp], rotation // 90))
    assert notes["rotation"] == rotation % 360
    assert (notes["height"], notes["width"]) == frames[0].pixels.shape[:2]
    if rotation == 90:  # counter-clockwise: the red top-left marker ends up bottom-left
        assert frames[0].pixels[-1, 0, 0] > 200 and frames[0].pixels[-1, 0, 1] < 60


def test_mpeg_ts_seeks_imprecisely_and_still_gives_the_right_frames():
    data = encode_video(moving_bar(50), container="mpegts", gop=10)
    reference = Reference(data)
    frames = _sample(data, 5)
    assert [frame.timestamp for frame in frames] == pytest.approx(reference.expected_times(5))
    for frame in frames:
        assert np.array_equal(frame.pixels, reference.pictures[frame.timestamp])


def test_truncated_stream_gives_what_decodes_and_records_the_break():
    data = encode_video(moving_bar(50), container="matroska", gop=10)
    reference = Reference(data)
    notes: dict = {}
    frames = _sample(data[: len(data) // 2], 10, notes)
    assert frames  # spread over the part that is there
    assert any("of the 2.000s its header declares" in problem for problem in notes["problems"])
    assert max(frame.timestamp for frame in frames) < 1.5
    for frame in frames:
        assert np.array_equal(frame.pixels, reference.pictures[frame.timestamp])


@pytest.mark.parametrize(
    "cut",
    [lambda data: data[: len(data) // 2], lambda data: b"", lambda data: b"\x00\x00\x00\x18ftypmp42" + bytes(500)],
    ids=["truncated-mp4-without-index", "empty", "header-only"],
)
def test_unreadable_videos_are_recorded_not_raised(cut):
    data = cut(encode_video(moving_bar(20)))
    item = Item(name="clip.mp4", kind="video", mime="video/mp4", size=len(data), open=lambda: io.BytesIO(data))
    with pytest.raises(DecodeError) as caught:
        list(decode_frames(item, DecodeLimits()))
    assert caught.value.status is Status.UNREADABLE


def test_pixel_limit_refuses_large_video():
    data = encode_video(moving_bar(3))
    with pytest.raises(FrameTooLarge):
        list(sample_video(lambda: io.BytesIO(data), 2, max_pixels=96 * 128 - 1))
    item = Item(name="clip.mp4", kind="video", mime="video/mp4", size=len(data), open=lambda: io.BytesIO(data))
    with pytest.raises(DecodeError) as caught:
        list(decode_frames(item, DecodeLimits(max_pixels=1000)))
    assert caught.value.status is Status.TOO_LARGE


def test_decode_frames_samples_the_configured_count():
    data = encode_video(moving_bar(40))
    item = Item(name="clip.mp4", kind="video", mime="video/mp4", size=len(data), open=lambda: io.BytesIO(data))
    notes: dict = {}
    frames = list(decode_frames(item, DecodeLimits(video_frames=5), notes))
    assert len(frames) == 5 and notes["timestamps"] == [frame.timestamp for frame in frames]


def test_target_times_are_even_and_validated():
    assert target_times(1.0, 2.0, 4) == pytest.approx([1.0, 1.5, 2.0, 2.5])
    with pytest.raises(ValueError):
        target_times(0.0, 1.0, 0)
    with pytest.raises(ValueError):
        target_times(0.0, float("nan"), 3)
