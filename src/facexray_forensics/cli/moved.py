"""The research commands' old top-level names, kept for one release as hidden aliases.

Each alias parses the same options as its command, says on stderr where the
command moved, and runs it. Delete this module in the next release.
"""

import click

# Old name -> the group and command it moved to.
MOVED = {
    "train": ("model", "train"),
    "export": ("model", "export"),
    "model-card": ("model", "card"),
    "evaluate": ("model", "evaluate"),
    "faces index": ("data", "index"),
    "split": ("data", "split"),
    "evaluation-set": ("data", "evaluation-set"),
    "blend": ("data", "blend"),
}


class MovedCommand(click.Command):
    """An old name of ``command``: its options and help, plus a notice of the move each time it runs."""

    def __init__(self, old_name: str, new_name: str, command: click.Command, hidden: bool) -> None:
        self.notice = f"`fxr-forensic {old_name}` is now `fxr-forensic {new_name}`; the old name goes in the next release"
        super().__init__(old_name.split()[-1], params=command.params, help=command.help, epilog=self.notice,
                         context_settings=command.context_settings, hidden=hidden)
        self.command = command

    def invoke(self, ctx: click.Context):
        click.echo(self.notice, err=True)
        return ctx.invoke(self.command.callback, **ctx.params)


def add_moved_commands(main: click.Group) -> None:
    """Add every old name in :data:`MOVED` to ``main``, hidden from its ``--help``."""
    faces = click.Group("faces", hidden=True, help="Old name of `fxr-forensic data` for its index command.")
    main.add_command(faces)
    for old_name, (group, name) in MOVED.items():
        command = main.commands[group].commands[name]
        new_name = f"{group} {name}"
        if old_name.startswith("faces "):
            faces.add_command(MovedCommand(old_name, new_name, command, hidden=False))
        else:
            main.add_command(MovedCommand(old_name, new_name, command, hidden=True))
