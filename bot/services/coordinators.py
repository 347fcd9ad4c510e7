"""Coordinators (cooperative / BUMDes staff): who they are, and a record of what they did."""

from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from bot.services.contacts import get_contact, get_or_create_contact
from bot.storage import fetch_all, to_db_time, transaction


def grant_coordinator(
    db: sqlite_utils.Database, phone: str, region: str | None, now: datetime, actor: str = "cli"
) -> dict:
    """Make the contact with `phone` (created if new) a coordinator for `region`."""
    with transaction(db):
        contact = get_or_create_contact(db, phone, now)
        db.execute(
            "UPDATE contacts SET is_coordinator = 1, coordinator_region = ? WHERE id = ?",
            [region, contact["id"]],
        )
        record_action(db, actor, "coordinator.grant", {"phone": phone, "region": region}, now)
        return get_contact(db, contact["id"])


def revoke_coordinator(db: sqlite_utils.Database, phone: str, now: datetime, actor: str = "cli") -> bool:
    """Take the coordinator role away; False if the number was not a coordinator."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE contacts SET is_coordinator = 0, coordinator_region = NULL "
            "WHERE phone = ? AND is_coordinator = 1",
            [phone],
        )
        if cursor.rowcount:
            record_action(db, actor, "coordinator.revoke", {"phone": phone}, now)
        return bool(cursor.rowcount)


def list_coordinators(db: sqlite_utils.Database) -> list[dict]:
    """Every coordinator, by phone."""
    return fetch_all(db, "SELECT * FROM contacts WHERE is_coordinator = 1 ORDER BY phone")


def record_action(
    db: sqlite_utils.Database, actor: str, action: str, details: dict, now: datetime,
    contact_id: int | None = None,
) -> None:
    """Append to the audit trail: who did what, when (call inside the action's transaction)."""
    db.execute(
        "INSERT INTO coordinator_actions (contact_id, actor, action, details, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [contact_id, actor, action, json.dumps(details, ensure_ascii=False), to_db_time(now)],
    )


def recent_actions(db: sqlite_utils.Database, limit: int = 50) -> list[dict]:
    """The newest audit entries first."""
    return fetch_all(db, "SELECT * FROM coordinator_actions ORDER BY id DESC LIMIT ?", [limit])
