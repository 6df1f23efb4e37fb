"""Hostile outputs: no write into the evidence, through a link or into a FIFO; a failed write is exit 5.

Each case checks that nothing crashed (no traceback), the exit status and
the message, and that the evidence, and a bystander folder links may point
into, are byte-identical with unchanged times. The scans run the hashing
plugin only, on two tiny files, so each takes well under a second; the CLI
runs in a process of its own, with a timeout, so a hang fails the test.
"""

import csv
import errno
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import age, snapshot
from PIL import Image

from facexray_forensics.cli import main
from facexray_forensics.custody import verify_log
from facexray_forensics.renderers.csv import FORMULA_STARTS
from facexray_forensics.scan.outputs import OutputError, write_output

EXIT_REFUSED, EXIT_OUTPUTS_UNWRITTEN = 1, 5
ONE_PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8ffff3f0005fe02fea7d6a4f00000000049454e44ae426082"
)


@pytest.fixture
def places(tmp_path):
    """(evidence, out, bystander): two small evidence files, an empty output folder, a folder of someone else's file."""
    evidence, out, bystander = tmp_path / "evidence", tmp_path / "out", tmp_path / "bystander"
    for folder in (evidence / "sub", out, bystander):
        folder.mkdir(parents=True)
    (evidence / "blank.png").write_bytes(ONE_PIXEL_PNG)
    (evidence / "sub" / "notes.txt").write_text("case notes\n")
    (bystander / "other.txt").write_text("not evidence, not ours\n")
    return evidence, out, bystander


def _scan_process(evidence, *arguments):
    command = [sys.executable, "-c", "from facexray_forensics.cli import main; main()", "scan", str(evidence),
               "--plugin", "hashing", "--workers", "1", "--quiet", *map(str, arguments)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


def _scan_here(evidence, *arguments):
    """In this process, for the cases that monkeypatch a failure in."""
    result = CliRunner().invoke(main, ["scan", str(evidence), "--plugin", "hashing", "--workers", "1", "--quiet",
                                       *map(str, arguments)], catch_exceptions=False)
    return result.exit_code, result.output


def _check(scan, places, arguments, exit_code, message):
    """Run ``scan`` and assert the outcome; the evidence and the bystander must not change at all."""
    evidence, _, bystander = places
    age(evidence)
    age(bystander)
    before = snapshot(evidence), snapshot(bystander)
    code, output = scan(evidence, *arguments)
    assert "Traceback" not in output
    assert code == exit_code, output
    assert message in output
    assert (snapshot(evidence), snapshot(bystander)) == before
    return output


# ---- refused before the scan starts -------------------------------------------------------


def hard_link_to_evidence(evidence, out, bystander):
    os.link(evidence / "blank.png", out / "scan.json")  # the reported bug: the JSON overwrote the evidence
    return ["--json", out / "scan.json"], "2 hard links"


def symlink_to_evidence(evidence, out, bystander):
    (out / "scan.json").symlink_to(evidence / "blank.png")
    return ["--json", out / "scan.json"], "inside the evidence"


def symlink_elsewhere(evidence, out, bystander):
    (out / "scan.csv").symlink_to(bystander / "other.txt")
    return ["--csv", out / "scan.csv"], "symbolic link"


def dangling_symlink_as_custody_log(evidence, out, bystander):
    (out / "scan.custody.jsonl").symlink_to(bystander / "planted.jsonl")  # would create a file there
    return ["--json", out / "scan.json"], "symbolic link"


def symlink_as_sidecar(evidence, out, bystander):
    (out / "scan.json.sha256").symlink_to(bystander / "other.txt")
    return ["--json", out / "scan.json"], "symbolic link"


def fifo_as_report(evidence, out, bystander):
    os.mkfifo(out / "scan.json")  # opening it for writing would block until a reader comes
    return ["--json", out / "scan.json"], "FIFO"


def fifo_as_journal_on_resume(evidence, out, bystander):
    os.mkfifo(out / "scan.journal.jsonl")  # reading it back would block until a writer comes
    return ["--json", out / "scan.json", "--resume"], "FIFO"


def hard_link_as_journal_on_resume(evidence, out, bystander):
    os.link(evidence / "sub" / "notes.txt", out / "scan.journal.jsonl")
    return ["--json", out / "scan.json", "--resume"], "2 hard links"


def folder_as_sidecar(evidence, out, bystander):
    (out / "scan.json.sha256").mkdir()
    return ["--json", out / "scan.json"], "folder, not a regular file"


def symlinked_alias_of_the_evidence(evidence, out, bystander):
    (out / "alias").symlink_to(evidence / "sub")
    return ["--json", out / "alias" / "deeper" / "scan.json"], "inside the evidence"


@pytest.mark.parametrize("hostile", [
    hard_link_to_evidence, symlink_to_evidence, symlink_elsewhere, dangling_symlink_as_custody_log, symlink_as_sidecar,
    fifo_as_report, fifo_as_journal_on_resume, hard_link_as_journal_on_resume, folder_as_sidecar,
    symlinked_alias_of_the_evidence,
], ids=lambda hostile: hostile.__name__)
def test_hostile_output_path_is_refused_before_the_scan(places, hostile):
    arguments, message = hostile(*places)
    planted = sorted(os.listdir(places[1]))
    output = _check(_scan_process, places, arguments, EXIT_REFUSED, message)
    assert "refusing to write" in output
    assert sorted(os.listdir(places[1])) == planted  # refused before anything was written


def test_bind_mount_of_the_evidence_is_refused(places):
    evidence, out, _ = places
    alias = out / "mounted"
    alias.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a bind mount needs root")
    if subprocess.run(["mount", "--bind", evidence, alias], capture_output=True).returncode != 0:
        pytest.skip("mount --bind is not allowed here")
    try:  # no link to resolve: only the device and inode show that this folder is the evidence
        _check(_scan_process, places, ["--json", alias / "scan.json"], EXIT_REFUSED, "inside the evidence")
    finally:
        subprocess.run(["umount", alias], check=True)


# ---- failures while writing: exit 5, the journal intact for --resume ----------------------


def _journal_lines(out):
    return [json.loads(line) for line in (out / "scan.journal.jsonl").read_text().splitlines()]


def _resume_completes(places):
    evidence, out, _ = places
    code, output = _scan_process(evidence, "--json", out / "scan.json", "--resume")
    assert code == 0, output
    assert [item["path"] for item in json.loads((out / "scan.json").read_text())["items"]] == [
        "evidence/blank.png", "evidence/sub/notes.txt"]
    assert verify_log(out / "scan.custody.jsonl").ok


def _refuse_writes_under(folder, monkeypatch):
    """Make every open for writing under ``folder`` fail as a read-only folder does."""
    real_open = os.open

    def read_only_open(path, flags, *arguments, **options):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and os.fspath(path).startswith(os.fspath(folder)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, *arguments, **options)

    monkeypatch.setattr(os, "open", read_only_open)


def test_read_only_output_folder_simulated(places, monkeypatch):
    _, out, _ = places
    _refuse_writes_under(out, monkeypatch)  # chmod does not stop root, so the kernel's answer is played here
    _check(_scan_here, places, ["--json", out / "scan.json"], EXIT_OUTPUTS_UNWRITTEN, "outputs could not be written")
    assert os.listdir(out) == []


def test_read_only_output_folder(places):
    _, out, _ = places
    out.chmod(0o555)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("chmod does not stop this user (root): see the simulated case")
        _check(_scan_process, places, ["--json", out / "scan.json"], EXIT_OUTPUTS_UNWRITTEN, "Permission denied")
    finally:
        out.chmod(0o755)


def test_disk_full_while_rendering_leaves_no_report_and_resume_completes(places, monkeypatch):
    _, out, _ = places

    def render_until_full(report, path):
        Path(path).write_text('{"format": "fxr-scan/1", "items": [')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))

    monkeypatch.setattr("facexray_forensics.renderers.json.render_json", render_until_full)
    output = _check(_scan_here, places, ["--json", out / "scan.json"], EXIT_OUTPUTS_UNWRITTEN, "No space left on device")
    assert "--resume" in output
    assert sorted(os.listdir(out)) == ["scan.custody.jsonl", "scan.custody.jsonl.head", "scan.journal.jsonl",
                                       "scan.journal.jsonl.lock"]  # no half report, no temp file; the log sealed at scan_finished
    assert verify_log(out / "scan.custody.jsonl").ok
    assert len(_journal_lines(out)) == 3  # the header and both items
    monkeypatch.undo()
    _resume_completes(places)


