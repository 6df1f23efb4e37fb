"""The third stage of a scan: each item through the plugins, into the journal and the custody log.

The leading plugins that run in workers (hashing, EXIF, faces: decoding and
detection; on a CPU also the face X-ray model) run through the
:class:`~facexray_forensics.scan.executor.Executor`, which returns results
in item order; the other plugins (the face X-ray model on a GPU) run in this
process on batches. Each finished :class:`ItemReport` goes to the journal
(fsynced), then the custody log records it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from facexray_forensics.evidence import unsupported_reason
from facexray_forensics.plugins import Plugin
from facexray_forensics.records import Band, Finding, Item, ItemReport, Status
from facexray_forensics.scan.executor import HASHING, Executor, ItemResult, decided, guarded
from facexray_forensics.scan.prepare import Records
from facexray_forensics.scan.settings import ScanTimings

HASH_NAMES = ("md5", "sha1", "sha256")


@dataclass
class Pending:
    """An item back from the executor, waiting for the main-process plugins of its batch."""

    item: Item
    findings: dict[str, Finding]
    worker: str | None = None  # the cluster worker that analysed it


def analyse(todo: Sequence[Item], executor: Executor, plugins: Sequence[Plugin], records: Records, batch_size: int,
            timings: ScanTimings, progress: Any) -> None:
    """Analyse and record every item of ``todo``; ``plugins`` are the main-process ones, run per batch."""
    start = time.perf_counter()
    batch: list[Pending] = []
    for item, result in zip(todo, executor.map(todo)):
        if "first_item" not in timings.stages:
            timings.add({"first_item": time.perf_counter() - start})
        _add_seconds(timings, result)
        hashed = result.findings.get(HASHING)
        if hashed is not None and "sha256" in hashed.values:
            records.custody.append("item_hashed", {"item": item.name, **{key: hashed.values[key] for key in HASH_NAMES}})
        batch.append(Pending(item, result.findings, result.worker))
        if len(batch) >= batch_size:
            _finish_batch(batch, plugins, records, timings, progress)
            batch = []
    if batch:
        _finish_batch(batch, plugins, records, timings, progress)
    progress.close()
    timings.add({"items": time.perf_counter() - start})


def _add_seconds(timings: ScanTimings, result: ItemResult) -> None:
    """Each plugin's time, and the stages a plugin timed itself ("faces.detect")."""
    timings.add(result.seconds)
    for finding in result.findings.values():
        timings.add({f"{finding.plugin}.{stage}": value for stage, value in finding.stage_seconds.items()})


def _finish_batch(batch: Sequence[Pending], plugins: Sequence[Plugin], records: Records, timings: ScanTimings,
                  progress: Any) -> None:
    for plugin in plugins:
        _run_batched(plugin, batch, timings)
    start = time.perf_counter()
    for pending in batch:
        report = item_report(pending.item, pending.findings)
        # Journal first: a kill between the two leaves a journal line the log never vouched for,
        # which --resume drops and redoes; the reverse would leave a vouched line missing.
        journal_sha256 = records.journal.append(report)
        records.custody.append(
            "item_analysed",
            {"item": report.name, "status": report.status.value, "reason": report.reason, "score": report.score,
             "band": None if report.band is None else report.band.value, "faces": len(report.faces),
             "journal_sha256": journal_sha256, **({"worker": pending.worker} if pending.worker else {})},
        )
        progress.update(1)
    timings.add({"records": time.perf_counter() - start})


def _run_batched(plugin: Plugin, batch: Sequence[Pending], timings: ScanTimings) -> None:
    """One main-process plugin over the batch's items it handles that no finding has decided yet."""
    chosen = [pending for pending in batch if pending.item.kind in plugin.handles and not decided(pending.findings)]
    if not chosen:
        return
    start = time.perf_counter()
    try:
        results = plugin.process_batch([pending.item for pending in chosen], [pending.findings for pending in chosen])
    except Exception:  # retry one by one, so a failure marks only its own item
        results = [guarded(plugin, pending.item, pending.findings) for pending in chosen]
    for pending, finding in zip(chosen, results):
        pending.findings[plugin.name] = finding
    timings.add({plugin.name: time.perf_counter() - start})


def item_report(item: Item, findings: dict[str, Finding]) -> ItemReport:
    """Combine an item's findings: the first decided status wins; the score is the max over faces,
    or the aggregate a plugin states (a video's best face track)."""
    hashed = findings[HASHING].values if HASHING in findings else {}
    status, reason = _outcome(item, findings)
    score, band = _score(findings) if status is Status.SCORED else (None, None)
    for finding in findings.values():
        finding.crops = []  # face crops are never journalled or rendered
    return ItemReport(
        name=item.name,
        kind=item.kind,
        mime=item.mime,
        size=item.size,
        origin=item.origin,
        status=status,
        reason=reason,
        hashes={key: hashed[key] for key in HASH_NAMES if key in hashed},
        hashes_after=None,
        score=score,
        band=band,
        findings=findings,
    )


def _outcome(item: Item, findings: Mapping[str, Finding]) -> tuple[Status, str | None]:
    decided_by = [finding for finding in findings.values() if finding.status not in (None, Status.SCORED)]
    if decided_by:
        return decided_by[0].status, decided_by[0].reason
    if any(finding.faces for finding in findings.values()):
        return Status.SCORED, None
    if item.kind in ("image", "video"):  # decodable, but no selected plugin scores faces (--no-plugin face_xray)
        return Status.UNSUPPORTED, f"no selected plugin scores the faces of {item.kind} items"
    return Status.UNSUPPORTED, unsupported_reason(item)


def _score(findings: Mapping[str, Finding]) -> tuple[float, Band]:
    """A scored item's score and band: a plugin's own aggregate (a video's face tracks) wins over the best face."""
    stated = [finding for finding in findings.values() if finding.score is not None]
    if stated:
        return stated[-1].score, stated[-1].band
    best = max((face for finding in findings.values() for face in finding.faces), key=lambda face: face.score)
    return best.score, best.band
