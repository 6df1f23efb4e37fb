"""``fxr-forensic plugins``: list the scan plugins that are installed."""

import json

import click


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list instead of a table.")
@click.option("--check", is_flag=True, help="Also start each plugin up (the model loads and is verified) and report failures.")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="With --check: the model weights directory the scan would use.")
@click.option("--device", default="cpu", show_default=True, help="With --check: cpu, cuda or cuda:N.")
def plugins(as_json: bool, check: bool, model_dir: str | None, device: str) -> None:
    """List the scan's plugins, built-in and third-party, in the order a scan runs them.

    Each line gives the plugin's name, version, the item kinds it handles and
    the package that provides it. Third-party plugins register under the
    entry-point group facexray_forensics.plugins; one that fails to load or
    breaks the plugin interface is listed with the reason, and a scan leaves
    it out.

    With --check each usable plugin is also started and shut down, as a scan
    would, so a missing or corrupt model shows here before a long scan; the
    command then exits 1 when any plugin failed to start.

    Example: fxr-forensic plugins --check --model weights/ --json
    """
    from dataclasses import replace

    from facexray_forensics.plugins import ScanContext, discover_plugins, start_up_problems
    from facexray_forensics.scan import BUILTIN_PLUGINS, ScanSettings

    entries = discover_plugins(BUILTIN_PLUGINS)
    if check:
        usable = [entry.plugin for entry in entries if entry.plugin is not None]
        context = ScanContext(settings=ScanSettings(model_dir=model_dir, device=device).for_plugins(usable), device=device)
        problems = start_up_problems(usable, context)
        entries = [
            replace(entry, plugin=None, error=f"failed to start: {problems[entry.name]}") if problems.get(entry.name) else entry
            for entry in entries
        ]
    if as_json:
        click.echo(json.dumps([entry.as_dict() for entry in entries], indent=2))
    else:
        _print_table(entries)
    if check and any(problems.values()):
        raise SystemExit(1)


def _print_table(entries) -> None:
    """Aligned columns of the usable and broken plugins, then why each broken one is left out."""
    rows = [("NAME", "VERSION", "HANDLES", "SOURCE")]
    for entry in entries:
        source = f"{entry.source} {entry.source_version or ''}".strip()
        if entry.builtin:
            source += " (built-in)"
        rows.append((entry.name, entry.version or "?", ",".join(entry.handles) or "?", source))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    broken = [entry for entry in entries if entry.error is not None]
    if broken:
        click.echo("\nNot usable (a scan leaves these out):")
        for entry in broken:
            click.echo(f"  {entry.name} from {entry.source} ({entry.entry_point}): {entry.error}")
