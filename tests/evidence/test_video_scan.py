"""Videos through the whole scan: face tracks, the video score, timestamps, a broken stream recorded."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from video_media import face_video

from facexray_forensics.plugins.builtin import BUILTIN_PLUGINS
from facexray_forensics.renderers.json import load_schema, render_json
from facexray_forensics.renderers.pdf import render_pdf
from facexray_forensics.scan import Output, Scan, ScanCase, ScanSettings, frame_loader
from facexray_forensics.scoring import tracks as rules

FRAMES = 6


def _confident_strategy(scores: list[float]) -> float:
    """The aggregate as the tracks module documents it, written out again with numpy."""
    values = np.array(scores)
    forged, real = values[values >= rules.CONFIDENT_FORGED], values[values <= rules.CONFIDENT_REAL]
    if len(forged) >= max(rules.MIN_CONFIDENT_FRAMES, rules.CONFIDENT_FORGED_SHARE * len(values)):
        return float(forged.mean())
    if len(real) >= rules.CONFIDENT_REAL_SHARE * len(values):
        return float(real.mean())
    return float(values.mean())


@pytest.fixture(scope="module")
def video_scan(tmp_path_factory, flagging_model):
    """A scan with every band edge at 0, so the video is flagged and its page shows the top frames."""
    root = tmp_path_factory.mktemp("video_scan")
    evidence = root / "evidence"
    evidence.mkdir()
    data = face_video(10)
    (evidence / "faces.mp4").write_bytes(data)
    (evidence / "broken.mp4").write_bytes(data[: len(data) // 3])
    out = root / "out"
    out.mkdir()
    settings = ScanSettings(model_dir=str(flagging_model), workers=1, video_frames=FRAMES)
    outputs = [
        Output(out / "scan.json", render_json),
        Output(out / "case.pdf", lambda report, path: render_pdf(report, path, frames=frame_loader(report.settings))),
    ]
    report = Scan([evidence], outputs, [plugin() for plugin in BUILTIN_PLUGINS], settings=settings,
                  case=ScanCase(case="2026-117", examiner="A. Examiner"), progress=False).run()
    return report, json.loads((out / "scan.json").read_text()), out


def test_faces_are_tracked_and_the_video_scored_by_its_best_track(video_scan):
    report, document, _ = video_scan
    jsonschema.validate(document, load_schema(), cls=jsonschema.Draft202012Validator)
    record = next(item for item in document["items"] if item["path"] == "evidence/faces.mp4")
    assert record["status"] == "scored"
    stream = record["findings"]["faces"]["values"]["stream"]
    assert stream["codec"] == "h264" and len(stream["timestamps"]) == FRAMES and stream["problems"] == []
    faces = record["faces"]
    assert len(faces) == 2 * FRAMES  # both faces in every sampled frame
    for face in faces:
        assert face["timestamp"] == stream["timestamps"][face["frame_index"]]
    # The real face stays on the left half, the blended one on the right: one track each.
    sides = {side: {face["track"] for face in faces if (face["box"][0] < 320) == (side == "left")} for side in ("left", "right")}
    assert len(sides["left"]) == 1 and len(sides["right"]) == 1 and sides["left"] != sides["right"]
    per_track = {}
    for face in faces:
        per_track.setdefault(face["track"], []).append(face["score"])
    expected = max(_confident_strategy(scores) for scores in per_track.values())
    assert record["score"] == pytest.approx(expected)
    tracks = record["findings"]["face_xray"]["values"]["tracks"]
    assert sorted(track["frames"] for track in tracks) == [FRAMES, FRAMES]
    assert all(track["first_s"] == stream["timestamps"][0] and track["last_s"] == stream["timestamps"][-1] for track in tracks)
    thresholds = document["scan"]["model_card"]["thresholds"]
    band = ("strong" if expected >= thresholds["strong"] else "moderate" if expected >= thresholds["moderate"]
            else "inconclusive" if expected >= thresholds["inconclusive"] else "no indication")
    assert record["band"] == band
    assert next(item for item in report.items if item.name == "evidence/faces.mp4").score == pytest.approx(expected)


def test_broken_stream_is_recorded_not_raised(video_scan):
    _, document, _ = video_scan
    record = next(item for item in document["items"] if item["path"] == "evidence/broken.mp4")
    assert record["status"] == "unreadable" and record["score"] is None
    assert "video" in record["reason"]
    assert record["sha256"] and record["hash_verified"] is True


def test_pdf_shows_the_video_timeline(video_scan):
    import pypdf

    _, _, out = video_scan
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(out / "case.pdf").pages)
    assert "evidence/faces.mp4" in text
    assert "Score timeline" in text and "track 0" in text and "Top frames" in text and "best face" in text
