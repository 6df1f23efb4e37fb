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
from typing import Any, BinaryIO

import numpy as np


class Status(str, enum.Enum):
    """The outcome of one item. Every item gets exactly one."""

    SCORED = "scored"
    NO_FACE = "no_face"
    FACE_TOO_SMALL = "face_too_small"
    UNREADABLE = "unreadable"  # corrupt, truncated, permission denied, broken stream
    UNSUPPORTED = "unsupported"  # a file type the scan does not analyse
    TOO_LARGE = "too_large"  # over the configured byte or pixel limits
    KNOWN_FILE = "known_file"  # skipped: its hash is on the examiner's known-file list


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
    def hash_verified(self) -> bool | None:
        return None if self.hashes_after is None else self.hashes_after == self.hashes

    @property
    def faces(self) -> list[FaceResult]:
        return [face for finding in self.findings.values() for face in finding.faces]
