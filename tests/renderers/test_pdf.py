"""The PDF report, rendered from hand-made records (no model, no detection) and read back with pypdf."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

pypdf = pytest.importorskip("pypdf")

from facexray_forensics.records import Band, FaceResult, Finding, ItemReport, ScanReport, Status  # noqa: E402
from facexray_forensics.renderers.overlay import draw_faces, xray_on_frame  # noqa: E402
from facexray_forensics.renderers.pdf import SECTION_TITLES, render_pdf  # noqa: E402
from facexray_forensics.renderers.pdf.method import LIMITATIONS  # noqa: E402
from facexray_forensics.renderers.pdf.pictures import shrunk  # noqa: E402
from facexray_forensics.renderers.pdf.text import flatten  # noqa: E402


def _hashes(seed: str) -> dict[str, str]:
    data = seed.encode("utf-8", "surrogateescape")
    return {
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def _ring_xray(size: int = 256) -> np.ndarray:
    """A ring-shaped map, like the X-ray of a blended face's boundary."""
    y, x = np.mgrid[0:size, 0:size]
    radius = np.hypot(x - size / 2, y - size / 2)
    return np.exp(-(((radius - size * 0.3) / 6.0) ** 2)).astype(np.float32)


def _face(box, score, band, size=256) -> FaceResult:
    x0, y0, x1, y1 = box
    side = 1.3 * max(x1 - x0, y1 - y0)
    scale = size / side
    centre_x, centre_y = (x0 + x1) / 2, (y0 + y1) / 2
    matrix = np.array(
        [[scale, 0, size / 2 - 0.5 - centre_x * scale], [0, scale, size / 2 - 0.5 - centre_y * scale]],
        dtype=np.float32,
    )
    landmarks = [(x0 + (x1 - x0) * i / 67, y0 + (y1 - y0) * (i % 7) / 6) for i in range(68)]
    return FaceResult(box=box, landmarks=landmarks, score=score, band=band, xray=_ring_xray(size), matrix=matrix)


def _item(name, status, score=None, band=None, faces=(), reason=None, findings=(), after=True, mismatch=False):
    hashes = _hashes(name)
    hashes_after = None
    if after:
        hashes_after = dict(hashes, sha256=hashlib.sha256(b"changed").hexdigest()) if mismatch else dict(hashes)
    all_findings = {}
    if faces or status is not Status.UNREADABLE:
        all_findings["face_xray"] = Finding(
            plugin="face_xray", version="0.1.0", values={"faces": len(faces), "model": "hrnet_w18"},
            status=status, reason=reason, faces=list(faces),
        )
    for finding in findings:
        all_findings[finding.plugin] = finding
    return ItemReport(
        name=name, kind="image", mime="image/jpeg", size=1234 + len(name), origin={"path": f"/evidence/{name}"},
        status=status, reason=reason, hashes=hashes, hashes_after=hashes_after, score=score, band=band,
        findings=all_findings,
    )


EXIF = Finding(
    plugin="exif",
    version="0.1.0",
    values={
        "exif_present": True, "camera_make": "Canon", "camera_model": "EOS 5D", "software": "GIMP 2.10",
        "date_original": "2023-01-02T03:04:05", "gps_present": True, "gps_latitude": 48.8567,
        "gps_longitude": 2.3514, "editing_software": ["GIMP"], "error": None,
    },
)
THIRD_PARTY = Finding(
    plugin="acme_watermark",
    version="2.3",
    values={"watermark": "ACME-WATERMARK-1234", "layers": {"depth": 7, "names": ["sky", "ground"]}},
)

MODEL_CARD = {
    "name": "hrnet_w18",
    "calibration": {"method": "temperature", "temperature": 1.7},
    "thresholds": {"inconclusive": 0.3, "moderate": 0.6, "strong": 0.9},
}


