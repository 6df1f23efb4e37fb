"""The ``fxr-forensic`` command line: a thin click group over the library.

Examiners use the top-level commands (scan, verify-log, plugins); researchers
the groups data, model and bench, one module each.

Exit codes (every command):

\b
  0  success, nothing flagged
  1  usage or configuration error (bad option, output inside evidence, ...)
  2  click's own usage error
  3  scan finished and at least one item was flagged (moderate or strong)
  4  scan finished but at least one item failed (unreadable, hash mismatch, ...);
     verify-log: the custody chain, its seal or a report it names does not hold
"""

import click

from facexray_forensics import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fxr-forensic")
def main() -> None:
    """Find forged faces in images and videos by their blending boundary.

    \b
    Examiners: scan, verify-log, plugins.
    Researchers: data (faces, splits, evaluation sets, blends), model (train,
    export, card, evaluate) and bench.

    Example: fxr-forensic scan evidence/ --report out/case.pdf
    """


from facexray_forensics.cli.bench import bench  # noqa: E402
from facexray_forensics.cli.data import data  # noqa: E402
from facexray_forensics.cli.model import model  # noqa: E402
from facexray_forensics.cli.moved import add_moved_commands  # noqa: E402
from facexray_forensics.cli.plugins import plugins  # noqa: E402
from facexray_forensics.cli.scan import scan  # noqa: E402
from facexray_forensics.cli.verify_log import verify_log  # noqa: E402

for command in (scan, verify_log, plugins, data, model, bench):
    main.add_command(command)
add_moved_commands(main)
