"""A path of about 1.6 KB scanned into the PDF report: the layout holds, and the whole name is in it."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from facexray_forensics.cli import main

pypdf = pytest.importorskip("pypdf")

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "facexray_forensics" / "samples" / "evidence"


def test_a_1600_byte_path_in_the_pdf(tmp_path):
    evidence = tmp_path / "evidence"
    folder = evidence.joinpath(*(letter * 230 for letter in "abcdefg"))  # seven names near the 255-byte limit
    folder.mkdir(parents=True)
    photo = folder / ("photo_" + "x" * 40 + ".jpg")
    photo.write_bytes((SAMPLES / "astronaut.jpg").read_bytes())
    name = os.path.relpath(photo, tmp_path)
    assert len(name) > 1600
    report = tmp_path / "out" / "case.pdf"
    result = CliRunner().invoke(main, ["scan", str(evidence), "--plugin", "hashing", "--workers", "1", "--quiet",
                                       "--report", str(report)])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert (report.parent / "case.pdf.sha256").read_text() == f"{hashlib.sha256(report.read_bytes()).hexdigest()}  case.pdf\n"
    text = re.sub(r"\s", "", "".join(page.extract_text() for page in pypdf.PdfReader(report).pages))
    assert name in text  # given whole on the item's page, however it is shortened in headings and tables
