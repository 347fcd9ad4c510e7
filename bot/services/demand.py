"""Demand signals (issue 17): searches that found nothing or little, counted per product
and area, and who may be told that buyers are looking.

A search is counted when it found fewer than LOW_RESULTS visible listings: by text
(`CARI`), on the storefront's search page, or through the catalog API (those two never
write to SQLite: they count in Redis, and the sweep adds the counts). Counts are kept
per UTC day, product and area (`demand_searches`), so "this week" is the last seven days
and the desk's top list reads a few hundred rows at most. A product the catalogue does not
know is counted under the name typed, by text only (the desk shows it; nobody can be told
about it): the pages and the API are anonymous, and count catalogue products at known
villages only.

Sellers who listed the product before, and sellers subscribed to it, may get one demand
text a week at most (`demand_notices`), unless they opted out of broadcasts (`BERHENTI`)
or of these texts (`MINAT OFF`), or have the product on sale with stock already.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from bot.storage import fetch_all, fetch_one, to_db_time, transaction

#: A search that found fewer visible listings than this is "little" (none: unmet).
LOW_RESULTS = 3
#: A product is worth telling sellers about once this many searches found little in a week.
MIN_SEARCHES = 3
#: "This week": the last seven days, and the least time between two texts to one seller.
WEEK = timedelta(days=7)
#: Where a search came from.
SOURCES = ("text", "page", "api")
#: Counts older than this are dropped by the sweep (the texts and the desk read a week).
KEEP = timedelta(weeks=8)


def _since_day(now: datetime) -> str:
    """The first UTC day of the seven that end today."""
    return (now - WEEK + timedelta(days=1)).date().isoformat()


def search_key(db: sqlite_utils.Database, *, product: dict | None, name: str | None,
               area: str | None, results: int, source: str) -> list | None:
    """What a search for `product` (a catalogue row, or None with the `name` typed) at `area`
    that found `results` listings counts under: [product_key, area, product_id,
    product_name, unmet (0/1), source]; None when it found enough or is not counted."""
    if source not in SOURCES:
        raise ValueError(f"unknown search source {source!r}")
    shown = product["name"] if product else " ".join((name or "").split())[:60].lower()
    place = " ".join((area or "").split())[:60].lower()
    if results >= LOW_RESULTS or not shown:
        return None
    if source != "text" and (product is None or (place and not _known_village(db, place))):
        # Anyone may call the pages and the API: only catalogue products at known villages
        # are counted, so nobody can fill the counters with made-up words (DECISIONS 248).
        return None
    return [f"p{product['id']}" if product else shown, place, product["id"] if product else None, shown,
            1 if results == 0 else 0, source]


def add_counts(db: sqlite_utils.Database, day: str, counts: list[tuple[list, int]], now: datetime) -> None:
    """Add `(search_key(...), how many)` counts to `day`'s rows, in one transaction."""
    with transaction(db):
        for (product_key, area, product_id, name, unmet, source), n in counts:
            by = [n if source == s else 0 for s in SOURCES]
            db.execute(
                "INSERT INTO demand_searches (day, product_key, area, product_id, product_name, searches, "
                "unmet, by_text, by_page, by_api, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (day, product_key, area) DO UPDATE SET searches = searches + excluded.searches, "
                "unmet = unmet + excluded.unmet, by_text = by_text + excluded.by_text, "
                "by_page = by_page + excluded.by_page, by_api = by_api + excluded.by_api, "
                "last_at = MAX(last_at, excluded.last_at)",
                [day, product_key, area, product_id, name, n, n * unmet, *by, to_db_time(now)])


def record_search(db: sqlite_utils.Database, *, product: dict | None, name: str | None,
                  area: str | None, results: int, source: str, now: datetime) -> bool:
    """Count one search now if it found little (`search_key`); True if counted. The text
    path calls this inside its own write; anonymous ones are counted in Redis first
    (`bot.pipeline.demand.count_search`) and folded in by the sweep."""
    key = search_key(db, product=product, name=name, area=area, results=results, source=source)
    if key is None:
        return False
    add_counts(db, now.date().isoformat(), [(key, 1)], now)
    return True


def _known_village(db: sqlite_utils.Database, village: str) -> bool:
    return fetch_one(db, "SELECT 1 FROM contacts WHERE village = ? COLLATE NOCASE AND role = 'seller' "
                         "LIMIT 1", [village]) is not None


