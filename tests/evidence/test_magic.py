"""File types come from content: files written by Pillow, PyAV and mkfs are named by their bytes."""

import io
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from facexray_forensics.evidence import HEADER_SIZE, sniff


def _pillow_bytes(fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 100, np.uint8)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "fmt, mime",
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp"),
     ("BMP", "image/bmp"), ("TIFF", "image/tiff")],
)
def test_images_written_by_pillow(fmt, mime):
    assert sniff(_pillow_bytes(fmt)[:HEADER_SIZE]) == ("image", mime)


def test_big_endian_tiff():
    assert sniff(b"MM\x00*" + bytes(60)) == ("image", "image/tiff")


@pytest.mark.parametrize("container, mime", [("mp4", "video/mp4"), ("matroska", "video/x-matroska"), ("avi", "video/x-msvideo")])
def test_videos_written_by_pyav(tmp_path, container, mime):
    av = pytest.importorskip("av")
    path = tmp_path / f"clip.{container}"
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    assert sniff(path.read_bytes()[:HEADER_SIZE]) == ("video", mime)


@pytest.mark.skipif(shutil.which("mkfs.fat") is None, reason="mkfs.fat (dosfstools) is not installed")
def test_fat_file_system_image(tmp_path):
    image = tmp_path / "card.img"
    image.write_bytes(bytes(16 * 1024 * 1024))
    subprocess.run(["mkfs.fat", "-F", "16", str(image)], check=True, capture_output=True)
    kind, mime = sniff(image.read_bytes()[:HEADER_SIZE])
    assert (kind, mime) == ("disk_image", "application/x-fat-filesystem")


@pytest.mark.skipif(shutil.which("mke2fs") is None, reason="mke2fs (e2fsprogs) is not installed")
def test_ext4_file_system_image(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(bytes(8 * 1024 * 1024))
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-F", str(image)], check=True, capture_output=True)
    assert sniff(image.read_bytes()[:HEADER_SIZE]) == ("disk_image", "application/x-ext-filesystem")


@pytest.mark.parametrize("content", [b"", b"hello world", b"\xff\xd8", b"GIF8", bytes(600)])
def test_text_short_and_empty_content_is_other(content):
    assert sniff(content) == ("other", None)


def test_refuses_text():
    with pytest.raises(TypeError):
        sniff("not bytes")
