"""The folder walk, read-only opening and one-pass hashing."""

import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facexray_forensics.evidence import FileSource, hash_stream, inside, item_from_origin, open_read_only


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=700))
def test_hash_stream_equals_hashlib(content, chunk):
    import io

    hashes, length = hash_stream(io.BytesIO(content), chunk_size=chunk)
    assert length == len(content)
    assert hashes == {name: hashlib.new(name, content).hexdigest() for name in ("md5", "sha1", "sha256")}


def _tree(root):
    (root / "b").mkdir(parents=True)
    (root / "a.bin").write_bytes(b"a")
    (root / "b" / "c.bin").write_bytes(b"cc")
    (root / "b" / "loop").symlink_to("loop")  # a link to itself
    (root / "b" / "up").symlink_to("..")  # a link back up the tree: a cycle if followed
    (root / "outside").symlink_to("/etc")  # a link out of the tree
    (root / os.fsdecode(b"caf\xe9.bin")).write_bytes(b"latin-1 name")
    os.mkfifo(root / "pipe")


def test_walk_is_stable_and_follows_no_link(tmp_path):
    root = tmp_path / "evidence"
    _tree(root)
    items = list(FileSource([root]).items())
    names = [item.name for item in items]
    assert names == ["evidence/a.bin", "evidence/b/c.bin", "evidence/b/loop", "evidence/b/up",
                     "evidence/caf\\xe9.bin", "evidence/outside", "evidence/pipe"]
    assert names == [item.name for item in FileSource([root]).items()]
    by_name = {item.name: item for item in items}
    assert by_name["evidence/b/loop"].origin == {"path": str(root / "b" / "loop"), "file_type": "symbolic link", "link_target": "loop"}
    assert by_name["evidence/outside"].origin["link_target"] == "/etc"
    assert by_name["evidence/pipe"].origin["file_type"] == "fifo"
    latin = by_name["evidence/caf\\xe9.bin"]
    assert bytes.fromhex(latin.origin["path_hex"]) == os.fsencode(root) + b"/caf\xe9.bin"
    with latin.open() as stream:
        assert stream.read() == b"latin-1 name"
    again = item_from_origin(latin.name, latin.kind, latin.mime, latin.size, dict(latin.origin))
    with again.open() as stream:
        assert stream.read() == b"latin-1 name"


def test_open_read_only_refuses_links_and_fifos(tmp_path):
    _tree(tmp_path)
    with pytest.raises(OSError):
        open_read_only(tmp_path / "b" / "loop")
    with pytest.raises(OSError):
        open_read_only(tmp_path / "outside")
    with pytest.raises(OSError, match="not a regular file"):
        open_read_only(tmp_path / "pipe")  # must not block either
    with open_read_only(tmp_path / "a.bin") as stream:
        with pytest.raises(OSError):
            stream.write(b"x")


def test_reading_leaves_file_times_alone(tmp_path):
    path = tmp_path / "old.bin"
    path.write_bytes(os.urandom(5000))
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))  # old: relatime would update it on a plain read
    before = os.stat(path)
    with open_read_only(path) as stream:
        hash_stream(stream)
    after = os.stat(path)
    assert (after.st_atime_ns, after.st_mtime_ns, after.st_ctime_ns) == (before.st_atime_ns, before.st_mtime_ns, before.st_ctime_ns)


def test_file_root_and_clashing_root_names(tmp_path):
    (tmp_path / "one" / "x").mkdir(parents=True)
    (tmp_path / "two" / "x").mkdir(parents=True)
    (tmp_path / "one" / "x" / "f").write_bytes(b"1")
    (tmp_path / "two" / "x" / "f").write_bytes(b"2")
    names = [item.name for item in FileSource([tmp_path / "one" / "x", tmp_path / "two" / "x", tmp_path / "one" / "x" / "f"]).items()]
    assert names == [f"{tmp_path}/one/x/f", f"{tmp_path}/two/x/f", "f"]


def test_a_root_given_as_a_link_is_followed(tmp_path):
    _tree(tmp_path / "real")
    (tmp_path / "named").symlink_to(tmp_path / "real")
    (tmp_path / "file").symlink_to(tmp_path / "real" / "a.bin")
    items = list(FileSource([tmp_path / "named", tmp_path / "file"]).items())
    by_name = {item.name: item for item in items}
    assert by_name["named/b/c.bin"].origin["path"] == str(tmp_path / "real" / "b" / "c.bin")
    assert by_name["named/b/loop"].origin["file_type"] == "symbolic link"  # links inside: still not followed
    with by_name["file"].open() as stream:
        assert stream.read() == b"a"


def test_missing_evidence_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        FileSource([tmp_path / "nothing"])


def test_inside(tmp_path):
    (tmp_path / "evidence" / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "evidence" / "sub")
    roots = [tmp_path / "evidence"]
    assert inside(tmp_path / "evidence" / "sub" / "r.json", roots)
    assert inside(tmp_path / "link" / "r.json", roots)  # through a link into the tree
    assert inside(tmp_path / "evidence", roots)
    assert not inside(tmp_path / "evidence-out" / "r.json", roots)
