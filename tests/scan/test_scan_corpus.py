"""One scan of the bad-input corpus: every item recorded with its reason, evidence untouched, outputs valid."""

import csv
import hashlib
import json
import os

import jsonschema
import pytest
from conftest import CORPUS_EXPECTED, age, make_corpus, snapshot

from facexray_forensics.plugins.builtin import ExifPlugin
from facexray_forensics.custody import verify_log
from facexray_forensics.evidence import FileSource
from facexray_forensics.renderers.csv import render_csv
from facexray_forensics.renderers.json import load_schema, render_json
from facexray_forensics.scan import BUILTIN_PLUGINS, Output, Scan, ScanCase, ScanSettings


class VanishingSource:
    """Lists a folder, then a file in it is deleted before the scan reads it (another process's doing)."""

    def __init__(self, root, victim):
        self.source, self.victim = FileSource([root]), victim
        self.warnings = self.source.warnings  # an ItemSource says how it took its roots

    def items(self):
        items = list(self.source.items())
        os.unlink(self.victim)
        return iter(items)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, random_model):
    root = tmp_path_factory.mktemp("corpus")
    evidence = make_corpus(root)
    volatile = root / "volatile"
    volatile.mkdir()
    (volatile / "gone.jpg").write_bytes(b"\xff\xd8\xff\xe0 soon deleted")
    age(evidence)
    before = snapshot(evidence)
    out = root / "out"
    out.mkdir()
    report = Scan(
        [evidence, volatile],
        [Output(out / "scan.json", render_json), Output(out / "scan.csv", render_csv)],
        [plugin() for plugin in BUILTIN_PLUGINS],
        settings=ScanSettings(model_dir=str(random_model), workers=2, batch_size=4),
        case=ScanCase("C-7", "EX-1", "Ada", ["fxr-forensic", "scan", "test"]),
        sources=[FileSource([evidence]), VanishingSource(volatile, volatile / "gone.jpg")],
        progress=False,
    ).run()
    return {"report": report, "evidence": evidence, "before": before, "out": out, "after": snapshot(evidence)}


def test_every_item_is_accounted_for_with_its_reason(scanned):
    items = {item.name: item for item in scanned["report"].items}
    expected = {**CORPUS_EXPECTED, "volatile/gone.jpg": ("unreadable", "No such file")}
    assert sorted(items) == sorted(expected)
    for name, (status, word) in expected.items():
        item = items[name]
        assert item.status.value == status, (name, item.status, item.reason)
        if status == "scored":
            assert item.reason is None and item.score == max(face.score for face in item.faces)
            assert item.band is not None and all(len(face.landmarks) == 68 for face in item.faces)
            assert all(face.xray.shape == (256, 256) for face in item.faces)
        else:
            assert item.score is None and item.band is None, name  # a non-result is null, never 0
            assert word in item.reason, (name, item.reason)


def test_hashes_equal_hashlib_and_are_verified(scanned):
    for item in scanned["report"].items:
        path = item.origin["path"]
        raw = bytes.fromhex(item.origin["path_hex"]) if "path_hex" in item.origin else os.fsencode(path)
        if item.origin.get("file_type") or item.name.startswith("volatile/"):
            assert item.hashes == {} and item.hashes_after is None
            continue
        with open(raw, "rb") as stream:
            content = stream.read()
        assert item.hashes == {name: hashlib.new(name, content).hexdigest() for name in ("md5", "sha1", "sha256")}
        assert item.hash_verified is True
    assert scanned["report"].summary["hash_mismatches"] == 0


def test_evidence_is_byte_identical_with_unchanged_times(scanned):
    assert scanned["after"] == scanned["before"]
    assert not any(name.endswith((b".json", b".jsonl", b".csv")) for name in scanned["after"])


def test_summary_counts(scanned):
    summary = scanned["report"].summary
    assert summary["items"] == 15
    assert summary["scored"] == 4 and summary["unreadable"] == 3 and summary["unsupported"] == 5
    assert summary["too_large"] == 1 and summary["no_face"] == 1 and summary["face_too_small"] == 1
    assert summary["failed"] == 3  # the unreadable ones


def test_custody_log_chain_and_actions(scanned):
    report = scanned["report"]
    result = verify_log(report.custody_log)
    assert result.ok, result
    with open(report.custody_log, "rb") as stream:
        records = [json.loads(line) for line in stream]
    actions = [record["action"] for record in records]
    finished = actions.index("scan_finished")
    assert actions[0] == "scan_started" and actions.count("scan_finished") == 1
    assert set(actions[finished + 1:]) == {"report_written"}
    assert actions.count("item_analysed") == 15
    hashed = {record["data"]["item"]: record["data"]["sha256"] for record in records if record["action"] == "item_hashed"}
    assert hashed == {item.name: item.hashes["sha256"] for item in report.items if item.hashes}
    assert actions.index("hashes_reverified") < finished < actions.index("report_written")
    written = [record["data"] for record in records if record["action"] == "report_written"]
    for entry in written:
        with open(entry["path"], "rb") as stream:
            assert hashlib.sha256(stream.read()).hexdigest() == entry["sha256"]
        assert open(entry["path"] + ".sha256").read().split()[0] == entry["sha256"]
    # The report names the scan_finished record; only the reports' own records follow it.
    following = records[finished + 1]
    assert following["previous_sha256"] == report.custody_log_sha256
    assert verify_log(report.custody_log, expected_final_sha256=report.custody_log_sha256).ok
    assert all(record["case"] == "C-7" and record["exhibit"] == "EX-1" and record["examiner"] == "Ada" for record in records)
    assert all(record["model_sha256"] == report.model_sha256 for record in records)


def test_json_matches_its_schema_and_the_records(scanned):
    document = json.loads((scanned["out"] / "scan.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(load_schema())
    jsonschema.validate(document, load_schema(), cls=jsonschema.Draft202012Validator)
    records = {record["path"]: record for record in document["items"]}
    for item in scanned["report"].items:
        record = records[item.name]
        assert (record["md5"], record["sha1"], record["sha256"]) == tuple(item.hashes.get(key) for key in ("md5", "sha1", "sha256"))
        assert record["status"] == item.status.value and record["score"] == item.score
        assert [face["box"] for face in record["faces"]] == [list(face.box) for face in item.faces]
    astronaut = records["evidence/astronaut.jpg"]
    assert astronaut["findings"]["exif"]["values"]["exif_present"] is False
    exif_values = astronaut["findings"]["exif"]["values"]
    assert astronaut["columns"] == {f"exif.{column.name}": exif_values.get(column.name) for column in ExifPlugin.columns}
    assert astronaut["columns"]["exif.camera_make"] is None and astronaut["columns"]["exif.editing_software"] == []
    assert document["scan"]["summary"] == scanned["report"].summary


def test_csv_has_one_row_per_item(scanned):
    with open(scanned["out"] / "scan.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["path"] for row in rows] == [item.name for item in scanned["report"].items]
    for row, item in zip(rows, scanned["report"].items):
        assert row["status"] == item.status.value
        assert row["score"] == ("" if item.score is None else repr(item.score))
        assert row["sha256"] == item.hashes.get("sha256", "")
