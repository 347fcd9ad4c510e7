"""Small helpers the `jembatan` command groups share."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable

import click

from bot.phones import InvalidPhoneNumber, normalize_phone
from bot.supervisor import STOP_TIMEOUT, Child, Supervisor


def phone_argument(value: str) -> str:
    """A phone number typed on the command line, in E.164; a usage error if it is not one."""
    try:
        return normalize_phone(value)
    except InvalidPhoneNumber as exc:
        raise click.BadParameter(f"not a phone number: {value}") from exc


def echo_lines(lines: Iterable[str], empty: str) -> None:
    """Print each of `lines`, or `empty` when there is none: a list command that prints
    nothing reads as a hung or broken command (DECISIONS 492)."""
    printed = False
    for line in lines:
        click.echo(line)
        printed = True
    if not printed:
        click.echo(empty)


def supervise(children: list[Child], started: Callable[[], None], stop_timeout: float = STOP_TIMEOUT) -> None:
    """Start `children`, call `started`, restart any that dies until SIGTERM or Ctrl-C, then
    stop them all within `stop_timeout` seconds (`jembatan up`)."""
    supervisor = Supervisor(children, lambda text: click.echo(text, err=True))
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        supervisor.start_all()
        started()
        while not stopping:
            supervisor.poll()
            time.sleep(0.2)
    finally:
        supervisor.stop_all(stop_timeout)
