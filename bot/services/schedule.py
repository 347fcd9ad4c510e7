"""When a message may reach a person: their time zone (WIB/WITA/WIT) and quiet hours.

A person's zone is their own setting, else their village's (from its province), else the
configured default. Broadcasts that would arrive in the quiet hours wait for morning in
the recipient's own zone, so a farmer in Papua is not woken at 4 a.m. by a Jakarta-time
price update.
"""

from __future__ import annotations

import csv
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.storage import fetch_one, transaction

PROVINCES_FILE = Path(__file__).resolve().parent.parent / "data" / "provinces.csv"


@cache
def province_timezones() -> dict[str, str]:
    """Province name (lower case) -> IANA zone, from bot/data/provinces.csv."""
    with PROVINCES_FILE.open(newline="") as handle:
        return {row["province"].lower(): row["timezone"] for row in csv.DictReader(handle)}


def set_village_province(db: sqlite_utils.Database, village: str, province: str) -> str:
    """Record which province a village is in; return the time zone that gives it."""
    zone = province_timezones().get(" ".join(province.split()).lower())
    if zone is None:
        raise ValueError(f"unknown province {province!r}")
    with transaction(db):
        db.execute(
            "INSERT INTO villages (name, province, timezone) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET province = excluded.province, timezone = excluded.timezone",
            [" ".join(village.split()), province, zone],
        )
    return zone


def village_timezones(db: sqlite_utils.Database) -> dict[str, str]:
    """Village (lower case) -> zone, for planning many recipients at once."""
    return {name.lower(): zone for name, zone in db.execute("SELECT name, timezone FROM villages")}


def contact_timezone(contact: dict, villages: dict[str, str], default: str) -> str:
    """The zone a contact lives in."""
    if contact.get("timezone"):
        return contact["timezone"]
    return villages.get((contact.get("village") or "").lower(), default)


def parse_quiet_hours(setting: str | None) -> tuple[time, time] | None:
    """`"21:00-06:00"` -> (21:00, 06:00); empty or `off` -> None (no quiet hours)."""
    if not setting or setting.strip().lower() in ("off", "none", "0"):
        return None
    start, end = (part.strip().replace(".", ":") for part in setting.split("-"))
    return time.fromisoformat(start), time.fromisoformat(end)


def next_send_time(now: datetime, timezone: str, quiet: tuple[time, time] | None) -> datetime:
    """`now` if it is not quiet hours where the person lives, else when they end (UTC-aware)."""
    if quiet is None:
        return now
    start, end = quiet
    local = now.astimezone(ZoneInfo(timezone))
    clock = local.time().replace(tzinfo=None)
    in_quiet = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not in_quiet:
        return now
    morning = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(now.tzinfo)


def timezone_of(db: sqlite_utils.Database, contact: dict, default: str) -> str:
    """The zone one contact lives in (the same rule as `contact_timezone`, looked up)."""
    village = (contact.get("village") or "").strip()
    row = fetch_one(db, "SELECT timezone FROM villages WHERE name = ?", [village]) if village else None
    return contact_timezone(contact, {village.lower(): row["timezone"]} if row else {}, default)
