"""The JSON and CSV renderers read the records faithfully; the JSON follows its schema, and the schema bites."""

import copy
import csv
import hashlib
import json

import jsonschema
import numpy as np
import pytest

from facexray_forensics.plugins.builtin import ExifPlugin
from facexray_forensics.records import Band, FaceResult, Finding, ItemReport, ScanReport, Status
from facexray_forensics.renderers.csv import COLUMNS, render_csv
from facexray_forensics.renderers.json import load_schema, render_json


def _hashes(content: bytes) -> dict:
    return {name: hashlib.new(name, content).hexdigest() for name in ("md5", "sha1", "sha256")}


def _face(score, band, shift):
    landmarks = [(float(index + shift), float(2 * index)) for index in range(68)]
    return FaceResult(box=(10.0 + shift, 20.0, 110.0 + shift, 130.0), landmarks=landmarks, score=score, band=band,
                      xray=np.zeros((256, 256), np.float32))


@pytest.fixture
def report():
    exif = Finding("exif", "1.0.0", values={"exif_present": True, "camera_make": "Canon", "camera_model": "EOS",
                                            "software": "GIMP 2.10", "editing_software": ["GIMP"]})
    faces = Finding("face_xray", "1.0.0", values={"faces_scored": 2}, status=Status.SCORED,
                    faces=[_face(0.31, Band.INCONCLUSIVE, 0), _face(0.97, Band.STRONG, 200)])
    third = Finding("jpeg_quality", "0.1", values={"quality": 92, "subsampling": "4:2:0"})
    items = [
        ItemReport("evidence/a.jpg", "image", "image/jpeg", 5, {"path": "/e/a.jpg"}, Status.SCORED, None,
                   _hashes(b"aaaaa"), _hashes(b"aaaaa"), 0.97, Band.STRONG,
                   {"hashing": Finding("hashing", "1.0.0", values=_hashes(b"aaaaa")), "exif": exif, "face_xray": faces, "jpeg_quality": third}),
        ItemReport("evidence/caf\\xe9.png", "image", "image/png", 3, {"path": "/e/caf\\xe9.png", "path_hex": "2f65"},
                   Status.NO_FACE, "no face found", _hashes(b"bbb"), _hashes(b"bbc"), None, None,
                   {"faces": Finding("faces", "1.0.0", values={"frames": 1}, status=Status.NO_FACE, reason="no face found")}),
        ItemReport("evidence/loop", "other", None, 4, {"path": "/e/loop", "file_type": "symbolic link", "link_target": "loop"},
                   Status.UNSUPPORTED, "symbolic link to 'loop', not followed", {}, None, None, None, {}),
    ]
    return ScanReport("C-1", "EX-9", "Ada", "0.1.0", "ab" * 32, {"architecture": "hrnet_w18"}, {"min_face": 64},
                      ["fxr-forensic", "scan", "e"], "host", "2026-11-26T04:00:00.000000Z", "2026-11-26T04:01:00.5Z",
                      ["/e"], items, "/out/scan.custody.jsonl", "cd" * 32, columns={"exif": ExifPlugin.columns})


def test_json_records_follow_the_items_and_the_schema(report, tmp_path):
    render_json(report, tmp_path / "r.json")
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    scored, missing, link = document["items"]
    assert [record["path"] for record in document["items"]] == [item.name for item in report.items]
    assert (scored["md5"], scored["sha1"], scored["sha256"]) == tuple(_hashes(b"aaaaa")[key] for key in ("md5", "sha1", "sha256"))
    assert scored["score"] == 0.97 and scored["band"] == "strong" and scored["hash_verified"] is True
    assert [face["box"] for face in scored["faces"]] == [[10.0, 20.0, 110.0, 130.0], [210.0, 20.0, 310.0, 130.0]]
    assert [face["score"] for face in scored["faces"]] == [0.31, 0.97]
    assert scored["faces"][1]["landmarks"][5] == [205.0, 10.0]
    assert scored["columns"] == {"exif.camera_make": "Canon", "exif.camera_model": "EOS", "exif.software": "GIMP 2.10",
                                 "exif.editing_software": ["GIMP"]}
    assert document["scan"]["columns"]["exif.editing_software"] == {"type": "list", "help": ExifPlugin.columns[3].help}
    assert scored["findings"]["jpeg_quality"]["values"] == {"quality": 92, "subsampling": "4:2:0"}
    assert missing["score"] is None and missing["band"] is None and missing["reason"] == "no face found"
    assert missing["hash_verified"] is False and set(missing["columns"]) == set(scored["columns"])
    assert set(missing["columns"].values()) == {None}  # no EXIF finding: each declared column is null
    assert link["md5"] is None and link["hashes_after"] is None and link["origin"]["file_type"] == "symbolic link"
    assert document["scan"]["summary"] == report.summary and document["scan"]["summary"]["flagged"] == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda document: document["items"][1].update(score=0.0),  # a non-result scored 0 instead of null
        lambda document: document["items"][0].update(score=None),  # a scored item without a score
        lambda document: document["items"][0].pop("sha1"),
        lambda document: document["items"][0].update(sha256="XYZ"),
        lambda document: document["items"][0]["faces"][0]["landmarks"].pop(),
        lambda document: document["items"][2].update(status="maybe"),
        lambda document: document["scan"].update(started_utc="yesterday"),
    ],
)
def test_schema_rejects_broken_reports(report, tmp_path, change):
    render_json(report, tmp_path / "r.json")
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    broken = copy.deepcopy(document)
    change(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, load_schema(), cls=jsonschema.Draft202012Validator)


def test_csv_rows(report, tmp_path):
    render_csv(report, tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    declared = ("exif.camera_make", "exif.camera_model", "exif.software", "exif.editing_software")
    assert tuple(rows[0]) == (*COLUMNS, *declared) and len(rows) == 3
    assert rows[0]["score"] == "0.97" and rows[0]["band"] == "strong" and rows[0]["faces"] == "2"
    assert (rows[0]["exif.camera_make"], rows[0]["exif.camera_model"], rows[0]["exif.editing_software"]) == ("Canon", "EOS", "GIMP")
    assert rows[0]["hash_verified"] == "yes" and rows[1]["exif.camera_make"] == ""
    assert rows[1]["score"] == "" and rows[1]["hash_verified"] == "NO" and rows[1]["path"] == "evidence/caf\\xe9.png"
    assert rows[2]["sha256"] == "" and rows[2]["hash_verified"] == "" and rows[2]["reason"].startswith("symbolic link")
