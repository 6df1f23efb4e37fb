"""Files inside FAT, ext4 and E01 images, read in place, deleted ones included.

The images are made here with the Debian tools an examiner would meet:
mkfs.fat + mtools, mke2fs -d + debugfs, ewfacquire (scripts/install-test-tools.sh).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import uuid
import zlib
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from video_media import encode_video, moving_bar

from facexray_forensics.evidence import DecodeLimits, decode_frames, hash_stream
from facexray_forensics.evidence.disk_image import DiskImage, DiskImageSource, expand_disk_images
from facexray_forensics.evidence.files import FileSource
from facexray_forensics.plugins.builtin import DiskImagePlugin, HashingPlugin
from facexray_forensics.records import Status
from facexray_forensics.renderers.json import load_schema, render_json
from facexray_forensics.scan import Output, Scan, ScanCase, ScanSettings

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "facexray_forensics" / "samples" / "evidence"
TOOLS = ("mkfs.fat", "mmd", "mcopy", "mdel", "mke2fs", "debugfs", "ewfacquire")
pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS),
    reason="needs dosfstools, mtools, e2fsprogs and ewf-tools (scripts/install-test-tools.sh)",
)
EWF_HEADER = {"case_number": "2026-117", "examiner": "A. Examiner", "evidence_number": "EX-7", "description": "test card"}
PARTITION_OFFSET = 2048 * 512


def _run(*command: str | Path) -> str:
    return subprocess.run([str(part) for part in command], check=True, capture_output=True, text=True,
                          env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}).stdout


@pytest.fixture(scope="module")
def contents() -> dict[str, bytes]:
    """What goes into every image: two photos, a video, and a file that is then deleted."""
    return {
        "DCIM/astronaut.jpg": (SAMPLES / "astronaut.jpg").read_bytes(),
        "DCIM/blend.jpg": (SAMPLES / "astronaut_self_blended.jpg").read_bytes(),
        "clip.mp4": encode_video(moving_bar(30)),
        "gone.png": (SAMPLES / "astronaut.png").read_bytes(),
    }


DELETED = "gone.png"


def _source_tree(root: Path, contents: dict[str, bytes]) -> Path:
    for name, data in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _fat(path: Path, root: Path, contents: dict[str, bytes]) -> Path:
    _run("mkfs.fat", "-C", "-n", "CARD", path, 4096)
    _run("mmd", "-i", path, "::/DCIM")
    for name in contents:
        _run("mcopy", "-i", path, root / name, f"::/{name}")
    _run("mdel", "-i", path, f"::/{DELETED}")
    return path


def _ext4(path: Path, root: Path) -> Path:
    _run("mke2fs", "-q", "-t", "ext4", "-d", root, path, "8M")
    _run("debugfs", "-w", "-R", f"rm {DELETED}", path)
    return path


def _mbr_disk(path: Path, filesystem: Path) -> Path:
    """A disk with a DOS partition table and one Linux partition at 1 MiB holding ``filesystem``."""
    data = filesystem.read_bytes()
    sectors = len(data) // 512
    disk = bytearray(PARTITION_OFFSET + len(data) + PARTITION_OFFSET)
    disk[446:462] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 2048, sectors)
    disk[510:512] = b"\x55\xaa"
    disk[PARTITION_OFFSET : PARTITION_OFFSET + len(data)] = data
    path.write_bytes(bytes(disk))
    return path


def _gpt_disk(path: Path, filesystem: Path) -> Path:
    """A disk with a GUID partition table (primary and backup) and one Linux partition at 1 MiB holding ``filesystem``."""
    data = filesystem.read_bytes()
    sectors = (PARTITION_OFFSET + len(data) + PARTITION_OFFSET) // 512
    disk = bytearray(sectors * 512)
    last = sectors - 1
    # Protective MBR: one partition of type 0xEE over the whole disk.
    disk[446:462] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0xEE, b"\0\0\0", 1, min(last, 0xFFFFFFFF))
    disk[510:512] = b"\x55\xaa"
    entry = struct.pack(
        "<16s16sQQQ72s",
        uuid.UUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4").bytes_le,  # Linux file system data
        uuid.UUID(int=1).bytes_le,
        2048,
        2048 + len(data) // 512 - 1,
        0,
        "evidence".encode("utf-16-le"),
    )
    entries = entry + bytes(128 * 127)

    def header(current: int, backup: int, entries_lba: int) -> bytes:
        fields = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0, current, backup, 34, last - 33,
                             uuid.UUID(int=2).bytes_le, entries_lba, 128, 128, zlib.crc32(entries))
        return fields[:16] + struct.pack("<I", zlib.crc32(fields)) + fields[20:]

    disk[512:604] = header(1, last, 2)
    disk[1024 : 1024 + len(entries)] = entries
    disk[(last - 32) * 512 : (last - 32) * 512 + len(entries)] = entries
    disk[last * 512 : last * 512 + 92] = header(last, 1, last - 32)
    disk[PARTITION_OFFSET : PARTITION_OFFSET + len(data)] = data
    path.write_bytes(bytes(disk))
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory, contents) -> dict[str, Path]:
    """A bare FAT image, a bare ext4 image and an E01 of a partitioned disk holding the ext4, in one evidence folder."""
    work = tmp_path_factory.mktemp("images")
    evidence = work / "evidence"
    evidence.mkdir()
    root = _source_tree(work / "tree", contents)
    fat = _fat(evidence / "card.img", root, contents)
    ext4 = _ext4(evidence / "linux.img", root)
    disk = _mbr_disk(work / "disk.dd", ext4)
    gpt = _gpt_disk(work / "gpt.dd", ext4)
    _run("ewfacquire", "-u", "-q", "-t", evidence / "disk", "-c", "none", "-f", "encase6",
         "-C", EWF_HEADER["case_number"], "-e", EWF_HEADER["examiner"], "-E", EWF_HEADER["evidence_number"],
         "-D", EWF_HEADER["description"], "-N", "made by the tests", disk)
    return {"fat": fat, "ext4": ext4, "e01": evidence / "disk.E01", "disk": disk, "gpt": gpt, "evidence": evidence}


def _digests(data: bytes) -> dict[str, str]:
    return {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}


@pytest.mark.parametrize("kind", ["fat", "ext4", "e01", "gpt"])
def test_every_file_is_found_with_the_original_hashes(images, contents, kind):
    items = list(DiskImageSource(images[kind], name=kind).items())
    found = {}
    for item in items:
        with item.open() as stream:
            hashes, length = hash_stream(stream)
        assert length == item.size
        found[item.origin["inner_path"]] = (hashes, item.origin["deleted"], item)
    expected = {f"/{name}": _digests(data) for name, data in contents.items() if name != DELETED}
    allocated = {path: hashes for path, (hashes, deleted, _) in found.items() if not deleted}
    assert allocated == expected
    deleted = [(path, hashes) for path, (hashes, is_deleted, _) in found.items() if is_deleted]
    assert [hashes for _, hashes in deleted] == [_digests(contents[DELETED])]
    # FAT overwrites a deleted name's first character; ext4 keeps it.
    assert deleted[0][0] == (f"/_{DELETED[1:]}" if kind == "fat" else f"/{DELETED}")
    offset = PARTITION_OFFSET if kind in ("e01", "gpt") else 0
    for path, (_, _, item) in found.items():
        assert item.name == f"{kind}:{offset}:{item.origin['inode']}:{path}"
        assert item.origin["partition_offset"] == offset
    kinds = {path: item.kind for path, (_, _, item) in found.items()}
    assert kinds["/DCIM/astronaut.jpg"] == "image" and kinds["/clip.mp4"] == "video"


def test_ext4_inodes_match_debugfs(images):
    listing = _run("debugfs", "-R", "ls -l /DCIM", images["ext4"])
    debugfs = {match[1]: int(match[0]) for match in re.findall(r"^\s*(\d+)\s+100644.*\s(\S+)\s*$", listing, re.M)}
    ours = {item.origin["inner_path"]: item.origin["inode"] for item in DiskImageSource(images["ext4"]).items()}
    assert debugfs and all(ours[f"/DCIM/{name}"] == inode for name, inode in debugfs.items())


def test_filesystems_and_partitions_are_described(images):
    with DiskImage(images["fat"]) as fat, DiskImage(images["e01"]) as e01, DiskImage(images["gpt"]) as gpt:
        assert fat.partition_table is None and [volume.filesystem for volume in fat.volumes] == ["FAT12"]
        assert e01.partition_table == "DOS"
        assert [(volume.offset, volume.filesystem) for volume in e01.volumes] == [(PARTITION_OFFSET, "EXT4")]
        assert gpt.partition_table == "GPT"
        assert [(volume.offset, volume.filesystem) for volume in gpt.volumes] == [(PARTITION_OFFSET, "EXT4")]


def test_e01_header_and_stored_md5(images, tmp_path):
    disk_md5 = hashlib.md5(images["disk"].read_bytes()).hexdigest()
    with DiskImage(images["e01"]) as image:
        record = image.acquisition()
        assert image.verify() == {"stored": {"md5": disk_md5}, "computed": {"md5": disk_md5}, "verified": True}
    assert record["format"] == "ewf" and record["media_size"] == images["disk"].stat().st_size
    assert {key: record["header"][key] for key in EWF_HEADER} == EWF_HEADER
    assert record["header"]["acquisition_date"]

    # One changed byte of a stored file's content: the recomputed MD5 no longer matches.
    damaged = bytearray(images["e01"].read_bytes())
    # Acquired without compression, so the bytes of a stored file lie in the E01 as they are.
    position = damaged.find((SAMPLES / "astronaut.png").read_bytes()[4096:4128])
    assert position > 0
    damaged[position] ^= 0xFF
    (tmp_path / "damaged.E01").write_bytes(bytes(damaged))
    with DiskImage(tmp_path / "damaged.E01") as image:
        check = image.verify()
    assert check["stored"]["md5"] == disk_md5 and check["verified"] is False


def test_video_inside_an_image_decodes_from_the_stream(images, contents):
    item = next(item for item in DiskImageSource(images["fat"]).items() if item.origin["inner_path"] == "/clip.mp4")
    outside = type(item)(name="clip", kind="video", mime="video/mp4", size=len(contents["clip.mp4"]),
                         open=lambda: io.BytesIO(contents["clip.mp4"]))
    inside_frames = list(decode_frames(item, DecodeLimits(video_frames=4)))
    outside_frames = list(decode_frames(outside, DecodeLimits(video_frames=4)))
    assert len(inside_frames) == 4
    for one, two in zip(inside_frames, outside_frames):
        assert one.timestamp == two.timestamp and np.array_equal(one.pixels, two.pixels)


def test_not_a_disk_image_is_a_value_error(tmp_path):
    path = tmp_path / "noise.img"
    path.write_bytes(bytes(512 * 40))
    with pytest.raises(ValueError):
        DiskImage(path)


def test_expand_keeps_the_image_and_adds_its_files(images):
    items = list(expand_disk_images(FileSource([images["fat"]]).items()))
    assert items[0].name == "card.img" and items[0].kind == "disk_image"
    assert all(item.name.startswith("card.img:0:") for item in items[1:]) and len(items) == 5


def test_scan_of_images_leaves_them_unchanged(images, contents, tmp_path):
    evidence = images["evidence"]
    before = {path.name: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) for path in evidence.iterdir()}
    out = tmp_path / "out"
    out.mkdir()
    plugins = [HashingPlugin(), DiskImagePlugin()]
    report = Scan([evidence], [Output(out / "scan.json", render_json)], plugins, settings=ScanSettings(workers=1),
                  case=ScanCase(case="2026-117", examiner="A. Examiner"), progress=False).run()
    after = {path.name: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) for path in evidence.iterdir()}
    assert after == before

    by_name = {item.name: item for item in report.items}
    for image in ("card.img", "linux.img", "disk.E01"):
        assert by_name[f"evidence/{image}"].status is Status.CONTAINER
        assert "items of their own" in by_name[f"evidence/{image}"].reason
        inner = [item for item in report.items if item.name.startswith(f"evidence/{image}:")]
        assert sorted(item.hashes["sha256"] for item in inner) == sorted(_digests(data)["sha256"] for data in contents.values())
        assert sum(item.origin["deleted"] for item in inner) == 1
        assert all(item.hash_verified for item in inner)
    e01 = by_name["evidence/disk.E01"].findings["disk_image"].values
    assert e01["verification"]["verified"] is True and e01["header"]["case_number"] == EWF_HEADER["case_number"]
    document = json.loads((out / "scan.json").read_text())
    jsonschema.validate(document, load_schema(), cls=jsonschema.Draft202012Validator)
    assert document["scan"]["summary"]["container"] == 3


def test_split_e01_is_read_through_its_first_segment(images, contents, tmp_path):
    _run("ewfacquire", "-u", "-q", "-t", tmp_path / "split", "-c", "none", "-f", "encase6", "-S", str(1 << 20), images["fat"])
    segments = sorted(tmp_path.glob("split.E*"))
    assert len(segments) > 2
    items = list(expand_disk_images(FileSource([tmp_path]).items()))
    inner = [item for item in items if ":" in item.name]
    assert inner and all("/split.E01:" in item.name for item in inner)
    found = []
    for item in inner:
        with item.open() as stream:
            found.append(hash_stream(stream)[0]["sha256"])
    assert sorted(found) == sorted(_digests(data)["sha256"] for data in contents.values())
    with pytest.raises(ValueError, match="segment 2"):
        DiskImage(segments[1])
    second = next(item for item in items if item.name.endswith("/" + segments[1].name))
    finding = DiskImagePlugin().process(second, {})
    assert finding.status is Status.CONTAINER and "segment 2" in finding.reason
