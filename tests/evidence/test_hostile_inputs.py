"""Hostile evidence never crashes a scan: each case runs ``fxr-forensic scan`` end to end (issue 15).

Each asserts no traceback, the exit status, a JSON report written, and the
item's recorded outcome and reason. The disk images are made with the
helpers and fixtures of test_disk_image (mkfs.fat + mtools, ewfacquire).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

import pytest
from click.testing import CliRunner
import test_disk_image
from test_disk_image import PARTITION_OFFSET, _mbr_disk, _run

from facexray_forensics.cli import main
from facexray_forensics.evidence.disk_image.items import DiskImageSource

EXIT_FAILED = 4
# The disk images of test_disk_image (module fixtures: made again for this module).
contents, images, needs_disk_tools = test_disk_image.contents, test_disk_image.images, test_disk_image.pytestmark


def _scan(evidence, out, plugin: str):
    """Scan ``evidence`` with ``plugin`` (and hashing); the exit status and the report's items by path."""
    result = CliRunner().invoke(main, ["scan", str(evidence), "--plugin", plugin, "--workers", "1", "--quiet",
                                       "--json", str(out / "scan.json")])
    assert "Traceback" not in result.output and not isinstance(result.exception, Exception), result.output
    items = json.loads((out / "scan.json").read_text())["items"]
    return result.exit_code, {item["path"]: item for item in items}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


DEPTH = 1100


@pytest.fixture
def deep_tree(tmp_path):
    """``evidence/d/d/.../d/deep.bin``, DEPTH folders deep; the file's bytes. Removed again bottom up,
    since pytest's own clean-up (shutil.rmtree) recurses and would fail on it."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    data = os.urandom(1000)
    top = os.open(evidence, os.O_RDONLY | os.O_DIRECTORY)
    descriptor = os.dup(top)
    for _ in range(DEPTH):  # one level at a time by descriptor: no path is ever spelled out whole
        os.mkdir("d", dir_fd=descriptor)
        deeper = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=descriptor)
        os.close(descriptor)
        descriptor = deeper
    file = os.open("deep.bin", os.O_WRONLY | os.O_CREAT, dir_fd=descriptor)
    os.write(file, data)
    os.close(file)
    os.close(descriptor)
    yield evidence, data
    os.unlink("d/" * DEPTH + "deep.bin", dir_fd=top)
    for depth in range(DEPTH, 0, -1):
        os.rmdir("/".join(["d"] * depth), dir_fd=top)
    os.close(top)


def test_a_folder_tree_1100_levels_deep(deep_tree, tmp_path):
    evidence, data = deep_tree
    code, items = _scan(evidence, tmp_path, "hashing")
    assert code == 0
    assert list(items) == ["evidence/" + "d/" * DEPTH + "deep.bin"]
    item = next(iter(items.values()))
    assert item["sha256"] == _sha256(data) and item["size"] == len(data)
    assert item["status"] == "unsupported"  # random bytes: no picture to look at, but hashed and recorded


def _damaged_e01_scan(tmp_path, damage) -> tuple[int, dict]:
    """Scan a folder whose E01 set ``damage(folder)`` made; the exit status and the first segment's report item."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    first = damage(evidence)
    before = first.read_bytes(), first.stat().st_mtime_ns
    code, items = _scan(evidence, tmp_path, "disk_image")
    assert (first.read_bytes(), first.stat().st_mtime_ns) == before
    return code, items[f"evidence/{first.name}"]


@needs_disk_tools
def test_an_e01_cut_short(images, tmp_path):
    whole = images["e01"].read_bytes()

    def cut(folder):
        (folder / "disk.E01").write_bytes(whole[: len(whole) // 2])
        return folder / "disk.E01"

    code, item = _damaged_e01_scan(tmp_path, cut)
    assert code == EXIT_FAILED and item["status"] == "unreadable"
    assert item["reason"].startswith("the disk image cannot be read") and "unable to read" in item["reason"]


@needs_disk_tools
def test_an_e01_missing_a_segment(images, tmp_path):
    def split_then_lose_the_second(folder):
        _run("ewfacquire", "-u", "-q", "-t", folder / "split", "-c", "none", "-f", "encase6", "-S", str(1 << 20), images["fat"])
        (folder / "split.E02").unlink()
        return folder / "split.E01"

    code, item = _damaged_e01_scan(tmp_path, split_then_lose_the_second)
    assert code == EXIT_FAILED and item["status"] == "unreadable"
    assert item["reason"].startswith("the disk image cannot be read") and "missing segment" in item["reason"]


@needs_disk_tools
def test_an_e01_whose_stored_md5_was_edited(images, tmp_path):
    edited = bytearray(images["e01"].read_bytes())
    position = edited.find(hashlib.md5(images["disk"].read_bytes()).digest())
    assert position > 0
    edited[position] ^= 0xFF

    def write(folder):
        (folder / "disk.E01").write_bytes(bytes(edited))
        return folder / "disk.E01"

    code, item = _damaged_e01_scan(tmp_path, write)
    assert code == EXIT_FAILED and item["status"] == "unreadable"  # the README's promise: not "unsupported"
    assert "checksum does not match" in item["reason"]


@needs_disk_tools
def test_a_bogus_partition_entry_hides_no_good_partition(images, contents, tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    disk = _mbr_disk(evidence / "disk.dd", images["fat"])
    data = bytearray(disk.read_bytes())
    past_the_end = len(data) // 512 + 1000
    data[462:478] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", past_the_end, 2048)  # entry 2
    disk.write_bytes(bytes(data))
    code, items = _scan(evidence, tmp_path, "disk_image")
    assert code == 0
    image = items["evidence/disk.dd"]
    assert image["status"] == "container" and f"entry 2 (type 0x83) starts at sector {past_the_end}" in image["reason"]
    inner = [item for path, item in items.items() if path.startswith(f"evidence/disk.dd:{PARTITION_OFFSET}:")]
    assert sorted(item["sha256"] for item in inner) == sorted(_sha256(content) for content in contents.values())


@needs_disk_tools
def test_a_fat_entry_with_a_lying_size_is_still_reported(images, contents, tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    data = bytearray(images["fat"].read_bytes())
    entry = data.find(b"CLIP    MP4")  # clip.mp4's short entry in the root directory
    assert entry > 0
    lie = 0xFFFFFF00
    data[entry + 28 : entry + 32] = lie.to_bytes(4, "little")
    (evidence / "card.img").write_bytes(bytes(data))
    code, items = _scan(evidence, tmp_path, "disk_image")
    assert code == EXIT_FAILED
    honest = next(item for item in DiskImageSource(images["fat"]).items() if item.origin["inner_path"] == "/clip.mp4")
    clip = items[f"evidence/card.img:0:{honest.origin['inode']}:/clip.mp4"]  # numbered as The Sleuth Kit numbers it
    assert clip["status"] == "unreadable" and clip["size"] == lie
    assert f"({lie} bytes) exceeds the whole volume" in clip["reason"]
    others = [item["sha256"] for path, item in items.items() if path.startswith("evidence/card.img:") and item is not clip]
    assert sorted(others) == sorted(_sha256(content) for name, content in contents.items() if name != "clip.mp4")
