"""The scan: items from sources, through plugins, into a :class:`ScanReport`.

Flow, for each item in the sources' stable order:

1. the leading plugins that run in workers (hashing, EXIF, faces: decoding
   and detection; on a CPU also the face X-ray model) run in a pool of
   worker processes; results come back in item order, so the output never
   depends on timing;
2. the other plugins (the face X-ray model on a GPU) run in this process on
   batches;
3. the finished :class:`ItemReport` goes to the journal (fsynced) and the
   custody log records it.

At the end every item is hashed again and compared, the journal is read back
into the report, the caller's outputs are rendered, and each output's
SHA-256 is logged and written beside it. Nothing is ever written inside the
evidence tree or through a link: see :mod:`facexray_forensics.scan.outputs`.
"""

from __future__ import annotations

import collections
import copy
import itertools
import multiprocessing
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from facexray_forensics import __version__
from facexray_forensics.custody import CustodyLog, seal_path, utc_now
from facexray_forensics.evidence import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_VIDEO_FRAMES,
    DecodeError,
    DecodeLimits,
    FileSource,
    ItemSource,
    hash_stream,
    decode_frames,
    item_from_origin,
    load_known_hashes,
    unsupported_reason,
)
from facexray_forensics.evidence.disk_image import expand_disk_images, inner_item
from facexray_forensics.plugins import Plugin, ScanContext
from facexray_forensics.plugins.builtin import DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_FACE
from facexray_forensics.records import Finding, Item, ItemReport, ScanReport, Status
from facexray_forensics.scan.journal import Journal, ScanLock, item_from_dict, lock_path
from facexray_forensics.scan.outputs import (
    check_placement,
    check_targets,
    make_output_folders,
    output_error,
    output_failures,
    write_output,
)

HASHING = "hashing"  # the plugin whose values are an item's md5/sha1/sha256


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


def frame_loader(settings: ScanSettings) -> Callable[[ItemReport, int], Any]:
    """A ``frames(item_report, frame_index)`` callable for renderers: decodes the item again,
    read-only and under the scan's limits, exactly as the scan did; None when it cannot."""
    limits = DecodeLimits(settings.max_bytes, settings.max_pixels, settings.video_frames)

    def frames(report: ItemReport, frame_index: int):
        origin = dict(report.origin)
        if "image_path" in origin:
            item = inner_item(report.name, report.kind, report.mime, report.size, origin)
        elif "path" in origin:
            item = item_from_origin(report.name, report.kind, report.mime, report.size, origin)
        else:
            return None
        try:
            for frame in decode_frames(item, limits):
                if frame.index == frame_index:
                    return frame.pixels
        except DecodeError:
            return None
        return None

    return frames


# ---- worker side -------------------------------------------------------------------------

_WORKER_PLUGINS: list[Plugin] = []


def _start_plugins(plugins: Sequence[Plugin], context: ScanContext) -> None:
    _WORKER_PLUGINS[:] = plugins
    for plugin in plugins:
        plugin.start_up(context)


def _decided(findings: Mapping[str, Finding]) -> bool:
    return any(finding.status not in (None, Status.SCORED) for finding in findings.values())


def _run_parallel(item: Item) -> tuple[dict[str, Finding], dict[str, float]]:
    """Run the worker-side plugins on one item (in a worker process, or inline)."""
    findings: dict[str, Finding] = {}
    seconds: dict[str, float] = {}
    for plugin in _WORKER_PLUGINS:
        if item.kind not in plugin.handles or _decided(findings):
            continue
        start = time.perf_counter()
        findings[plugin.name] = _guarded(plugin, item, findings)
        seconds[plugin.name] = time.perf_counter() - start
    return findings, seconds


def _guarded(plugin: Plugin, item: Item, findings: Mapping[str, Finding]) -> Finding:
    """A plugin's finding; an unexpected exception becomes an "unreadable" finding with its reason."""
    try:
        return plugin.process(item, findings)
    except Exception as error:  # one bad item must never stop the scan
        return Finding(plugin.name, plugin.version, status=Status.UNREADABLE, reason=f"{plugin.name} failed: {type(error).__name__}: {error}")


def _rehash(item: Item) -> dict[str, str] | None:
    if "file_type" in item.origin or "open_error" in item.origin:
        return None
    try:
        with item.open() as stream:
            return hash_stream(stream)[0]
    except OSError:
        return None


# ---- main side ---------------------------------------------------------------------------


