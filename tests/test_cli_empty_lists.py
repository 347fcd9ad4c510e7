"""Every `jembatan` command that lists rows says so when there is none (DECISIONS 492):
an empty list that prints nothing reads as a command that hung or broke."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from bot.cli import main

#: Commands that list rows, found by walking the command tree: every `list`, and `log`.
LISTING_NAMES = ("list", "log")
#: Arguments a listing command needs, and the command that makes them exist first.
NEEDS = {
    ("buyer", "key", "list"): (["1"], ["buyer", "add", "Warung Bu Tini", "--city",
                                                    "Bandung", "--webhook", "https://example.com/in"]),
}


def _listing_commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _listing_commands(command, (*path, name))
        elif name in LISTING_NAMES:
            found.append((*path, name))
    return found


LISTING_COMMANDS = _listing_commands(main)


def test_the_walk_finds_the_known_lists():
    assert {("product", "list"), ("group", "list"), ("webhook", "list"), ("buyer", "key", "list"),
            ("coordinator", "log")} <= set(LISTING_COMMANDS)


def _variants(path: tuple[str, ...]) -> list[list[str]]:
    """The command as written, and with each of its filters that can narrow the list."""
    command = main
    for name in path:
        command = command.commands[name]
    variants = [[]]
    for param in command.params:
        if isinstance(param, click.Option) and param.is_flag:
            variants.append([param.opts[0]])
        elif isinstance(param, click.Option) and isinstance(param.type, click.Choice):
            variants += [[param.opts[0], choice] for choice in param.type.choices[:2]]
    return variants


@pytest.mark.parametrize("path", LISTING_COMMANDS, ids=" ".join)
def test_an_empty_list_says_so(path, settings):
    runner = CliRunner()
    arguments, setup = NEEDS.get(path, ([], None))
    if setup:
        made = runner.invoke(main, setup)
        assert made.exit_code == 0, made.output
    for variant in _variants(path):
        result = runner.invoke(main, [*path, *arguments, *variant])
        assert result.exit_code == 0, result.output
        assert result.output.strip(), f"jembatan {' '.join(path + tuple(variant))} printed nothing"


def test_the_empty_lines_name_what_is_missing(settings):
    runner = CliRunner()
    said = {tuple(args): runner.invoke(main, args).output.strip()
            for args in (["product", "list", "--new"], ["group", "list"], ["webhook", "list"],
                         ["webhook", "list", "--status", "all"], ["order", "list"])}
    assert said == {
        ("product", "list", "--new"): "no products written by sellers to review",
        ("group", "list"): "no groups yet (make one: jembatan group add NAME PHONES...)",
        ("webhook", "list"): "no failed webhook relays",
        ("webhook", "list", "--status", "all"): "no webhook relays yet",
        ("order", "list"): "no orders under way",
    }
