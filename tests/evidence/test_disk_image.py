"""Files inside FAT, ext4 and E01 images, read in place, deleted ones included;
split raw images read as one disk, and images inside images down to the depth limit.

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
from facexray_forensics.evidence.disk_image.image import MAX_IMAGE_DEPTH, DiskImage
from facexray_forensics.evidence.disk_image.items import DiskImageSource, expand_disk_images, inner_item
from facexray_forensics.evidence.files import FileSource
from facexray_forensics.plugins import ScanContext
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


def _fat_holding(path: Path, kib: int, files: dict[str, Path]) -> Path:
    """A FAT image of ``kib`` KiB holding each file of ``files`` at its name (folders made as needed)."""
    _run("mkfs.fat", "-C", "-n", "CARD", path, kib)
    for folder in sorted({str(parent) for name in files for parent in Path(name).parents} - {"."}):
        _run("mmd", "-i", path, f"::/{folder}")
    for name, source in files.items():
        _run("mcopy", "-i", path, source, f"::/{name}")
    return path


def _fat(path: Path, root: Path, contents: dict[str, bytes]) -> Path:
    _fat_holding(path, 4096, {name: root / name for name in contents})
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


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: its SHA-256 and modification time, to show a scan left them as they were."""
    return {str(path.relative_to(folder)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def _scan(evidence: Path, out: Path):
    """A scan of ``evidence`` with hashing and the disk-image plugin, its JSON report written to ``out``."""
    out.mkdir()
    plugins = [HashingPlugin(), DiskImagePlugin()]
    return Scan([evidence], [Output(out / "scan.json", render_json)], plugins, settings=ScanSettings(workers=1),
                case=ScanCase(case="2026-117", examiner="A. Examiner"), progress=False).run()


def test_scan_of_images_leaves_them_unchanged(images, contents, tmp_path):
    evidence = images["evidence"]
    before = _snapshot(evidence)
    report = _scan(evidence, tmp_path / "out")
    assert _snapshot(evidence) == before

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
    document = json.loads((tmp_path / "out" / "scan.json").read_text())
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


def _split(image: Path, folder: Path, stem: str, pieces: int = 3) -> list[Path]:
    """``image`` cut into ``pieces`` segment files ``stem.001``, ``stem.002``, ... as dd | split would cut it."""
    data = image.read_bytes()
    size = len(data) // pieces // 512 * 512 + 512  # not a divisor: the last segment is the shorter
    folder.mkdir(exist_ok=True)
    segments = [folder / f"{stem}.{number + 1:03d}" for number in range(pieces)]
    for number, segment in enumerate(segments):
        segment.write_bytes(data[number * size : (number + 1) * size])
    assert b"".join(segment.read_bytes() for segment in segments) == data
    return segments


def _sha256s(items) -> list[str]:
    found = []
    for item in items:
        with item.open() as stream:
            found.append(hash_stream(stream)[0]["sha256"])
    return sorted(found)


@pytest.mark.parametrize("stem", ["disk", "disk.raw"])
def test_split_raw_image_is_read_as_one_disk(images, contents, tmp_path, stem):
    segments = _split(images["fat"], tmp_path / "split", stem)
    before = _snapshot(tmp_path / "split")
    report = _scan(tmp_path / "split", tmp_path / "out")
    assert _snapshot(tmp_path / "split") == before
    by_name = {item.name: item for item in report.items}
    first, *later = (f"split/{segment.name}" for segment in segments)
    inner = [item for item in report.items if ":" in item.name]
    # Each file once, read across the cuts, and all under the first segment: no later segment is opened as an image.
    assert all(item.name.startswith(f"{first}:0:") for item in inner)
    assert sorted(item.hashes["sha256"] for item in inner) == sorted(_digests(data)["sha256"] for data in contents.values())
    assert all(item.hash_verified for item in inner)
    assert by_name[first].status is Status.CONTAINER and "items of their own" in by_name[first].reason
    values = by_name[first].findings["disk_image"].values
    assert [Path(name).name for name in values["segments"]] == [segment.name for segment in segments]
    assert values["media_size"] == images["fat"].stat().st_size
    for number, name in enumerate(later, start=2):
        assert by_name[name].status is Status.CONTAINER and by_name[name].kind == "disk_image"
        assert by_name[name].reason == (f"segment {number} of a split raw image: its files are read through "
                                        f"the first segment ({segments[0].name})")
        assert by_name[name].hashes["sha256"] == hashlib.sha256(segments[number - 1].read_bytes()).hexdigest()


def _missing_middle(segments: list[Path]) -> str:
    segments[1].unlink()
    return "segment 002 of the split image disk.001 is missing (segments up to 003 are there)"


def _middle_not_a_file(segments: list[Path]) -> str:
    segments[1].unlink()
    segments[1].mkdir()
    return "segment disk.002 cannot be read: not a regular file"


def _middle_cut_short(segments: list[Path]) -> str:
    segments[1].write_bytes(segments[1].read_bytes()[:-512])
    return "segment disk.002 holds"


@pytest.mark.parametrize("damage", [_missing_middle, _middle_not_a_file, _middle_cut_short])
def test_split_raw_image_with_a_bad_segment_is_unreadable(images, tmp_path, damage):
    expected = damage(_split(images["fat"], tmp_path / "split", "disk"))
    before = _snapshot(tmp_path / "split")
    items = list(expand_disk_images(FileSource([tmp_path / "split"]).items()))
    assert not [item for item in items if ":" in item.name]
    first = next(item for item in items if item.name == "split/disk.001")
    finding = DiskImagePlugin().process(first, {})
    assert finding.status is Status.UNREADABLE
    assert finding.reason.startswith("the disk image cannot be read: cannot open the raw image: " + expected)
    assert _snapshot(tmp_path / "split") == before


@pytest.fixture(scope="module")
def nested(tmp_path_factory, contents) -> dict[str, Path]:
    """Images inside images, four deep, one deeper than MAX_IMAGE_DEPTH; and an E01 inside an image.

    outer.img ⊃ level2.img (coffee.jpg) ⊃ level3.img (astronaut.jpg) ⊃ level4.img (blend.jpg, never read);
    outer.img also holds card.E01, an E01 of a FAT image that holds astronaut.jpg.
    """
    assert MAX_IMAGE_DEPTH == 3  # the chain below is one deeper
    work = tmp_path_factory.mktemp("nested")
    root = _source_tree(work / "tree", contents)
    level4 = _fat_holding(work / "level4.img", 256, {"blend.jpg": root / "DCIM/blend.jpg"})
    level3 = _fat_holding(work / "level3.img", 512, {"DCIM/astronaut.jpg": root / "DCIM/astronaut.jpg",
                                                     "level4.img": level4})
    level2 = _fat_holding(work / "level2.img", 1024, {"coffee.jpg": SAMPLES / "coffee.jpg", "images/level3.img": level3})
    card = _fat_holding(work / "card.img", 256, {"astronaut.jpg": root / "DCIM/astronaut.jpg"})
    _run("ewfacquire", "-u", "-q", "-t", work / "card", "-c", "none", "-f", "encase6",
         "-C", EWF_HEADER["case_number"], card)
    evidence = work / "evidence"
    evidence.mkdir()
    _fat_holding(evidence / "outer.img", 4096, {"level2.img": level2, "card.E01": work / "card.E01"})
    return {"evidence": evidence, "card": card}


def test_images_inside_images_are_read_down_to_the_limit(nested, tmp_path):
    before = _snapshot(nested["evidence"])
    report = _scan(nested["evidence"], tmp_path / "out")
    assert _snapshot(nested["evidence"]) == before
    by_name = {item.name: item for item in report.items}
    outer = "evidence/outer.img"
    level2 = next(name for name in by_name if name.startswith(outer + ":") and name.endswith(":/level2.img"))
    level3 = next(name for name in by_name if name.startswith(level2 + ":") and name.endswith(":/images/level3.img"))
    level4 = next(name for name in by_name if name.startswith(level3 + ":") and name.endswith(":/level4.img"))
    card = next(name for name in by_name if name.startswith(outer + ":") and name.endswith(":/card.E01"))
    for name in (outer, level2, level3, card):
        assert by_name[name].status is Status.CONTAINER, (name, by_name[name].reason)
    assert by_name[level4].status is Status.UNSUPPORTED
    assert by_name[level4].reason == f"disk image nested deeper than {MAX_IMAGE_DEPTH}: not opened (it lies 4 images deep)"
    assert by_name[level4].hash_verified  # still hashed: only its files are not listed
    assert not [name for name in by_name if name.startswith(level4 + ":")]
    assert by_name[card].findings["disk_image"].values["verification"]["verified"] is True

    expected = {level2: "coffee.jpg", level3: "astronaut.jpg", card: "astronaut.jpg"}
    for image, sample in expected.items():
        found = [item for item in report.items if item.origin.get("image") == image and item.kind == "image"]
        assert [item.hashes["sha256"] for item in found] == [_digests((SAMPLES / sample).read_bytes())["sha256"]]
        assert found[0].name.startswith(f"{image}:0:") and found[0].hash_verified
    deepest = next(item for item in report.items if item.origin.get("image") == level3 and item.kind == "image")
    # The identity chains the places of both image files it lies in, outermost first.
    parents = [(parent["partition_offset"], parent["inode"]) for parent in deepest.origin["parents"]]
    assert parents == [(0, by_name[level2].origin["inode"]), (0, by_name[level3].origin["inode"])]
    assert deepest.origin["image"] == level3 and deepest.origin["image_path"] == str(nested["evidence"] / "outer.img")


def test_a_nested_item_is_read_again_from_its_recorded_origin(nested):
    items = list(expand_disk_images(FileSource([nested["evidence"]]).items()))
    deepest = next(item for item in items if item.origin.get("parents") and item.name.endswith(":/DCIM/astronaut.jpg"))
    assert len(deepest.origin["parents"]) == 2
    origin = json.loads(json.dumps(deepest.origin))  # as a report or journal holds it
    again = inner_item(deepest.name, deepest.kind, deepest.mime, deepest.size, origin)
    assert again.identity == deepest.identity
    assert _sha256s([again]) == _sha256s([deepest]) == [_digests((SAMPLES / "astronaut.jpg").read_bytes())["sha256"]]
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_IMAGE_DEPTH}"):
        DiskImage(nested["evidence"] / "outer.img", [(0, 1)] * MAX_IMAGE_DEPTH)


def test_e01_check_reports_progress(images, capsys):
    calls = []
    with DiskImage(images["e01"]) as image:
        assert image.verify(progress=lambda done, total: calls.append((done, total)))["verified"] is True
        size = image.size
    done = [call[0] for call in calls]
    assert len(calls) > 1 and all(earlier < later for earlier, later in zip(done, done[1:]))
    assert calls[-1] == (size, size) and {total for _, total in calls} == {size}

    e01 = next(item for item in FileSource([images["e01"]]).items())
    shown = {}
    for progress in (False, True):
        plugin = DiskImagePlugin()
        plugin.start_up(ScanContext(settings={}, progress=progress))  # the scan's own progress flag
        assert plugin.process(e01, {}).status is Status.CONTAINER
        shown[progress] = capsys.readouterr().err
    assert shown[False] == "" and "verify disk.E01" in shown[True]
