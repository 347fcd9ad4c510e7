"""What the coordinator's desk reads: the day's figures, people, a person's page, listings,
the message log and price history. Plain queries, bounded by LIMIT, every text masked.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.phones import InvalidPhoneNumber, normalize_phone
from bot.services import hub, ledger
from bot.services.masking import mask_rows
from bot.services.orders import ALL_STATUSES, WAITING_STATUSES
from bot.services.payouts import OPEN_STATUSES as PAYOUT_OPEN
from bot.storage import fetch_all, fetch_one, in_clause, to_db_time

PAGE_SIZE = 50
#: A hub phone that passed no SMS for this long while the gateway is configured is "silent".
SILENT_PHONE = timedelta(hours=6)
EXPIRING_SOON = timedelta(hours=1)


#: What a listing code looks like (`C7`, `B23`): letters then digits.
_CODE = re.compile(r"[A-Z]{1,3}[0-9]+")
#: Up to this many matching sellers, their listings are found through listings_seller.
MANY_SELLERS = 500
#: Totals above this are shown as "1000+": an exact count of a big match costs a full read.
COUNT_CAP = 1000


def _capped_count(db, sql_from_where: str, params) -> int:
    """How many rows match, counting at most COUNT_CAP + 1."""
    return db.execute(f"SELECT COUNT(*) FROM (SELECT 1 {sql_from_where} LIMIT {COUNT_CAP + 1})",
                      params).fetchone()[0]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def period_starts(now: datetime, timezone: str) -> dict[str, datetime]:
    """Midnight today and Monday this week in the desk's time zone."""
    local = now.astimezone(ZoneInfo(timezone))
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"today": today, "week": today - timedelta(days=today.weekday())}


#: Halving the primary key: the first id whose row (or the next one there is) has `column`
#: at or after :since; MAX(id) + 1 when none has. Ids grow with time (rows are written with
#: the time they are written, under the write lock), so that is the first row since then.
#: Each step of `half` keeps [lo, hi) around the answer and whether the row at its middle
#: is `later` (a recursive step may name `half` only once, so the next middle is spelled out).
_LO = "CASE WHEN later THEN lo ELSE (lo + hi) / 2 + 1 END"
_HI = "CASE WHEN later THEN (lo + hi) / 2 ELSE hi END"
_LATER = ("COALESCE((SELECT {column} >= :since FROM {table} WHERE id >= ({lo} + {hi}) / 2 "
          "ORDER BY id LIMIT 1), 1)")
_FIRST_ID_SINCE = f"""
WITH RECURSIVE half(lo, hi, later) AS (
    SELECT lo, hi, {_LATER.format(lo="lo", hi="hi", column="{column}", table="{table}")}
      FROM (SELECT COALESCE((SELECT MIN(id) FROM {{table}}), 1) AS lo,
                   COALESCE((SELECT MAX(id) FROM {{table}}), 0) + 1 AS hi)
    UNION ALL
    SELECT {_LO}, {_HI}, {_LATER.format(lo=_LO, hi=_HI, column="{column}", table="{table}")}
      FROM half WHERE lo < hi
)
SELECT COALESCE((SELECT id FROM {{table}} WHERE id >= lo ORDER BY id LIMIT 1), lo) FROM half WHERE lo >= hi
"""


def first_id_since(db: sqlite_utils.Database, table: str, column: str, since: str) -> int:
    """The first id of `table` (inbound, outbox) whose `column` (the time it was written) is
    at or after `since`, without an index on that time (m030): some 20 primary-key
    lookups for a million rows."""
    return db.execute(_FIRST_ID_SINCE.format(table=table, column=column), {"since": since}).fetchone()[0]


def rows_since(db: sqlite_utils.Database, table: str, column: str, since: str) -> int:
    """How many rows of `table` were written since `since`: ids are dense (messages are
    never deleted; erasure blanks them), so the ids from the first one since then."""
    first = first_id_since(db, table, column, since)
    last = db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
    return max(last - first + 1, 0)


