"""`jembatan hub`: the hub phone as the bot sees it (delivery status), and open incidents."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.config import load_config, load_dotenv_if_present
from bot.litestream import litestream_binary
from bot.migrations import apply_migrations
from bot.services import federation, hub, incidents
from bot.storage import open_database, to_db_time, utcnow
from bot.web.db import get_db


@click.group("hub", invoke_without_command=True)
@click.pass_context
def hub_command(context: click.Context) -> None:
    """The hub phone: last seen, battery, connection, failed count, SMS per SIM today,
    and incidents still open (silent phone, low battery, message loops). `hub status`:
    the federation link; `hub restore`: a hub's database back from its Litestream backup."""
    if context.invoked_subcommand is None:
        context.invoke(_phone_report)


@with_appcontext
def _phone_report() -> None:
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


@hub_command.command("restore")
@click.option("--from", "replica", help="the replica URL (default LITESTREAM_REPLICA_URL), "
              "e.g. file:///var/backups/hub-a or s3://bucket/hub-a")
@click.option("--force", is_flag=True, help="replace a database that exists (it is kept beside, "
              "renamed .before-restore)")
def hub_restore_command(replica: str | None, force: bool) -> None:
    """Bring the database back from its Litestream backup, then advance the hub's epoch so
    its new events outrank what the city saw from the lost copy. Run it with the hub's
    processes stopped; start them again afterwards."""
    load_dotenv_if_present()
    config = load_config()
    replica = replica or config.get("LITESTREAM_REPLICA_URL")
    if not replica:
        raise click.UsageError("no replica: pass --from URL or set LITESTREAM_REPLICA_URL")
    path = Path(config["DATABASE_PATH"])
    if path.exists():
        if not force:
            raise click.ClickException(f"{path} exists: stop the hub and pass --force to replace it")
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{path}{suffix}")
            if old.exists():
                old.replace(f"{path}{suffix}.before-restore")
    path.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([litestream_binary(), "restore", "-o", str(path), replica],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise click.ClickException(f"litestream restore failed: {result.stderr.strip()}")
    db = open_database(path)
    try:
        apply_migrations(db)
        epoch = federation.advance_epoch(db, utcnow()) if federation.identity(db) else None
        # Everything it holds, republished under the new epoch (DECISIONS 324).
        snapshot = federation.write_snapshot(db, utcnow()) if epoch else 0
    finally:
        db.conn.close()
    click.echo(json.dumps({"restored": str(path), "from": replica, "epoch": epoch,
                           "snapshot_events": snapshot}))


def register(main: click.Group) -> None:
    """Attach `hub` to the `jembatan` command."""
    main.add_command(hub_command)