def _make_report(tmp_path) -> ScanReport:
    evidence = tmp_path / "evidence"
    evidence.mkdir(exist_ok=True)
    items = [
        _item("a/real.jpg", Status.SCORED, 0.04, Band.NO_INDICATION, [_face((200, 120, 320, 260), 0.04, Band.NO_INDICATION)],
              findings=[EXIF, THIRD_PARTY]),
        _item("b/blended.jpg", Status.SCORED, 0.97, Band.STRONG,
              [_face((60, 50, 170, 180), 0.97, Band.STRONG), _face((380, 200, 470, 300), 0.35, Band.INCONCLUSIVE)],
              findings=[EXIF]),
        _item("c/landscape.png", Status.NO_FACE, reason="no face found by the HOG detector"),
        _item("d/truncated.jpg", Status.UNREADABLE, reason="truncated JPEG: image file is truncated"),
        _item("e/moderate-\u4e2d\udcff.jpg", Status.SCORED, 0.71, Band.MODERATE,
              [_face((100, 100, 200, 220), 0.71, Band.MODERATE)], mismatch=True),
        _item("f/not-rechecked <&>.jpg", Status.FACE_TOO_SMALL, reason="largest face 18 px < 40 px", after=False),
    ]
    return ScanReport(
        case="CASE-2026-0042", exhibit="EX-7", examiner="J. Doe", tool_version="0.1.0",
        model_sha256=hashlib.sha256(b"model").hexdigest(), model_card=MODEL_CARD,
        settings={"device": "cpu", "min_face": 40, "limits": {"max_pixels": 100_000_000}},
        command_line=["fxr-forensic", "scan", str(evidence), "--report", "case.pdf"], host="lab-01",
        started_utc="2026-11-26T04:00:00Z", finished_utc="2026-11-26T04:01:00Z", evidence=[str(evidence)],
        items=items, custody_log=str(tmp_path / "out" / "custody.jsonl"),
        custody_log_sha256=hashlib.sha256(b"last record").hexdigest(),
    )


