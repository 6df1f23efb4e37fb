"""Plain records that flow one way through a scan.

evidence -> :class:`Item` -> :class:`Frame` -> faces -> :class:`FaceResult`
-> :class:`Finding` (one per plugin) -> :class:`ItemReport` -> renderers.

Computation fills these; renderers (PDF, JSON, CSV, CASE, DFXML) only read
them. Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

if TYPE_CHECKING:  # faces.extract builds on these records
    from facexray_forensics.faces.extract import FaceCrop


class Status(str, enum.Enum):
    """The outcome of one item. Every item gets exactly one."""

    SCORED = "scored"
    NO_FACE = "no_face"
    FACE_TOO_SMALL = "face_too_small"
    UNREADABLE = "unreadable"  # corrupt, truncated, permission denied, broken stream
    UNSUPPORTED = "unsupported"  # a file type the scan does not analyse
    TOO_LARGE = "too_large"  # over the configured byte or pixel limits
    KNOWN_FILE = "known_file"  # skipped: its hash is on the examiner's known-file list
    CONTAINER = "container"  # a disk image (or an E01 segment) whose files are items of their own


class Band(str, enum.Enum):
    """Verbal bands of the calibrated probability, cut by the model card's thresholds."""

    NO_INDICATION = "no indication"
    INCONCLUSIVE = "inconclusive"
    MODERATE = "moderate"
    STRONG = "strong"


