"""Who wants price updates for which product (`LANGGAN produk`, or by listing it).

A subscription is a (contact, product) pair; opting out of broadcasts (`BERHENTI`) is
kept on the contact, not here, so `MULAI` brings every subscription back.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.storage import fetch_all, to_db_time

#: Why a contact is subscribed: they asked (`LANGGAN`), or they listed the product.
SOURCES = ("command", "listing")


def subscribe(
    db: sqlite_utils.Database, contact_id: int, product_id: int, now: datetime,
    source: str = "command",
) -> bool:
    """Subscribe the contact to the product; False if they already were."""
    cursor = db.execute(
        "INSERT INTO subscriptions (contact_id, product_id, source, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (contact_id, product_id) DO NOTHING",
        [contact_id, product_id, source, to_db_time(now)],
    )
    return bool(cursor.rowcount)


def unsubscribe(db: sqlite_utils.Database, contact_id: int, product_id: int) -> bool:
    """Drop one subscription; False if there was none."""
    cursor = db.execute("DELETE FROM subscriptions WHERE contact_id = ? AND product_id = ?",
                        [contact_id, product_id])
    return bool(cursor.rowcount)


def is_subscribed(db: sqlite_utils.Database, contact_id: int, product_id: int) -> bool:
    """True if the contact gets this product's price updates (opt-out aside)."""
    return db.execute("SELECT 1 FROM subscriptions WHERE contact_id = ? AND product_id = ?",
                      [contact_id, product_id]).fetchone() is not None


def subscribers(db: sqlite_utils.Database, product_id: int, *, include_opted_out: bool = False
                ) -> list[dict]:
    """Contacts subscribed to the product (by default only those taking broadcasts), by id."""
    condition = "" if include_opted_out else "AND c.opted_out = 0"
    return fetch_all(
        db,
        f"SELECT c.* FROM subscriptions s JOIN contacts c ON c.id = s.contact_id "
        f"WHERE s.product_id = ? {condition} ORDER BY c.id",
        [product_id],
    )


def subscribed_products(db: sqlite_utils.Database, contact_id: int) -> list[dict]:
    """The products a contact is subscribed to, by name."""
    return fetch_all(
        db,
        "SELECT p.* FROM subscriptions s JOIN products p ON p.id = s.product_id "
        "WHERE s.contact_id = ? ORDER BY p.name",
        [contact_id],
    )
