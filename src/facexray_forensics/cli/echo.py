"""How commands that return a plain dict print it: JSON, or aligned key: value lines."""

import json

import click


def emit(result: dict, as_json: bool) -> None:
    """Print ``result`` as indented JSON with sorted keys, or one aligned ``key: value`` line per key."""
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    width = max((len(str(key)) for key in result), default=0)
    for key, value in result.items():
        click.echo(f"{key:>{width}}: {value}")
