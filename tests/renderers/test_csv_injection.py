"""The CSV report neutralises formula injection in every text column; numbers keep their value."""

import csv

import pytest

from facexray_forensics.plugins.builtin import ExifPlugin
from facexray_forensics.records import Band, Finding, ItemReport, ScanReport, Status
from facexray_forensics.renderers.csv import COLUMNS, FORMULA_STARTS, neutralised, render_csv

HOSTILE = ["=1+1", "+SUM(A1:A9)", "-2+3", "@SUM(1)", "\t=1", "\r=1"]


def _report(exif_values, name="evidence/a.jpg", reason=None, score=0.5):
    item = ItemReport(name, "image", "image/jpeg", 5, {"path": "/e/a.jpg"}, Status.SCORED, reason,
                      {"sha256": "ab" * 32}, None, score, Band.STRONG, {"exif": Finding("exif", "1.0.0", values=exif_values)})
    return ScanReport(None, None, None, "0", None, {}, {}, [], "host", "t", "t", ["/e"], [item], "/out/scan.custody.jsonl",
                      columns={"exif": ExifPlugin.columns})


def _row(report, tmp_path):
    render_csv(report, tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as stream:
        (row,) = list(csv.DictReader(stream))
    assert list(row) == [*COLUMNS, *(f"exif.{column.name}" for column in ExifPlugin.columns)]
    return row


@pytest.mark.parametrize("hostile", HOSTILE)
def test_exif_text_gets_a_leading_quote(tmp_path, hostile):
    row = _row(_report({"camera_make": hostile, "software": hostile, "editing_software": [hostile, "GIMP"]}), tmp_path)
    assert row["exif.software"] == "'" + hostile
    assert row["exif.camera_make"] == "'" + hostile
    assert row["exif.editing_software"] == f"'{hostile};GIMP"


class Tag:
    """A metadata value that is not a str but prints as a formula (as an EXIF tag object may)."""

    def __str__(self):
        return "=1+1"


def test_names_reasons_and_non_text_values_are_neutralised_too(tmp_path):
    row = _row(_report({"software": Tag()}, name="=HYPERLINK(\"x\")/a.jpg", reason="@reason"), tmp_path)
    assert row["path"] == "'=HYPERLINK(\"x\")/a.jpg" and row["reason"] == "'@reason"
    assert row["exif.software"] == "'=1+1"
    assert not any(cell.startswith(FORMULA_STARTS) for cell in row.values())


def test_numbers_keep_their_value(tmp_path):
    assert neutralised(-2.5) == -2.5 and neutralised(-3) == -3
    assert neutralised("-3") == "'-3"  # text that looks like a number is still text from the evidence
    row = _row(_report({}, score=-0.25), tmp_path)  # no real score is negative; a number is never quoted
    assert row["score"] == "-0.25" and row["size"] == "5" and row["faces"] == "0"


def test_plain_text_is_unchanged(tmp_path):
    row = _row(_report({"camera_make": "Canon", "camera_model": "EOS", "software": "GIMP 2.10"}), tmp_path)
    assert (row["exif.camera_make"], row["exif.camera_model"], row["exif.software"], row["path"]) == (
        "Canon", "EOS", "GIMP 2.10", "evidence/a.jpg")
