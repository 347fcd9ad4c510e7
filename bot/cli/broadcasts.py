"""`jembatan coordinator|group|village|broadcast …`: the coordinators' command line."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.cli.common import echo_lines, phone_argument
from bot.phones import display_address
from bot.pipeline.dispatch import enqueue_deliveries
from bot.services.broadcasts import (
    BroadcastTooLong,
    broadcast_report,
    create_broadcast,
    first_send_time,
    get_broadcast,
    plan_broadcast,
    waiting_until,
)
from bot.services.coordinators import grant_coordinator, list_coordinators, recent_actions, revoke_coordinator
from bot.services.groups import UnknownGroup, add_to_group, group_sizes, remove_from_group
from bot.services.handover import Handover
from bot.services.schedule import set_village_province
from bot.storage import to_db_time, utcnow
from bot.web.db import get_db, get_redis, hand_over
from conversations.i18n import format_local_time


@click.group("coordinator")
def coordinator_group() -> None:
    """Grant, revoke and list coordinators."""


@coordinator_group.command("add")
@click.argument("phone")
@click.option("--region", default=None, help="Area they coordinate, e.g. a village or district")
@with_appcontext
def coordinator_add(phone: str, region: str | None) -> None:
    """Make PHONE a coordinator (recorded in the audit trail)."""
    contact = grant_coordinator(get_db(), phone_argument(phone), region, utcnow())
    click.echo(f"{display_address(contact['phone'])} is a coordinator" + (f" for {region}" if region else ""))


@coordinator_group.command("remove")
@click.argument("phone")
@with_appcontext
def coordinator_remove(phone: str) -> None:
    """Take the coordinator role away from PHONE."""
    if not revoke_coordinator(get_db(), phone_argument(phone), utcnow()):
        raise click.ClickException(f"{phone} is not a coordinator")
    click.echo(f"{phone_argument(phone)} is no longer a coordinator")


@coordinator_group.command("list")
@with_appcontext
def coordinator_list() -> None:
    """List coordinators."""
    echo_lines((f"{display_address(contact['phone'])}\t{contact['coordinator_region'] or '-'}"
                f"\t{contact['name'] or ''}" for contact in list_coordinators(get_db())),
               "no coordinators yet (add one: jembatan coordinator add PHONE)")


@coordinator_group.command("log")
@click.option("--limit", default=50, show_default=True, help="How many actions to show")
@with_appcontext
def coordinator_log(limit: int) -> None:
    """Show the newest coordinator actions (who, what, when)."""
    echo_lines((f"{action['created_at']}\t{action['actor']}\t{action['action']}\t{action['details']}"
                for action in recent_actions(get_db(), limit)), "no coordinator actions yet")


@click.group("group")
def group_group() -> None:
    """Named broadcast groups."""


@group_group.command("add")
@click.argument("name")
@click.argument("phones", nargs=-1, required=True)
@with_appcontext
def group_add(name: str, phones: tuple[str, ...]) -> None:
    """Add PHONES to group NAME (created if new)."""
    added = add_to_group(get_db(), name, [phone_argument(p) for p in phones], utcnow())
    click.echo(f"added {added} to {name.lower()}")


@group_group.command("remove")
@click.argument("name")
@click.argument("phones", nargs=-1, required=True)
@with_appcontext
def group_remove(name: str, phones: tuple[str, ...]) -> None:
    """Remove PHONES from group NAME."""
    removed = remove_from_group(get_db(), name, [phone_argument(p) for p in phones])
    click.echo(f"removed {removed} from {name.lower()}")


@group_group.command("list")
@with_appcontext
def group_list() -> None:
    """List named groups with their sizes."""
    echo_lines((f"{name}\t{size}" for name, size in group_sizes(get_db())),
               "no groups yet (make one: jembatan group add NAME PHONES...)")


@click.group("village")
def village_group() -> None:
    """Villages: where they are (their province sets their time zone)."""


@village_group.command("set")
@click.argument("name")
@click.option("--province", required=True, help='e.g. "Sulawesi Selatan"')
@with_appcontext
def village_set(name: str, province: str) -> None:
    """Record that a village NAME is in PROVINCE (WIB/WITA/WIT follows from it). A name
    may be recorded in several provinces (same-named villages): sellers registering from
    it are then asked which is theirs."""
    try:
        zone = set_village_province(get_db(), name, province)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    click.echo(f"{name}: {province} ({zone})")


@click.group("broadcast")
def broadcast_group() -> None:
    """Send broadcasts and see how they went."""


@broadcast_group.command("send")
@click.option("--group", "group_name", required=True,
              help="village, product, named group, semua/penjual, pembeli")
@click.option("--text", required=True, help="The message, one SMS unless --allow-long")
@click.option("--allow-long", is_flag=True, help="allow text longer than one SMS")
@with_appcontext
def broadcast_send(group_name: str, text: str, allow_long: bool) -> None:
    """Broadcast TEXT to a group; the fan-out runs in the worker."""
    now = utcnow()
    try:
        broadcast_id = create_broadcast(get_db(), group=group_name, text=text, created_by="cli",
                                        now=now, allow_long=allow_long)
    except UnknownGroup as exc:
        raise click.ClickException(f"no group, village or product called {group_name!r}") from exc
    except BroadcastTooLong as exc:
        raise click.ClickException(
            f"the text needs {exc.segments} SMS; shorten it or pass --allow-long") from exc
    queued = hand_over(Handover(broadcast_ids=[broadcast_id]))
    first = first_send_time(get_db(), current_app.config, group_name, now)
    zone = current_app.config.get("DEFAULT_TIMEZONE") or "Asia/Jakarta"
    click.echo(f"broadcast {broadcast_id} created"
               + ("" if queued else " (Redis unreachable: the sweep will plan it)")
               + (f"; quiet hours: goes out at {format_local_time(first, zone, 'HH.mm')}"
                  if first > now else ""))


@broadcast_group.command("status")
@click.argument("broadcast_id", type=int)
@with_appcontext
def broadcast_status(broadcast_id: int) -> None:
    """Counts for broadcast BROADCAST_ID: queued, sent, delivered, failed, skipped, expired."""
    broadcast = get_broadcast(get_db(), broadcast_id)
    if broadcast is None:
        raise click.ClickException(f"no broadcast {broadcast_id}")
    report = broadcast_report(get_db(), broadcast_id)
    waiting = waiting_until(get_db(), broadcast_id, utcnow())
    click.echo(json.dumps({"id": broadcast_id, "group": broadcast["group_name"],
                           "status": broadcast["status"], **report,
                           **({"waiting_until": to_db_time(waiting)} if waiting else {})}))


@broadcast_group.command("plan")
@click.argument("broadcast_id", type=int)
@with_appcontext
def broadcast_plan(broadcast_id: int) -> None:
    """Plan BROADCAST_ID's fan-out here and now (normally the worker does it)."""
    db, connection = get_db(), get_redis()
    report = plan_broadcast(db, current_app.config, broadcast_id, utcnow(),
                            on_batch=lambda rows: enqueue_deliveries(connection, db, rows, utcnow()))
    click.echo(json.dumps(report.__dict__))


def register(main: click.Group) -> None:
    """Attach these command groups to the `jembatan` CLI."""
    for command in (coordinator_group, group_group, village_group, broadcast_group):
        main.add_command(command)
