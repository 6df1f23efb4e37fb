"""The resume journal: exact round trip of item reports, torn last lines, refused setting changes."""

import json

import numpy as np
import pytest

from facexray_forensics.records import Band, FaceResult, Finding, ItemReport, Status
from facexray_forensics.scan.journal import Journal, item_from_dict, item_to_dict


def _report(name="evidence/a.jpg"):
    xray = np.linspace(0, 1, 256 * 256, dtype=np.float32).reshape(256, 256)
    face = FaceResult(box=(1.5, 2.0, 90.25, 99.0), landmarks=[(float(i), i / 3) for i in range(68)], score=0.8123456789012345,
                      band=Band.MODERATE, xray=xray, matrix=np.array([[2.0, 0, -3], [0, 2.0, -4]], np.float32))
    findings = {
        "hashing": Finding("hashing", "1.0.0", values={"md5": "0" * 32, "bytes_hashed": 5}),
        "face_xray": Finding("face_xray", "1.0.0", values={"faces_scored": 1}, status=Status.SCORED, faces=[face],
                             score=0.8123456789012345, band=Band.MODERATE, crops=[object()], stage_seconds={"model": 0.5}),
    }
    return ItemReport(name, "image", "image/jpeg", 5, {"path": "/e/a.jpg"}, Status.SCORED, None, {"md5": "0" * 32},
                      None, 0.8123456789012345, Band.MODERATE, findings)


def test_round_trip_keeps_what_renderers_read():
    report = _report()
    back = item_from_dict(json.loads(json.dumps(item_to_dict(report))))
    assert (back.name, back.status, back.score, back.band, back.hashes, back.origin) == (
        report.name, report.status, report.score, report.band, report.hashes, report.origin)
    (face,) = back.faces
    original = report.faces[0]
    assert face.box == original.box and face.landmarks == original.landmarks and face.score == original.score
    assert np.abs(face.xray - original.xray).max() <= 0.5 / 255 + 1e-7  # stored as 8-bit PNG
    np.testing.assert_array_equal(face.matrix, original.matrix)
    assert back.findings["face_xray"].score == report.findings["face_xray"].score
    assert back.findings["face_xray"].crops == [] and back.findings["face_xray"].stage_seconds == {}  # working values


def test_torn_last_line_is_cut_and_the_item_done_again(tmp_path):
    path = tmp_path / "j.jsonl"
    header = {"evidence": ["/e"], "settings": {"min_face": 64}}
    journal = Journal(path, header, resume=False)
    recorded = [journal.append(_report("evidence/a.jpg"))]  # as the custody log records it
    journal.close()
    with open(path, "ab") as stream:
        stream.write(b'{"name": "evidence/b.jpg", "kind": "ima')  # killed in the middle of a write
    resumed = Journal(path, header, resume=True, recorded=recorded)
    assert [record["name"] for record in resumed.done.values()] == ["evidence/a.jpg"]
    resumed.append(_report("evidence/b.jpg"))
    resumed.close()
    lines = path.read_bytes().splitlines()
    assert [json.loads(line).get("name") for line in lines[1:]] == ["evidence/a.jpg", "evidence/b.jpg"]


def test_resume_with_other_settings_is_refused(tmp_path):
    path = tmp_path / "j.jsonl"
    Journal(path, {"evidence": ["/e"], "settings": {"min_face": 64}}, resume=False).close()
    with pytest.raises(ValueError, match="different settings"):
        Journal(path, {"evidence": ["/e"], "settings": {"min_face": 32}}, resume=True)
    with pytest.raises(FileExistsError):
        Journal(path, {"evidence": ["/e"], "settings": {"min_face": 64}}, resume=False)


def test_resume_through_a_symlinked_journal_is_refused(tmp_path):
    header = {"evidence": ["/e"], "settings": {"min_face": 64}}
    target = tmp_path / "real.jsonl"
    Journal(target, header, resume=False).close()
    before = target.read_bytes()
    alias = tmp_path / "j.jsonl"
    alias.symlink_to(target)
    with pytest.raises(OSError):
        Journal(alias, header, resume=True)
    assert target.read_bytes() == before
