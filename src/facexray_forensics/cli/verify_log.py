"""``fxr-forensic verify-log``: check a scan's hash-chained custody log."""

from __future__ import annotations

import os
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
    record. With --expect, the log must also hold the record a report names
    (the scan_finished record, whose hash the PDF prints) and nothing after it
    but the records of the written reports, which catches a cut-off, replaced
    or extended tail. No later link covers the last record, so a finished
    scan seals the log: LOG.head names the last record and its SHA-256, and
    is checked whenever it is there (with --expect it must be).

    Exit status: 0 when the chain holds, 4 when it is broken.

    \b
    Examples:
      fxr-forensic verify-log out/case.custody.jsonl
      fxr-forensic verify-log out/case.custody.jsonl --expect 3f2a...c9
    """
    from facexray_forensics.custody import seal_path
    from facexray_forensics.custody import verify_log as check

    result = check(log, expected)
    if result.ok:
        sealed = "sealed" if os.path.exists(seal_path(log)) else "not sealed (no LOG.head: the last record is not anchored)"
        click.echo(f"OK: {result.records} records, chain intact, {sealed}; final SHA-256 {result.final_sha256}")
        return
    click.echo(f"BROKEN at record {result.first_broken}: {result.reason}", err=True)
    sys.exit(EXIT_BROKEN)