def overview(db: sqlite_utils.Database, now: datetime, timezone: str, gateway_configured: bool) -> dict:
    """The overview's figures for today and this week, and what needs attention."""
    figures: dict = {"periods": {}}
    for name, start in period_starts(now, timezone).items():
        since = to_db_time(start)
        # Hourly counters kept by triggers (m008): placed since the period began, by state now.
        orders = dict(db.execute("SELECT status, SUM(orders) FROM desk_order_hours WHERE hour >= ? "
                                 "GROUP BY status", [since[:13]]).fetchall())
        figures["periods"][name] = {
            "messages_in": rows_since(db, "inbound", "received_at", since),
            "messages_out": rows_since(db, "outbox", "created_at", since),
            "orders": {status: orders.get(status, 0) for status in ALL_STATUSES},
            # Counted by a trigger too (m022): page, text, api.
            "sources": {source: n for source, n in db.execute(
                "SELECT source, SUM(orders) FROM desk_order_sources WHERE hour >= ? GROUP BY source",
                [since[:13]]).fetchall()},
            "sales": db.execute("SELECT COALESCE(SUM(total), 0) FROM orders INDEXED BY desk_orders_received "
                                "WHERE received_at >= ? AND status = 'received'", [since]).fetchone()[0],
        }
    where, params = in_clause("status", PAYOUT_OPEN)
    figures["payouts_pending"] = dict(zip(("count", "amount"), db.execute(
        f"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payouts WHERE {where}", params).fetchone(),
        strict=True))
    figures["outbox"] = dict(db.execute("SELECT status, COUNT(*) FROM outbox WHERE status <> 'sent' "
                                        "AND status IN ('pending', 'sending', 'failed') GROUP BY status"
                                        ).fetchall())
    day_ago = to_db_time(now - timedelta(days=1))
    figures["failed_recent"] = fetch_all(
        db, "SELECT id, phone, channel, error_code, error_message, created_at FROM outbox "
            "WHERE status <> 'sent' AND status = 'failed' AND created_at >= ? ORDER BY created_at DESC "
            "LIMIT 10", [day_ago])
    figures["expiring"] = fetch_all(
        db, "SELECT o.code, o.expires_at, c.name AS seller, c.id AS seller_id FROM orders o "
            "JOIN contacts c ON c.id = o.seller_id WHERE o.status = 'pending' AND o.expires_at <= ? "
            "ORDER BY o.expires_at LIMIT 10", [to_db_time(now + EXPIRING_SOON)])
    figures["broadcasts"] = fetch_all(
        db, "SELECT b.id, b.group_name, b.status, b.created_at, "
            "(SELECT COUNT(*) FROM outbox o WHERE o.broadcast_id = b.id "
            "AND o.status IN ('pending', 'sending')) AS queued FROM broadcasts b "
            "WHERE b.status = 'planning' OR EXISTS (SELECT 1 FROM outbox o "
            "WHERE o.broadcast_id = b.id AND o.status IN ('pending', 'sending')) ORDER BY b.id DESC LIMIT 10")
    last = last_sent = None
    if gateway_configured:
        # Newest first by rowid (time order), stopping at the first hub-phone row: the
        # planner would rather read every row of the channel through (channel, provider_id).
        last = db.execute("SELECT received_at FROM inbound NOT INDEXED WHERE channel = 'android_sms' "
                          "ORDER BY id DESC LIMIT 1").fetchone()
        last_sent = db.execute("SELECT sent_at FROM outbox NOT INDEXED WHERE channel = 'android_sms' "
                               "AND sent_at IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
        last, last_sent = (last[0] if last else None), (last_sent[0] if last_sent else None)
    # What the hub watch knows (bot.services.hub: health polls and system:ping) counts as
    # being heard from too, beside the SMS the phone passed on.
    heard = hub.last_seen(db) if gateway_configured else None
    figures["phone"] = {"configured": gateway_configured, "last_inbound": last, "last_sent": last_sent,
                        "last_seen": to_db_time(heard) if heard else None, "devices": hub.devices(db),
                        "silent": gateway_configured and (max(last or "", last_sent or "",
                                                              to_db_time(heard) if heard else "")
                                                          < to_db_time(now - SILENT_PHONE))}
    return figures


# --- people ----------------------------------------------------------------------------

ROLE_FILTERS = {
    "seller": "c.role = 'seller'",
    "buyer": "c.role = 'buyer'",
    "coordinator": "(c.is_coordinator = 1 OR EXISTS (SELECT 1 FROM desk_roles r WHERE r.contact_id = c.id))",
}


def people(db: sqlite_utils.Database, *, query: str = "", role: str = "", village: str = "",
           product: str = "", opted_out: str = "", offset: int = 0) -> tuple[list[dict], int]:
    """Contacts matching the filters (name or number search, role, village, a product they
    list, opted out or not), newest first, one page; and how many match in all."""
    clauses, params = ["c.erased_at IS NULL"], []
    if query:
        clauses.append("(c.name LIKE ? ESCAPE '\\' OR c.phone LIKE ? ESCAPE '\\')")
        params += [_like(query), _like(query.replace(" ", "").lstrip("0"))]
    if role in ROLE_FILTERS:
        clauses.append(ROLE_FILTERS[role])
    if village:
        clauses.append("c.village = ? COLLATE NOCASE")
        params.append(village)
    if product:
        clauses.append("EXISTS (SELECT 1 FROM listings l JOIN product_names n ON n.product_id = l.product_id "
                       "WHERE l.seller_id = c.id AND l.status = 'active' AND n.name = ?)")
        params.append(product.strip().lower())
    if opted_out in ("0", "1"):
        clauses.append("c.opted_out = ?")
        params.append(int(opted_out))
    where = " AND ".join(clauses)
    total = _capped_count(db, f"FROM contacts c WHERE {where}", params)
    rows = fetch_all(db, f"SELECT c.* FROM contacts c WHERE {where} ORDER BY c.id DESC LIMIT ? OFFSET ?",
                     [*params, PAGE_SIZE, offset])
    return rows, total


def villages(db: sqlite_utils.Database) -> list[str]:
    """Villages people registered from, for the filter."""
    return [row[0] for row in db.execute(
        "SELECT DISTINCT village COLLATE NOCASE FROM contacts WHERE village IS NOT NULL "
        "ORDER BY village COLLATE NOCASE LIMIT 300")]


def person(db: sqlite_utils.Database, contact_id: int) -> dict | None:
    """A person's page: the contact, their listings, orders, balance and whole conversation
    (in and out, oldest first, masked)."""
    contact = fetch_one(db, "SELECT c.*, r.role AS desk_role FROM contacts c "
                            "LEFT JOIN desk_roles r ON r.contact_id = c.id WHERE c.id = ?", [contact_id])
    if contact is None:
        return None
    conversation = fetch_all(
        db,
        "SELECT * FROM (SELECT 'in' AS direction, id, body, NULL AS reply_id, channel, received_at AS at, "
        "status, NULL AS provider_status, NULL AS error_code FROM inbound WHERE contact_id = :c "
        "UNION ALL SELECT 'out', id, body, reply_id, channel, created_at, status, provider_status, "
        "error_code "
        "FROM outbox WHERE contact_id = :c) ORDER BY at DESC, direction DESC LIMIT 200",
        {"c": contact_id},
    )
    buyer = fetch_one(db, "SELECT * FROM buyers WHERE contact_id = ?", [contact_id])
    orders = fetch_all(
        db, "SELECT o.*, p.name AS product FROM orders o JOIN products p ON p.id = o.product_id "
            "WHERE o.id IN (SELECT id FROM orders WHERE seller_id = ? UNION SELECT id FROM orders "
            "WHERE buyer_id = ?) ORDER BY o.id DESC LIMIT 50",
        [contact_id, buyer["id"] if buyer else -1])
    return {
        "contact": contact,
        "listings": fetch_all(db, "SELECT l.*, p.name AS product_name FROM listings l JOIN products p "
                                  "ON p.id = l.product_id WHERE l.seller_id = ? ORDER BY l.id DESC LIMIT 100",
                              [contact_id]),
        "orders": orders,
        "buyer": buyer,
        "balance": ledger.seller_balance(db, contact_id) if contact["role"] == "seller" else None,
        "conversation": list(reversed(mask_rows(conversation))),
    }


# --- listings, products, messages, prices ------------------------------------------------


def listings(db: sqlite_utils.Database, *, query: str = "", status: str = "active",
             offset: int = 0) -> tuple[list[dict], int]:
    """Listings by code, product (any of its names) or seller name, newest first; and how
    many match (at most COUNT_CAP + 1). A code finds its listing by the unique index; other
    text walks listings newest first against the matching products and sellers (each found
    once), stopping at the page."""
    statuses = (status,) if status in ("active", "withdrawn") else ("active", "withdrawn")
    where_status, params = in_clause("+l.status", statuses)
    clauses = [where_status]
    source = "listings l NOT INDEXED"
    text = query.strip()
    if text and _CODE.fullmatch(text.upper()):
        clauses.append("l.code = ?")
        params.append(text.upper())
        source = "listings l"
    elif text:
        products = [row[0] for row in db.execute(
            "SELECT DISTINCT product_id FROM product_names WHERE name LIKE ? ESCAPE '\\'", [_like(text)])]
        sellers = [row[0] for row in db.execute(
            "SELECT id FROM contacts WHERE name LIKE ? ESCAPE '\\' LIMIT ?", [_like(text), MANY_SELLERS + 1])]
        if not products and not sellers:
            return [], 0
        product_in, product_params = in_clause("l.product_id", products or [-1])
        seller_in, seller_params = in_clause("l.seller_id", sellers or [-1])
        clauses.append(f"({product_in} OR {seller_in})")
        params += product_params + seller_params
        if not products and len(sellers) <= MANY_SELLERS:
            source = "listings l"  # a few sellers' listings: through listings_seller
    where = " AND ".join(clauses)
    total = _capped_count(db, f"FROM {source} WHERE {where}", params)
    rows = fetch_all(db, "SELECT l.*, p.name AS product_name, c.name AS seller_name, c.village "
                         f"FROM {source} JOIN products p ON p.id = l.product_id "
                         f"JOIN contacts c ON c.id = l.seller_id WHERE {where} "
                         "ORDER BY l.id DESC LIMIT ? OFFSET ?", [*params, PAGE_SIZE, offset])
    return rows, total


def products_overview(db: sqlite_utils.Database) -> list[dict]:
    """Every product with its names and active listing count (seller-recorded ones first:
    they are the ones that may need merging)."""
    # Listings on show per product come from catalog_counts (kept by triggers, m006).
    return fetch_all(
        db,
        "SELECT p.*, (SELECT group_concat(n.name, ', ') FROM product_names n WHERE n.product_id = p.id "
        "AND n.name != p.name) AS synonyms, COALESCE(k.visible, 0) AS active_listings FROM products p "
        "LEFT JOIN catalog_counts k ON k.product_id = p.id "
        "ORDER BY p.source != 'seller', p.name LIMIT 1000")


INBOUND_STATUSES = ("new", "processed", "failed")
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "expired")
MESSAGE_STATUSES = ("pending", "sending", "sent", "failed", "expired", "new", "processed")
#: Statuses few messages have: found through the status indexes, not by walking time.
RARE_STATUSES = ("pending", "sending", "failed", "expired")


