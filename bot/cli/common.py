"""Small helpers the `jembatan` command groups share."""

from __future__ import annotations

import click

from bot.phones import InvalidPhoneNumber, normalize_phone


def phone_argument(value: str) -> str:
    """A phone number typed on the command line, in E.164; a usage error if it is not one."""
    try:
        return normalize_phone(value)
    except InvalidPhoneNumber as exc:
        raise click.BadParameter(f"not a phone number: {value}") from exc
