"""The analyse stage on a Dask cluster: the same per-item work as the local pool, on many machines.

``--cluster tcp://HOST:PORT`` connects to a running ``dask scheduler``;
``--cluster local:N`` starts an embedded ``LocalCluster`` of N worker
processes. Each worker starts the scan's worker-side plugins once, through a
Dask worker plugin, and is refused when its model's SHA-256 differs from the
coordinator's. Workers open the evidence by its path, so every worker must
see the same storage (an item whose file a worker cannot open is
"unreadable", the reason naming that worker and the path); the coordinator
alone writes the journal, the custody log and the reports. A worker that dies
mid-item has its items rerun elsewhere by the scheduler (its retries); a
scheduler that goes away ends the scan with :class:`ClusterError`, the
journal intact for ``--resume``.

Dask is an optional extra: ``pip install 'facexray-forensics[cluster]'``.
"""

from __future__ import annotations

import copy
import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import distributed
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from facexray_forensics import __version__
from facexray_forensics.evidence.files import display_name, open_read_only
from facexray_forensics.plugins import Plugin, ScanContext
from facexray_forensics.records import Finding, Item, Status, raw_path
from facexray_forensics.scan.executor import ClusterError, InOrder, ItemResult, analyse_item, read_limit, rehash_item
from facexray_forensics.scan.journal import ANALYSE_AGAIN
from facexray_forensics.scan.prepare import WorkerPlugins

# A scheduler or task lost; a plugin's own errors never get here (they become the item's outcome).
_LOST = (OSError, TimeoutError, FutureCancelledError, KilledWorker)

PLUGIN_NAME = "facexray-forensics-scan"
# Reruns of an item whose task failed outside the plugins (their errors are outcomes); the items of a
# worker that died the scheduler reassigns by itself, up to its own limit on workers killed by one item.
RETRIES = 3


class ScanWorker(distributed.WorkerPlugin):
    """Starts unstarted copies of the scan's worker-side plugins once per worker. A worker whose plugins
    cannot start, or whose model's SHA-256 differs from the coordinator's, records why it is refused."""

    name = PLUGIN_NAME

    def __init__(self, blueprints: list[Plugin], context: ScanContext, model_sha256: str | None):
        self.blueprints, self.context, self.model_sha256 = blueprints, context, model_sha256

    def setup(self, worker) -> None:
        context, started = copy.deepcopy(self.context), copy.deepcopy(self.blueprints)
        try:
            for plugin in started:
                plugin.start_up(context)
        except Exception as error:  # any start-up failure refuses this worker, not the scan
            worker.fxr_scan_refusal = f"its plugins could not start: {type(error).__name__}: {error}"
            return
        found = context.resources.get("model_sha256")
        if found != self.model_sha256:
            worker.fxr_scan_refusal = f"it loaded a model with SHA-256 {found}, not the coordinator's {self.model_sha256}"
            return
        worker.fxr_scan = (started, read_limit(context.settings))

    def teardown(self, worker) -> None:
        for plugin in getattr(worker, "fxr_scan", ((), 0))[0]:
            plugin.shut_down()


def _analyse_on_worker(item: Item) -> ItemResult:
    worker = distributed.get_worker()
    if not hasattr(worker, "fxr_scan"):  # a refused worker: the scheduler gives the item to another
        raise distributed.Reschedule()
    started, limit = worker.fxr_scan
    here = f"{socket.gethostname()} ({worker.address})"
    unseen = _unseen_here(item, here)
    result = ItemResult({"scan": unseen}, {}) if unseen else analyse_item(started, item, limit)
    result.worker = here
    return result


def _unseen_here(item: Item, here: str) -> Finding | None:
    """An "unreadable" finding when this worker cannot open the evidence file that holds the item (for a
    file inside a disk image, the image), which the coordinator opened when it listed it: a share not
    mounted here, or mounted at another path. Without it the item's reason would be the plugins' bare
    "cannot read", with nothing to say that the cause is this worker's view of the storage."""
    key = next((key for key in ("path", "image_path") if key in item.origin), None)
    if key is None or "file_type" in item.origin or "open_error" in item.origin:  # nothing is opened, or never was
        return None
    path = raw_path(item.origin, key)
    try:
        open_read_only(path).close()
    except OSError as error:
        reason = (f"the cluster worker on {here} could not read {display_name(path)}: {error.strerror or error}; "
                  "every worker must see the evidence at the path the coordinator listed it under")
        # Marked so that a --resume, once the storage is mounted here, analyses the item again.
        return Finding("scan", __version__, values={ANALYSE_AGAIN: True}, status=Status.UNREADABLE, reason=reason)
    return None


