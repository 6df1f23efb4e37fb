"""``fxr-forensic verify-log``: check a scan's hash-chained custody log."""

from __future__ import annotations

import sys

import click

EXIT_BROKEN = 4


@click.command("verify-log")
@click.argument("log", type=click.Path(dir_okay=False, exists=True))
@click.option("--expect", "expected", metavar="SHA256", help="The custody log SHA-256 a report prints (its scan_finished record); only report records may follow it, and LOG.head must seal the last one.")
def verify_log(log: str, expected: str | None) -> None:
    """Check every link of the custody LOG and name the first broken record.

    Each record holds its own SHA-256 and the SHA-256 of the line before it,
    so changing, removing or inserting any byte breaks the chain at that
    record. No later link covers the last record, so a finishing scan seals
    the log: LOG.head names the last record and its SHA-256 (LOG.head.next,
    written just before a sealed record, stands in for it when a kill came
    between the record and the seal's rename). A log that
    records a finished scan must be sealed at its last record (a missing
    seal is a failure); only a scan that never finished, or a resumed one
    still running, leaves records the seal does not cover, and the output
    says so. Each report the log names (report_written) is compared with
    its file, where the file is there: a changed report is a failure, a
    missing one is listed. With --expect, the log must also hold the record
    a report names (the scan_finished record, whose hash the PDF prints),
    nothing after it but the records of the written reports, and LOG.head,
    which catches a cut-off, replaced or extended tail.

    Exit status: 0 when the chain, its seal and the reports hold, 4 when
    anything is broken.

    \b
    Examples:
      fxr-forensic verify-log out/case.custody.jsonl
      fxr-forensic verify-log out/case.custody.jsonl --expect 3f2a...c9
    """
    from facexray_forensics.custody import verify_log as check

    result = check(log, expected)
    if not result.ok:
        click.echo(f"BROKEN at record {result.first_broken}: {result.reason}", err=True)
        sys.exit(EXIT_BROKEN)
    if result.sealed == result.records:
        sealed = "sealed at its last record"
    elif result.sealed is not None:
        sealed = (f"sealed at record {result.sealed}; records {result.sealed + 1} to {result.records} are a resumed scan "
                  "that has not finished, and its last record is not anchored")
    else:
        sealed = "not sealed: no scan finished in it (an interrupted scan), so its last record is not anchored"
    reports = f"{len(result.reports_matched)} report(s) match their records"
    click.echo(f"OK: {result.records} records, chain intact, {sealed}; {reports}; final SHA-256 {result.final_sha256}")
    for missing in result.reports_missing:
        click.echo(f"note: the report {missing} is not there, so its SHA-256 was not checked")
