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

from bot.storage import transaction

PROVINCES_FILE = Path(__file__).resolve().parent.parent / "data" / "provinces.csv"


@cache
def _provinces() -> dict[str, tuple[str, str]]:
    """Province name (lower case) -> (the name as provinces.csv spells it, IANA zone)."""
    with PROVINCES_FILE.open(newline="") as handle:
        return {row["province"].lower(): (row["province"], row["timezone"])
                for row in csv.DictReader(handle)}


def province_timezones() -> dict[str, str]:
    """Province name (lower case) -> IANA zone, from bot/data/provinces.csv."""
    return {key: zone for key, (_, zone) in _provinces().items()}


def province_name(text: str | None) -> str | None:
    """The province as provinces.csv spells it (`jawa  barat` -> `Jawa Barat`), or None."""
    found = _provinces().get(" ".join((text or "").split()).lower())
    return found[0] if found else None


def set_village_province(db: sqlite_utils.Database, village: str, province: str) -> str:
    """Record that a village of this name is in `province`; return the province's time
    zone. A name may be recorded in several provinces (same-named villages, DECISIONS
    335); sellers of the name who have no province yet get this one only while it is the
    name's only one (with two, which is theirs is asked, never guessed)."""
    found = _provinces().get(" ".join(province.split()).lower())
    if found is None:
        raise ValueError(f"unknown province {province!r}")
    name, zone = found
    village = " ".join(village.split())
    with transaction(db):
        db.execute(
            "INSERT INTO villages (name, province, timezone) VALUES (?, ?, ?) "
            "ON CONFLICT(name, province) DO UPDATE SET timezone = excluded.timezone",
            [village, name, zone],
        )
        if village_provinces(db, village) == [name]:
            db.execute("UPDATE contacts SET province = ? WHERE village = ? COLLATE NOCASE "
                       "AND province IS NULL", [name, village])
    return zone


def village_provinces(db: sqlite_utils.Database, village: str | None) -> list[str]:
    """The provinces recorded for villages of this name, in alphabetical order."""
    return [row[0] for row in db.execute(
        "SELECT province FROM villages WHERE name = ? ORDER BY province",
        [" ".join((village or "").split())])]


def settled_province(db: sqlite_utils.Database, village: str | None) -> str | None:
    """The province of a village name when it has exactly one recorded, else None."""
    provinces = village_provinces(db, village)
    return provinces[0] if len(provinces) == 1 else None


def village_timezones(db: sqlite_utils.Database) -> dict[str, str]:
    """Village (lower case) -> zone, for planning many recipients at once; a name whose
    provinces lie in different zones is left out (its sellers' own provinces decide)."""
    zones: dict[str, set[str]] = {}
    for name, zone in db.execute("SELECT name, timezone FROM villages"):
        zones.setdefault(name.lower(), set()).add(zone)
    return {name: next(iter(found)) for name, found in zones.items() if len(found) == 1}


def contact_timezone(contact: dict, villages: dict[str, str], default: str) -> str:
    """The zone a contact lives in: their own, else their province's, else their
    village's (a name recorded in one zone), else `default`."""
    if contact.get("timezone"):
        return contact["timezone"]
    zone = province_timezones().get((contact.get("province") or "").lower())
    if zone:
        return zone
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
    if contact.get("timezone") or contact.get("province") or not village:
        return contact_timezone(contact, {}, default)
    zones = {row[0] for row in db.execute("SELECT timezone FROM villages WHERE name = ?", [village])}
    return contact_timezone(contact, {village.lower(): zones.pop()} if len(zones) == 1 else {}, default)
