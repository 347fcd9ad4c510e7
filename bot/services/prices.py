"""Reference prices: what a product fetches at a market, as coordinators publish them.

Append-only: every published price is a new row, so the history stays for charts and
disputes; "the" price is the latest row. The coordinator command that writes prices
arrives with broadcasts; sellers read them with `HARGA produk [pasar]`.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.storage import fetch_all, fetch_one, to_db_time


def record_reference_price(
    db: sqlite_utils.Database, *, product_id: int, price: int, unit: str, now: datetime,
    market: str | None = None, contact_id: int | None = None,
) -> int:
    """Append a reference price (int rupiah per `unit`) for the product; return its id."""
    if not isinstance(price, int) or isinstance(price, bool) or price <= 0:
        raise ValueError(f"a price is a positive int number of rupiah, not {price!r}")
    if not unit:
        raise ValueError("a reference price needs its unit")
    market = " ".join(market.split()) if market else None
    cursor = db.execute(
        "INSERT INTO reference_prices (product_id, price, unit, market, recorded_by, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [product_id, price, unit, market or None, contact_id, to_db_time(now)],
    )
    return cursor.lastrowid


def latest_reference_price(
    db: sqlite_utils.Database, product_id: int, market: str | None = None
) -> dict | None:
    """The most recent reference price of the product (at `market`, any case, if given)."""
    if market:
        return fetch_one(
            db,
            "SELECT * FROM reference_prices WHERE product_id = ? AND market = ? COLLATE NOCASE "
            "ORDER BY recorded_at DESC, id DESC LIMIT 1",
            [product_id, " ".join(market.split())],
        )
    return fetch_one(
        db,
        "SELECT * FROM reference_prices WHERE product_id = ? ORDER BY recorded_at DESC, id DESC "
        "LIMIT 1",
        [product_id],
    )


def price_history(db: sqlite_utils.Database, product_id: int, limit: int = 50) -> list[dict]:
    """The product's reference prices, newest first."""
    return fetch_all(
        db,
        "SELECT * FROM reference_prices WHERE product_id = ? ORDER BY recorded_at DESC, id DESC "
        "LIMIT ?",
        [product_id, limit],
    )
