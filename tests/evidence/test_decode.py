"""Decoding under limits: every bad input gives a recorded outcome, good ones match OpenCV."""

import io
import struct
import time
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from facexray_forensics.evidence import DecodeError, DecodeLimits, FileSource, decode_frames
from facexray_forensics.records import Status


def _item(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    (item,) = FileSource([path]).items()
    return item


def _decode(item, limits=DecodeLimits()):
    return [frame.pixels for frame in decode_frames(item, limits)]


def _outcome(item, limits=DecodeLimits()):
    with pytest.raises(DecodeError) as caught:
        _decode(item, limits)
    return caught.value.status, caught.value.reason


def _jpeg(pixels, mode=None, **options):
    buffer = io.BytesIO()
    image = Image.fromarray(pixels)
    (image.convert(mode) if mode else image).save(buffer, format="JPEG", quality=95, **options)
    return buffer.getvalue()


def _png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def test_jpeg_matches_opencv(tmp_path):
    content = _jpeg(data.astronaut())
    (pixels,) = _decode(_item(tmp_path, "a.jpg", content))
    reference = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert pixels.shape == (512, 512, 3) and pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - reference).max() <= 1  # IDCT rounding differs by one at most


def test_cmyk_jpeg_is_converted(tmp_path):
    content = _jpeg(data.astronaut()[:96, :128], mode="CMYK")
    (pixels,) = _decode(_item(tmp_path, "cmyk.jpg", content))
    reference = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert pixels.shape == (96, 128, 3)
    assert np.abs(pixels.astype(int) - reference).max() <= 2


@pytest.mark.parametrize("channels", [1, 3])
def test_sixteen_bit_png_keeps_the_top_byte(tmp_path, channels):
    values = np.random.default_rng(channels).integers(0, 65536, (40, 50, channels)).astype(np.uint16)
    ok, encoded = cv2.imencode(".png", values if channels == 3 else values[:, :, 0])
    (pixels,) = _decode(_item(tmp_path, "deep.png", encoded.tobytes()))
    reference = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    reference = reference[:, :, ::-1] if channels == 3 else np.repeat(reference[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(pixels, (reference >> 8).astype(np.uint8))


def test_gif_gives_its_first_frame(tmp_path):
    frames = [Image.fromarray(np.full((20, 20, 3), value, np.uint8)) for value in (200, 30, 90)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    decoded = _decode(_item(tmp_path, "anim.gif", buffer.getvalue()))
    assert len(decoded) == 1
    assert abs(int(decoded[0].mean()) - 200) <= 2


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((30, 60, 3), np.uint8)
    pixels[:, :30] = 255
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    (decoded,) = _decode(_item(tmp_path, "rotated.jpg", buffer.getvalue()))
    assert decoded.shape == (60, 30, 3)
    assert decoded[:25].mean() > 200 and decoded[35:].mean() < 50  # the white half is now on top


def test_wrong_extension_is_decoded_by_content(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.full((10, 12, 3), 7, np.uint8)).save(buffer, format="PNG")
    item = _item(tmp_path, "holiday.jpg", buffer.getvalue())
    assert item.mime == "image/png"
    (pixels,) = _decode(item)
    assert pixels.shape == (10, 12, 3) and (pixels == 7).all()


def test_one_pixel_image(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.full((1, 1, 3), 50, np.uint8)).save(buffer, format="PNG")
    (pixels,) = _decode(_item(tmp_path, "dot.png", buffer.getvalue()))
    assert pixels.shape == (1, 1, 3)


def test_truncated_jpeg_is_unreadable(tmp_path):
    content = _jpeg(data.astronaut())
    status, reason = _outcome(_item(tmp_path, "cut.jpg", content[: len(content) // 2]))
    assert status is Status.UNREADABLE and "truncated" in reason


def test_png_with_bad_crc_is_unreadable(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()[:32, :32]).save(buffer, format="PNG")
    content = bytearray(buffer.getvalue())
    content[29] ^= 0xFF  # the last byte of IHDR's CRC (8 signature + 8 header + 13 payload)
    assert cv2.imdecode(np.frombuffer(bytes(content), np.uint8), cv2.IMREAD_COLOR) is None  # libpng agrees: broken
    status, reason = _outcome(_item(tmp_path, "crc.png", bytes(content)))
    assert status is Status.UNREADABLE and "checksum" in reason and "IHDR" in reason


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" + bytes(3 * 30000))  # one filtered row; the rest is missing
    content = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")
    start = time.perf_counter()
    status, reason = _outcome(_item(tmp_path, "bomb.png", content))
    assert status is Status.TOO_LARGE and "900000000" in reason.replace(",", "")
    assert time.perf_counter() - start < 1.0  # refused before decoding 2.7 GB of pixels


def test_pixel_limit_is_configurable(tmp_path):
    content = _jpeg(data.astronaut())
    status, reason = _outcome(_item(tmp_path, "a.jpg", content), DecodeLimits(max_pixels=512 * 511))
    assert status is Status.TOO_LARGE and "512×512" in reason
    status, reason = _outcome(_item(tmp_path, "b.jpg", content), DecodeLimits(max_bytes=len(content) - 1))
    assert status is Status.TOO_LARGE and "bytes" in reason


def test_zero_byte_and_unknown_files_are_unsupported(tmp_path):
    for name, content in [("empty.jpg", b""), ("notes.txt", b"plain text")]:
        status, reason = _outcome(_item(tmp_path, name, content))
        assert status is Status.UNSUPPORTED
    assert "empty" in _outcome(_item(tmp_path, "empty2.jpg", b""))[1]


def test_bad_limits():
    with pytest.raises(ValueError):
        DecodeLimits(max_bytes=0)
