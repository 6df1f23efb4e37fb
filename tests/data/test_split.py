"""The source split: whole sources on one side, stable, recorded, and enforced by evaluation."""

import hashlib

import pytest

from facexray_forensics.data.split import HELD_OUT, TRAIN, read_split, split_directory, split_files, write_split


def _files(people=2000):
    return [(f"lfw/P{index}/P{index}_{photo}.jpg", f"lfw/P{index}") for index in range(people) for photo in range(3)]


def test_sources_go_wholly_to_one_side_in_about_the_asked_share():
    split = split_files(_files(), held_out_fraction=0.1)
    sides = {}
    for entry in split.files.values():
        sides.setdefault(entry["source"], set()).add(entry["side"])
    assert all(len(found) == 1 for found in sides.values())
    held_out = len(split.sources(HELD_OUT))
    assert abs(held_out - 200) < 4 * (2000 * 0.1 * 0.9) ** 0.5  # four standard deviations
    assert split.sources(HELD_OUT).isdisjoint(split.sources(TRAIN))


def test_adding_sources_never_moves_existing_ones():
    small = split_files(_files(100), 0.2)
    large = split_files(_files(300), 0.2)
    assert all(large.files[path]["side"] == entry["side"] for path, entry in small.files.items())


def test_record_round_trip_with_hashes_and_the_held_out_check(tmp_path):
    root = tmp_path / "data"
    pairs = []
    for index in range(30):
        path = root / "utkface" / f"face{index}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"photo {index}".encode())
        pairs.append((f"utkface/face{index}.jpg", f"utkface/face{index}.jpg"))
    split = split_files(pairs, 0.3, root=root)
    write_split(split, tmp_path / "split.json")
    again = read_split(tmp_path / "split.json")
    assert again.files == split.files
    entry = again.files["utkface/face3.jpg"]
    assert entry["sha256"] == hashlib.sha256(b"photo 3").hexdigest()
    again.check_held_out(sorted(again.sources(HELD_OUT)))
    with pytest.raises(ValueError, match="not in the held-out split"):
        again.check_held_out(sorted(again.sources(TRAIN))[:1])


def test_split_directory_uses_the_index_source_rule(tmp_path):
    for relative in ("lfw/Ann/Ann_0001.jpg", "lfw/Ann/Ann_0002.jpg", "helen/1.jpg"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x")
    split = split_directory(tmp_path, 0.5, hashes=False)
    assert {entry["source"] for entry in split.files.values()} == {"lfw/Ann", "helen/1.jpg"}
