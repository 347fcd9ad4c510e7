"""The README documents every command, like sqlite-utils' docs tests: walking the real click
group, each `jembatan` command and subcommand must appear in README.md and have help text
(and so must each of its options); each command the README's command table names exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from bot.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _subcommands(group: click.Group) -> dict[str, click.Command]:
    # click.Group's own listing: FlaskGroup's would load the app (and a database) to look
    # for app.cli commands, and Jembatan registers none there.
    context = click.Context(group)
    return {name: click.Group.get_command(group, context, name)
            for name in click.Group.list_commands(group, context)}


def walk(group: click.Group, prefix: str = "jembatan") -> dict[str, click.Command]:
    """Every command and group under `group`, by its full command line."""
    found = {}
    for name, command in _subcommands(group).items():
        path = f"{prefix} {name}"
        found[path] = command
        if isinstance(command, click.Group):
            found.update(walk(command, path))
    return found


COMMANDS = walk(main)


def test_the_walk_finds_the_commands():
    assert {"jembatan up", "jembatan chat", "jembatan buyer key create", "jembatan run"} <= set(COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_command_is_in_the_readme(path):
    mentioned = re.search(re.escape(path) + r"(?![\w-])", README) is not None
    assert mentioned, f"README.md never mentions `{path}`"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_command_and_its_options_have_help(path):
    command = COMMANDS[path]
    assert (command.help or "").strip(), f"`{path}` has no help text (its docstring)"
    bare = [f"--{option.name.replace('_', '-')}" for option in command.params
            if isinstance(option, click.Option) and not (option.help or "").strip()]
    assert not bare, f"`{path}` has options without help: {', '.join(bare)}"


def _table_commands() -> list[str]:
    """Command lines named in the README's "Every command" table, arguments dropped."""
    section = README.split("## Every command", 1)[1].split("\n## ", 1)[0]
    named = []
    first_column = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    for cell in re.findall(r"`(jembatan [^`]+)`", "\n".join(first_column)):
        words = cell.split()
        path = words[0]
        for word in words[1:]:
            if f"{path} {word}" not in COMMANDS:
                break
            path = f"{path} {word}"
        named.append(path)
    return named


def test_the_readme_table_names_only_real_commands():
    named = _table_commands()
    assert named, "README.md has no \"Every command\" table"
    leaves = {path for path, command in COMMANDS.items() if not isinstance(command, click.Group)}
    assert not [path for path in named if path not in leaves], "the table names a group or no command"
    assert leaves <= set(named), f"missing from the table: {sorted(leaves - set(named))}"
