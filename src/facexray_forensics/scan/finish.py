"""The last stage of a scan: hashes verified, the report built from the journal, outputs rendered, the log sealed."""

from __future__ import annotations

from collections.abc import Sequence

from facexray_forensics import __version__
from facexray_forensics.custody import utc_now
from facexray_forensics.records import ItemReport, ScanReport
from facexray_forensics.scan.enumeration import Evidence
from facexray_forensics.scan.journal import item_from_dict
from facexray_forensics.scan.outputs import output_failures, write_output
from facexray_forensics.scan.prepare import OutputSet, Records, StartedPlugins
from facexray_forensics.scan.settings import Output, ScanCase


# Said of an item whose bytes hash otherwise at the end (changed in place, or swapped before a --resume).
CHANGED_SINCE_ANALYSED = ("its bytes changed after they were hashed and analysed (SHA-256 at the end differs): "
                          "the results are those of the earlier bytes")


def verified_items(evidence: Evidence, hashes_after: Sequence[dict[str, str] | None], records: Records) -> list[ItemReport]:
    """Every item's report as the journal holds it, with its hashes read again; log how many and which differ.

    The journal, not memory, is the source: a resumed item reads exactly as
    the interrupted run recorded it, and one whose bytes changed since says so
    in its reason. Items gone since that run come last.
    """
    reports = []
    mismatches = []
    for item, hashes in zip(evidence.items, hashes_after):
        report = item_from_dict(records.journal.done[item.identity])
        report.hashes_after = hashes if report.hashes else None
        if report.hash_verified is False:
            mismatches.append(item.name)
            report.reason = "; ".join(filter(None, [report.reason, CHANGED_SINCE_ANALYSED]))
        reports.append(report)
    reports += evidence.missing
    with output_failures():
        records.custody.append(
            "hashes_reverified",
            {"items": sum(report.hashes_after is not None for report in reports), "mismatches": mismatches},
        )
    return reports


def build_report(items: list[ItemReport], evidence: Evidence, records: Records, plugins: StartedPlugins, case: ScanCase,
                 paths: OutputSet) -> ScanReport:
    return ScanReport(
        case=case.case,
        exhibit=case.exhibit,
        examiner=case.examiner,
        tool_version=__version__,
        model_sha256=records.model_sha256,
        model_card=plugins.context.resources.get("model_card", {}),
        settings={**records.settings, "executor": records.executor},
        command_line=list(case.command_line),
        host=records.host,
        started_utc=records.started_utc,
        finished_utc=utc_now(),
        evidence=evidence.roots,
        items=items,
        custody_log=str(paths.custody),
        evidence_warnings=evidence.warnings,
        columns={plugin.name: plugin.columns for plugin in plugins.in_run_order() if plugin.columns},
    )


def write_outputs(report: ScanReport, outputs: Sequence[Output], paths: OutputSet, records: Records) -> None:
    """Close the chain with scan_finished, render each output (with its .sha256), log each, and seal the log.

    The reports carry the chain head as of scan_finished: the report_written
    records, which name the reports' own hashes, can only follow it. The log
    is sealed with each of these records, not only at the end: a log that
    records a finished scan must be sealed at its last record, so one whose
    finish failed (a full disk: exit 5) or was killed while rendering stays
    checkable, and --resume continues it.
    """
    with output_failures():
        report.custody_log_sha256 = records.custody.append("scan_finished", {"summary": report.summary}, seal=True)
        for output, path in zip(outputs, paths.reports):
            digest = write_output(output.render, report, path)
            records.custody.append("report_written", {"path": str(path), "sha256": digest}, seal=True)
        records.custody.close()
