"""What a scan is asked to do, for whom, where it writes, and how long its stages took."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facexray_forensics.evidence import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_VIDEO_FRAMES
from facexray_forensics.plugins.builtin import DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_FACE
from facexray_forensics.records import ScanReport


@dataclass(frozen=True)
class ScanSettings:
    """What a scan does; everything here is recorded in the custody log and the report."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    video_frames: int = DEFAULT_VIDEO_FRAMES
    min_face: int = DEFAULT_MIN_FACE
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    detector: str = "auto"
    model_dir: str | None = None
    device: str = "cpu"
    workers: int = 0  # 0: one per CPU; 1: everything in this process
    batch_size: int = 16
    model_threads: int = 0  # 0: the cores the worker processes leave free (at least 1)
    known_hashes: str | None = None

    # Settings that may change between a scan and its resume: they change speed, and scores at most in the last bits.
    RUNTIME = ("device", "workers", "batch_size", "model_threads")


@dataclass(frozen=True)
class Output:
    """One report file to write at the end: ``render(report, path)`` writes ``path``."""

    path: Path
    render: Callable[[ScanReport, Path], Any]


@dataclass
class ScanCase:
    """Who the scan is for: recorded on every custody record and in the report."""

    case: str | None = None
    exhibit: str | None = None
    examiner: str | None = None
    command_line: list[str] = field(default_factory=list)


@dataclass
class ScanTimings:
    """Seconds per stage and the wall time.

    Plugin stages ("hashing", "faces.detect", ...) are summed over the worker
    processes, so with several workers they can add up to more than the wall
    time. "startup" is everything before the item loop (model loading, the
    walk); "items" is the wall time of the item loop, and "first_item" the
    part of it until the first item came back (worker processes starting); "records" the fsynced
    custody and journal writes; "reverify" the second hashing pass.
    """

    wall: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    def add(self, seconds: Mapping[str, float]) -> None:
        for stage, value in seconds.items():
            self.stages[stage] = self.stages.get(stage, 0.0) + value


def output_paths(outputs: Sequence[Output]) -> tuple[Path, Path]:
    """The custody log and journal paths: beside the first output, named after it."""
    if not outputs:
        raise ValueError("no output requested: give at least one of --report, --json or --csv")
    first = Path(os.path.abspath(outputs[0].path))
    stem = first.name[: -len(first.suffix)] if first.suffix else first.name
    return first.with_name(f"{stem}.custody.jsonl"), first.with_name(f"{stem}.journal.jsonl")
