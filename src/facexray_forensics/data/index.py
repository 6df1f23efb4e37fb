"""The face index: aligned crops of real faces, their landmarks and source ids, on disk.

Layout of an index folder::

    crops.npy        N×S×S×3 uint8   aligned crops (memory-mapped on reading)
    landmarks.npy    N×68×2 float32  landmarks in crop pixels
    sources.npy      N int32         source number of each face (index into manifest["sources"])
    files.jsonl      one line per input file, in processing order: its status, reason, faces
    manifest.json    settings, counts, sources, failures by file with reason
    neighbours.npy   N×K int32       the K nearest faces from other sources (-1 where fewer exist)

Building is deterministic (files in sorted order, one face per image or frame)
and resumable: the arrays are written before ``files.jsonl`` records the file,
and ``crops.npy``/``landmarks.npy`` keep a fixed-size header that is rewritten
at each checkpoint, so an interrupted build is cut back to the last recorded
file and continues from there.

Source ids (faces of one source are never blended together):

- a video is one source;
- a file ``source_depth`` or more folders below the root takes the path of its
  first ``source_depth`` folders as its source (default 2: ``SET/PERSON/photo``,
  so ``lfw/NAME/NAME_0001.jpg`` is source ``lfw/NAME``);
- a file nearer the root is its own source (``utkface/x.jpg``, ``helen/y.jpg``).

Index the LFW folder itself with ``source_depth=1`` (``NAME/photo``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facexray_forensics.data.neighbours import nearest_other_source

LANDMARK_COUNT = 68
_HEADER_BYTES = 128  # fixed .npy header size, so the shape can be rewritten in place
_FORMAT_VERSION = 2  # 2: built by the scan's face path (faces.extract)


def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """A version-1.0 .npy header padded to exactly :data:`_HEADER_BYTES` bytes."""
    text = repr({"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                 "shape": tuple(shape)})
    preamble = b"\x93NUMPY\x01\x00"
    length = _HEADER_BYTES - len(preamble) - 2
    body = text.encode("latin1").ljust(length - 1) + b"\n"
    if len(body) != length:
        raise ValueError(f"shape {shape} does not fit the fixed .npy header")
    return preamble + length.to_bytes(2, "little") + body


class _GrowingArray:
    """An append-only .npy file whose header says how many rows it holds."""

    def __init__(self, path: Path, dtype: np.dtype, row_shape: tuple[int, ...], rows: int) -> None:
        self.path, self.dtype, self.row_shape = path, np.dtype(dtype), tuple(row_shape)
        self.row_bytes = int(np.prod(row_shape)) * self.dtype.itemsize
        mode = "r+b" if path.exists() else "w+b"
        self.file = open(path, mode)
        self.rows = rows
        # Drop whatever an interrupted run wrote after the last recorded file.
        self.file.truncate(_HEADER_BYTES + rows * self.row_bytes)
        self._write_header()
        self.file.seek(0, os.SEEK_END)

    def _write_header(self) -> None:
        self.file.seek(0)
        self.file.write(_npy_header(self.dtype, (self.rows, *self.row_shape)))

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype).reshape(-1, *self.row_shape)
        self.file.seek(0, os.SEEK_END)
        self.file.write(rows.tobytes())
        self.rows += len(rows)

    def commit(self) -> None:
        self._write_header()
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def source_of(relative: Path, is_video: bool, source_depth: int) -> str:
    """The source id of a file at ``relative`` below the index root (see the module docstring)."""
    if source_depth < 0:
        raise ValueError(f"source_depth must be >= 0, got {source_depth}")
    folders = relative.parts[:-1]
    if is_video or source_depth == 0 or len(folders) < source_depth:
        return relative.as_posix()
    return "/".join(folders[:source_depth])


def list_inputs(root: Path) -> list[Path]:
    """Every file below ``root``, sorted by relative path, without following links out of it."""
    root = Path(root)
    found = []
    for folder, folders, files in os.walk(root):
        folders.sort()
        for name in files:
            found.append(Path(folder, name).relative_to(root))
    return sorted(found, key=lambda p: p.as_posix())


@dataclass
class FileResult:
    """What indexing one input file gave: faces (crop, landmarks, record) or a reason."""

    path: str
    status: str  # "ok", "no_face", or the scan's decoding outcomes: "unreadable", "unsupported", "too_large"
    reason: str = ""
    crops: list[np.ndarray] = field(default_factory=list, repr=False)
    landmarks: list[np.ndarray] = field(default_factory=list, repr=False)
    faces: list[dict] = field(default_factory=list)


class _Indexer:
    """Per-process worker: the scan's own face path (:class:`FaceExtractor`), then the
    largest face of each frame."""

    def __init__(self, root: Path, settings: dict) -> None:
        from facexray_forensics.evidence import DecodeLimits
        from facexray_forensics.faces.extract import CropGeometry, DetectionSettings, FaceExtractor

        self.root = root
        self.settings = settings
        self.limits = DecodeLimits(video_frames=settings["video_frames"])
        self.extractor = FaceExtractor(
            DetectionSettings(detector=settings["detector"], upsample=settings["upsample"],
                              max_side=settings["max_side"], min_face=settings["min_face"],
                              min_confidence=settings["min_confidence"]),
            CropGeometry(size=settings["size"], scale=settings["scale"]),
        )

    def __call__(self, relative: str) -> FileResult:
        from facexray_forensics.evidence import DecodeError, FileSource

        item = next(FileSource([self.root / relative]).items())
        result = FileResult(relative, "ok")
        rejected = 0
        try:
            for frame in self.extractor.item_faces(item, self.limits):
                rejected += frame.too_small + frame.below_confidence + frame.frame_too_small
                if not frame.crops:
                    continue
                # The largest face: in identity folders (LFW) the subject, not a bystander.
                crop = max(frame.crops, key=lambda c: c.area)
                source = source_of(Path(relative), item.kind == "video", self.settings["source_depth"])
                result.crops.append(crop.aligned.crop)
                result.landmarks.append(crop.aligned.landmarks)
                result.faces.append({
                    "source": source,
                    "frame": crop.frame_index,
                    "box": [round(v, 2) for v in crop.detected.box],
                    "confidence": round(crop.detected.confidence, 4),
                })
        except DecodeError as error:
            return FileResult(relative, error.status.value, error.reason)
        if not result.faces:
            result.status = "no_face"
            result.reason = (f"only faces smaller than {self.settings['min_face']} px or below confidence "
                             f"{self.settings['min_confidence']:g}" if rejected else "no face detected")
        return result


_WORKER: _Indexer | None = None


def _worker_start(root: str, settings: dict) -> None:
    global _WORKER
    _WORKER = _Indexer(Path(root), settings)


def _worker_run(relative: str) -> FileResult:
    return _WORKER(relative)


@dataclass
class IndexSummary:
    """Counts of one build: input files, faces, failures by status and reason, seconds."""

    files: int
    faces: int
    sources: int
    failures: dict[str, int]
    seconds: float
    resumed_from: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def build_index(
    real_dir: str | os.PathLike,
    index_dir: str | os.PathLike,
    *,
    detector: str = "hog",
    upsample: int = 0,
    max_side: int = 640,
    min_face: int = 64,
    min_confidence: float = 0.1,
    size: int = 256,
    scale: float = 1.3,
    source_depth: int = 2,
    video_frames: int = 8,
    workers: int = 1,
    neighbours: int = 100,
    checkpoint_every: int = 256,
    progress: bool = True,
) -> IndexSummary:
    """Index every real face below ``real_dir`` into ``index_dir`` (see the module docstring).

    Re-running on the same folders resumes where an interrupted build stopped;
    the settings must be the same (else ValueError). Ends by computing the
    neighbour table (``neighbours`` per face) and writing ``manifest.json``.
    """
    import time

    started = time.perf_counter()
    root = Path(real_dir).resolve()
    out = Path(index_dir)
    _check_arguments(real_dir, root, out, workers)
    out.mkdir(parents=True, exist_ok=True)
    settings = {
        "format": _FORMAT_VERSION, "detector": detector, "upsample": upsample, "max_side": max_side,
        "min_face": min_face, "min_confidence": min_confidence, "size": size, "scale": scale,
        "source_depth": source_depth, "video_frames": video_frames,
        "faces_per_frame": 1,
    }
    _keep_settings(out / "settings.json", settings)
    done, inputs, crops, marks = _resume_build(out, root, size)
    todo = inputs[len(done):]

    results, pool = _start_indexing(root, settings, todo, workers)
    try:
        _record_results(results, crops, marks, out / "files.jsonl", done, len(inputs), checkpoint_every, progress)
    finally:
        if pool is not None:
            pool.terminate()
        crops.close()
        marks.close()

    face_sources = [face["source"] for r in done for face in r["faces"]]
    source_names = _write_sources(out, face_sources, np.load(out / "landmarks.npy"), neighbours, progress)
    failures = Counter(r["status"] for r in done if r["status"] != "ok")
    summary = IndexSummary(
        files=len(done), faces=len(face_sources), sources=len(source_names),
        failures=dict(sorted(failures.items())), seconds=round(time.perf_counter() - started, 2),
        resumed_from=len(inputs) - len(todo),
    )
    _write_manifest(out, root, settings, summary, done, source_names)
    return summary


def _check_arguments(real_dir: str | os.PathLike, root: Path, out: Path, workers: int) -> None:
    if not root.is_dir():
        raise ValueError(f"real_dir is not a folder: {real_dir}")
    if out.resolve() == root or root in out.resolve().parents:
        raise ValueError("index_dir must not be inside real_dir")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")


def _keep_settings(path: Path, settings: dict) -> None:
    """Record the first run's settings; a resumed build must use the same ones."""
    if path.exists():
        previous = json.loads(path.read_text())
        if previous != settings:
            raise ValueError(f"{path.parent} was started with other settings: {previous}")
    else:
        path.write_text(json.dumps(settings, indent=2, sort_keys=True))


