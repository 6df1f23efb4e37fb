"""Executors: the per-item work of a scan, with results in item order.

The analyse stage hands an :class:`Executor` the items and reads back one
:class:`ItemResult` each, in the same order, so the output never depends on
timing; the finish stage has it hash every item again. :class:`LocalExecutor`
does both in a pool of worker processes on this machine, or inline for one
worker; :class:`~facexray_forensics.scan.cluster.DaskExecutor` on a Dask
cluster, with the same methods.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import io
import itertools
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from facexray_forensics import __version__
from facexray_forensics.evidence import hash_stream
from facexray_forensics.plugins import Plugin, ScanContext
from facexray_forensics.records import Finding, Item, Status
from facexray_forensics.scan.prepare import WorkerPlugins


@dataclass
class ItemResult:
    """What the worker-side plugins found about one item, by plugin name, and the seconds each took."""

    findings: dict[str, Finding]
    seconds: dict[str, float]
    worker: str | None = None  # which cluster worker analysed it; None on this machine


class ClusterError(Exception):
    """A cluster cannot run or finish the scan: unreachable, no worker, or its scheduler went away mid-scan."""


class Executor(Protocol):
    """Runs the per-item work of a scan; every method yields in item order."""

    def map(self, items: Sequence[Item]) -> Iterator[ItemResult]:
        """Each item through the worker-side plugins."""

    def rehash(self, items: Sequence[Item]) -> Iterator[dict[str, str] | None]:
        """Each item's hashes read again, or None where it cannot be reread."""

    def close(self) -> None:
        """Stop the workers; queued items are dropped."""

    def describe(self) -> dict[str, Any]:
        """What ran the items, for the custody log and the report: the executor, its workers and their versions."""


def decided(findings: Mapping[str, Finding]) -> bool:
    """Whether a finding has settled the item's outcome, so later plugins skip it."""
    return any(finding.status not in (None, Status.SCORED) for finding in findings.values())


def guarded(plugin: Plugin, item: Item, findings: Mapping[str, Finding]) -> Finding:
    """A plugin's finding; an unexpected exception becomes an "unreadable" finding with its reason."""
    try:
        return plugin.process(item, findings)
    except Exception as error:  # one bad item must never stop the scan
        return Finding(plugin.name, plugin.version, status=Status.UNREADABLE, reason=f"{plugin.name} failed: {type(error).__name__}: {error}")


HASHING = "hashing"  # the plugin whose values are an item's md5/sha1/sha256


def analyse_item(plugins: Sequence[Plugin], item: Item, read_limit: int) -> ItemResult:
    """Run ``plugins`` in order on one item, until one decides its outcome.

    Every plugin reads the same bytes: the item's, read once into memory when
    it has at most ``read_limit`` bytes. A larger item is streamed by each
    plugin, so its hash is read again afterwards, and a change fails the item.
    """
    result = ItemResult({}, {})
    read = read_once(item, read_limit)
    for plugin in plugins:
        if item.kind not in plugin.handles or decided(result.findings):
            continue
        start = time.perf_counter()
        result.findings[plugin.name] = guarded(plugin, read, result.findings)
        result.seconds[plugin.name] = time.perf_counter() - start
    # A disk image is read by its plugin through its own library, and hashed again by the finish
    # stage: a third full read here would add nothing but time.
    if read is item and item.kind != "disk_image" and len(result.findings) > 1:
        changed = changed_while_analysed(item, result.findings)
        if changed is not None:
            result.findings = {changed.plugin: changed, **result.findings}  # first, so it decides the outcome
    return result


def read_once(item: Item, limit: int) -> Item:
    """The item, its ``open`` serving one in-memory copy of its bytes; the item itself when that copy
    cannot be made: over ``limit`` bytes, not a regular file, unreadable (its plugins then meet the
    error), or a disk image, which its plugin opens by path through its own library."""
    if "file_type" in item.origin or "open_error" in item.origin or item.kind == "disk_image" or item.size > limit:
        return item
    try:
        with item.open() as stream:
            data = stream.read(limit + 1)
    except OSError:
        return item
    if len(data) > limit:  # it grew past the limit since it was listed
        return item
    return dataclasses.replace(item, open=functools.partial(io.BytesIO, data))


def changed_while_analysed(item: Item, findings: Mapping[str, Finding]) -> Finding | None:
    """For an item the plugins each streamed: an "unreadable" finding if its bytes no longer hash as
    they did when the hashing plugin read them, since its results may then come from other bytes."""
    hashed = findings.get(HASHING)
    if hashed is None or "sha256" not in hashed.values:
        return None
    again = rehash_item(item)
    if again is not None and again["sha256"] == hashed.values["sha256"]:
        return None
    after = "could not be read again" if again is None else f"read SHA-256 {again['sha256']} afterwards"
    reason = (f"changed while it was analysed: hashed as SHA-256 {hashed.values['sha256']}, {after}; "
              "its results may come from other bytes than those hashed")
    return Finding("scan", __version__, status=Status.UNREADABLE, reason=reason)


