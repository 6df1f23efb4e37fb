"""The ``fxr-forensic`` command line: a thin click group over the library.

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

    Example: fxr-forensic scan evidence/ --report out/case.pdf
    """


from facexray_forensics.cli.bench import bench  # noqa: E402

main.add_command(bench)

from facexray_forensics.cli.scan import scan  # noqa: E402

main.add_command(scan)

from facexray_forensics.cli.verify_log import verify_log  # noqa: E402

main.add_command(verify_log)

from facexray_forensics.cli.train import train_command  # noqa: E402

main.add_command(train_command)

from facexray_forensics.cli.evaluate import (  # noqa: E402
    evaluate_command,
    evaluation_set_command,
    export_command,
    model_card_command,
    split_command,
)

main.add_command(evaluate_command)
main.add_command(split_command)
main.add_command(export_command)
main.add_command(evaluation_set_command)
main.add_command(model_card_command)

from facexray_forensics.cli.faces import faces  # noqa: E402

main.add_command(faces)

from facexray_forensics.cli.blend import blend  # noqa: E402

main.add_command(blend)

from facexray_forensics.cli.plugins import plugins  # noqa: E402

main.add_command(plugins)
