"""Known-file lists: real hashdeep output, NSRL-style CSV and sha256sum lists."""

import hashlib
import shutil
import subprocess

import pytest

from facexray_forensics.evidence import load_known_hashes
from facexray_forensics.evidence.known import parse_known_hashes


@pytest.mark.skipif(shutil.which("hashdeep") is None, reason="hashdeep is not installed (scripts/install-test-tools.sh)")
def test_hashdeep_output(tmp_path):
    files = {name: name.encode() * 3 for name in ("one", "two, with comma")}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    listing = subprocess.run(["hashdeep", "-c", "md5,sha256", "-r", str(tmp_path)], check=True, capture_output=True, text=True).stdout
    (tmp_path / "known.txt").write_text(listing)
    known = load_known_hashes(tmp_path / "known.txt")
    assert known.digests["md5"] == {hashlib.md5(content).hexdigest() for content in files.values()}
    assert known.digests["sha256"] == {hashlib.sha256(content).hexdigest() for content in files.values()}
    content = files["one"]
    assert known.match({"md5": "0" * 32, "sha256": hashlib.sha256(content).hexdigest()}) == "sha256"
    assert known.match({"md5": hashlib.md5(b"other").hexdigest()}) is None


def test_nsrl_style_csv():
    sha1, md5 = hashlib.sha1(b"x").hexdigest().upper(), hashlib.md5(b"x").hexdigest().upper()
    text = (
        '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\n'
        f'"{sha1}","{md5}","8CDC1683","x.dll",1,1234,"358",""\n'
    )
    known = parse_known_hashes(text)
    assert known.digests["sha1"] == {sha1.lower()} and known.digests["md5"] == {md5.lower()}
    assert known.digests["sha256"] == set()  # CRC32 is not taken for anything
    assert known.match({"sha1": sha1.lower()}) == "sha1"


def test_sha256sum_list_and_junk(tmp_path):
    digest = hashlib.sha256(b"y").hexdigest()
    known = parse_known_hashes(f"{digest}  y.jpg\nnot a hash line\n\n# comment\n")
    assert known.digests["sha256"] == {digest} and len(known) == 1
    (tmp_path / "empty.txt").write_text("nothing here\n")
    with pytest.raises(ValueError, match="no MD5"):
        load_known_hashes(tmp_path / "empty.txt")
