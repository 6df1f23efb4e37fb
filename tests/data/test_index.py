"""The face index builder: contents, source ids, failures with reasons, determinism, resume."""

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from facexray_forensics.data.index import FaceIndex, build_index, source_of
from facexray_forensics.faces import FaceDetector, align_face

SHARED = Path(os.environ.get("FXR_SHARED_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))


def write_rgb(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def write_video(path, frames):
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory):
    """A small evidence-like tree: two identity folders, loose photos, a video and bad files."""
    root = tmp_path_factory.mktemp("real")
    photo = np.ascontiguousarray(data.astronaut())
    write_rgb(root / "set" / "alice" / "a1.png", photo)
    write_rgb(root / "set" / "alice" / "a2.jpg", np.ascontiguousarray(photo[:, ::-1]))
    write_rgb(root / "set" / "bob" / "b1.png", cv2.resize(photo, (400, 400)))
    write_rgb(root / "loose" / "c.png", np.ascontiguousarray(photo[20:, 10:]))
    write_rgb(root / "loose" / "blank.png", np.full((300, 300, 3), 128, np.uint8))
    (root / "loose" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "notes.txt").write_text("not a picture")
    write_video(root / "clips" / "v.mp4", [np.ascontiguousarray(np.roll(photo, 3 * i, axis=1)) for i in range(12)])
    return root


@pytest.fixture(scope="module")
def built(real_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "index"
    summary = build_index(real_dir, out, video_frames=3, progress=False)
    return out, summary


def test_source_rule():
    from pathlib import PurePosixPath as P

    assert source_of(P("lfw/Jane_Doe/Jane_Doe_0001.jpg"), False, 2) == "lfw/Jane_Doe"
    assert source_of(P("utkface/1_0_0_x.jpg"), False, 2) == "utkface/1_0_0_x.jpg"
    assert source_of(P("Jane_Doe/Jane_Doe_0001.jpg"), False, 1) == "Jane_Doe"
    assert source_of(P("set/person/clip.mp4"), True, 2) == "set/person/clip.mp4"
    assert source_of(P("set/person/x.jpg"), False, 0) == "set/person/x.jpg"


def test_index_contents(built, real_dir):
    out, summary = built
    index = FaceIndex(out)
    manifest = json.loads((out / "manifest.json").read_text())
    # 4 photos with a face + 3 video frames; the rest fail with a reason.
    assert summary.files == 8 and summary.faces == 7
    reasons = {f["path"]: (f["status"], f["reason"]) for f in manifest["failures"]}
    assert reasons["loose/blank.png"] == ("no_face", "no face detected")
    assert reasons["loose/broken.jpg"][0] == "unreadable" and reasons["loose/broken.jpg"][1]
    assert reasons["notes.txt"][0] == "unsupported"
    assert summary.failures == {"no_face": 1, "unreadable": 1, "unsupported": 1}
    names = [index.source_names[s] for s in index.sources]
    assert names == ["clips/v.mp4"] * 3 + ["loose/c.png", "set/alice", "set/alice", "set/bob"]
    assert index.paths[3:] == ["loose/c.png", "set/alice/a1.png", "set/alice/a2.jpg", "set/bob/b1.png"]
    assert index.crops.shape == (7, 256, 256, 3) and isinstance(index.crops, np.memmap)
    # Crops are what align_face gives for the detected face of the same file.
    rgb = cv2.imread(str(real_dir / "set" / "bob" / "b1.png"))[:, :, ::-1].copy()
    face = FaceDetector().detect(rgb)[0]
    aligned = align_face(rgb, face.landmarks)
    np.testing.assert_array_equal(index.crops[6], aligned.crop)
    np.testing.assert_allclose(index.landmarks[6], aligned.landmarks, atol=1e-4)
    # Neighbours never share a source.
    valid = index.neighbours >= 0
    assert not (index.sources[np.where(valid, index.neighbours, 0)] == index.sources[:, None])[valid].any()
    assert (valid.sum(1) == [4, 4, 4, 6, 5, 5, 6]).all()


def test_build_is_deterministic_and_resumable(built, real_dir, tmp_path):
    out, summary = built
    again = tmp_path / "again"
    build_index(real_dir, again, video_frames=3, progress=False, checkpoint_every=1)
    for name in ("crops.npy", "landmarks.npy", "sources.npy", "neighbours.npy"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    # Interrupt: keep the first 3 files' records, leave a half-written line and
    # stray bytes after the arrays, as a kill in the middle of a write would.
    lines = (again / "files.jsonl").read_text().splitlines(keepends=True)
    (again / "files.jsonl").write_text("".join(lines[:3]) + lines[3][:10])
    with open(again / "crops.npy", "ab") as crops:
        crops.write(b"\x01" * 1000)
    (again / "manifest.json").unlink()
    resumed = build_index(real_dir, again, video_frames=3, progress=False)
    assert resumed.resumed_from == 3 and resumed.faces == summary.faces
    for name in ("crops.npy", "landmarks.npy", "sources.npy", "neighbours.npy", "files.jsonl"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    with pytest.raises(ValueError, match="other settings"):
        build_index(real_dir, again, video_frames=4, progress=False)


@pytest.mark.slow
def test_two_workers_give_the_same_index(built, real_dir, tmp_path):
    out, _ = built
    build_index(real_dir, tmp_path / "w2", video_frames=3, workers=2, progress=False)
    for name in ("crops.npy", "landmarks.npy", "sources.npy", "files.jsonl"):
        assert (tmp_path / "w2" / name).read_bytes() == (out / name).read_bytes(), name


def test_bad_arguments(real_dir, tmp_path):
    with pytest.raises(ValueError):
        build_index(tmp_path / "missing", tmp_path / "out", progress=False)
    with pytest.raises(ValueError):
        build_index(real_dir, real_dir / "inside", progress=False)
    with pytest.raises(ValueError):
        FaceIndex(tmp_path)


@pytest.mark.shared_data
def test_real_faces_index_and_blend(tmp_path):
    from facexray_forensics.blending.sampler import BlendSampler

    lfw = SHARED / "lfw"
    if not lfw.is_dir():
        pytest.skip(f"real face photos not found at {SHARED} (set FXR_SHARED_DATA)")
    # Three people with several photos each, and three single UTKFace files.
    root = tmp_path / "real"
    people = [p for p in sorted(lfw.iterdir()) if len(list(p.glob("*.jpg"))) >= 3][:3]
    for person in people:
        for photo in sorted(person.glob("*.jpg"))[:3]:
            (root / "lfw" / person.name).mkdir(parents=True, exist_ok=True)
            (root / "lfw" / person.name / photo.name).symlink_to(photo)
    (root / "utkface").mkdir()
    for photo in sorted((SHARED / "utkface").glob("*.jpg"))[:3]:
        (root / "utkface" / photo.name).symlink_to(photo)
    summary = build_index(root, tmp_path / "index", progress=False)
    assert summary.faces >= 10 and summary.sources >= 5
    index = FaceIndex(tmp_path / "index")
    for face in range(len(index)):
        marks = index.landmarks[face]
        # FF++ crop: landmarks centred, spanning 1/1.3 of the crop.
        assert np.abs((marks.min(0) + marks.max(0)) / 2 - 127.5).max() < 1.0
        assert (marks.max(0) - marks.min(0)).max() == pytest.approx(256 / 1.3, abs=0.1)
    sampler = BlendSampler(index)
    for number in range(40):
        record = sampler.sample(0, number, label=1)
        assert record.params["background_source"] != record.params["foreground_source"]
        assert record.params["background_source"].split("/")[0] in ("lfw", "utkface")
    shutil.rmtree(tmp_path / "index")