def top_unmet(db: sqlite_utils.Database, now: datetime, limit: int = 10) -> list[dict]:
    """This week's searches that found nothing or little, by product and area, most first:
    product, area ('' anywhere), searches, unmet (found nothing), by_text, by_page, by_api."""
    return fetch_all(
        db, "SELECT product_name AS product, area, SUM(searches) AS searches, SUM(unmet) AS unmet, "
            "SUM(by_text) AS by_text, SUM(by_page) AS by_page, SUM(by_api) AS by_api, "
            "MAX(last_at) AS last_at FROM demand_searches WHERE day >= ? GROUP BY product_key, area "
            "ORDER BY searches DESC, unmet DESC, product LIMIT ?", [_since_day(now), limit])


def wanted_products(db: sqlite_utils.Database, now: datetime, minimum: int = MIN_SEARCHES) -> list[dict]:
    """Catalogue products searched with little found at least `minimum` times this week
    (every area together): product_id, product (its name), searches; most first."""
    return fetch_all(
        db, "SELECT w.product_id, p.name AS product, w.searches FROM (SELECT product_id, "
            "SUM(searches) AS searches FROM demand_searches WHERE day >= ? AND product_id IS NOT NULL "
            "GROUP BY product_id HAVING SUM(searches) >= ?) w JOIN products p ON p.id = w.product_id "
            "ORDER BY w.searches DESC, p.name", [_since_day(now), minimum])


def recipients(db: sqlite_utils.Database, product_id: int, now: datetime) -> list[dict]:
    """Sellers who may be told buyers look for the product now: they listed it before or
    are subscribed to it; none opted out (of broadcasts or of these texts), erased, told
    anything in the last week, or selling it with stock now."""
    return fetch_all(
        db,
        # Driven from the product's listings and subscriptions (their product indexes),
        # never a walk over every contact.
        "SELECT c.* FROM contacts c WHERE c.id IN (SELECT seller_id FROM listings WHERE product_id = ? "
        "UNION SELECT contact_id FROM subscriptions WHERE product_id = ?) AND c.role = 'seller' "
        "AND c.opted_out = 0 AND c.demand_opt_out_at IS NULL AND c.erased_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM listings l INDEXED BY listings_seller WHERE l.seller_id = c.id "
        "                AND l.product_id = ? "
        "                AND l.status = 'active' AND l.quantity_milli > 0) "
        "AND NOT EXISTS (SELECT 1 FROM demand_notices n WHERE n.contact_id = c.id AND n.created_at > ?) "
        "ORDER BY c.id",
        [product_id, product_id, product_id, to_db_time(now - WEEK)])


def still_to_tell(db: sqlite_utils.Database, contact_id: int, now: datetime) -> bool:
    """Whether a seller `recipients` chose may still be told now (checked inside the write
    that tells them): still a seller, not opted out, erased, nor told in the last week."""
    return fetch_one(
        db, "SELECT 1 FROM contacts c WHERE c.id = ? AND c.role = 'seller' AND c.opted_out = 0 "
            "AND c.demand_opt_out_at IS NULL AND c.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM "
            "demand_notices n WHERE n.contact_id = c.id AND n.created_at > ?)",
        [contact_id, to_db_time(now - WEEK)]) is not None


def record_notice(db: sqlite_utils.Database, contact_id: int, product_id: int, searches: int,
                  outbox_id: int | None, now: datetime) -> None:
    """Remember that the seller was told (the weekly cap counts from here)."""
    db.execute("INSERT INTO demand_notices (contact_id, product_id, searches, outbox_id, created_at) "
               "VALUES (?, ?, ?, ?, ?)", [contact_id, product_id, searches, outbox_id, to_db_time(now)])


def last_notice(db: sqlite_utils.Database, contact_id: int) -> dict | None:
    """The newest demand text the seller got, if any."""
    return fetch_one(db, "SELECT * FROM demand_notices WHERE contact_id = ? ORDER BY id DESC LIMIT 1",
                     [contact_id])


def set_opt_out(db: sqlite_utils.Database, contact_id: int, opted_out: bool, now: datetime) -> None:
    """`MINAT OFF` (True) or `MINAT ON` (False)."""
    db.execute("UPDATE contacts SET demand_opt_out_at = ? WHERE id = ?",
               [to_db_time(now) if opted_out else None, contact_id])


def prune(db: sqlite_utils.Database, now: datetime) -> int:
    """Drop search counts older than KEEP; how many rows went."""
    with transaction(db):
        return db.execute("DELETE FROM demand_searches WHERE day < ?",
                          [(now - KEEP).date().isoformat()]).rowcount
