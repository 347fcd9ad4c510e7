"""`jembatan desk …`: who may use the coordinator's desk, and a way in when the phone is down."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.cli.common import echo_lines, phone_argument
from bot.config import local_base_url
from bot.services import desk_auth
from bot.storage import utcnow
from bot.web.db import get_db


@click.group("desk")
def desk_group() -> None:
    """The coordinator's desk at /dashboard: roles and one-time sign-in links."""


@desk_group.command("grant")
@click.argument("phone")
@click.option("--role", type=click.Choice(desk_auth.ROLES), default="coordinator", show_default=True,
              help="admin manages the team; coordinator changes things; viewer only reads")
@with_appcontext
def desk_grant(phone: str, role: str) -> None:
    """Let PHONE sign in to the desk with ROLE (admin manages the team; viewer only reads)."""
    user = desk_auth.grant_role(get_db(), phone_argument(phone), role, utcnow())
    click.echo(f"{user['phone']} may use the desk as {user['role']}")


@desk_group.command("revoke")
@click.argument("phone")
@with_appcontext
def desk_revoke(phone: str) -> None:
    """Take the desk away from PHONE (their sessions end at once)."""
    if not desk_auth.revoke_role(get_db(), phone_argument(phone), utcnow()):
        raise click.ClickException(f"{phone} has no desk role")
    click.echo(f"{phone} may no longer use the desk")


@desk_group.command("list")
@with_appcontext
def desk_list() -> None:
    """Everyone who may use the desk, with their role."""
    echo_lines((f"{user['phone']}\t{user['role']}\t{user['name'] or ''}"
                for user in desk_auth.desk_users(get_db())),
               "no desk users yet (let someone in: jembatan desk grant PHONE admin)")


@desk_group.command("link")
@click.argument("phone")
@with_appcontext
def desk_link(phone: str) -> None:
    """Print a one-time sign-in link for PHONE (valid 30 minutes, works once): for the first
    admin, and for when the hub phone or WhatsApp is down and no code can arrive."""
    try:
        token = desk_auth.create_link_token(get_db(), phone_argument(phone), utcnow())
    except LookupError:
        raise click.ClickException(f"{phone} has no desk role: first `jembatan desk grant {phone} "
                                   "--role admin`") from None
    click.echo(f"{local_base_url(current_app.config)}/dashboard/masuk/tautan/{token}")


def register(main: click.Group) -> None:
    """Add the desk commands to `jembatan`."""
    main.add_command(desk_group)