def _resume_build(out: Path, root: Path, size: int) -> tuple[list[dict], list[str], _GrowingArray, _GrowingArray]:
    """The records of the files earlier runs finished, every input, and the crop and landmark
    arrays opened for appending, cut back to the faces of those records."""
    done = _finished_records(out / "files.jsonl")
    committed = sum(len(r["faces"]) for r in done)
    crops = _GrowingArray(out / "crops.npy", np.uint8, (size, size, 3), committed)
    marks = _GrowingArray(out / "landmarks.npy", np.float32, (LANDMARK_COUNT, 2), committed)
    inputs = [p.as_posix() for p in list_inputs(root)]
    if [r["path"] for r in done] != inputs[: len(done)]:
        raise ValueError(f"{out} holds a build of a different file list; use a new index_dir")
    return done, inputs, crops, marks


def _finished_records(log_path: Path) -> list[dict]:
    """What earlier runs finished: files.jsonl is the authority. A half-written last line is cut off."""
    done: list[dict] = []
    if log_path.exists():
        complete = 0
        with open(log_path, "rb") as log:
            for line in log:
                if not line.endswith(b"\n"):
                    break
                done.append(json.loads(line))
                complete += len(line)
        with open(log_path, "r+b") as log:
            log.truncate(complete)
    return done


