"""The scan: evidence through plugins into a :class:`ScanReport`, in four stages.

1. prepare (:mod:`~facexray_forensics.scan.prepare`): outputs checked and
   locked, plugins started, the custody header and the journal opened;
2. enumerate (:mod:`~facexray_forensics.scan.enumeration`): evidence into
   items, disk images expanded, split by what a resume already holds;
3. analyse (:mod:`~facexray_forensics.scan.analyse`): each item through the
   plugins, by an :class:`~facexray_forensics.scan.executor.Executor`, into
   the journal and the custody log;
4. finish (:mod:`~facexray_forensics.scan.finish`): every item hashed again
   and compared, the report read back from the journal, the outputs
   rendered with their SHA-256 logged and written beside them, the log sealed.

Nothing is ever written inside the evidence tree or through a link: see
:mod:`facexray_forensics.scan.outputs`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from facexray_forensics.evidence import FileSource, ItemSource
from facexray_forensics.plugins import Plugin
from facexray_forensics.records import ScanReport
from facexray_forensics.scan.analyse import analyse
from facexray_forensics.scan.enumeration import Evidence, enumerate_evidence, log_start
from facexray_forensics.scan.executor import ClusterError, Executor, LocalExecutor
from facexray_forensics.scan.finish import build_report, verified_items, write_outputs
from facexray_forensics.scan.outputs import output_failures
from facexray_forensics.scan.prepare import OutputSet, StartedPlugins, claim_outputs, open_records, start_plugins
from facexray_forensics.scan.settings import Output, ScanCase, ScanSettings, ScanTimings


@dataclass
class Scan:
    """Scan ``evidence`` with ``plugins`` (instances, in run order) and write ``outputs``: ``Scan(...).run()``.

    Everything after ``plugins`` is a keyword with a default. ``sources``
    defaults to one :class:`FileSource` over ``evidence``. With ``resume``,
    items already in the journal are taken from it and the custody log's
    chain is continued; without it, an existing log or journal is refused.
    ``timings`` is filled with seconds per stage; ``notify`` gets lines for
    the examiner (the Dask dashboard's address).
    """

    evidence: Sequence[str | os.PathLike]
    outputs: Sequence[Output]
    plugins: Sequence[Plugin]
    _: KW_ONLY
    settings: ScanSettings = ScanSettings()
    case: ScanCase = field(default_factory=ScanCase)
    resume: bool = False
    sources: Sequence[ItemSource] | None = None
    progress: bool = True
    timings: ScanTimings = field(default_factory=ScanTimings)
    notify: Callable[[str], None] = lambda line: None  # a line for the examiner while the scan runs

    def run(self) -> ScanReport:
        """Run the four stages and return the report, once every output is written and the log sealed.

        Raises ValueError for a placement or configuration problem, and for a
        second scan of the same outputs while this one runs, before anything
        is written; :class:`~facexray_forensics.scan.outputs.OutputError` when
        the outputs cannot be written; and
        :class:`~facexray_forensics.scan.executor.ClusterError` when a
        ``cluster`` setting cannot be reached or goes away mid-scan.
        """
        roots = [os.path.abspath(os.fspath(root)) for root in self.evidence]
        paths = OutputSet.of(self.outputs)
        settings = self.settings.for_plugins(self.plugins)  # a bad setting is refused before anything is written
        with claim_outputs(paths, roots, self.resume):
            return self._run_locked(roots, paths, settings)

    def _run_locked(self, roots: list[str], paths: OutputSet, settings: dict[str, Any]) -> ScanReport:
        sources = list(self.sources) if self.sources is not None else [FileSource(roots)]
        wall_start = time.perf_counter()
        with contextlib.ExitStack() as running:
            plugins = start_plugins(self.plugins, settings, self.progress)
            running.callback(plugins.shut_down)
            cluster = running.enter_context(contextlib.closing(self._cluster(plugins))) if settings["cluster"] else None
            if cluster is not None:
                self._announce(cluster)
            records = open_records(paths, roots, plugins, self.case, self.resume)
            running.callback(records.journal.close)
            evidence = enumerate_evidence(sources, roots, records.journal)
            executor = cluster or running.enter_context(contextlib.closing(self._local_executor(plugins, evidence)))
            log_start(records, evidence, paths, self.resume, executor.describe())
            progress = running.enter_context(self._progress_bar(evidence))
            # Plugins and rehashing keep their own errors: an OSError here is a custody or journal write.
            with output_failures():
                self.timings.add({"startup": time.perf_counter() - wall_start})
                analyse(evidence.todo, executor, plugins.main, records, settings["batch_size"], self.timings, progress)
                hashes_after = self._rehash(executor, evidence)
        items = verified_items(evidence, hashes_after, records)
        report = build_report(items, evidence, records, plugins, self.case, paths)
        write_outputs(report, self.outputs, paths, records)
        self.timings.wall = time.perf_counter() - wall_start
        return report

    @staticmethod
    def _cluster(plugins: StartedPlugins) -> Executor:
        """The Dask executor, connected before any record is opened: a cluster that cannot start writes nothing."""
        try:
            from facexray_forensics.scan.cluster import DaskExecutor
        except ImportError:
            raise ClusterError("--cluster needs Dask: pip install 'facexray-forensics[cluster]'") from None

        return DaskExecutor(plugins.context.settings["cluster"], plugins.workers, plugins.context.resources.get("model_sha256"))

    def _announce(self, cluster) -> None:
        if cluster.dashboard:
            self.notify(f"Dask dashboard: {cluster.dashboard}")
        for address, reason in cluster.refused.items():
            self.notify(f"warning: cluster worker {address} refused and retired: {reason}")

    @staticmethod
    def _local_executor(plugins: StartedPlugins, evidence: Evidence) -> Executor:
        workers = plugins.context.settings["workers"] or os.cpu_count() or 1
        # No more processes than items to analyse: a resume with little left starts few, or none.
        return LocalExecutor(min(workers, max(1, len(evidence.todo))), plugins.workers)

    def _progress_bar(self, evidence: Evidence):
        from tqdm import tqdm

        return tqdm(total=len(evidence.items), initial=evidence.resumed, unit="item", desc="scan", disable=not self.progress,
                    dynamic_ncols=True)

    def _rehash(self, executor: Executor, evidence: Evidence) -> list[dict[str, str] | None]:
        start = time.perf_counter()
        hashes_after = list(executor.rehash(evidence.items))
        self.timings.add({"reverify": time.perf_counter() - start})
        return hashes_after