def test_disk_full_while_journaling_keeps_the_journal_whole(places, monkeypatch):
    _, out, _ = places
    real_write = os.write

    def journal_full_after_header(descriptor, data):
        if os.readlink(f"/proc/self/fd/{descriptor}").endswith(".journal.jsonl") and b'"format"' not in data:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(descriptor, data)

    monkeypatch.setattr(os, "write", journal_full_after_header)
    _check(_scan_here, places, ["--json", out / "scan.json"], EXIT_OUTPUTS_UNWRITTEN, "No space left on device")
    assert [line["format"] for line in _journal_lines(out)] == ["fxr-scan-journal/1"]
    monkeypatch.undo()
    _resume_completes(places)


def test_derived_file_onto_a_link_is_refused_and_nothing_is_replaced(places):
    _, out, bystander = places
    (out / "scan.xray-00001-face1.png").symlink_to(bystander / "other.txt")

    def render_with_picture(report, path):  # as the X-ray images renderer names its pictures
        Path(path).write_text("{}")
        (Path(path).parent / "scan.xray-00001-face1.png").write_bytes(b"png")

    with pytest.raises(OutputError, match="symbolic link"):
        write_output(render_with_picture, None, out / "scan.xray.json")
    assert sorted(os.listdir(out)) == ["scan.xray-00001-face1.png"]
    assert (bystander / "other.txt").read_text() == "not evidence, not ours\n"


# ---- CSV formula injection from the evidence ----------------------------------------------


def test_csv_cells_from_exif_and_names_are_neutralised(tmp_path):
    evidence = tmp_path / "+evidence"
    evidence.mkdir()
    exif = Image.Exif()
    exif[0x010F] = "@SUM(1+1)*cmd|' /C calc'!A0"  # Make
    exif[0x0131] = '=HYPERLINK("http://example.invalid/","click")'  # Software
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "gray").save(buffer, format="JPEG", exif=exif)
    (evidence / "photo.jpg").write_bytes(buffer.getvalue())
    code, output = _scan_process(evidence, "--plugin", "exif", "--csv", tmp_path / "out" / "scan.csv")
    assert code == 0 and "Traceback" not in output, output
    with open(tmp_path / "out" / "scan.csv", newline="", encoding="utf-8") as stream:
        (row,) = list(csv.DictReader(stream))
    assert row["path"] == "'+evidence/photo.jpg"
    assert row["exif.software"] == '\'=HYPERLINK("http://example.invalid/","click")'
    assert row["exif.camera_make"].startswith("'@SUM")
    assert not any(cell.startswith(FORMULA_STARTS) for cell in row.values())
