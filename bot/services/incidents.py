"""Incidents coordinators are told about once: the hub phone gone silent, its battery low,
an auto-responder loop. One open incident per (kind, subject); a new one can open only
after the last one closed, so an alert is sent once per incident, not once per check.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from bot.storage import fetch_all, to_db_time


def open_incident(db: sqlite_utils.Database, kind: str, subject: str, now: datetime,
                  details: dict | None = None) -> bool:
    """Record that `kind` is happening to `subject`; True only when it just began (call
    inside the caller's write transaction; the unique index is the backstop)."""
    cursor = db.execute(
        "UPDATE incidents SET last_seen_at = ? WHERE kind = ? AND subject = ? AND closed_at IS NULL",
        [to_db_time(now), kind, subject],
    )
    if cursor.rowcount:
        return False
    db.execute(
        "INSERT INTO incidents (kind, subject, opened_at, last_seen_at, details) "
        "VALUES (?, ?, ?, ?, ?)",
        [kind, subject, to_db_time(now), to_db_time(now), json.dumps(details or {})],
    )
    return True


def close_incident(db: sqlite_utils.Database, kind: str, subject: str, now: datetime) -> bool:
    """The incident is over (the phone answered again); True if one was open."""
    cursor = db.execute(
        "UPDATE incidents SET closed_at = ? WHERE kind = ? AND subject = ? AND closed_at IS NULL",
        [to_db_time(now), kind, subject],
    )
    return bool(cursor.rowcount)


def open_incidents(db: sqlite_utils.Database, kind: str | None = None) -> list[dict]:
    """Incidents still going on, oldest first."""
    if kind is None:
        return fetch_all(db, "SELECT * FROM incidents WHERE closed_at IS NULL ORDER BY id")
    return fetch_all(db, "SELECT * FROM incidents WHERE closed_at IS NULL AND kind = ? "
                     "ORDER BY id", [kind])
