"""An item is known by the exact bytes of its path, never by its rendered name (issue 15).

Two items that render alike must keep their own results: in one scan, and
through ``--resume``. The disk image is made with the fixtures of
test_disk_image (mkfs.fat + mtools).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil

from click.testing import CliRunner
import test_disk_image

from facexray_forensics.cli import main
from facexray_forensics.evidence.disk_image.items import DiskImageSource
from facexray_forensics.records import item_identity

contents, images, needs_disk_tools = test_disk_image.contents, test_disk_image.images, test_disk_image.pytestmark


def _scan(evidence, out, *options: str) -> list[dict]:
    out.mkdir(exist_ok=True)
    result = CliRunner().invoke(main, ["scan", str(evidence), "--plugin", "hashing", "--workers", "1", "--quiet",
                                       "--json", str(out / "scan.json"), *options])
    assert "Traceback" not in result.output and result.exit_code == 0, result.output
    return json.loads((out / "scan.json").read_text())["items"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _evidence_with_undecodable_name(tmp_path) -> tuple:
    """``evidence/`` holding ``a<0xff>.bin`` (700 random bytes); the folder and those bytes."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    raw = os.urandom(700)
    with open(os.fsencode(evidence) + b"/a\xff.bin", "wb") as stream:
        stream.write(raw)
    return evidence, raw


def _add_escaped_look_alike(evidence) -> bytes:
    """A second file (900 random bytes) whose name spells out, with a backslash, how the byte 0xff renders."""
    escaped = os.urandom(900)
    (evidence / "a\\xff.bin").write_bytes(escaped)
    return escaped


def test_names_differing_in_an_undecodable_byte_keep_their_own_results(tmp_path):
    evidence, raw = _evidence_with_undecodable_name(tmp_path)
    escaped = _add_escaped_look_alike(evidence)
    items = _scan(evidence, tmp_path / "out")
    assert [item["path"] for item in items] == ["evidence/a\\xff.bin"] * 2  # the same rendering
    assert sorted((item["size"], item["sha256"]) for item in items) == [(700, _sha256(raw)), (900, _sha256(escaped))]


def test_identity_is_the_path_bytes_or_image_partition_and_inode():
    plain = item_identity("evidence/a\\xff.bin", {"path": "/e/a\\xff.bin"})
    undecodable = item_identity("evidence/a\\xff.bin", {"path": "/e/a\\xff.bin", "path_hex": b"/e/a\xff.bin".hex()})
    assert plain.startswith("file:" + b"/e/a\\xff.bin".hex()) and undecodable.startswith("file:" + b"/e/a\xff.bin".hex())
    inner = {"image_path": "/e/card.img", "partition_offset": 0, "inode": 14, "inner_path": "/x.bin"}
    assert item_identity("evidence/card.img:0:14:/x.bin", inner) != item_identity(
        "evidence/card.img:0:14:/x.bin", {"path": "/e/card.img:0:14:/x.bin"})
    assert item_identity("n", inner) != item_identity("n", {**inner, "inode": 15})
    # The same inner file of two images at one place in an outer image: the outer inode tells them apart.
    nested = [{**inner, "parents": [{"partition_offset": 0, "inode": inode}]} for inode in (7, 8)]
    assert len({item_identity("n", origin) for origin in [inner, *nested]}) == 3
    assert item_identity("n", {}) == "name:n"
    # One file named both as a root and inside a folder root is two items, told apart by their names.
    assert item_identity("a.bin", {"path": "/e/sub/a.bin"}) != item_identity("e/sub/a.bin", {"path": "/e/sub/a.bin"})


@needs_disk_tools
def test_a_folder_named_like_a_disk_image_item_keeps_its_own_result(images, tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    shutil.copy(images["fat"], evidence / "card.img")
    clip = next(item for item in DiskImageSource(evidence / "card.img").items() if item.origin["inner_path"] == "/clip.mp4")
    lookalike = evidence / f"card.img:0:{clip.origin['inode']}:" / "clip.mp4"
    lookalike.parent.mkdir()
    impostor = os.urandom(1234)
    lookalike.write_bytes(impostor)
    with clip.open() as stream:
        inside = stream.read()

    def by_name(items):
        named = [item for item in items if item["path"] == f"evidence/card.img:0:{clip.origin['inode']}:/clip.mp4"]
        return sorted((item["size"], item["sha256"]) for item in named)

    expected = sorted([(len(inside), _sha256(inside)), (len(impostor), _sha256(impostor))])
    assert by_name(_scan(evidence, tmp_path / "whole")) == expected


def test_a_resume_matches_items_by_identity(tmp_path):
    # The first run sees only the undecodable name; the resume adds its look-alike, which must be analysed.
    evidence, raw = _evidence_with_undecodable_name(tmp_path)
    out = tmp_path / "out"
    _scan(evidence, out, "--case", "C-1")
    for name in ("scan.json", "scan.json.sha256"):
        if (out / name).exists():
            (out / name).unlink()
    escaped = _add_escaped_look_alike(evidence)
    items = _scan(evidence, out, "--case", "C-1", "--resume")
    assert sorted(item["sha256"] for item in items) == sorted([_sha256(raw), _sha256(escaped)])