def message_log(db: sqlite_utils.Database, *, phone: str = "", channel: str = "", status: str = "",
                direction: str = "", offset: int = 0) -> list[dict]:
    """Inbound and outbound messages, newest first, filtered by number (a whole number, or any
    part of one), channel, status and direction; texts masked."""
    params: dict = {"limit": PAGE_SIZE, "offset": offset}
    filters = []
    if phone:
        try:
            contact = fetch_one(db, "SELECT id FROM contacts WHERE phone = ?", [normalize_phone(phone)])
        except InvalidPhoneNumber:
            contact = None
        if contact is not None:
            # A whole number: its contact's rows, through the contact indexes.
            filters.append("contact_id = :contact")
            params["contact"] = contact["id"]
        else:
            # Part of a number: the people whose number contains it (contacts are few
            # beside their messages), then their rows through the contact indexes.
            digits = "".join(ch for ch in phone if ch.isdigit())
            digits = "62" + digits[1:] if digits.startswith("0") else digits
            filters.append("contact_id IN (SELECT id FROM contacts WHERE phone LIKE :phone)")
            params["phone"] = f"%{digits}%"
    if channel:
        filters.append("channel = :channel")
        params["channel"] = channel
    if status in MESSAGE_STATUSES:
        # A literal from the list, not a parameter: a partial index (status = 'failed') is
        # only usable when the query says its condition in the same words.
        filters.append(f"status = '{status}'")
    where = (" WHERE " + " AND ".join(filters)) if filters else ""
    where_out = where
    # Which index finds the rows, named (the planner's guess changes with the data): a person's
    # or a rare status's rows through their index, then sorted; anything else by walking the
    # primary key newest first until a page is full (ids grow with time, m030).
    newest = "NOT INDEXED", "NOT INDEXED", "id DESC", "id DESC"
    if "contact" in params or "phone" in params:
        # One person's messages come in time order from their index; several people's are sorted.
        by_in, by_out = "INDEXED BY inbound_contact_time", "INDEXED BY outbox_contact_due"
        sort_in = "received_at DESC" if "contact" in params else "+received_at DESC"
        sort_out = "+created_at DESC"
    else:
        by_in, by_out, sort_in, sort_out = newest
        if status == "new":
            by_in, sort_in = "INDEXED BY inbound_new", "+received_at DESC"  # partial: unprocessed
        elif status == "failed":
            by_in, sort_in = "INDEXED BY desk_inbound_failed", "received_at DESC"  # partial, by time
        if status in RARE_STATUSES:
            # Partial index of the rows not sent (m030): its condition said.
            by_out, sort_out = "INDEXED BY outbox_unsent", "+created_at DESC"
            where_out = where + " AND status <> 'sent'"
    parts = []
    if direction in ("", "in") and (not status or status in INBOUND_STATUSES):
        parts.append("SELECT 'in' AS direction, id, phone, contact_id, channel, body, NULL AS reply_id, "
                     "status, NULL AS provider_status, error AS error_code, NULL AS error_message, "
                     f"received_at AS at FROM inbound {by_in}{where} ORDER BY {sort_in}")
    if direction in ("", "out") and (not status or status in OUTBOX_STATUSES):
        parts.append("SELECT 'out' AS direction, id, phone, contact_id, channel, body, reply_id, status, "
                     "provider_status, error_code, error_message, created_at AS at "
                     f"FROM outbox {by_out}{where_out} ORDER BY {sort_out}")
    if not parts:
        return []
    sql = " UNION ALL ".join(f"SELECT * FROM ({part} LIMIT :limit + :offset)" for part in parts)
    rows = fetch_all(db, f"SELECT * FROM ({sql}) ORDER BY at DESC LIMIT :limit OFFSET :offset", params)
    return mask_rows(rows)


