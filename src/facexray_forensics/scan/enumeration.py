"""The second stage of a scan: evidence into items, disk images expanded, split by what a resume already holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from facexray_forensics.evidence import ItemSource
from facexray_forensics.evidence.disk_image.items import expand_disk_images
from facexray_forensics.records import Item, ItemReport, Status
from facexray_forensics.scan.journal import Journal, analyse_again, item_from_dict
from facexray_forensics.scan.outputs import output_failures
from facexray_forensics.scan.prepare import OutputSet, Records


@dataclass
class Evidence:
    """The scan's items in the sources' stable order, and how the journal splits them."""

    roots: list[str]
    warnings: list[str]  # how the sources took the roots (an overlap merged, a root given twice)
    items: list[Item]
    todo: list[Item]  # not in the journal yet
    resumed: int  # already in the journal
    missing: list[ItemReport]  # in the journal, but gone from the evidence since


def enumerate_evidence(sources: Sequence[ItemSource], roots: list[str], journal: Journal) -> Evidence:
    """Every item of every source, disk images expanded into their files, split by what ``journal`` holds;
    with what the sources decided about the roots (FileSource merges or drops some)."""
    warnings = [warning for source in sources for warning in source.warnings]
    items = list(expand_disk_images(item for source in sources for item in source.items()))
    present = {item.identity for item in items}
    missing = [missing_report(record) for identity, record in journal.done.items() if identity not in present]
    todo = [item for item in items if item.identity not in journal.done or analyse_again(journal.done[item.identity])]
    return Evidence(roots, warnings, items, todo, len(items) - len(todo), missing)


def missing_report(record: Mapping[str, Any]) -> ItemReport:
    """An item the interrupted run analysed that is gone at resume: unreadable now, its earlier result named.
    The journal keeps that result; the report does not present it as current."""
    report = item_from_dict(record)
    earlier = report.status.value if report.score is None else f"{report.status.value}, score {report.score:.3f}"
    report.reason = f"missing at resume: the file is gone since the interrupted run, which found it {earlier}"
    report.status, report.score, report.band, report.findings = Status.UNREADABLE, None, None, {}
    return report


def log_start(records: Records, evidence: Evidence, paths: OutputSet, resume: bool, executor: dict) -> None:
    """The custody records that open the item loop: what is to be scanned, on what, and each item gone since."""
    records.executor = executor
    with output_failures():
        records.custody.append(
            "scan_resumed" if resume and records.custody.sequence else "scan_started",
            {"evidence": evidence.roots, "evidence_warnings": evidence.warnings, "items": len(evidence.items),
             "already_done": evidence.resumed, "outputs": [str(path) for path in paths.reports], "executor": executor},
        )
        for report in evidence.missing:
            records.custody.append("item_missing", {"item": report.name, "reason": report.reason})
