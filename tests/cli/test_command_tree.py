"""The command tree: examiners' commands at the top, research commands in data / model / bench groups,
and every old top-level name still running, hidden, for one release."""

import click
import pytest
from click.testing import CliRunner

from facexray_forensics.cli import main
from facexray_forensics.cli.moved import MOVED

GROUPS = {
    "data": {"index", "split", "evaluation-set", "blend"},
    "model": {"train", "export", "card", "evaluate"},
}


def listed_commands(help_text: str) -> set[str]:
    """The names in the Commands: section of a --help page."""
    lines = help_text.split("Commands:\n", 1)[1].splitlines()
    return {line.split()[0] for line in lines if line.startswith("  ") and line.split()}


def test_the_top_level_lists_examiner_commands_and_research_groups_only():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert listed_commands(result.output) == {"scan", "verify-log", "plugins", "data", "model", "bench"}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_research_group_lists_its_commands(group):
    result = CliRunner().invoke(main, [group, "--help"])
    assert result.exit_code == 0
    assert listed_commands(result.output) == GROUPS[group]


def test_bench_lists_the_training_and_blending_benchmarks_beside_the_others():
    result = CliRunner().invoke(main, ["bench", "--help"])
    assert {"bi", "train", "ops", "gpu", "scan", "video", "faces"} <= listed_commands(result.output)


def _required_arguments(command: click.Command, tmp_path) -> list[str]:
    """Values for the command's required arguments and options: a folder or a file where a path must exist."""
    existing_file = tmp_path / "input.json"
    existing_file.write_text("{}")
    arguments = []
    for param in command.params:
        if not param.required:
            continue
        is_folder = isinstance(param.type, click.Path) and not param.type.file_okay
        value = str(tmp_path if is_folder else existing_file)
        arguments += [param.opts[0], value] if isinstance(param, click.Option) else [value]
    return arguments


@pytest.mark.parametrize("old_name", sorted(MOVED))
def test_an_old_name_runs_its_command_and_says_where_it_moved(old_name, tmp_path, monkeypatch):
    group, name = MOVED[old_name]
    command = main.commands[group].commands[name]
    calls = []
    monkeypatch.setattr(command, "callback", lambda **values: calls.append(values))
    result = CliRunner().invoke(main, [*old_name.split(), *_required_arguments(command, tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1  # the new command's own code ran, with the parsed options
    assert (f"`fxr-forensic {old_name}` is now `fxr-forensic {group} {name}`; the old name goes in the next release"
            in result.stderr)
    assert result.stdout == ""


def test_an_old_name_runs_for_real(tmp_path):
    (tmp_path / "real" / "lfw" / "Ann").mkdir(parents=True)
    (tmp_path / "real" / "lfw" / "Ann" / "Ann_0001.jpg").write_bytes(b"x")
    record = tmp_path / "split.json"
    result = CliRunner().invoke(main, ["split", str(tmp_path / "real"), str(record), "--no-hashes"])
    assert result.exit_code == 0 and record.is_file()
    assert "files of 1 sources" in result.stdout and "is now `fxr-forensic data split`" in result.stderr


def test_old_names_are_hidden_from_help():
    top = listed_commands(CliRunner().invoke(main, ["--help"]).output)
    assert not top & {old_name.split()[0] for old_name in MOVED}
