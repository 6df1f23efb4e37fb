"""``fxr-forensic bench ...``: benchmarks that print one JSON object each."""

import json

import click


@click.group()
def bench() -> None:
    """Measure speed. Each subcommand prints one JSON object on stdout.

    Example: fxr-forensic bench ops --size 256 --json
    """


def emit(result: dict, as_json: bool) -> None:
    """Print a benchmark result, as JSON or as aligned key: value lines."""
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        for key, value in result.items():
            click.echo(f"{key:>20}: {value}")
