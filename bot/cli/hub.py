"""`jembatan hub`: the hub phone as the bot sees it (delivery status), and open incidents."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.services import federation, hub, incidents
from bot.storage import to_db_time, utcnow
from bot.web.db import get_db


@click.group("hub", invoke_without_command=True)
@click.pass_context
@with_appcontext
def hub_command(context: click.Context) -> None:
    """The hub phone: last seen, battery, connection, failed count, SMS per SIM today,
    and incidents still open (silent phone, low battery, message loops). `hub status`:
    the federation link."""
    if context.invoked_subcommand is not None:
        return
    db = get_db()
    config = current_app.config
    zone = ZoneInfo(config.get("DEFAULT_TIMEZONE") or "Asia/Jakarta")
    now = utcnow()
    day = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    per_sim = {f"sim{sim}": count for sim, count in db.execute(
        "SELECT COALESCE(sim_number, 1), COUNT(*) FROM outbox WHERE channel = 'android_sms' "
        "AND status IN ('sending', 'sent') AND claimed_at >= ? GROUP BY 1",
        [to_db_time(day)]).fetchall()}
    seen = hub.last_seen(db)
    click.echo(json.dumps({
        "last_seen_at": to_db_time(seen),
        "silent_minutes": int((now - seen) / timedelta(minutes=1)) if seen else None,
        "devices": [{k: d[k] for k in ("device_id", "status", "battery_level", "charging",
                                       "connection", "failed_count", "last_seen_at", "last_error")}
                    for d in hub.devices(db)],
        "sent_today": per_sim, "daily_limit": config.get("ANDROID_GATEWAY_DAILY_LIMIT"),
        "open_incidents": [{k: i[k] for k in ("kind", "subject", "opened_at", "last_seen_at")}
                           for i in incidents.open_incidents(db)],
    }, indent=2))


@hub_command.command("status")
@with_appcontext
def hub_status_command() -> None:
    """Federation: at a hub, events written, published and waiting, the last one JetStream
    acknowledged, the lag, and whether the link to the city is up; at the city, the same
    per hub (events applied, link). A hub offline is normal, not a failure."""
    click.echo(json.dumps(federation.status(get_db(), utcnow()), indent=2))


def register(main: click.Group) -> None:
    """Attach `hub` to the `jembatan` command."""
    main.add_command(hub_command)