def _refusal(dask_worker) -> str | None:
    return getattr(dask_worker, "fxr_scan_refusal", None)


def _worker_version() -> dict[str, str]:
    import facexray_forensics

    return {"host": socket.gethostname(), "version": facexray_forensics.__version__}


class DaskExecutor:
    """Runs the analyse stage's items on a Dask cluster, yielding results in item order."""

    def __init__(self, address: str, plugins: WorkerPlugins, model_sha256: str | None):
        self.address = address
        self.cluster = None
        # Dask logs a lost scheduler with tracebacks; the examiner gets one ClusterError instead.
        self._log_levels = {name: logging.getLogger(name).level for name in _dask_loggers()}
        for name in self._log_levels:
            logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            if address.startswith("local:"):
                self.cluster = distributed.LocalCluster(n_workers=_local_size(address), threads_per_worker=1,
                                                        processes=True, dashboard_address=":0")
                self.client = distributed.Client(self.cluster, timeout=60)
            else:
                self.client = distributed.Client(address, timeout=30)
            self.client.wait_for_workers(1, timeout=120)
            self.client.register_plugin(ScanWorker(plugins.blueprints, plugins.context, model_sha256))
            self.refused = self._refuse_unverified()
        except ClusterError:
            self.close()
            raise
        except (OSError, TimeoutError, ValueError) as error:
            self.close()
            raise ClusterError(f"cannot start the scan on the cluster {address}: {type(error).__name__}: {error}") from None
        self.window = 4 * max(1, len(self.client.scheduler_info()["workers"]))

    def _refuse_unverified(self) -> dict[str, str]:
        """Retire the workers whose plugin start-up refused them; ClusterError when none is left."""
        refused = {address: reason for address, reason in self.client.run(_refusal).items() if reason}
        if refused and len(refused) == len(self.client.scheduler_info()["workers"]):
            raise ClusterError("every worker was refused: " + "; ".join(f"{a}: {r}" for a, r in refused.items()))
        if refused:
            self.client.retire_workers(list(refused), close_workers=True)
        return refused

    @property
    def dashboard(self) -> str | None:
        """The dashboard's address; None when the scheduler runs none."""
        return self.client.dashboard_link if "dashboard" in self.client.scheduler_info().get("services", {}) else None

    def describe(self) -> dict[str, Any]:
        """The scheduler, its dashboard, and each worker's host and facexray-forensics version."""
        return {"executor": "dask", "cluster": self.address, "dashboard": self.dashboard,
                "workers": self.client.run(_worker_version), "refused": self.refused}

    def map(self, items: Sequence[Item]) -> Iterator[ItemResult]:
        return self._ordered(_analyse_on_worker, items)

    def rehash(self, items: Sequence[Item]) -> Iterator[dict[str, str] | None]:
        return self._ordered(rehash_item, items)

    def close(self) -> None:
        for resource in (getattr(self, "client", None), self.cluster):
            if resource is not None:
                try:
                    resource.close()
                except (OSError, TimeoutError, RuntimeError):
                    pass  # a scheduler already gone has nothing left to close
        for name, level in self._log_levels.items():
            logging.getLogger(name).setLevel(level)

    def _ordered(self, function: Callable[[Item], Any], items: Sequence[Item]) -> Iterator:
        """``function(item)`` for each item on the cluster, at most ``window`` at a time, yielded in order."""
        # pure=False: the same item is analysed again on a resume, never taken from a cache.
        window = InOrder(lambda item: self.client.submit(function, item, pure=False, retries=RETRIES), self.window)
        try:
            yield from window.results(items, lambda item, future: future.result())
        except _LOST as error:
            raise ClusterError(f"the cluster {self.address} went away mid-scan ({type(error).__name__}: {error}); "
                               "every finished item is in the journal, and --resume continues, on a cluster or "
                               "locally") from None


def _dask_loggers() -> list[str]:
    """Dask's loggers: its configuration gives several their own levels, so the parent's alone is not enough."""
    return ["distributed", *(name for name in logging.root.manager.loggerDict if name.startswith("distributed."))]


def _local_size(address: str) -> int:
    count = address.removeprefix("local:")
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"--cluster local:N needs a number of workers N >= 1, got {address!r}")
    return int(count)