class _Runner:
    """Maps a function over items in item order: in worker processes, or inline for one worker.

    At most ``window`` items are in flight, so results (face crops) never
    pile up while the model is the slow stage. A worker that dies (a
    decoder crashing on hostile input) does not hang or end the scan: the
    pool is restarted, the item in front is tried once more on its own, and
    if it kills that worker too, ``on_crash(item)`` stands in for its result.
    """

    def __init__(self, workers: int, plugins: Sequence[Plugin], context: ScanContext):
        self.workers = workers
        self.arguments = (list(plugins), context)
        self.window = 4 * workers
        self.executor: ProcessPoolExecutor | None = None
        if workers > 1:
            self._start()

    @property
    def parallel(self) -> bool:
        return self.workers > 1

    def _start(self) -> None:
        # spawn: workers must not inherit this process's torch or OpenCV threads.
        self.executor = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_plugins, initargs=self.arguments
        )

    def _restart(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self._start()

    def map(self, function: Callable, items: Sequence[Item], on_crash: Callable[[Item], Any]) -> Iterator:
        """``function(item)`` for each item, in order."""
        if not self.parallel:
            yield from map(function, items)
            return
        upcoming = iter(items)
        pending: collections.deque = collections.deque()
        for item in itertools.islice(upcoming, self.window):
            pending.append((item, self.executor.submit(function, item)))
        while pending:
            item, future = pending.popleft()
            try:
                result = future.result()
            except BrokenProcessPool:
                result = self._retry_alone(function, item, on_crash)
                pending = collections.deque((waiting, self.executor.submit(function, waiting)) for waiting, _ in pending)
            for following in itertools.islice(upcoming, 1):
                pending.append((following, self.executor.submit(function, following)))
            yield result

    def _retry_alone(self, function: Callable, item: Item, on_crash: Callable[[Item], Any]) -> Any:
        self._restart()
        try:
            return self.executor.submit(function, item).result()
        except BrokenProcessPool:
            self._restart()
            return on_crash(item)

    def close(self) -> None:
        if self.executor is not None:
            # After an interrupt, queued items are dropped rather than analysed; --resume redoes them.
            self.executor.shutdown(wait=True, cancel_futures=True)


def _crashed(item: Item) -> tuple[dict[str, Finding], dict[str, float]]:
    reason = "the worker process died while reading this item (a decoder crash); nothing was recorded for it"
    return {"scan": Finding("scan", __version__, status=Status.UNREADABLE, reason=reason)}, {}


def _item_report(item: Item, findings: dict[str, Finding]) -> ItemReport:
    """Combine an item's findings: the first decided status wins; the score is the max over faces,
    or the aggregate a plugin states (a video's best face track)."""
    hashes = {}
    if HASHING in findings:
        hashes = {key: findings[HASHING].values[key] for key in ("md5", "sha1", "sha256") if key in findings[HASHING].values}
    decided = [finding for finding in findings.values() if finding.status not in (None, Status.SCORED)]
    faces = [face for finding in findings.values() for face in finding.faces]
    if decided:
        status, reason = decided[0].status, decided[0].reason
    elif faces:
        status, reason = Status.SCORED, None
    elif item.kind in ("image", "video"):  # decodable, but no selected plugin scores faces (--no-plugin face_xray)
        status, reason = Status.UNSUPPORTED, f"no selected plugin scores the faces of {item.kind} items"
    else:
        status, reason = Status.UNSUPPORTED, unsupported_reason(item)
    best = max(faces, key=lambda face: face.score, default=None) if status is Status.SCORED else None
    score, band = (None, None) if best is None else (best.score, best.band)
    stated = [finding for finding in findings.values() if finding.score is not None]
    if best is not None and stated:  # a plugin's own aggregate (a video's face tracks) wins
        score, band = stated[-1].score, stated[-1].band
    for finding in findings.values():
        finding.data = {}
    return ItemReport(
        name=item.name,
        kind=item.kind,
        mime=item.mime,
        size=item.size,
        origin=item.origin,
        status=status,
        reason=reason,
        hashes=hashes,
        hashes_after=None,
        score=score,
        band=band,
        findings=findings,
    )


def _missing_report(record: Mapping[str, Any]) -> ItemReport:
    """An item the interrupted run analysed that is gone at resume: unreadable now, its earlier result named.
    The journal keeps that result; the report does not present it as current."""
    report = item_from_dict(record)
    earlier = report.status.value if report.score is None else f"{report.status.value}, score {report.score:.3f}"
    report.reason = f"missing at resume: the file is gone since the interrupted run, which found it {earlier}"
    report.status, report.score, report.band, report.findings = Status.UNREADABLE, None, None, {}
    return report


def run_scan(
    evidence: Sequence[str | os.PathLike],
    outputs: Sequence[Output],
    plugins: Sequence[Plugin],
    settings: ScanSettings = ScanSettings(),
    case: ScanCase | None = None,
    resume: bool = False,
    sources: Sequence[ItemSource] | None = None,
    progress: bool = True,
    timings: ScanTimings | None = None,
) -> ScanReport:
    """Scan ``evidence`` with ``plugins`` (instances, in run order) and write ``outputs``.

    ``sources`` defaults to one :class:`FileSource` over ``evidence``. With
    ``resume``, items already in the journal are taken from it and the
    custody log's chain is continued; without it, an existing log or journal
    is refused. Raises ValueError for a placement or configuration problem
    before anything is written. ``timings``, when given, is filled with
    seconds per stage. A second scan of the same outputs, while this one
    runs, is refused with ValueError.
    """
    case = case or ScanCase()
    roots = [os.path.abspath(os.fspath(root)) for root in evidence]
    custody_path, journal_path = output_paths(outputs)
    written = [Path(os.path.abspath(output.path)) for output in outputs]
    sidecars = [path.with_name(path.name + ".sha256") for path in written]
    lock, seal = Path(lock_path(journal_path)), Path(seal_path(custody_path))
    check_placement([*written, *sidecars, custody_path, journal_path, lock, seal], roots)
    check_targets([*written, *sidecars, lock], [custody_path, journal_path, seal], resume)
    make_output_folders([path.parent for path in written])
    with output_failures():  # a read-only output folder fails here, before anything is written
        held = ScanLock(journal_path)
    with held:
        return _scan_locked(outputs, written, roots, custody_path, journal_path, plugins, settings, case, resume, sources,
                            progress, timings)


def _scan_locked(outputs: Sequence[Output], written: Sequence[Path], roots: list[str], custody_path: Path, journal_path: Path,
                 plugins: Sequence[Plugin], settings: ScanSettings, case: ScanCase, resume: bool,
                 sources: Sequence[ItemSource] | None, progress: bool, timings: ScanTimings | None) -> ScanReport:
    """The rest of :func:`run_scan`, under the lock on its outputs."""
    from tqdm import tqdm

    sources = list(sources) if sources is not None else [FileSource(roots)]
    # A source that merges or drops roots (FileSource) says why; the log and the report record it.
    evidence_warnings = [warning for source in sources for warning in getattr(source, "warnings", ())]
    timings = timings if timings is not None else ScanTimings()
    wall_start = time.perf_counter()

    resources: dict[str, Any] = {}
    known_sha256 = None
    if settings.known_hashes:
        resources["known_hashes"] = load_known_hashes(settings.known_hashes)
        with open(settings.known_hashes, "rb") as stream:
            known_sha256 = hash_stream(stream)[0]["sha256"]
    context = ScanContext(settings=asdict(settings), device=settings.device, resources=resources)
    parallel_count = 0
    while parallel_count < len(plugins) and plugins[parallel_count].runs_in_workers(context.settings):
        parallel_count += 1
    worker_plugins, main_plugins = list(plugins[:parallel_count]), list(plugins[parallel_count:])
    # Worker plugins start here too: a configuration error surfaces now, with its message,
    # rather than as a broken pool; inline runs (one worker) use these very instances, and
    # worker processes get unstarted copies (started plugins hold unpicklable resources).
    unstarted, worker_context = copy.deepcopy(worker_plugins), copy.deepcopy(context)
    _start_plugins(worker_plugins, context)
    for plugin in main_plugins:
        plugin.start_up(context)
    model_sha256 = resources.get("model_sha256")
    recorded_settings = {
        **asdict(settings),
        "known_hashes_sha256": known_sha256,
        "plugins": [f"{plugin.name} {plugin.version}" for plugin in plugins],
    }
    host = socket.gethostname()
    with output_failures():  # a read-only output folder fails here, before any item is read
        custody = CustodyLog(
            custody_path,
            {
                "tool_version": __version__,
                "model_sha256": model_sha256,
                "settings": recorded_settings,
                "command_line": case.command_line,
                "host": host,
                "case": case.case,
                "exhibit": case.exhibit,
                "examiner": case.examiner,
            },
        )
        decisive = {key: value for key, value in recorded_settings.items() if key not in ScanSettings.RUNTIME}
        journal = Journal(journal_path, {"evidence": roots, "settings": decisive, "model_sha256": model_sha256}, resume,
                          custody.recorded("item_analysed", "journal_sha256"))
    started = utc_now()
    items = list(expand_disk_images(item for source in sources for item in source.items()))
    resumed = [item.name for item in items if item.name in journal.done]
    present = {item.name for item in items}
    missing = [_missing_report(record) for name, record in journal.done.items() if name not in present]
    with output_failures():
        custody.append(
            "scan_resumed" if resume and custody.sequence else "scan_started",
            {"evidence": roots, "evidence_warnings": evidence_warnings, "items": len(items), "already_done": len(resumed),
             "outputs": [str(path) for path in written]},
        )
        for report in missing:
            custody.append("item_missing", {"item": report.name, "reason": report.reason})
    workers = settings.workers or os.cpu_count() or 1
    todo = [item for item in items if item.name not in journal.done]
    runner = _Runner(min(workers, max(1, len(todo))), unstarted, worker_context)
    bar = tqdm(total=len(items), initial=len(resumed), unit="item", desc="scan", disable=not progress, dynamic_ncols=True)
    try:
        batch: list[tuple[Item, dict[str, Finding]]] = []

        def flush() -> None:
            for plugin in main_plugins:
                chosen = [(item, found) for item, found in batch if item.kind in plugin.handles and not _decided(found)]
                if not chosen:
                    continue
                plugin_start = time.perf_counter()
                try:
                    results = plugin.process_batch([item for item, _ in chosen], [found for _, found in chosen])
                except Exception:  # retry one by one, so a failure marks only its own item
                    results = [_guarded(plugin, item, found) for item, found in chosen]
                for (_, found), finding in zip(chosen, results):
                    found[plugin.name] = finding
                timings.add({plugin.name: time.perf_counter() - plugin_start})
            records_start = time.perf_counter()
            for item, found in batch:
                report = _item_report(item, found)
                # Journal first: a kill between the two leaves a journal line the log never vouched for,
                # which --resume drops and redoes; the reverse would leave a vouched line missing.
                journal_sha256 = journal.append(report)
                custody.append(
                    "item_analysed",
                    {"item": item.name, "status": report.status.value, "reason": report.reason, "score": report.score,
                     "band": None if report.band is None else report.band.value, "faces": len(report.faces),
                     "journal_sha256": journal_sha256},
                )
                bar.update(1)
            batch.clear()
            timings.add({"records": time.perf_counter() - records_start})

        items_start = time.perf_counter()
        timings.add({"startup": items_start - wall_start})
        for item, (found, seconds) in zip(todo, runner.map(_run_parallel, todo, _crashed)):
            if "first_item" not in timings.stages:
                timings.add({"first_item": time.perf_counter() - items_start})
            timings.add(seconds)
            for finding in found.values():
                timings.add({f"{finding.plugin}.{stage}": value for stage, value in finding.data.get("seconds", {}).items()})
            hashed = found.get(HASHING)
            if hashed is not None and "sha256" in hashed.values:
                custody.append("item_hashed", {"item": item.name, **{key: hashed.values[key] for key in ("md5", "sha1", "sha256")}})
            batch.append((item, found))
            if len(batch) >= settings.batch_size:
                flush()
        if batch:
            flush()
        bar.close()
        timings.add({"items": time.perf_counter() - items_start})

        verify_start = time.perf_counter()
        after = list(runner.map(_rehash, items, lambda item: None))
        timings.add({"reverify": time.perf_counter() - verify_start})
    except OSError as error:  # plugins and rehashing keep their own errors: this is a custody or journal write
        raise output_error(error) from error
    finally:
        runner.close()
        for plugin in [*_WORKER_PLUGINS, *main_plugins]:
            plugin.shut_down()
        journal.close()
        bar.close()

    reports = []
    mismatches = []
    for item, hashes_after in zip(items, after):
        report = item_from_dict(journal.done[item.name])
        report.hashes_after = hashes_after if report.hashes else None
        if report.hash_verified is False:
            mismatches.append(item.name)
        reports.append(report)
    reports += missing
    with output_failures():
        custody.append(
            "hashes_reverified",
            {"items": sum(report.hashes_after is not None for report in reports), "mismatches": mismatches},
        )
    report = ScanReport(
        case=case.case,
        exhibit=case.exhibit,
        examiner=case.examiner,
        tool_version=__version__,
        model_sha256=model_sha256,
        model_card=resources.get("model_card", {}),
        settings=recorded_settings,
        command_line=list(case.command_line),
        host=host,
        started_utc=started,
        finished_utc=utc_now(),
        evidence=roots,
        items=reports,
        custody_log=str(custody_path),
        evidence_warnings=evidence_warnings,
    )
    # The reports carry the chain head as of scan_finished: the report_written
    # records, which name the reports' own hashes, can only follow it.
    with output_failures():
        report.custody_log_sha256 = custody.append("scan_finished", {"summary": report.summary})
        for output, path in zip(outputs, written):
            digest = write_output(output.render, report, path)
            custody.append("report_written", {"path": str(path), "sha256": digest})
        custody.seal()
        custody.close()
    timings.wall = time.perf_counter() - wall_start
    return report
