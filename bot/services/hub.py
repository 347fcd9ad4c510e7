"""The village hub's Android phone, watched: what it last said about itself (battery,
connection, failed messages), when it was last heard from (a `GET /health` answer or a
`system:ping` webhook), and the incidents coordinators must hear about once.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlite_utils

from bot.services.incidents import close_incident, open_incident
from bot.storage import fetch_all, fetch_one, from_db_time, to_db_time

#: The device id used for what we learn by polling (webhooks name their own `deviceId`).
POLLED = "hub"


def record_seen(db: sqlite_utils.Database, device_id: str, now: datetime, *,
                health: dict | None = None, polled: bool = False, raw: dict | None = None) -> None:
    """The phone answered (or pinged): remember when, and what it said about itself."""
    health = health or {}
    stamp = to_db_time(now)
    db.execute(
        """
        INSERT INTO hub_devices (device_id, status, battery_level, charging, connection,
            failed_count, last_seen_at, last_polled_at, last_error, details, updated_at)
        VALUES (:device, :status, :battery, :charging, :connection, :failed, :now, :polled,
            NULL, :details, :now)
        ON CONFLICT(device_id) DO UPDATE SET
            status = COALESCE(excluded.status, status),
            battery_level = COALESCE(excluded.battery_level, battery_level),
            charging = COALESCE(excluded.charging, charging),
            connection = COALESCE(excluded.connection, connection),
            failed_count = COALESCE(excluded.failed_count, failed_count),
            last_seen_at = excluded.last_seen_at,
            last_polled_at = COALESCE(excluded.last_polled_at, last_polled_at),
            last_error = NULL,
            details = COALESCE(excluded.details, details),
            updated_at = excluded.updated_at
        """,
        {"device": device_id, "status": health.get("status"),
         "battery": health.get("battery_level"), "charging": health.get("charging"),
         "connection": health.get("connection"), "failed": health.get("failed_count"),
         "now": stamp, "polled": stamp if polled else None,
         "details": json.dumps(raw) if raw is not None else None},
    )


def record_unreachable(db: sqlite_utils.Database, device_id: str, error: str, now: datetime) -> None:
    """A poll got no answer: the last-seen time stays where it was."""
    stamp = to_db_time(now)
    db.execute(
        "INSERT INTO hub_devices (device_id, status, last_polled_at, last_error, updated_at) "
        "VALUES (?, 'unreachable', ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET "
        "status = 'unreachable', last_polled_at = excluded.last_polled_at, "
        "last_error = excluded.last_error, updated_at = excluded.updated_at",
        [device_id, stamp, error[:200], stamp],
    )


def poll_due(db: sqlite_utils.Database, interval_seconds: int, now: datetime) -> bool:
    """Whether the phone's health should be asked now."""
    if interval_seconds <= 0:
        return False
    row = fetch_one(db, "SELECT last_polled_at FROM hub_devices WHERE device_id = ?", [POLLED])
    last = from_db_time(row["last_polled_at"]) if row else None
    return last is None or now - last >= timedelta(seconds=interval_seconds)


def devices(db: sqlite_utils.Database) -> list[dict]:
    """What we know about each hub phone, most recently heard first."""
    return fetch_all(db, "SELECT * FROM hub_devices ORDER BY last_seen_at DESC")


def last_seen(db: sqlite_utils.Database) -> datetime | None:
    """When any hub phone was last heard from (None: never): a health answer, a ping, a
    delivery event, or an SMS it passed on."""
    row = db.execute("SELECT MAX(last_seen_at) FROM hub_devices").fetchone()
    sms = db.execute("SELECT received_at FROM inbound WHERE channel = 'android_sms' "
                     "ORDER BY id DESC LIMIT 1").fetchone()
    times = [from_db_time(value) for value in (row[0] if row else None, sms[0] if sms else None)
             if value]
    return max(times) if times else None


def new_incidents(db: sqlite_utils.Database, settings: dict, now: datetime) -> list[tuple[str, dict]]:
    """Open incidents that just began (silent phone, low battery) and close those that
    ended; return the new ones as (kind, values for the coordinators' text). A phone we
    have never heard from is not an incident: the hub may have none."""
    seen = last_seen(db)
    if seen is None:
        return []
    found: list[tuple[str, dict]] = []
    silent_after = timedelta(minutes=int(settings.get("HUB_SILENT_MINUTES") or 15))
    if now - seen >= silent_after:
        if open_incident(db, "hub_silent", POLLED, now):
            found.append(("hub_silent", {"since": seen}))
    else:
        close_incident(db, "hub_silent", POLLED, now)
    low = int(settings.get("HUB_BATTERY_LOW_PERCENT") or 0)
    for device in devices(db):
        battery = device.get("battery_level")
        if battery is not None and battery <= low and not device.get("charging"):
            if open_incident(db, "hub_battery", device["device_id"], now):
                found.append(("hub_battery", {"battery": battery}))
        elif battery is not None and (battery > low + 5 or device.get("charging")):
            close_incident(db, "hub_battery", device["device_id"], now)
    return found