@dataclass(frozen=True)
class Item:
    """One unit of evidence: a file in a folder, or a file inside a disk image.

    ``name`` is unique and stable across runs (it keys ``--resume``). ``open``
    returns a fresh read-only binary stream each call. ``origin`` says where
    the bytes live, e.g. ``{"path": ...}`` or ``{"image": ..., "partition_offset": ...,
    "inode": ..., "inner_path": ..., "deleted": True}``.
    """

    name: str
    kind: str  # "image", "video" or "other", decided from the content's magic bytes
    mime: str | None
    size: int
    open: Callable[[], BinaryIO] = field(repr=False, compare=False)
    origin: Mapping[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """What makes this item the same item on another run (see :func:`item_identity`)."""
        return item_identity(self.name, self.origin)


def raw_path(origin: Mapping[str, Any], key: str = "path") -> bytes:
    """The exact bytes of a path an origin records: ``KEY_hex`` where the name is not UTF-8, else ``KEY``."""
    if f"{key}_hex" in origin:
        return bytes.fromhex(origin[f"{key}_hex"])
    return origin[key].encode("utf-8", "surrogateescape")


def item_identity(name: str, origin: Mapping[str, Any]) -> str:
    """The key that resumes and verification match an item by: never its rendered name alone.

    Two paths can render alike (a name with an undecodable byte beside one
    spelling that byte's escape; a folder named like a disk-image item,
    ``disk.img:0:14:``), so the key holds the hex of the exact path bytes, or
    for a file inside a disk image the image's path bytes, partition offset
    and inode (with the inner path, which tells apart deleted names that
    point at a reused inode), after those of the image files it lies in. The name follows, for one file the examiner
    named both as a root and inside a folder root: two items, one path.
    A source that records no path is keyed by its name alone.
    """
    if "image_path" in origin:
        inner = origin["inner_path"].encode("utf-8", "surrogateescape").hex()
        # an image inside images: each outer image file's partition and inode, outermost first
        chain = "".join(f"{parent['partition_offset']}:{parent['inode']}/" for parent in origin.get("parents", ()))
        where = f"inner:{raw_path(origin, 'image_path').hex()}:{chain}{origin['partition_offset']}:{origin['inode']}:{inner}"
    elif "path" in origin:
        where = f"file:{raw_path(origin).hex()}"
    else:
        where = "name"
    return f"{where}:{name}"


@dataclass(frozen=True)
class Frame:
    """One decoded picture of an item: RGB uint8, H×W×3."""

    pixels: np.ndarray = field(repr=False)
    index: int = 0
    timestamp: float | None = None  # seconds from the start, for video frames


@dataclass
class FaceResult:
    """The model's answer for one face in one frame."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels
    landmarks: list[tuple[float, float]]  # the 68 dlib points, frame pixels
    score: float  # calibrated probability that the face is blended
    band: Band
    xray: np.ndarray | None = field(default=None, repr=False)  # predicted map, float32 in [0, 1]
    frame_index: int = 0
    timestamp: float | None = None
    track: int | None = None
    # The 2×3 affine that took frame pixels to the crop the model saw
    # (AlignedFace.matrix); the PDF warps ``xray`` back onto the frame with it.
    matrix: np.ndarray | None = field(default=None, repr=False)


@dataclass
class Finding:
    """What one plugin found about one item, as plain JSON-able values.

    ``status`` is set by a plugin that decides the item's outcome (the face
    X-ray plugin, or any plugin that fails to read the item). ``values`` is
    renderer-neutral: every renderer shows it as a table of key and value.
    ``faces`` carries the per-face results, which renderers draw.
    """

    plugin: str
    version: str
    values: dict[str, Any] = field(default_factory=dict)
    status: Status | None = None
    reason: str | None = None
    faces: list[FaceResult] = field(default_factory=list)
    # The item's score and band when the plugin aggregates its faces otherwise than
    # by their maximum (a video: the maximum over face tracks). None: the maximum over faces.
    score: float | None = None
    band: Band | None = None
    # The aligned faces handed to later plugins of the same item (the faces plugin's, which the
    # face X-ray plugin scores). Never journalled or rendered: the scan drops them once all plugins ran.
    crops: list[FaceCrop] = field(default_factory=list, repr=False, compare=False)
    # Seconds per stage the plugin timed inside itself ("decode", "detect"), summed into the scan's timings.
    stage_seconds: dict[str, float] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class ItemReport:
    """Everything the scan knows about one item; the unit every renderer reads."""

    name: str
    kind: str
    mime: str | None
    size: int
    origin: Mapping[str, Any]
    status: Status
    reason: str | None
    hashes: dict[str, str]  # md5, sha1, sha256 before analysis
    hashes_after: dict[str, str] | None  # the same, recomputed at the end
    score: float | None  # max over faces; None (never 0) when not scored
    band: Band | None
    findings: dict[str, Finding] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        return item_identity(self.name, self.origin)

    @property
    def hash_verified(self) -> bool | None:
        return None if self.hashes_after is None else self.hashes_after == self.hashes

    @property
    def faces(self) -> list[FaceResult]:
        return [face for finding in self.findings.values() for face in finding.faces]


#: Bands that count as flagged: the scan exits 3 and the PDF lists these items first.
FLAGGED_BANDS = frozenset({Band.MODERATE, Band.STRONG})


@dataclass(frozen=True)
class Column:
    """A value a plugin declares for every item it handles, under ``name`` in its finding's
    ``values``: table renderers (the CSV) show it as a column of its own, named
    ``plugin.name``, without knowing the plugin (Volatility 3's TreeGrid columns)."""

    name: str
    type: type  # str, int, float, bool, or list (of text)
    help: str

    TYPES = (str, int, float, bool, list)


@dataclass
class ScanReport:
    """One whole scan: who ran it, how, on what, and every item's report.

    Every renderer (PDF, JSON, CSV, CASE/UCO, DFXML, X-ray images) reads
    only this. Times are UTC ISO-8601 strings. ``model_card`` is a summary of
    the model card (name, thresholds, calibration, training data) as plain
    values. ``custody_log_sha256`` is the SHA-256 of the custody log's
    ``scan_finished`` line, which anchors the whole chain; only the records of
    the reports written from this object follow it. ``evidence_warnings``
    says how the roots were taken (an overlapping root merged into another,
    a root given twice), so that no such decision is silent.
    """

    case: str | None
    exhibit: str | None
    examiner: str | None
    tool_version: str
    model_sha256: str | None
    model_card: Mapping[str, Any]
    settings: Mapping[str, Any]
    command_line: list[str]
    host: str
    started_utc: str
    finished_utc: str | None
    evidence: list[str]  # the roots as given on the command line, absolute
    items: list[ItemReport] = field(default_factory=list)
    custody_log: str | None = None  # path of the .jsonl action log
    custody_log_sha256: str | None = None
    evidence_warnings: list[str] = field(default_factory=list)
    columns: dict[str, tuple[Column, ...]] = field(default_factory=dict)  # by plugin, in run order

    def declared_columns(self) -> dict[str, tuple[str, Column]]:
        """Every declared column by its label ``plugin.name``, with its plugin, in run order."""
        return {f"{plugin}.{column.name}": (plugin, column) for plugin, columns in self.columns.items() for column in columns}

    def column_values(self, item: ItemReport) -> dict[str, Any]:
        """The item's value of every declared column, by label; None where its finding has none."""
        return {
            label: item.findings[plugin].values.get(column.name) if plugin in item.findings else None
            for label, (plugin, column) in self.declared_columns().items()
        }

    @property
    def flagged(self) -> list[ItemReport]:
        """Items in a flagged band, highest score first (ties by name, so stable)."""
        hits = [item for item in self.items if item.band in FLAGGED_BANDS]
        return sorted(hits, key=lambda item: (-(item.score or 0.0), item.name))

    @property
    def failed(self) -> list[ItemReport]:
        """Items that could not be read, or whose hashes changed during the scan."""
        return [
            item
            for item in self.items
            if item.status is Status.UNREADABLE or item.hash_verified is False
        ]

    @property
    def summary(self) -> dict[str, int]:
        """Counts: items, one per status, flagged, failed, hash mismatches."""
        counts = {"items": len(self.items)}
        counts.update({status.value: 0 for status in Status})
        for item in self.items:
            counts[item.status.value] += 1
        counts["flagged"] = len(self.flagged)
        counts["failed"] = len(self.failed)
        counts["hash_mismatches"] = sum(item.hash_verified is False for item in self.items)
        return counts
