"""Where an open dialog stands for each contact, kept in SQLite with an expiry.

A dialog outlives the web request and any worker, so a seller can answer a question
minutes later from another cell tower and the next process picks up where it stood.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from bot.storage import fetch_one, from_db_time, to_db_time


def load_dialog(db: sqlite_utils.Database, contact_id: int) -> dict | None:
    """The contact's dialog row (`flow`, `state`, `data` decoded, `expires_at` datetime)."""
    row = fetch_one(db, "SELECT * FROM dialogs WHERE contact_id = ?", [contact_id])
    if row is None:
        return None
    row["data"] = json.loads(row["data"])
    row["expires_at"] = from_db_time(row["expires_at"])
    return row


def save_dialog(
    db: sqlite_utils.Database,
    contact_id: int,
    flow: str,
    state: str,
    data: dict,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Store (or replace) the contact's open dialog."""
    db.execute(
        """
        INSERT INTO dialogs (contact_id, flow, state, data, expires_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(contact_id) DO UPDATE SET flow = excluded.flow, state = excluded.state,
            data = excluded.data, expires_at = excluded.expires_at,
            updated_at = excluded.updated_at
        """,
        [contact_id, flow, state, json.dumps(data), to_db_time(expires_at), to_db_time(now)],
    )


def clear_dialog(db: sqlite_utils.Database, contact_id: int) -> None:
    """Close the contact's dialog, if any."""
    db.execute("DELETE FROM dialogs WHERE contact_id = ?", [contact_id])
