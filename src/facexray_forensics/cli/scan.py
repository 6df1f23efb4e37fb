"""``fxr-forensic scan``: forensic triage of evidence into PDF, JSON and CSV reports."""

from __future__ import annotations

import sys

import click

EXIT_FLAGGED = 3
EXIT_FAILED = 4
EXIT_OUTPUTS_UNWRITTEN = 5
EXIT_CLUSTER_LOST = 6

_CLICK_TYPES = {
    "int": lambda setting: click.INT if setting.minimum is None else click.IntRange(min=setting.minimum),
    "float": lambda setting: click.FLOAT if setting.minimum is None else click.FloatRange(min=setting.minimum),
    "text": lambda setting: click.STRING,
    "choice": lambda setting: click.Choice(setting.choices),
    "file": lambda setting: click.Path(dir_okay=False, exists=True),
    "folder": lambda setting: click.Path(file_okay=False, exists=True),
}


def setting_options(command):
    """Give ``command`` an option for each setting the scan and its installed plugins declare."""
    from facexray_forensics.scan import installed_setting_table

    for setting in reversed(installed_setting_table().values()):
        command = click.option(setting.flag, setting.name, type=_CLICK_TYPES[setting.kind](setting),
                               default=setting.default, show_default=setting.default is not None, help=setting.help)(command)
    return command


def given_settings(settings: dict) -> dict:
    """The settings the command line gave; those left at their defaults are left to the scan, which
    refuses a given one that none of its plugins reads."""
    context = click.get_current_context()
    return {name: value for name, value in settings.items()
            if context.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT}


@click.command("scan")
@click.argument("evidence", nargs=-1, required=True, type=click.Path(exists=False))
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Write the examiner's PDF report here (and PATH.sha256 beside it).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the JSON report here: one record per item, see the schema in the package.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write a CSV table here: one row per item.")
@click.option("--case-uco", "case_uco_path", type=click.Path(dir_okay=False), help="Write a CASE/UCO JSON-LD graph here (investigation, examiner, tool, files with hashes, the action and its results); it passes case_validate.")
@click.option("--dfxml", "dfxml_path", type=click.Path(dir_okay=False), help="Write DFXML here: a fileobject per item with its hash digests, the tool as creator.")
@click.option("--case", help="Case number or name, recorded on every custody record and in the reports.")
@click.option("--exhibit", help="Exhibit or evidence number.")
@click.option("--examiner", help="Name of the examiner running the scan.")
@click.option("--resume", is_flag=True, help="Continue an interrupted scan with the same outputs: finished items are kept, the custody log's chain is continued.")
@click.option("--xray-images", "xray_images_path", type=click.Path(dir_okay=False), help="Write each scored face's X-ray map as a PNG beside this JSON index of them (with their SHA-256).")
@click.option("--plugin", "only_plugins", multiple=True, metavar="NAME", help="Run only this plugin, those it requires and hashing; repeat for more (see fxr-forensic plugins).")
@click.option("--no-plugin", "excluded_plugins", multiple=True, metavar="NAME", help="Leave this plugin out; repeat for more.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@setting_options
def scan(evidence, report_path, json_path, csv_path, case_uco_path, dfxml_path, case, exhibit, examiner, resume,
         xray_images_path, only_plugins, excluded_plugins, quiet, **settings) -> None:
    """Scan EVIDENCE (files and folders) for faces forged by blending.

    Folders are walked recursively; links are recorded, never followed. Each
    file's type is read from its content. Videos are sampled evenly in time;
    disk images (raw/dd and E01) are read in place, never mounted, and each
    file inside, deleted ones included, is an item of its own. Every item is
    hashed (MD5, SHA-1, SHA-256) before analysis and again at the end; each
    face gets a box, 68 landmarks, an X-ray map, a calibrated probability and
    a verbal band, and an item's score is the highest of its faces (a
    video's: its best face track's). Items without a score say why: no_face, face_too_small, unreadable, unsupported, too_large,
    known_file or container (a disk image: its files are items of their own). Evidence is opened read-only and never written to; output
    paths inside the evidence are refused.

    Beside the first output, the scan writes NAME.custody.jsonl, the
    hash-chained custody log (check it with fxr-forensic verify-log), sealed
    at the end by NAME.custody.jsonl.head, and NAME.journal.jsonl, the
    per-item journal that --resume continues from; the log records each
    journal line's SHA-256, so an edited journal is refused. While a scan
    runs it holds NAME.journal.jsonl.lock: a second scan of the same
    outputs is refused.

    Exit status: 0 nothing flagged, 3 at least one item flagged (moderate or
    strong), 4 at least one item failed (unreadable, or its hashes changed
    during the scan; 4 wins over 3), 1 the scan could not start, 5 the
    outputs could not be written (a read-only folder, a full disk): finished
    items stay in the journal, and --resume completes the scan; 6 the
    --cluster could not be reached or went away mid-scan (--resume continues).

    \b
    Examples:
      fxr-forensic scan evidence/ --report out/case.pdf --case 2026-117 --exhibit EX1 --examiner "A. Smith"
      fxr-forensic scan card.img.d/ photos/ --json out/scan.json --csv out/scan.csv --workers 2
      fxr-forensic scan evidence/ --report out/case.pdf --resume
      fxr-forensic scan evidence/ --json out/scan.json --known-hashes nsrl.csv --model weights/ --device cuda
      fxr-forensic scan seized/disk.E01 --report out/case.pdf --case-uco out/case.jsonld --dfxml out/case.dfxml
    """
    from facexray_forensics.scan import ReportFiles, ScanCase, ScanSettings, scan_to_files
    from facexray_forensics.scan.executor import ClusterError
    from facexray_forensics.scan.outputs import OutputError

    files = ReportFiles(report=report_path, json=json_path, csv=csv_path, case_uco=case_uco_path, dfxml=dfxml_path,
                        xray_images=xray_images_path)
    if not files.requested():
        raise click.UsageError("give at least one of --report, --json, --csv, --case-uco or --dfxml")
    given = ScanSettings(**given_settings(settings))
    try:
        report = scan_to_files(evidence, files, given, ScanCase(case, exhibit, examiner, list(sys.argv)), only=only_plugins,
                               exclude=excluded_plugins, resume=resume, progress=not quiet, warn=lambda line: click.echo(f"fxr-forensic scan: {line}", err=True))
    except ValueError as error:
        click.echo(f"fxr-forensic scan: {error}", err=True)
        sys.exit(1)
    except OutputError as error:
        click.echo(f"fxr-forensic scan: {error}", err=True)
        sys.exit(EXIT_OUTPUTS_UNWRITTEN)
    except ClusterError as error:
        click.echo(f"fxr-forensic scan: {error}", err=True)
        sys.exit(EXIT_CLUSTER_LOST)
    for warning in report.evidence_warnings:
        click.echo(f"fxr-forensic scan: warning: {warning}", err=True)
    summary = report.summary
    click.echo(
        f"{summary['items']} items: {summary['scored']} scored, {summary['flagged']} flagged, "
        f"{summary['failed']} failed; custody log {report.custody_log}",
        err=True,
    )
    if report.failed:
        sys.exit(EXIT_FAILED)
    if report.flagged:
        sys.exit(EXIT_FLAGGED)
