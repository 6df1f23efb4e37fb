"""Evidence corpora made here for the scan tests (the random-weights models are in tests/conftest.py)."""

import io
import os
import struct
import zlib

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

from facexray_forensics.cli import main


def _encode(pixels, fmt, **options) -> bytes:
    buffer = io.BytesIO()
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def astronaut_jpeg() -> bytes:
    return _encode(data.astronaut(), "JPEG", quality=92)


#: name -> (expected status, a word the reason must contain, or None)
CORPUS_EXPECTED = {
    "evidence/astronaut.jpg": ("scored", None),
    "evidence/astronaut_cmyk.jpg": ("scored", None),
    "evidence/astronaut_16bit.png": ("scored", None),
    "evidence/bad_crc.png": ("unreadable", "checksum"),
    "evidence/bomb.png": ("too_large", "900000000"),
    "evidence/caf\\xe9.jpg": ("no_face", "no face"),
    "evidence/dot.png": ("face_too_small", "smaller than the minimum face size"),
    "evidence/empty.jpg": ("unsupported", "empty"),
    "evidence/notes.txt": ("unsupported", "not a recognised image"),
    "evidence/pipe": ("unsupported", "fifo"),
    "evidence/sub/loop": ("unsupported", "symbolic link"),
    "evidence/sub/outside": ("unsupported", "not followed"),
    "evidence/sub/truncated.jpg": ("unreadable", "truncated"),
    "evidence/sub/wrong_extension.jpg": ("scored", None),
}


def make_corpus(root):
    """The bad-input corpus of issue 7 plus good faces, under ``root``/evidence."""
    evidence = root / "evidence"
    (evidence / "sub").mkdir(parents=True)
    face = astronaut_jpeg()
    (evidence / "astronaut.jpg").write_bytes(face)
    (evidence / "astronaut_cmyk.jpg").write_bytes(_encode(Image.fromarray(data.astronaut()).convert("CMYK"), "JPEG", quality=92))
    deep = data.astronaut()[:, :, ::-1].astype(np.uint16) * 257
    (evidence / "astronaut_16bit.png").write_bytes(cv2.imencode(".png", deep)[1].tobytes())
    crc = bytearray(_encode(data.astronaut()[:32, :32], "PNG"))
    crc[29] ^= 0xFF  # IHDR's CRC
    (evidence / "bad_crc.png").write_bytes(bytes(crc))
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(bytes(90001))) + _png_chunk(b"IEND", b"")
    (evidence / "bomb.png").write_bytes(bomb)
    gradient = np.tile(np.linspace(0, 255, 200, dtype=np.uint8)[None, :, None], (150, 1, 3))
    (evidence / os.fsdecode(b"caf\xe9.jpg")).write_bytes(_encode(gradient, "JPEG"))
    (evidence / "dot.png").write_bytes(_encode(np.full((1, 1, 3), 128, np.uint8), "PNG"))
    (evidence / "empty.jpg").write_bytes(b"")
    (evidence / "notes.txt").write_text("case notes, not an image\n")
    os.mkfifo(evidence / "pipe")
    (evidence / "sub" / "loop").symlink_to("loop")
    (evidence / "sub" / "outside").symlink_to(root / "elsewhere.jpg")
    (root / "elsewhere.jpg").write_bytes(face)
    (evidence / "sub" / "truncated.jpg").write_bytes(face[: len(face) // 2])
    (evidence / "sub" / "wrong_extension.jpg").write_bytes(_encode(data.astronaut(), "PNG"))
    return evidence


OLD_TIME_NS = 1_000_000_000_000_000_000  # 2001: any plain read would move a file's access time (relatime)


def age(root):
    """Set every time under ``root`` to 2001, so that reading a file without O_NOATIME would show."""
    for directory, folders, files in os.walk(os.fsencode(root)):
        for name in folders + files:
            os.utime(os.path.join(directory, name), ns=(OLD_TIME_NS, OLD_TIME_NS), follow_symlinks=False)


def snapshot(root):
    """Bytes, mode, size and times of everything under ``root``.

    Files are read with O_NOATIME so that taking the snapshot moves no time;
    directories record their mtime only, since listing them (os.walk) moves
    their access time.
    """
    state = {}
    for directory, folders, files in os.walk(os.fsencode(root)):
        for name in folders + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if os.path.isdir(path) and not os.path.islink(path):
                state[path] = ("directory", info.st_mode, info.st_mtime_ns)
                continue
            content = None
            if os.path.isfile(path) and not os.path.islink(path):
                descriptor = os.open(path, os.O_RDONLY | os.O_NOATIME)
                with os.fdopen(descriptor, "rb") as stream:
                    content = stream.read()
            info = os.lstat(path)
            state[path] = (content, info.st_mode, info.st_size, info.st_mtime_ns, info.st_atime_ns, info.st_ctime_ns)
    return state


SMALL_EVIDENCE = {"a.bin": b"first file\n", "b.bin": b"second file\n", "sub/c.bin": b"third file\n", "sub/d.bin": b"fourth file\n"}


def small_evidence(root):
    """Four tiny files under ``root``/evidence, for hashing-only scans that take well under a second."""
    evidence = root / "evidence"
    for name, content in SMALL_EVIDENCE.items():
        (evidence / name).parent.mkdir(parents=True, exist_ok=True)
        (evidence / name).write_bytes(content)
    return evidence


def hashing_scan(evidence, out, *arguments):
    """A hashing-only scan of ``evidence`` into ``out``/scan.json, in this process: (exit code, output)."""
    result = CliRunner().invoke(main, ["scan", str(evidence), "--plugin", "hashing", "--workers", "1", "--quiet",
                                       "--json", str(out / "scan.json"), *map(str, arguments)], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def finished(tmp_path):
    """(evidence, out): a finished hashing-only scan of the four small files."""
    evidence, out = small_evidence(tmp_path), tmp_path / "out"
    out.mkdir()
    code, output = hashing_scan(evidence, out)
    assert code == 0, output
    return evidence, out