@pytest.fixture
def report(tmp_path) -> ScanReport:
    return _make_report(tmp_path)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The report rendered once for the tests that only read it: (report, path, page texts, reader)."""
    directory = tmp_path_factory.mktemp("rendered")
    report = _make_report(directory)
    path, _ = _render(report, directory)
    reader = pypdf.PdfReader(path)
    return report, path, _page_texts(reader), reader


def _frames(item: ItemReport, index: int):
    """Loader as the scan supplies it: pixels for readable items, an error for a corrupt one."""
    if item.status is Status.UNREADABLE:
        raise OSError("image file is truncated")
    if item.name.startswith("f/"):
        return None
    rng = np.random.default_rng(len(item.name))
    return rng.integers(60, 200, (400, 560, 3), dtype=np.uint8)


def _render(report, tmp_path, name="case.pdf", frames=_frames):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    path = out / name
    render_pdf(report, path, frames=frames)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _outline_titles(reader) -> list[str]:
    titles = []

    def walk(entries):
        for entry in entries:
            if isinstance(entry, list):
                walk(entry)
            else:
                titles.append(entry.title)

    walk(reader.outline)
    return titles


def _page_texts(reader) -> list[str]:
    return [page.extract_text() or "" for page in reader.pages]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_sections_are_present_in_order(rendered):
    report, path, texts, reader = rendered
    titles = _outline_titles(reader)
    positions = [titles.index(title) for title in SECTION_TITLES]
    assert positions == sorted(positions)
    text = "\n".join(texts)
    for title in SECTION_TITLES:
        assert title in text


def test_each_item_starts_its_own_page_and_fits_one(rendered):
    report, path, texts, reader = rendered
    total = len(report.items)
    pages = []
    for number in range(1, total + 1):
        found = [index for index, text in enumerate(texts) if f"Item {number} of {total}:" in text]
        assert len(found) == 1, f"item {number} heading on pages {found}"
        pages.append(found[0])
    assert pages == list(range(pages[0], pages[0] + total))  # one page each, consecutive
    method_page = next(index for index, text in enumerate(texts) if "What the model cannot see" in text)
    assert method_page == pages[-1] + 1
    assert all(f"of {len(texts)}" in text for text in texts)  # "page N of M" on every page


def test_case_header_inventory_and_hashes(rendered):
    report, path, texts, reader = rendered
    squashed = _squash("".join(texts))
    for expected in ["CASE-2026-0042", "EX-7", "J.Doe", "lab-01", "2026-11-26T04:00:00Z", report.model_sha256,
                     report.custody_log_sha256, "fxr-forensicscan"]:
        assert _squash(expected) in squashed
    for item in report.items:
        for value in item.hashes.values():
            assert value in squashed, f"{item.name}: {value} missing"
    assert "MISMATCH" in _squash(texts[0] + texts[1])
    assert hashlib.sha256(b"changed").hexdigest() in squashed  # the after-hash of the mismatch is shown
    assert "notrechecked" in squashed
    # The custody log's final hash closes the report.
    assert report.custody_log_sha256 in _squash(texts[-1])


def test_summary_counts_and_flagged_order(rendered):
    report, path, texts, reader = rendered
    summary_page = next(text for text in texts if "Flagged items, highest score first" in text)
    flagged_part = summary_page.split("Flagged items, highest score first", 1)[1]
    # Strong 0.970 before moderate 0.710; the unflagged bands are not listed.
    assert flagged_part.index("0.970") < flagged_part.index("0.710")
    assert "0.040" not in flagged_part
    counts = report.summary
    assert counts["flagged"] == 2 and counts["failed"] == 2
    assert re.search(r"Flagged \(moderate or strong\)\s*2", summary_page)
    assert re.search(r"no_face\s*1", summary_page)
    assert re.search(r"strong\s*1", summary_page)


def test_item_pages_show_findings_status_and_pictures(rendered):
    report, path, texts, reader = rendered
    total = len(report.items)

    def page_of(number):
        return next(index for index, text in enumerate(texts) if f"Item {number} of {total}:" in text)

    first = texts[page_of(1)]
    for expected in ["acme_watermark", "ACME-WATERMARK-1234", "layers.depth", "sky, ground", "Canon", "GIMP 2.10",
                     "48.8567", "Findings of exif"]:
        assert expected in first
    assert "no face found by the HOG detector" in texts[page_of(3)]
    assert "no_face" in texts[page_of(3)]
    assert "truncated JPEG" in texts[page_of(4)]
    assert "could not be decoded for display" in texts[page_of(4)]
    # Non-Latin-1 and undecodable bytes of a name are shown as escapes, markup characters as text.
    assert "\\u4e2d\\xff" in texts[page_of(5)]
    assert "not-rechecked <&>.jpg" in texts[page_of(6)]

    def images_on(index):
        resources = reader.pages[index].get("/Resources") or {}
        objects = resources.get("/XObject")
        return 0 if objects is None else len(objects.get_object())

    assert images_on(page_of(1)) == 2  # the picture and one face strip
    assert images_on(page_of(2)) == 3  # the picture and two face strips
    assert images_on(page_of(3)) == 1  # the picture without faces
    assert images_on(page_of(4)) == 0  # decoding failed
    assert images_on(page_of(6)) == 0  # no pixels


def test_method_and_limitations_and_model_card(rendered):
    report, path, texts, reader = rendered
    text = " ".join(texts)
    flat = re.sub(r"\s+", " ", text)
    assert "investigative lead, not proof" in flat
    for phrase in ["Fully synthetic images", "Heavy compression", "Tiny faces", "Extreme poses"]:
        assert phrase in flat
    assert len(LIMITATIONS) >= 5
    for key, value in flatten(MODEL_CARD):
        assert key in flat and str(value) in flat


def test_method_says_so_when_the_card_averages_each_crop_with_its_mirror(report, tmp_path):
    mirrored = dataclasses.replace(report, model_card={**MODEL_CARD, "mirror_average": True})
    texts = [re.sub(r"\s+", " ", " ".join(_page_texts(pypdf.PdfReader(_render(r, tmp_path, name=f"{n}.pdf")[0]))))
             for n, r in (("plain", report), ("mirrored", mirrored))]
    assert "mirror image" not in texts[0] and "scored together with its mirror image" in texts[1]


def test_rendering_is_deterministic_and_writes_only_the_pdf(rendered, tmp_path):
    report, path, texts, reader = rendered
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    again, _ = _render(report, tmp_path, name="again.pdf")
    assert again.read_bytes() == data
    # The sidecar with the report's hash is the scan's job (one place for every output).
    assert sorted(entry.name for entry in path.parent.iterdir()) == ["case.pdf"]
    assert sorted(entry.name for entry in again.parent.iterdir()) == ["again.pdf"]


def test_renders_without_pixels_and_without_items(report, tmp_path):
    path, _ = _render(report, tmp_path, frames=None)
    texts = [re.sub(r"\s+", " ", text) for text in _page_texts(pypdf.PdfReader(path))]
    assert sum("rendered without access to the item's pixels" in text for text in texts) == len(report.items)
    empty = dataclasses.replace(report, items=[], custody_log=None, custody_log_sha256=None, finished_utc=None)
    path, _ = _render(empty, tmp_path, name="empty.pdf")
    text = " ".join(_page_texts(pypdf.PdfReader(path)))
    assert "No item reached the moderate or strong band" in text
    assert "not recorded" in text


def test_refuses_to_write_inside_the_evidence(report, tmp_path):
    with pytest.raises(ValueError, match="inside the evidence tree"):
        render_pdf(report, tmp_path / "evidence" / "sub" / "case.pdf")
    assert not (tmp_path / "evidence" / "sub").exists()


def _bilinear(image: np.ndarray, x: float, y: float) -> float:
    """Independent bilinear sample with zero outside, for checking the warp."""
    height, width = image.shape
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    total = 0.0
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            weight = (1 - abs(x - xi)) * (1 - abs(y - yi))
            if 0 <= xi < width and 0 <= yi < height:
                total += weight * image[yi, xi]
    return total


def test_xray_on_frame_samples_the_map_at_the_crop_position():
    face = _face((150.0, 90.0, 260.0, 230.0), 0.9, Band.STRONG)
    height, width = 300, 420
    warped = xray_on_frame(face.xray, face.matrix, height, width)
    assert warped.shape == (height, width) and warped.dtype == np.float32
    matrix = face.matrix.astype(np.float64)
    rng = np.random.default_rng(3)
    for x, y in zip(rng.integers(0, width, 300), rng.integers(0, height, 300)):
        crop_x, crop_y = matrix @ np.array([x, y, 1.0])
        if 1 <= crop_x <= 254 and 1 <= crop_y <= 254:  # away from the border convention
            assert warped[y, x] == pytest.approx(_bilinear(face.xray, crop_x, crop_y), abs=2e-2)
        elif crop_x < -1 or crop_y < -1 or crop_x > 256 or crop_y > 256:
            assert warped[y, x] == 0.0
    # The ring lands where the face is: its peak lies inside the box, not outside the crop.
    assert warped[90:230, 150:260].max() > 0.9 and warped[:, :60].max() == 0.0


def test_draw_faces_keeps_pixels_where_the_map_is_zero():
    frame = np.full((300, 420, 3), 128, dtype=np.uint8)
    face = _face((150.0, 90.0, 260.0, 230.0), 0.9, Band.STRONG)
    picture = draw_faces(frame, [face])
    heat = xray_on_frame(face.xray, face.matrix, 300, 420)
    assert picture.shape == frame.shape and picture.dtype == np.uint8
    far = heat == 0
    far[70:240, 140:270] = False  # the box, its label above it and line width
    assert np.array_equal(picture[far], frame[far])
    assert np.abs(picture[heat > 0.8].astype(int) - 128).max() > 40
    assert tuple(picture[90, 200]) == (220, 30, 30)  # the top edge of the box, in the strong colour


def test_shrunk_matrix_agrees_with_shrinking_the_full_map():
    face = _face((400.0, 300.0, 900.0, 950.0), 0.9, Band.STRONG)
    frame = np.zeros((1500, 2000, 3), dtype=np.uint8)
    small, (scaled,) = shrunk(frame, [face], 1000)
    assert small.shape == (750, 1000, 3)
    direct = xray_on_frame(scaled.xray, scaled.matrix, 750, 1000)
    full = cv2.resize(xray_on_frame(face.xray, face.matrix, 1500, 2000), (1000, 750), interpolation=cv2.INTER_AREA)
    assert np.abs(direct - full).mean() < 0.01
    assert scaled.box == pytest.approx((200.0, 150.0, 450.0, 475.0))


def test_flatten_nested_values():
    values = {"a": 1, "b": {"c": [1, 2.5, "x"], "d": {}}, "e": [{"f": None}, {"g": True}], "h": []}
    assert flatten(values) == [
        ("a", 1), ("b.c", "1, 2.5, x"), ("b.d", ""), ("e[0].f", None), ("e[1].g", True), ("h", ""),
    ]


def test_huge_findings_are_cut_not_crashed(report, tmp_path):
    from facexray_forensics.renderers.pdf.findings import FINDING_ROWS
    from facexray_forensics.renderers.pdf.text import CELL_CHARACTERS

    values = {"dump": "x" * (CELL_CHARACTERS * 20)}
    values.update({f"value_{index:03d}": index for index in range(FINDING_ROWS + 40)})
    item = report.items[0]
    item.findings["verbose"] = Finding(plugin="verbose", version="1", values=values)
    path, _ = _render(report, tmp_path)
    text = re.sub(r"\s+", " ", " ".join(_page_texts(pypdf.PdfReader(path))))
    assert "value_000" in text and f"value_{FINDING_ROWS - 2:03d}" in text  # the dump is the first row
    assert f"value_{FINDING_ROWS - 1:03d}" not in text
    assert "41 more values in the JSON report" in text
    assert f"{CELL_CHARACTERS * 20} characters in all" in text


def test_video_item_shows_the_frame_of_its_best_face(report, tmp_path):
    early = dataclasses.replace(_face((60, 50, 170, 180), 0.2, Band.NO_INDICATION), frame_index=0, timestamp=0.0)
    best = dataclasses.replace(_face((80, 60, 190, 190), 0.93, Band.STRONG), frame_index=5, timestamp=2.5)
    video = _item("g/clip.mp4", Status.SCORED, 0.88, Band.MODERATE, [early, best])
    video.findings["face_xray"].score, video.findings["face_xray"].band = 0.88, Band.MODERATE
    report.items = [video]
    requested = []

    def frames(item, index):
        requested.append(index)
        return np.zeros((400, 560, 3), dtype=np.uint8)

    path, _ = _render(report, tmp_path, frames=frames)
    assert requested and set(requested) <= {0, 5} and requested[0] == 5
    text = re.sub(r"\s+", " ", " ".join(_page_texts(pypdf.PdfReader(path))))
    assert "5 (2.50 s)" in text and "0 (0.00 s)" in text
    assert "item score 0.880" in text and "item band moderate" in text


GOLDEN_TEXT = Path(__file__).with_name("pdf_fixture_text.txt")


def _golden_report(tmp_path) -> ScanReport:
    """The fixture report with a flagged video and evidence warnings, its paths fixed so its text is too."""
    tracks = [dataclasses.replace(_face((80, 60, 190, 190), score, band), frame_index=frame, timestamp=frame / 2, track=track)
              for frame, score, band, track in [(0, 0.2, Band.NO_INDICATION, 0), (3, 0.73, Band.MODERATE, 1),
                                                (5, 0.93, Band.STRONG, 1)]]
    video = dataclasses.replace(_item("g/clip.mp4", Status.SCORED, 0.88, Band.MODERATE, tracks), kind="video")
    report = _make_report(tmp_path)
    return dataclasses.replace(
        report, items=[*report.items, video], evidence=["/cases/evidence"], custody_log="/cases/out/custody.jsonl",
        command_line=["fxr-forensic", "scan", "/cases/evidence", "--report", "case.pdf"],
        evidence_warnings=["/cases/evidence/a is inside /cases/evidence and was scanned once"],
    )


def _as_golden_text(texts: list[str]) -> str:
    return "".join(f"=== page {number} ===\n{text.rstrip()}\n" for number, text in enumerate(texts, start=1))


def test_text_matches_the_reference_rendering(tmp_path):
    """Every page's text equals the reference file's, so a change to the layout code that moves or drops
    text shows up here; an intended change of the report's wording or layout rewrites the file."""
    path, _ = _render(_golden_report(tmp_path), tmp_path)
    text = _as_golden_text(_page_texts(pypdf.PdfReader(path)))
    expected = GOLDEN_TEXT.read_text(encoding="utf-8")
    assert text == expected, "".join(difflib.unified_diff(
        expected.splitlines(keepends=True), text.splitlines(keepends=True), str(GOLDEN_TEXT), "rendered"))
