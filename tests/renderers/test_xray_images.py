"""The X-ray image renderer: one PNG per scored face and a JSON index, from hand-made records."""

import hashlib
import json

import cv2
import numpy as np
import pytest

from facexray_forensics.records import Band, FaceResult, Finding, ItemReport, ScanReport, Status
from facexray_forensics.renderers.overlay import heat_map
from facexray_forensics.renderers.xray_images import FORMAT, render_xray_images


def face(xray, score, band):
    return FaceResult(box=(0.0, 0.0, 10.0, 10.0), landmarks=[(0.0, 0.0)] * 68, score=score, band=band, xray=xray)


def item(name, faces=(), status=Status.SCORED):
    return ItemReport(
        name=name, kind="image", mime="image/jpeg", size=1, origin={}, status=status, reason=None,
        hashes={"sha256": hashlib.sha256(name.encode()).hexdigest()}, hashes_after=None,
        score=max((f.score for f in faces), default=None), band=None,
        findings={"face_xray": Finding("face_xray", "1", faces=list(faces))} if faces else {},
    )


def report(items):
    return ScanReport(case=None, exhibit=None, examiner=None, tool_version="0", model_sha256=None, model_card={},
                      settings={}, command_line=[], host="h", started_utc="t", finished_utc="t", evidence=[], items=items)


def levels_of(picture):
    """Recover the grey level of each pixel by the nearest colour of the JET table."""
    table = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET)[:, 0, :].astype(np.int32)
    distances = ((picture.reshape(-1, 1, 3).astype(np.int32) - table[None]) ** 2).sum(axis=2)
    return distances.argmin(axis=1).reshape(picture.shape[:2])


def test_images_and_index(tmp_path):
    rng = np.random.default_rng(3)
    ramp = np.tile(np.linspace(0.0, 1.0, 64, dtype=np.float32), (32, 1))
    noisy = rng.random((48, 48)).astype(np.float32) * 1.4 - 0.2  # outside [0, 1] on purpose: clipped
    items = [
        item("evidence/a.jpg", [face(ramp, 0.2, Band.NO_INDICATION), face(noisy[..., None], 0.9, Band.STRONG)]),
        item("evidence/none.png", status=Status.NO_FACE),
        item("evidence/b.jpg", [face(None, 0.5, Band.INCONCLUSIVE)]),  # a face without a map gets no image
    ]
    index_path = tmp_path / "xrays.json"
    render_xray_images(report(items), index_path)
    index = json.loads(index_path.read_text())
    assert index["format"] == FORMAT
    [entry] = index["items"]
    assert entry["path"] == "evidence/a.jpg" and entry["sha256"] == items[0].hashes["sha256"]
    assert [(f["face"], f["image"], f["score"], f["band"]) for f in entry["faces"]] == [
        (1, "xrays-00001-face1.png", 0.2, "no indication"), (2, "xrays-00001-face2.png", 0.9, "strong")]
    assert sorted(path.name for path in tmp_path.glob("*.png")) == ["xrays-00001-face1.png", "xrays-00001-face2.png"]
    for described, values in zip(entry["faces"], (ramp, noisy)):
        written = (tmp_path / described["image"]).read_bytes()
        assert hashlib.sha256(written).hexdigest() == described["image_sha256"]
        picture = cv2.imdecode(np.frombuffer(written, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (*values.shape, 3)
        expected = np.round(np.clip(values, 0.0, 1.0) * 255.0)
        assert np.abs(levels_of(picture) - expected).max() <= 1


def test_bad_map_is_refused():
    with pytest.raises(ValueError, match="H×W"):
        heat_map(np.zeros((2, 3, 4), np.float32))