def rehash_item(item: Item) -> dict[str, str] | None:
    """The item's hashes read again; None for what was never hashed (a link, an unopenable file)."""
    if "file_type" in item.origin or "open_error" in item.origin:
        return None
    try:
        with item.open() as stream:
            return hash_stream(stream)[0]
    except OSError:
        return None


def crashed(item: Item) -> ItemResult:
    reason = "the worker process died while reading this item (a decoder crash); nothing was recorded for it"
    return ItemResult({"scan": Finding("scan", __version__, status=Status.UNREADABLE, reason=reason)}, {})


# ---- in item order, on any pool ----------------------------------------------------------


class InOrder:
    """Items through ``submit`` (which returns a future: the pool's or Dask's), at most ``size`` at a time,
    their results read in item order.

    In order: the output never depends on which worker finishes first. At most
    ``size``: results (face crops) never pile up while a later stage is the slow one.
    """

    def __init__(self, submit: Callable[[Item], Any], size: int):
        self.submit, self.size = submit, size
        self.pending: collections.deque[tuple[Item, Any]] = collections.deque()

    def results(self, items: Iterable[Item], result: Callable[[Item, Any], Any]) -> Iterator:
        """``result(item, future)`` for each item, in order; nothing is submitted before the first is asked for."""
        upcoming = iter(items)
        self.pending.extend((item, self.submit(item)) for item in itertools.islice(upcoming, self.size))
        while self.pending:
            item, future = self.pending.popleft()
            value = result(item, future)
            # Top up before yielding, so the workers stay busy while the caller uses the value.
            self.pending.extend((following, self.submit(following)) for following in itertools.islice(upcoming, 1))
            yield value

    def resubmit(self) -> None:
        """Submit every waiting item again, after the pool that held their futures was restarted."""
        self.pending = collections.deque((item, self.submit(item)) for item, _ in self.pending)


# ---- inside a worker process -------------------------------------------------------------

_WORKER_PLUGINS: list[Plugin] = []
_WORKER_SETTINGS: dict[str, Any] = {}


def _start_in_worker(plugins: Sequence[Plugin], context: ScanContext) -> None:
    _WORKER_PLUGINS[:] = plugins
    _WORKER_SETTINGS.update(context.settings)
    for plugin in plugins:
        plugin.start_up(context)


def _analyse_in_worker(item: Item) -> ItemResult:
    return analyse_item(_WORKER_PLUGINS, item, read_limit(_WORKER_SETTINGS))


def read_limit(settings: Mapping[str, Any]) -> int:
    """How many bytes of an item are read once into memory: the decoders' byte limit."""
    return settings["max_bytes"]


# ---- on this machine ---------------------------------------------------------------------


class LocalExecutor:
    """A pool of ``workers`` processes, or inline for one worker.

    At most ``4 * workers`` items are in flight, so results (face crops) never
    pile up while the model is the slow stage. A worker that dies (a
    decoder crashing on hostile input) does not hang or end the scan: the
    pool is restarted, the item in front is tried once more on its own, and
    if it kills that worker too, it gets the stand-in result (``crashed``).
    """

    def __init__(self, workers: int, plugins: WorkerPlugins):
        self.workers = workers
        self.plugins = plugins
        self.window = 4 * workers
        self.pool: ProcessPoolExecutor | None = None
        if workers > 1:
            self._start()

    def map(self, items: Sequence[Item]) -> Iterator[ItemResult]:
        if self.pool is None:
            limit = read_limit(self.plugins.context.settings)
            return (analyse_item(self.plugins.started, item, limit) for item in items)
        return self._ordered(_analyse_in_worker, items, crashed)

    def rehash(self, items: Sequence[Item]) -> Iterator[dict[str, str] | None]:
        if self.pool is None:
            return map(rehash_item, items)
        return self._ordered(rehash_item, items, lambda item: None)

    def describe(self) -> dict[str, Any]:
        return {"executor": "local", "processes": self.workers if self.pool is not None else 0}

    def close(self) -> None:
        if self.pool is not None:
            # After an interrupt, queued items are dropped rather than analysed; --resume redoes them.
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _start(self) -> None:
        # spawn: workers must not inherit this process's torch or OpenCV threads.
        self.pool = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_in_worker,
            initargs=(self.plugins.blueprints, self.plugins.context),
        )

    def _restart(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self._start()

    def _ordered(self, function: Callable[[Item], Any], items: Sequence[Item], on_crash: Callable[[Item], Any]) -> Iterator:
        """``function(item)`` for each item in the pool, yielded in order."""
        window = InOrder(lambda item: self.pool.submit(function, item), self.window)

        def result(item: Item, future) -> Any:
            try:
                return future.result()
            except BrokenProcessPool:
                retried = self._retry_alone(function, item, on_crash)
                window.resubmit()  # the dead pool took the other waiting items with it
                return retried

        return window.results(items, result)

    def _retry_alone(self, function: Callable[[Item], Any], item: Item, on_crash: Callable[[Item], Any]) -> Any:
        self._restart()
        try:
            return self.pool.submit(function, item).result()
        except BrokenProcessPool:
            self._restart()
            return on_crash(item)