def _start_indexing(root: Path, settings: dict, todo: list[str], workers: int):
    """The results of the files in ``todo``, in order, and the process pool computing them (None in this process)."""
    pool = None
    if workers > 1 and todo:
        import multiprocessing

        pool = multiprocessing.get_context("spawn").Pool(workers, _worker_start, (str(root), settings))
        results = pool.imap(_worker_run, todo, chunksize=16)
    else:
        indexer = _Indexer(root, settings) if todo else None
        results = (indexer(p) for p in todo)
    return results, pool


def _record_results(results, crops: _GrowingArray, marks: _GrowingArray, log_path: Path, done: list[dict],
                    total: int, checkpoint_every: int, progress: bool) -> None:
    """Append each file's faces to the arrays and its record to ``done`` and, every
    ``checkpoint_every`` files and at the end, to ``files.jsonl`` (see :func:`_checkpoint`),
    with a progress bar over all ``total`` input files."""
    from tqdm import tqdm

    bar = tqdm(total=total, initial=len(done), desc="indexing faces", unit="file", disable=not progress, file=None)
    pending: list[str] = []
    try:
        with open(log_path, "a") as log:
            for result in results:
                if result.crops:
                    crops.append(np.stack(result.crops))
                    marks.append(np.stack(result.landmarks))
                record = {"path": result.path, "status": result.status, "reason": result.reason,
                          "faces": result.faces}
                pending.append(json.dumps(record, sort_keys=True))
                done.append(record)
                bar.update(1)
                if len(pending) >= checkpoint_every:
                    _checkpoint(crops, marks, log, pending)
            _checkpoint(crops, marks, log, pending)
    finally:
        bar.close()


def _write_sources(out: Path, face_sources: list[str], landmarks: np.ndarray, neighbours: int,
                   progress: bool = False) -> list[str]:
    """Write each face's source number (sources numbered in sorted order) and the neighbour
    table; return the sorted source names."""
    names = sorted(set(face_sources))
    number = {name: i for i, name in enumerate(names)}
    source_ids = np.array([number[name] for name in face_sources], np.int32)
    np.save(out / "sources.npy", source_ids)
    np.save(out / "neighbours.npy", nearest_other_source(landmarks, source_ids, k=neighbours, progress=progress))
    return names


