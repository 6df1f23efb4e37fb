"""What a scan is asked to do, for whom, where it writes, and how long its stages took."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facexray_forensics.plugins import Plugin, setting_table
from facexray_forensics.records import ScanReport

@dataclass(frozen=True, init=False)
class ScanSettings:
    """The settings a front end gives a scan, by name; None means not given.

    :meth:`for_plugins` checks them against what the scan and its plugins
    declare and fills in every other declared default. The resolved values are what
    the plugins read and what the custody log records.
    """

    given: Mapping[str, Any]

    def __init__(self, **given: Any) -> None:
        object.__setattr__(self, "given", {name: value for name, value in given.items() if value is not None})

    def for_plugins(self, plugins: Sequence[type[Plugin] | Plugin]) -> dict[str, Any]:
        """Each setting a scan with ``plugins`` reads, with its value: given, else its default.
        ValueError for a bad value, or a given one that none of them reads."""
        table = setting_table(plugins)
        unread = [name for name in self.given if name not in table]
        if unread:
            raise ValueError(f"no plugin of this scan reads {', '.join(sorted(unread))} "
                             f"(its settings: {', '.join(table)})")
        return {name: setting.check(self.given.get(name, setting.default)) for name, setting in table.items()}


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