def price_series(db: sqlite_utils.Database, product_id: int, limit: int = 200) -> dict:
    """A product's reference prices by market (oldest first) and its listings' prices, for
    the chart: {"markets": {market: [(time, price)]}, "listings": [(time, price)], "unit"}."""
    rows = fetch_all(db, "SELECT price, unit, market, recorded_at FROM reference_prices WHERE product_id = ? "
                         "ORDER BY recorded_at DESC, id DESC LIMIT ?", [product_id, limit])
    markets: dict[str, list] = {}
    for row in reversed(rows):
        markets.setdefault(row["market"] or "-", []).append((row["recorded_at"], row["price"]))
    listing_rows = fetch_all(db, "SELECT created_at, price, unit FROM listings INDEXED BY listings_product "
                                 "WHERE product_id = ? ORDER BY id DESC LIMIT ?", [product_id, limit])
    return {"markets": markets, "unit": rows[0]["unit"] if rows else None,
            "listings": [(r["created_at"], r["price"]) for r in reversed(listing_rows)]}


def audit_trail(db: sqlite_utils.Database, offset: int = 0) -> list[dict]:
    """The newest audit entries first."""
    return fetch_all(db, "SELECT * FROM coordinator_actions ORDER BY id DESC LIMIT ? OFFSET ?",
                     [PAGE_SIZE, offset])


def open_order_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Orders now open, by status: at a city `requested` ones too (waiting for their hub)."""
    where, params = in_clause("status", WAITING_STATUSES)
    return dict(db.execute(f"SELECT status, COUNT(*) FROM orders WHERE {where} GROUP BY status",
                           params).fetchall())
