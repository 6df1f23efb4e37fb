"""The first stage of a scan: outputs checked and locked, plugins started, custody header and journal opened.

Everything that can refuse the scan (an output inside the evidence, a
second scan of the same outputs, a plugin that cannot start, an altered
journal on ``--resume``) refuses it here, before any item is read.
"""

from __future__ import annotations

import copy
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facexray_forensics import __version__
from facexray_forensics.custody import CustodyLog, seal_path, utc_now
from facexray_forensics.evidence import hash_stream, load_known_hashes
from facexray_forensics.plugins import Plugin, ScanContext, setting_table
from facexray_forensics.scan.journal import Journal, ScanLock, lock_path
from facexray_forensics.scan.outputs import check_placement, check_targets, make_output_folders, output_failures
from facexray_forensics.scan.settings import Output, ScanCase, output_paths


@dataclass(frozen=True)
class OutputSet:
    """Every path a scan writes: the reports with their .sha256 sidecars, then its own records beside the first."""

    reports: list[Path]
    sidecars: list[Path]
    custody: Path
    journal: Path
    lock: Path
    seal: Path

    @classmethod
    def of(cls, outputs: Sequence[Output]) -> OutputSet:
        custody, journal = output_paths(outputs)
        reports = [Path(os.path.abspath(output.path)) for output in outputs]
        sidecars = [path.with_name(path.name + ".sha256") for path in reports]
        return cls(reports, sidecars, custody, journal, Path(lock_path(journal)), Path(seal_path(custody)))


@dataclass
class WorkerPlugins:
    """The leading plugins that run per item: started here, and unstarted copies for worker processes.

    Inline runs (one worker) use the started instances; worker processes get
    the copies and start them themselves, because started plugins hold
    unpicklable resources.
    """

    started: list[Plugin]
    blueprints: list[Plugin]
    context: ScanContext


@dataclass
class StartedPlugins:
    """The scan's plugins, started: the leading run of those that go to workers, then the main-process ones."""

    workers: WorkerPlugins
    main: list[Plugin]
    context: ScanContext  # its resources now hold what start-up loaded (the model's SHA-256 and card)
    known_hashes_sha256: str | None
    names: list[str]  # "name version", in run order
    runtime: frozenset[str]  # the settings that change only speed, which a resume may change

    def in_run_order(self) -> list[Plugin]:
        return [*self.workers.started, *self.main]

    def shut_down(self) -> None:
        for plugin in self.in_run_order():
            plugin.shut_down()


@dataclass
class Records:
    """The scan's open custody log and journal, and what the report repeats of the custody header."""

    custody: CustodyLog
    journal: Journal
    settings: dict[str, Any]  # as recorded: the scan settings, the known-file list's SHA-256, the plugins
    model_sha256: str | None
    host: str
    started_utc: str
    executor: dict[str, Any] = field(default_factory=dict)  # what ran the items (Executor.describe), once started


def claim_outputs(paths: OutputSet, roots: Sequence[str], resume: bool) -> ScanLock:
    """Refuse missing evidence and unsafe outputs (ValueError), create their folders, and lock them against a second scan.

    A missing root is refused here, before the output folder or its lock file is made (the source would refuse it later).
    """
    for root in roots:
        if not os.path.lexists(root):
            raise ValueError(f"evidence not found: {root}")
    check_placement([*paths.reports, *paths.sidecars, paths.custody, paths.journal, paths.lock, paths.seal], roots)
    check_targets([*paths.reports, *paths.sidecars, paths.lock], [paths.custody, paths.journal, paths.seal], resume)
    make_output_folders([path.parent for path in paths.reports])
    with output_failures():  # a read-only output folder fails here, before anything is written
        return ScanLock(paths.journal)


def start_plugins(plugins: Sequence[Plugin], settings: dict[str, Any], progress: bool = False) -> StartedPlugins:
    """Split ``plugins`` where the first one that runs in the main process stands, and start them all.

    ``settings`` are resolved (:meth:`ScanSettings.for_plugins`); ``progress``
    is the scan's, passed on to the plugins in their context. Worker
    plugins start here too: a configuration error surfaces now, with its
    message, rather than as a broken pool.
    """
    context, known_sha256 = _context(settings, progress)
    count = 0
    while count < len(plugins) and plugins[count].runs_in_workers(context.settings):
        count += 1
    started, main = list(plugins[:count]), list(plugins[count:])
    workers = WorkerPlugins(started, copy.deepcopy(started), copy.deepcopy(context))
    for plugin in [*started, *main]:
        plugin.start_up(context)
    names = [f"{plugin.name} {plugin.version}" for plugin in plugins]
    runtime = frozenset(name for name, setting in setting_table(plugins).items() if setting.runtime)
    return StartedPlugins(workers, main, context, known_sha256, names, runtime)


def _context(settings: dict[str, Any], progress: bool) -> tuple[ScanContext, str | None]:
    """The plugins' context, with the known-file list loaded; and that list's SHA-256, for the record."""
    resources: dict[str, Any] = {}
    known_sha256 = None
    if settings["known_hashes"]:
        resources["known_hashes"] = load_known_hashes(settings["known_hashes"])
        with open(settings["known_hashes"], "rb") as stream:
            known_sha256 = hash_stream(stream)[0]["sha256"]
    return ScanContext(settings=settings, device=settings["device"], resources=resources, progress=progress), known_sha256


def open_records(paths: OutputSet, roots: list[str], plugins: StartedPlugins, case: ScanCase, resume: bool) -> Records:
    """Open the custody log (its header: tool, model, settings, who and where) and the journal.

    On ``resume`` the journal is checked line by line against the SHA-256s the
    custody log recorded for it; ValueError refuses any alteration.
    """
    recorded = {**plugins.context.settings, "known_hashes_sha256": plugins.known_hashes_sha256, "plugins": plugins.names}
    model_sha256 = plugins.context.resources.get("model_sha256")
    host = socket.gethostname()
    with output_failures():  # a read-only output folder fails here, before any item is read
        custody = CustodyLog(paths.custody, {
            "tool_version": __version__, "model_sha256": model_sha256, "settings": recorded,
            "command_line": case.command_line, "host": host,
            "case": case.case, "exhibit": case.exhibit, "examiner": case.examiner,
        })
        # A resume may change only the runtime settings: the others decide the results.
        decisive = {key: value for key, value in recorded.items() if key not in plugins.runtime}
        journal = Journal(paths.journal, {"evidence": roots, "settings": decisive, "model_sha256": model_sha256}, resume,
                          custody.recorded("item_analysed", "journal_sha256"))
    return Records(custody, journal, recorded, model_sha256, host, utc_now())
