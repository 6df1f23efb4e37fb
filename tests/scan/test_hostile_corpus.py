"""The hostile corpus: every bad input and bad output of issue 15, each checked the same four ways.

Each case is one short builder that makes its evidence (and, for the output
and resume cases, its outputs) under ``tmp_path`` and says what the scan
must do. One checker, :func:`test_hostile_case`, then snapshots every file
outside the output folder (bytes, mode, mtime_ns, link targets), runs the
real ``fxr-forensic scan EVIDENCE --json out/case.json`` (in this process
through click's CliRunner, or in a child process with a timeout where a
hang is the danger), and asserts:

1. no traceback, and the expected exit status (0, 3 flagged, 4 an item
   failed, 1 refused, 5 outputs unwritten);
2. each item's status and a word of its reason (or, for a refused scan,
   the message);
3. the evidence, and everything else outside the outputs, byte-identical
   with unchanged modes and mtimes;
4. ``fxr-forensic verify-log`` passes on the custody log (with ``--expect``,
   the hash the JSON report prints); a scan refused before it started
   leaves no log, and a refused resume leaves the outputs as they were.

The model is never needed: the scans run hashing and the faces plugin
(decoding, detection), or hashing alone, or the disk-image or EXIF plugin.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evidence"))  # the disk-image and video builders

from test_disk_image import PARTITION_OFFSET, TOOLS, _fat, _mbr_disk, _run  # noqa: E402
from video_media import encode_video, moving_bar  # noqa: E402

import facexray_forensics.scan.policy as policy  # noqa: E402
from facexray_forensics.cli import main  # noqa: E402
from facexray_forensics.evidence.disk_image.items import DiskImageSource  # noqa: E402
from facexray_forensics.plugins import ITEM_KINDS, Plugin  # noqa: E402
from facexray_forensics.records import Finding  # noqa: E402
from facexray_forensics.renderers.csv import FORMULA_STARTS  # noqa: E402

OK, REFUSED, USAGE, FLAGGED, FAILED, UNWRITTEN = 0, 1, 2, 3, 4, 5
DISK_TOOLS = all(shutil.which(tool) for tool in TOOLS)

# ---- bytes the builders use ----------------------------------------------------------------


def encoded(fmt: str, size=(96, 64), **options) -> bytes:
    """A small faceless gradient picture in ``fmt``."""
    width, height = size
    pixels = np.tile(np.linspace(0, 255, width, dtype=np.uint8)[None, :, None], (height, 1, 3))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose SOF0 frame header is rewritten to declare ``width``×``height``."""
    data = bytearray(encoded("JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def tiff_declaring(width: int, height: int) -> bytes:
    data = bytearray(encoded("TIFF"))
    offset = struct.unpack("<I", data[4:8])[0]
    for index in range(struct.unpack("<H", data[offset : offset + 2])[0]):
        entry = offset + 2 + 12 * index
        tag, kind = struct.unpack("<HH", data[entry : entry + 4])
        if tag in (256, 257):  # ImageWidth, ImageLength
            value = width if tag == 256 else height
            data[entry + 2 : entry + 12] = struct.pack("<HII", 4, 1, value)  # as a LONG
    return bytes(data)


def riff_webp(payload: bytes, declared: int | None = None) -> bytes:
    return b"RIFF" + struct.pack("<I", declared if declared is not None else len(payload) + 4) + b"WEBP" + payload


def exif_jpeg(**tags: str) -> bytes:
    """A JPEG whose EXIF holds ``tags`` (by Pillow's tag number names below)."""
    numbers = {"description": 0x010E, "make": 0x010F, "model": 0x0110, "software": 0x0131, "artist": 0x013B}
    exif = Image.Exif()
    for name, value in tags.items():
        exif[numbers[name]] = value
    return encoded("JPEG", exif=exif)


def zero_frame_mp4() -> bytes:
    """An MP4 with a video stream declared and no frame in it."""
    import av

    buffer = io.BytesIO()
    output = av.open(buffer, "w", format="mp4")
    stream = output.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    output.start_encoding()  # the header, with no frame after it
    for packet in stream.encode():
        output.mux(packet)
    output.close()
    return buffer.getvalue()


# ---- the world a case builds in ------------------------------------------------------------


@dataclass
class World:
    """``tmp_path`` with ``evidence/`` and ``out/``; what a builder needs to make its case and undo it."""

    root: Path
    shared: "Shared"
    monkeypatch: pytest.MonkeyPatch
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def evidence(self) -> Path:
        return self.root / "evidence"

    @property
    def out(self) -> Path:
        return self.root / "out"

    def file(self, name: str | bytes, data: bytes = b"") -> Path:
        """Write ``data`` at ``evidence/name`` (a bytes name may hold bytes no encoding decodes)."""
        path = os.path.join(os.fsencode(self.evidence), os.fsencode(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as stream:
            stream.write(data)
        return Path(os.fsdecode(path))

    def scan_first(self, *arguments) -> None:
        """A first, finished scan into the outputs (the resume cases continue it)."""
        code, output = run_cli(scan_command(self, Expect(), *arguments))
        assert code in (OK, FAILED), output

    def mount(self, *options: str, source: Path, target: Path) -> bool:
        """``mount --bind`` (root only); False where it is not allowed. Unmounted after the case."""
        if os.geteuid() != 0 or subprocess.run(["mount", "--bind", source, target], capture_output=True).returncode:
            return False
        self.cleanups.append(lambda: subprocess.run(["umount", target], check=True))
        if options and subprocess.run(["mount", "-o", ",".join(("remount", "bind", *options)), target],
                                      capture_output=True).returncode:
            return False
        return True


@dataclass
class Expect:
    """What a case's scan must do. ``items``: (name, status, a word of the reason) for every item the
    report must hold, and no other; ``message``: words the output must hold."""

    code: int = OK
    items: list[tuple[str, str, str]] = field(default_factory=list)
    message: str | None = None
    plugins: tuple[str, ...] = ("--plugin", "faces", "--detector", "hog")
    roots: list | None = None  # default: [evidence]
    arguments: tuple = ()  # outputs beyond --json out/case.json, --resume, settings
    json: bool = True  # --json out/case.json
    log: str = "verified"  # a custody log that verify-log passes; "none": none was written; "broken": left as the case broke it
    child: bool = False  # run the CLI in a child process with a timeout (a hang is the danger)
    check: Callable[[World, dict | None, str], None] | None = None  # the case's own further assertions


class Shared:
    """Disk images, made once for the module: a FAT file system holding a photo, notes and a deleted file."""

    def __init__(self, factory):
        self.factory, self._fat = factory, None

    def fat(self) -> Path:
        if not DISK_TOOLS:
            pytest.skip("needs dosfstools, mtools and ewf-tools (scripts/install-test-tools.sh)")
        if self._fat is None:
            work = self.factory.mktemp("fat")
            contents = {"DCIM/photo.jpg": encoded("JPEG"), "notes.txt": b"card notes\n", "clip.mp4": encode_video(moving_bar(6)),
                        "gone.png": encoded("PNG")}  # gone.png is deleted in the image
            for name, data in contents.items():
                (work / "tree" / name).parent.mkdir(parents=True, exist_ok=True)
                (work / "tree" / name).write_bytes(data)
            self._fat = _fat(work / "card.img", work / "tree", contents)
        return self._fat


def fat_items(w: World, image: str, offset: int = 0) -> list[tuple[str, str, str]]:
    """The expected items of the shared FAT's files (the deleted one included) inside ``image`` at ``offset``."""
    words = {".jpg": "faces of image items", ".png": "faces of image items", ".mp4": "faces of video items", ".txt": "not a recognised"}
    inner = [item.origin for item in DiskImageSource(w.shared.fat()).items()]
    return [(f"{image}:{offset}:{origin['inode']}:{origin['inner_path']}", "unsupported", words[Path(origin["inner_path"]).suffix])
            for origin in inner]


CASES: dict[str, Callable[[World], Expect]] = {}


def case(builder: Callable[[World], Expect]) -> Callable[[World], Expect]:
    CASES[builder.__name__] = builder
    return builder


# ---- broken and hostile pictures ----------------------------------------------------------


@case
def truncated_jpeg(w):
    w.file("cut.jpg", encoded("JPEG", size=(320, 240))[:1500])
    return Expect(FAILED, [("evidence/cut.jpg", "unreadable", "image file is truncated")])


@case
def truncated_png(w):
    w.file("cut.png", encoded("PNG", size=(320, 240))[:300])
    return Expect(FAILED, [("evidence/cut.png", "unreadable", "image file is truncated")])


@case
def zero_byte_file(w):
    w.file("empty.jpg")
    return Expect(OK, [("evidence/empty.jpg", "unsupported", "empty")])


@case
def random_bytes_named_jpg(w):
    w.file("random.jpg", np.random.default_rng(1).bytes(5000))
    return Expect(OK, [("evidence/random.jpg", "unsupported", "not a recognised image")])


@case
def jpeg_magic_then_garbage(w):
    w.file("liar.jpg", b"\xff\xd8\xff\xe0" + np.random.default_rng(2).bytes(5000))
    return Expect(FAILED, [("evidence/liar.jpg", "unreadable", "bad header")])


@case
def png_with_bad_crc(w):
    data = bytearray(encoded("PNG"))
    data[29] ^= 0xFF  # IHDR's CRC
    w.file("crc.png", bytes(data))
    return Expect(FAILED, [("evidence/crc.png", "unreadable", "checksum")])


@case
def png_declaring_900_megapixels(w):
    w.file("bomb.png", png_header(30000, 30000) + png_chunk(b"IDAT", zlib.compress(bytes(90001))) + png_chunk(b"IEND", b""))
    return Expect(OK, [("evidence/bomb.png", "too_large", "900000000")])


@case
def jpeg_declaring_4_gigapixels(w):
    w.file("bomb.jpg", jpeg_declaring(65500, 65500))
    return Expect(OK, [("evidence/bomb.jpg", "too_large", "declared size refused")])


@case
def png_without_image_data(w):
    w.file("header_only.png", png_header(64, 64) + png_chunk(b"IEND", b""))
    return Expect(FAILED, [("evidence/header_only.png", "unreadable", "cannot load")])


@case
def gif_truncated(w):
    w.file("cut.gif", encoded("GIF")[:40])
    return Expect(FAILED, [("evidence/cut.gif", "unreadable", "no more images")])


@case
def gif_of_zero_size(w):
    data = bytearray(encoded("GIF"))
    data[6:10] = struct.pack("<HH", 0, 0)  # the logical screen
    w.file("zero.gif", bytes(data))
    return Expect(OK, [("evidence/zero.gif", "no_face", "no face")])  # the frame's own descriptor gives its size


@case
def gif_declaring_4_gigapixels(w):
    data = bytearray(encoded("GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    w.file("bomb.gif", bytes(data))
    return Expect(OK, [("evidence/bomb.gif", "too_large", "declared size refused")])


@case
def gif_animated(w):
    frames = [Image.new("RGB", (96, 80), colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)
    w.file("animated.gif", buffer.getvalue())
    return Expect(OK, [("evidence/animated.gif", "no_face", "no face")])


@case
def tiff_with_a_bad_ifd_offset(w):
    data = bytearray(encoded("TIFF"))
    data[4:8] = struct.pack("<I", 0x7FFFFFF0)  # the first IFD lies far past the end
    w.file("lost.tif", bytes(data))
    return Expect(FAILED, [("evidence/lost.tif", "unreadable", "missing dimensions")])


@case
def tiff_declaring_4_gigapixels(w):
    w.file("bomb.tif", tiff_declaring(65536, 65536))
    return Expect(OK, [("evidence/bomb.tif", "too_large", "pixels")])


@case
def webp_truncated(w):
    whole = encoded("WEBP", size=(320, 240))
    w.file("cut.webp", riff_webp(whole[12:60]))  # a consistent RIFF header over a cut VP8 chunk
    return Expect(FAILED, [("evidence/cut.webp", "unreadable", "bad header")])


@case
def webp_whose_riff_size_lies(w):
    whole = encoded("WEBP")
    w.file("liar.webp", riff_webp(whole[12:], declared=0x7FFFFFF0))
    return Expect(FAILED, [("evidence/liar.webp", "unreadable", "bad header")])


@case
def bmp_declaring_4_gigapixels(w):
    data = bytearray(encoded("BMP"))
    data[18:26] = struct.pack("<ii", 65536, 65536)
    w.file("bomb.bmp", bytes(data))
    return Expect(OK, [("evidence/bomb.bmp", "too_large", "pixels")])


@case
def png_named_jpg(w):
    w.file("really_a_png.jpg", encoded("PNG"))
    return Expect(OK, [("evidence/really_a_png.jpg", "no_face", "no face")])


@case
def text_file(w):
    w.file("notes.txt", b"case notes, not an image\n")
    return Expect(OK, [("evidence/notes.txt", "unsupported", "not a recognised image")])


@case
def csv_formula_cells_from_exif(w):
    w.root.joinpath("-1").mkdir()
    (w.root / "-1" / "photo.jpg").write_bytes(exif_jpeg(make="=cmd|' /C calc'!A0", model="@x", software="+1",
                                                         description="=HYPERLINK(\"http://x.invalid\")", artist="-1"))

    def neutralised(w, document, output):
        with open(w.out / "case.csv", newline="", encoding="utf-8") as stream:
            (row,) = list(csv.DictReader(stream))
        assert (row["path"], row["exif.camera_make"], row["exif.camera_model"], row["exif.software"]) == (
            "'-1/photo.jpg", "'=cmd|' /C calc'!A0", "'@x", "'+1")
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row.values())
        assert document["items"][0]["columns"]["exif.camera_make"] == "=cmd|' /C calc'!A0"  # the JSON keeps the text

    return Expect(OK, [("-1/photo.jpg", "unsupported", "no selected plugin scores")], plugins=("--plugin", "exif"),
                  roots=[w.root / "-1"], arguments=("--csv", w.out / "case.csv"), check=neutralised)


# ---- names, links and special files -------------------------------------------------------


@case
def names_differing_only_in_an_undecodable_byte(w):
    raw, escaped = w.file(b"a\xff.jpg", encoded("PNG")), w.file("a\\xff.jpg", b"plain text\n")

    def distinct(w, document, output):
        assert sorted(item["sha256"] for item in document["items"]) == sorted(
            hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in (raw, escaped))

    return Expect(OK, [("evidence/a\\xff.jpg", "no_face", "no face"), ("evidence/a\\xff.jpg", "unsupported", "not a recognised")],
                  check=distinct)


@case
def control_characters_and_a_formula_in_a_name(w):
    w.file("=1+1\n\rx.jpg", encoded("JPEG"))

    def one_row(w, document, output):
        with open(w.out / "case.csv", newline="", encoding="utf-8") as stream:
            (row,) = list(csv.DictReader(stream))
        assert row["path"] == document["items"][0]["path"] == "evidence/=1+1\n\rx.jpg"

    return Expect(OK, [("evidence/=1+1\n\rx.jpg", "no_face", "no face")], arguments=("--csv", w.out / "case.csv"), check=one_row)


@case
def folder_named_like_a_disk_image_item(w):
    image = w.evidence / "card.img"
    w.file("card.img", w.shared.fat().read_bytes())
    clip = next(item for item in DiskImageSource(image).items() if item.origin["inner_path"] == "/clip.mp4")
    name = f"card.img:0:{clip.origin['inode']}:/clip.mp4"
    impostor = w.file(name, b"not the clip\n")

    def both(w, document, output):
        sizes = sorted(item["size"] for item in document["items"] if item["path"] == f"evidence/{name}")
        assert sizes == sorted([clip.size, impostor.stat().st_size])

    return Expect(OK, [("evidence/card.img", "container", "items of their own"), (f"evidence/{name}", "unsupported", "not a recognised"),
                       *fat_items(w, "evidence/card.img")], plugins=("--plugin", "disk_image"), check=both)


@case
def symlink_loop(w):
    w.evidence.mkdir()
    (w.evidence / "loop").symlink_to("loop")
    return Expect(OK, [("evidence/loop", "unsupported", "symbolic link")])


@case
def symlink_to_outside(w):
    (w.root / "elsewhere.jpg").write_bytes(encoded("JPEG"))
    w.evidence.mkdir()
    (w.evidence / "outside.jpg").symlink_to(w.root / "elsewhere.jpg")
    return Expect(OK, [("evidence/outside.jpg", "unsupported", "not followed")])


@case
def dangling_symlink(w):
    w.evidence.mkdir()
    (w.evidence / "dangling.jpg").symlink_to(w.root / "nowhere.jpg")
    return Expect(OK, [("evidence/dangling.jpg", "unsupported", "not followed")])


@case
def fifo_in_evidence(w):
    w.evidence.mkdir()
    os.mkfifo(w.evidence / "pipe.jpg")  # opening it would block until a writer came
    return Expect(OK, [("evidence/pipe.jpg", "unsupported", "fifo")], child=True)


@case
def socket_in_evidence(w):
    w.evidence.mkdir()
    w.monkeypatch.chdir(w.evidence)  # a socket's path is limited to 108 bytes
    listener = socket.socket(socket.AF_UNIX)
    listener.bind("socket.jpg")
    w.cleanups.append(listener.close)
    return Expect(OK, [("evidence/socket.jpg", "unsupported", "socket")])


@case
def hard_links_inside_the_evidence(w):
    first = w.file("a.jpg", encoded("JPEG"))
    os.link(first, w.evidence / "b.jpg")
    return Expect(OK, [("evidence/a.jpg", "no_face", "no face"), ("evidence/b.jpg", "no_face", "no face")])


@case
def tree_1100_levels_deep(w):
    w.evidence.mkdir()
    top = os.open(w.evidence, os.O_RDONLY | os.O_DIRECTORY)
    descriptor = os.dup(top)
    for _ in range(1100):  # by descriptor, one level at a time
        os.mkdir("d", dir_fd=descriptor)
        deeper = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptor)
        os.close(descriptor)
        descriptor = deeper
    file = os.open("deep.bin", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
    os.write(file, b"deep\n")
    os.close(file)
    os.close(descriptor)

    def remove():  # bottom up: shutil.rmtree recurses and fails this deep
        os.unlink("d/" * 1100 + "deep.bin", dir_fd=top)
        for depth in range(1100, 0, -1):
            os.rmdir("/".join(["d"] * depth), dir_fd=top)
        os.close(top)

    w.cleanups.append(remove)
    return Expect(OK, [("evidence/" + "d/" * 1100 + "deep.bin", "unsupported", "not a recognised")], plugins=("--plugin", "hashing"))


@case
def path_of_1600_bytes_with_a_pdf(w):
    name = "/".join(f"{index}" * 195 for index in range(8)) + "/photo.jpg"
    w.file(name, encoded("JPEG"))

    def rendered(w, document, output):
        assert len(os.fsencode(str(w.evidence / name))) > 1600
        digest = hashlib.sha256((w.out / "case.pdf").read_bytes()).hexdigest()
        assert (w.out / "case.pdf.sha256").read_text().split()[0] == digest

    return Expect(OK, [(f"evidence/{name}", "no_face", "no face")], arguments=("--report", w.out / "case.pdf"), check=rendered)


@case
def unreadable_file(w):
    path = w.file("locked.jpg", encoded("JPEG"))
    path.chmod(0)
    w.cleanups.append(lambda: path.chmod(0o644))
    if os.access(path, os.R_OK):  # root reads it anyway: the kernel's answer to anyone else is played here
        real_open = os.open

        def refusing(name, flags, *arguments, **options):
            if os.fsencode(name).endswith(b"locked.jpg"):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)
            return real_open(name, flags, *arguments, **options)

        w.monkeypatch.setattr(os, "open", refusing)
    return Expect(FAILED, [("evidence/locked.jpg", "unreadable", "Permission denied")])


@case
def empty_folder(w):
    (w.evidence / "nothing").mkdir(parents=True)
    return Expect(OK, [])


# ---- video ---------------------------------------------------------------------------------


@case
def truncated_mp4(w):
    whole = encode_video(moving_bar(10))
    w.file("cut.mp4", whole[: len(whole) // 3])
    return Expect(FAILED, [("evidence/cut.mp4", "unreadable", "not a readable video")])


@case
def truncated_avi(w):
    whole = encode_video(moving_bar(10), container="avi", codec="mjpeg")
    w.file("cut.avi", whole[: len(whole) // 3])
    return Expect(OK, [("evidence/cut.avi", "no_face", "no face")])  # the frames before the cut are read


@case
def video_with_zero_frames(w):
    w.file("empty.mp4", zero_frame_mp4())
    return Expect(FAILED, [("evidence/empty.mp4", "unreadable", "no video stream")])


# ---- disk images ---------------------------------------------------------------------------


@case
def e01_cut_short(w):
    w.evidence.mkdir()
    _run("ewfacquire", "-u", "-q", "-t", w.root / "whole", "-c", "none", "-f", "encase6", w.shared.fat())
    whole = (w.root / "whole.E01").read_bytes()
    w.file("disk.E01", whole[: len(whole) // 2])
    return Expect(FAILED, [("evidence/disk.E01", "unreadable", "the disk image cannot be read")], plugins=("--plugin", "disk_image"))


@case
def fat_image_cut_short(w):
    whole = w.shared.fat().read_bytes()
    w.file("card.img", whole[: len(whole) // 8])
    return Expect(FAILED, [("evidence/card.img", "unreadable", "the image is cut short"), *fat_items(w, "evidence/card.img")],
                  plugins=("--plugin", "disk_image"))  # the files it still holds are read


@case
def bogus_partition_entry_beside_a_fat_partition(w):
    w.evidence.mkdir()
    disk = _mbr_disk(w.evidence / "disk.dd", w.shared.fat())
    data = bytearray(disk.read_bytes())
    past_the_end = len(data) // 512 + 1000
    data[462:478] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", past_the_end, 2048)  # entry 2
    disk.write_bytes(bytes(data))
    return Expect(OK, [("evidence/disk.dd", "container", f"entry 2 (type 0x83) starts at sector {past_the_end}"),
                       *fat_items(w, "evidence/disk.dd", PARTITION_OFFSET)], plugins=("--plugin", "disk_image"))


# ---- evidence roots ------------------------------------------------------------------------


@case
def overlapping_roots(w):
    w.file("a.jpg", encoded("JPEG"))
    w.file("sub/b.jpg", encoded("JPEG"))
    return Expect(OK, [("evidence/a.jpg", "no_face", "no face"), ("evidence/sub/b.jpg", "no_face", "no face")],
                  roots=[w.evidence, w.evidence / "sub"], message="its files are scanned once")


@case
def root_given_twice(w):
    w.file("a.jpg", encoded("JPEG"))
    return Expect(OK, [("evidence/a.jpg", "no_face", "no face")], roots=[w.evidence, w.evidence], message="given twice")


@case
def missing_root(w):
    w.file("a.jpg", encoded("JPEG"))
    return Expect(REFUSED, roots=[w.evidence, w.root / "no_such_folder"], message="evidence not found", log="none")


@case
def root_that_is_a_symlink(w):
    w.file("a.jpg", encoded("JPEG"))
    (w.root / "alias").symlink_to(w.evidence)
    return Expect(OK, [("alias/a.jpg", "no_face", "no face")], roots=[w.root / "alias"])  # followed, as find -H does


# ---- hostile output paths ------------------------------------------------------------------


@case
def output_hard_linked_to_evidence(w):
    w.out.mkdir()
    os.link(w.file("a.jpg", encoded("JPEG")), w.out / "case.json")
    return Expect(REFUSED, message="2 hard links", log="none")


@case
def output_inside_the_evidence(w):
    w.file("a.jpg", encoded("JPEG"))
    return Expect(REFUSED, json=False, arguments=("--json", w.evidence / "case.json"), message="inside the evidence", log="none")


@case
def output_through_a_symlinked_alias_of_the_evidence(w):
    w.file("sub/a.jpg", encoded("JPEG"))
    w.out.mkdir()
    (w.out / "alias").symlink_to(w.evidence / "sub")
    return Expect(REFUSED, json=False, arguments=("--json", w.out / "alias" / "deeper" / "case.json"),
                  message="inside the evidence", log="none")


@case
def output_through_a_bind_mount_of_the_evidence(w):
    w.file("a.jpg", encoded("JPEG"))
    (w.out / "mounted").mkdir(parents=True)
    if not w.mount(source=w.evidence, target=w.out / "mounted"):
        pytest.skip("mount --bind needs root")
    return Expect(REFUSED, json=False, arguments=("--json", w.out / "mounted" / "case.json"), message="inside the evidence", log="none")


@case
def output_that_is_a_fifo(w):
    w.file("a.jpg", encoded("JPEG"))
    w.out.mkdir()
    os.mkfifo(w.out / "case.json")  # opening it for writing would block until a reader came
    return Expect(REFUSED, message="FIFO", log="none", child=True)


@case
def output_that_is_a_folder(w):
    w.file("a.jpg", encoded("JPEG"))
    (w.out / "case.json").mkdir(parents=True)
    return Expect(USAGE, message="is a directory", log="none")


@case
def custody_log_that_is_a_dangling_symlink(w):
    w.file("a.jpg", encoded("JPEG"))
    w.out.mkdir()
    (w.out / "case.custody.jsonl").symlink_to(w.root / "planted.jsonl")  # following it would create a file there
    return Expect(REFUSED, message="symbolic link", log="none")


@case
def read_only_output_folder(w):
    w.file("a.jpg", encoded("JPEG"))
    w.out.mkdir()
    if os.geteuid() != 0:
        w.out.chmod(0o555)
        w.cleanups.append(lambda: w.out.chmod(0o755))
    elif not w.mount("ro", source=w.out, target=w.out):  # root ignores modes: a read-only mount stops it
        pytest.skip("needs a read-only bind mount, which this root may not make")
    return Expect(UNWRITTEN, message="outputs could not be written", log="none")


# ---- --resume ------------------------------------------------------------------------------


@case
def file_swapped_before_resume(w):
    w.file("a.jpg", encoded("JPEG"))
    w.file("b.jpg", encoded("JPEG", size=(80, 60)))
    w.scan_first()
    w.file("b.jpg", encoded("PNG"))  # same name, other bytes

    def mismatch(w, document, output):
        swapped = next(item for item in document["items"] if item["path"] == "evidence/b.jpg")
        assert swapped["hash_verified"] is False and document["scan"]["summary"]["hash_mismatches"] == 1
        assert swapped["reason"].endswith("the results are those of the earlier bytes")

    # The journal's result stands for the bytes the first run read; the changed hash fails the item.
    return Expect(FAILED, [("evidence/a.jpg", "no_face", "no face"), ("evidence/b.jpg", "face_too_small", "smaller than")],
                  arguments=("--resume",), check=mismatch)


@case
def file_deleted_before_resume(w):
    w.file("a.jpg", encoded("JPEG"))
    w.scan_first()
    w.file("b.jpg", encoded("JPEG")).unlink()  # made after the first run, then gone: no trace
    (w.evidence / "a.jpg").unlink()

    def recorded(w, document, output):
        records = [json.loads(line) for line in (w.out / "case.custody.jsonl").read_text().splitlines()]
        assert [record["data"]["item"] for record in records if record["action"] == "item_missing"] == ["evidence/a.jpg"]

    return Expect(FAILED, [("evidence/a.jpg", "unreadable", "missing at resume")], arguments=("--resume",), check=recorded)


@case
def file_added_before_resume(w):
    w.file("a.jpg", encoded("JPEG"))
    w.scan_first()
    w.file("b.jpg", encoded("PNG"))
    return Expect(OK, [("evidence/a.jpg", "no_face", "no face"), ("evidence/b.jpg", "no_face", "no face")], arguments=("--resume",))


@case
def journal_edited_before_resume(w):
    w.file("a.jpg", encoded("JPEG"))
    w.scan_first()
    journal = w.out / "case.journal.jsonl"
    journal.write_bytes(journal.read_bytes().replace(b'"no_face"', b'"scored"'))
    return Expect(REFUSED, arguments=("--resume",), message="cannot resume")


@case
def custody_log_last_record_edited_before_resume(w):
    w.file("a.jpg", encoded("JPEG"))
    w.scan_first()
    log = w.out / "case.custody.jsonl"
    lines = log.read_bytes().splitlines()
    record = json.loads(lines[-1])
    record["data"]["sha256"] = "0" * 64
    del record["record_sha256"]
    record["record_sha256"] = hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    log.write_bytes(b"\n".join([*lines[:-1], json.dumps(record, sort_keys=True, separators=(",", ":")).encode()]) + b"\n")
    return Expect(REFUSED, arguments=("--resume",), message="the last record was changed", log="broken",
                  check=lambda w, document, output: assert_broken(w, "the last record was changed"))


@case
def custody_seal_deleted_before_resume(w):
    w.file("a.jpg", encoded("JPEG"))
    w.scan_first()
    (w.out / "case.custody.jsonl.head").unlink()
    return Expect(REFUSED, arguments=("--resume",), message="records a finished scan", log="broken",
                  check=lambda w, document, output: assert_broken(w, "is missing"))


@case
def two_resumes_of_the_same_outputs(w):
    w.file("a.jpg", encoded("JPEG"))
    w.scan_first()
    holder = subprocess.Popen(  # the first resume, holding the lock as a scan does
        [sys.executable, "-c", "import sys; from facexray_forensics.scan.journal import ScanLock; "
         "lock = ScanLock(sys.argv[1]); print('held', flush=True); sys.stdin.read()", str(w.out / "case.journal.jsonl")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    w.cleanups.append(lambda: holder.communicate("", timeout=30))
    assert holder.stdout.readline() == "held\n"
    return Expect(REFUSED, arguments=("--resume",), message=f"another scan is writing these outputs (pid {holder.pid}")


# ---- a plugin that raises ------------------------------------------------------------------


class Raiser(Plugin):
    """A third-party plugin with a bug: it raises on one item."""

    name, version, handles, requires = "raiser", "0", ITEM_KINDS, ("hashing",)

    def process(self, item, earlier):
        if item.name.endswith("poison.bin"):
            raise RuntimeError("boom on purpose")
        return Finding(self.name, self.version, values={"seen": True})


@case
def plugin_that_raises(w):
    w.file("a.bin", b"first\n")
    w.file("poison.bin", b"second\n")
    w.file("z.bin", b"third\n")
    chosen = policy.scan_plugins
    w.monkeypatch.setattr(policy, "scan_plugins", lambda *arguments: [*chosen(*arguments), Raiser()])

    def continued(w, document, output):
        assert [item["findings"].get("raiser", {}).get("values") for item in document["items"]] == [{"seen": True}, {}, {"seen": True}]

    return Expect(FAILED, [("evidence/a.bin", "unsupported", "not a recognised"),
                           ("evidence/poison.bin", "unreadable", "raiser failed: RuntimeError: boom on purpose"),
                           ("evidence/z.bin", "unsupported", "not a recognised")], plugins=("--plugin", "hashing"), check=continued)


# ---- the checker ---------------------------------------------------------------------------


def scan_command(w: World, expect: Expect, *arguments) -> list[str]:
    roots = expect.roots if expect.roots is not None else [w.evidence]
    outputs = ["--json", w.out / "case.json"] if expect.json else []
    return ["scan", *roots, *outputs, *expect.plugins, "--workers", "1", "--quiet", *expect.arguments, *arguments]


def run_cli(command, child: bool = False) -> tuple[int, str]:
    """(exit status, stdout and stderr) of ``fxr-forensic COMMAND``; in a child process with a timeout, or here."""
    command = [os.fspath(part) for part in command]
    if child:
        completed = subprocess.run([sys.executable, "-c", "from facexray_forensics.cli import main; main()", *command],
                                   capture_output=True, text=True, timeout=120)
        return completed.returncode, completed.stdout + completed.stderr
    result = CliRunner().invoke(main, command)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    return result.exit_code, result.output + (f"\nTraceback: {result.exception!r}" if crashed else "")


def snapshot(root: Path, skip: Path) -> dict[bytes, tuple]:
    """Everything under ``root`` but ``skip``: each entry's type, mode, mtime_ns and bytes (files) or target (links).

    Walked with a stack, not recursion, so a tree 1,100 levels deep is fine; nothing is followed or opened but regular files.
    """
    state, pending, skipped = {}, [os.fsencode(root)], os.fsencode(skip)
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.path == skipped:
                    continue
                info = entry.stat(follow_symlinks=False)
                content = None
                if stat.S_ISREG(info.st_mode) and os.access(entry.path, os.R_OK):
                    with open(entry.path, "rb") as stream:
                        content = stream.read()
                elif stat.S_ISLNK(info.st_mode):
                    content = os.readlink(entry.path)
                elif stat.S_ISDIR(info.st_mode):
                    pending.append(entry.path)
                state[entry.path] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_mtime_ns, content)
    return state


def outputs_state(out: Path) -> dict[str, bytes | None]:
    if not out.is_dir():
        return {}
    return {name: (out / name).read_bytes() if (out / name).is_file() and not (out / name).is_symlink() else None
            for name in sorted(os.listdir(out))}


def assert_broken(w: World, reason: str) -> None:
    """The custody log a refused resume left must still fail verify-log, for its reason."""
    code, output = run_cli(["verify-log", w.out / "case.custody.jsonl"])
    assert code == 4 and reason in output, output


def assert_items(document: dict, expect: Expect) -> None:
    """Each expected (name, status, reason word) matched by an item of its own, and no item left over."""
    items = list(document["items"])
    for name, status, word in expect.items:
        match = next((item for item in items if item["status"] == status and word.lower() in (item["reason"] or "").lower()
                      and item["path"] == name), None)
        assert match is not None, (name, status, word, [(item["path"], item["status"], item["reason"]) for item in items])
        items.remove(match)
    assert items == [], [(item["path"], item["status"], item["reason"]) for item in items]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return Shared(tmp_path_factory)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_case(name, tmp_path, shared, monkeypatch):
    w = World(tmp_path, shared, monkeypatch)
    try:
        expect = CASES[name](w)
        w.evidence.mkdir(exist_ok=True)
        w.out.mkdir(exist_ok=True)
        before, outputs_before = snapshot(tmp_path, skip=w.out), outputs_state(w.out)

        code, output = run_cli(scan_command(w, expect), child=expect.child)

        assert "Traceback" not in output, output
        assert code == expect.code, output
        if expect.message is not None:
            assert expect.message in output, output
        finished = code in (OK, FLAGGED, FAILED)
        document = json.loads((w.out / "case.json").read_text()) if finished and expect.json else None
        if document is not None:
            assert_items(document, expect)
        else:
            assert expect.items == []
        assert snapshot(tmp_path, skip=w.out) == before, "the scan changed something outside its outputs"
        log = w.out / "case.custody.jsonl"
        if code in (REFUSED, USAGE):
            assert outputs_state(w.out) == outputs_before  # refused: nothing written, nothing replaced
        if expect.log == "verified":
            arguments = ["--expect", json.loads((w.out / "case.json").read_text())["scan"]["custody_log_sha256"]] if expect.json else []
            verified, said = run_cli(["verify-log", log, *arguments])
            assert verified == 0 and "sealed at its last record" in said, said
        elif expect.log == "none":
            assert not log.exists(), "a scan that could not start wrote a custody log"
        if expect.check is not None:
            expect.check(w, document, output)
    finally:
        for cleanup in reversed(w.cleanups):
            cleanup()