def _write_manifest(out: Path, root: Path, settings: dict, summary: IndexSummary, done: list[dict],
                    source_names: list[str]) -> None:
    """The build's settings, summary, failures with their reasons, sources and file names."""
    failed = [r for r in done if r["status"] != "ok"]
    manifest = {
        "format": _FORMAT_VERSION,
        "real_dir": str(root),
        "settings": settings,
        "summary": summary.as_dict(),
        "failure_reasons": dict(sorted(Counter(f"{r['status']}: {r['reason']}" for r in failed).items())),
        "failures": [{"path": r["path"], "status": r["status"], "reason": r["reason"]} for r in failed],
        "sources": source_names,
        "arrays": {
            "crops": "crops.npy", "landmarks": "landmarks.npy", "sources": "sources.npy",
            "neighbours": "neighbours.npy", "files": "files.jsonl",
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def write_index(
    index_dir: str | os.PathLike,
    crops: np.ndarray,
    landmarks: np.ndarray,
    sources: list[str],
    paths: list[str] | None = None,
    neighbours: int = 100,
) -> None:
    """Write a finished index from arrays already in memory (aligned crops N×S×S×3
    uint8, crop landmarks N×68×2, one source id string per face), in the same
    format :func:`build_index` writes. For tests, benchmarks and imported sets."""
    crops = np.asarray(crops)
    landmarks = np.asarray(landmarks, dtype=np.float32)
    count = len(crops)
    if crops.dtype != np.uint8 or crops.ndim != 4 or crops.shape[3] != 3 or crops.shape[1] != crops.shape[2]:
        raise ValueError(f"crops must be N×S×S×3 uint8, got {crops.shape} {crops.dtype}")
    if landmarks.shape != (count, LANDMARK_COUNT, 2) or len(sources) != count:
        raise ValueError("crops, landmarks and sources must agree in length")
    paths = paths if paths is not None else [f"face_{i:06d}" for i in range(count)]
    out = Path(index_dir)
    out.mkdir(parents=True, exist_ok=True)
    array = _GrowingArray(out / "crops.npy", np.uint8, crops.shape[1:], 0)
    array.append(crops)
    array.commit()
    array.close()
    np.save(out / "landmarks.npy", landmarks)
    names = _write_sources(out, sources, landmarks, neighbours)
    with open(out / "files.jsonl", "w") as log:
        for path, source in zip(paths, sources):
            log.write(json.dumps({"path": path, "status": "ok", "reason": "",
                                  "faces": [{"source": source, "frame": 0}]}, sort_keys=True) + "\n")
    summary = {"files": count, "faces": count, "sources": len(names), "failures": {}}
    (out / "manifest.json").write_text(json.dumps(
        {"format": _FORMAT_VERSION, "settings": {"size": int(crops.shape[1])}, "summary": summary,
         "failures": [], "sources": names}, indent=1))


def _checkpoint(crops: _GrowingArray, marks: _GrowingArray, log, pending: list[str]) -> None:
    """Make the arrays durable first, then record the files they came from."""
    crops.commit()
    marks.commit()
    if pending:
        log.write("".join(line + "\n" for line in pending))
        log.flush()
        os.fsync(log.fileno())
        pending.clear()


class FaceIndex:
    """A finished index opened for reading: crops memory-mapped, everything else in memory.

    ``crops`` N×S×S×3 uint8, ``landmarks`` N×68×2 float32, ``sources`` N int32,
    ``neighbours`` N×K int32 (-1 where fewer other-source faces exist),
    ``source_names`` the source id strings, ``paths`` the original relative path
    of each face and ``frames`` its frame number.
    """

    def __init__(self, index_dir: str | os.PathLike) -> None:
        folder = Path(index_dir)
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            raise ValueError(f"{folder} is not a finished face index (no manifest.json)")
        self.folder = folder
        self.manifest = json.loads(manifest_path.read_text())
        self.crops = np.load(folder / "crops.npy", mmap_mode="r")
        self.landmarks = np.load(folder / "landmarks.npy")
        self.sources = np.load(folder / "sources.npy")
        self.neighbours = np.load(folder / "neighbours.npy")
        self.source_names: list[str] = self.manifest["sources"]
        if not (len(self.crops) == len(self.landmarks) == len(self.sources) == len(self.neighbours)):
            raise ValueError(f"{folder}: arrays disagree in length; rebuild the index")
        self.paths: list[str] = []
        self.frames: list[int] = []
        with open(folder / "files.jsonl") as log:
            for line in log:
                record = json.loads(line)
                for face in record["faces"]:
                    self.paths.append(record["path"])
                    self.frames.append(face["frame"])

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def size(self) -> int:
        """Side of the square crops in pixels."""
        return int(self.crops.shape[1])
