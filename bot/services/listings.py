"""Sellers' listings: what is on offer, how much, at what price per unit, under which code.

Quantities are `Decimal` in this module's interface and integer milli-units in the
database (`quantity_milli`: grams for kg, thousandths of an ikat...), so that stock can
be compared and decremented exactly in SQL, without floats. Prices are `int` rupiah per
unit. A listing is never deleted: `HAPUS` withdraws it (its code stays taken, so a code
an order or a buyer once saw never points at something else).

Codes are a letter and digits (`C7`, `K23`): short enough to type on a keypad,
case-insensitive, and without look-alikes — no 0/O, 1/I/L — so what a seller reads
off a screen is what they can type back. The letter is the first usable letter of the
product (`cabai` -> C), `P` is left to order codes (`P12`). Numbers count up per letter
in base 8 over the digits 2-9 (C2 ... C9, C22 ...).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlite_utils

from bot.storage import fetch_all, fetch_one, to_db_time

CODE_LETTERS = "ABCDEFGHJKMNQRSTUVWXYZ"
CODE_DIGITS = "23456789"
#: The letter for products whose name has no usable letter ("ijo", "0lo"): J for jual.
FALLBACK_CODE_LETTER = "J"
MILLI = 1000
#: Sanity bounds: anything bigger is a typo (or a test of the system), not stock.
MAX_QUANTITY = Decimal(1_000_000)
MAX_PRICE = 1_000_000_000


class InvalidListing(ValueError):
    """A quantity or price outside what a listing can hold."""


def to_milli(quantity: Decimal) -> int:
    """`Decimal("2.5")` -> 2500; refuses anything finer than a thousandth."""
    milli = Decimal(quantity) * MILLI
    if milli != milli.to_integral_value():
        raise InvalidListing(f"quantity {quantity} is finer than 0.001")
    return int(milli)


def from_milli(milli: int) -> Decimal:
    """2500 -> `Decimal("2.5")`, 50000 -> `Decimal("50")` (no trailing zeros)."""
    value = Decimal(milli) / MILLI
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def valid_quantity(quantity: Decimal, *, allow_zero: bool = False) -> bool:
    """A quantity a listing can hold: positive (or zero, for "sold out"), at most MAX_QUANTITY,
    in thousandths."""
    if quantity < 0 or (quantity == 0 and not allow_zero) or quantity > MAX_QUANTITY:
        return False
    # Read the digits exactly: arithmetic (quantity * 1000) would round to Decimal's 28
    # digits, and "1.00000000000000000000000000000001" would pass as 1.
    _, digits, exponent = quantity.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0") or "0")
    return exponent + trailing_zeros >= -3


def valid_price(price: int) -> bool:
    """A whole, positive number of rupiah up to MAX_PRICE."""
    return isinstance(price, int) and 0 < price <= MAX_PRICE


def code_number(n: int) -> str:
    """1 -> "2", 8 -> "9", 9 -> "22": bijective base 8 over the digits 2-9."""
    if n < 1:
        raise ValueError(n)
    digits = []
    while n:
        n, remainder = divmod(n - 1, len(CODE_DIGITS))
        digits.append(CODE_DIGITS[remainder])
    return "".join(reversed(digits))


def code_letter(product_name: str) -> str:
    """The first letter of the product name that codes may use (`cabai` -> `C`)."""
    for char in product_name.upper():
        if char in CODE_LETTERS:
            return char
    return FALLBACK_CODE_LETTER


def normalize_code(code: str) -> str:
    """What people type (`c7`, `#C-7`) -> the stored form (`C7`)."""
    return code.strip().lstrip("#").replace("-", "").upper()


def sequential_code(db: sqlite_utils.Database, table: str, letter: str, prefix: str = "") -> str:
    """The next free code `prefix` + `letter` + `code_number(n)` in `table` (listings, orders).

    `n` comes from the scope's counter in `code_counters` (`listings:C`; started from the
    codes already issued by migration m006), one indexed upsert, never a count; codes are
    never freed. The loop only matters if someone inserted codes by hand. `prefix` is left
    for hub prefixes (a federation of hubs, each issuing its own codes); none is used
    today. Call it inside the write transaction that inserts the code, so a rolled-back
    insert also rolls back the counter.
    """
    scope = f"{table}:{prefix}{letter}"
    while True:
        n = db.execute(
            "INSERT INTO code_counters (scope, value) VALUES (?, 1) ON CONFLICT(scope) "
            "DO UPDATE SET value = value + 1 RETURNING value", [scope]).fetchall()[0][0]
        code = prefix + letter + code_number(n)
        if db.execute(f"SELECT 1 FROM {table} WHERE code = ?", [code]).fetchone() is None:
            return code


def _new_code(db: sqlite_utils.Database, product_name: str) -> str:
    return sequential_code(db, "listings", code_letter(product_name))


def create_listing(
    db: sqlite_utils.Database, *, seller_id: int, product: dict, product_text: str,
    quantity: Decimal, unit: str, price: int, now: datetime,
) -> dict:
    """Record a new active listing (call inside a transaction); return its row."""
    if not valid_quantity(quantity):
        raise InvalidListing(f"quantity {quantity}")
    if not valid_price(price):
        raise InvalidListing(f"price {price!r}")
    code = _new_code(db, product["name"])
    stamp = to_db_time(now)
    cursor = db.execute(
        """
        INSERT INTO listings (code, seller_id, product_id, product_text, quantity_milli, unit,
                              price, status, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)
        """,
        [code, seller_id, product["id"], product_text, to_milli(quantity), unit, price, stamp,
         stamp],
    )
    return get_listing(db, cursor.lastrowid)


_SELECT = """
    SELECT l.*, p.name AS product_name FROM listings l JOIN products p ON p.id = l.product_id
"""


def get_listing(db: sqlite_utils.Database, listing_id: int) -> dict:
    """The listing with `listing_id` (plus `product_name`); KeyError if absent."""
    row = fetch_one(db, _SELECT + " WHERE l.id = ?", [listing_id])
    if row is None:
        raise KeyError(listing_id)
    return row


def find_listing(db: sqlite_utils.Database, code: str) -> dict | None:
    """The listing with this code, in any case, whoever owns it and whatever its status."""
    return fetch_one(db, _SELECT + " WHERE l.code = ?", [normalize_code(code)])


def seller_listings(db: sqlite_utils.Database, seller_id: int) -> list[dict]:
    """The seller's active listings, most recent first, sold-out ones last (sorted here:
    a seller has a few, and the index already gives them newest first)."""
    rows = fetch_all(
        db, _SELECT + " WHERE l.seller_id = ? AND l.status = 'active' ORDER BY l.id DESC",
        [seller_id],
    )
    return sorted(rows, key=lambda row: row["quantity_milli"] == 0)


def recent_prices(db: sqlite_utils.Database, product_id: int, unit: str, limit: int = 20) -> list[int]:
    """Prices (rupiah per `unit`) of the product's newest active listings in that unit,
    for the price-sanity check (DECISIONS 111). Walks `listings_product`, newest first."""
    rows = db.execute(
        "SELECT price FROM listings WHERE status = 'active' AND product_id = ? AND unit = ? "
        "ORDER BY id DESC LIMIT ?",
        [product_id, unit, limit],
    ).fetchall()
    return [row[0] for row in rows]


def seller_listing_of(
    db: sqlite_utils.Database, seller_id: int, product_id: int, unit: str
) -> dict | None:
    """The seller's newest active listing of the product in `unit` (JUAL asks before
    listing it twice)."""
    return fetch_one(
        # `+l.product_id`: walk the seller's few listings (listings_seller), not every
        # listing of a popular product
        db, _SELECT + " WHERE l.seller_id = ? AND l.status = 'active' AND +l.product_id = ? "
        "AND l.unit = ? ORDER BY l.id DESC LIMIT 1",
        [seller_id, product_id, unit],
    )


def latest_listing_since(db: sqlite_utils.Database, seller_id: int, since: datetime) -> dict | None:
    """The seller's most recent active listing created at or after `since`, if any."""
    return fetch_one(
        db, _SELECT + " WHERE l.seller_id = ? AND l.status = 'active' AND l.created_at >= ? "
        "ORDER BY l.id DESC LIMIT 1",
        [seller_id, to_db_time(since)],
    )


def set_quantity(db: sqlite_utils.Database, listing_id: int, quantity: Decimal, now: datetime) -> dict:
    """Set how much is left (zero means sold out; the listing stays, hidden from the catalog)."""
    if not valid_quantity(quantity, allow_zero=True):
        raise InvalidListing(f"quantity {quantity}")
    db.execute("UPDATE listings SET quantity_milli = ?, updated_at = ? WHERE id = ?",
               [to_milli(quantity), to_db_time(now), listing_id])
    return get_listing(db, listing_id)


def add_to_listing(
    db: sqlite_utils.Database, listing_id: int, quantity: Decimal, price: int, now: datetime
) -> dict:
    """`JUAL` of a product the seller already lists, answered TAMBAH: more stock at the
    price just given."""
    if not valid_quantity(quantity) or not valid_price(price):
        raise InvalidListing(f"quantity {quantity}, price {price}")
    db.execute(
        "UPDATE listings SET quantity_milli = quantity_milli + ?, price = ?, updated_at = ? "
        "WHERE id = ?",
        [to_milli(quantity), price, to_db_time(now), listing_id],
    )
    return get_listing(db, listing_id)


def withdraw_listing(db: sqlite_utils.Database, listing_id: int, now: datetime) -> dict:
    """Take the listing off the market for good (`HAPUS`)."""
    stamp = to_db_time(now)
    db.execute(
        "UPDATE listings SET status = 'withdrawn', withdrawn_at = ?, updated_at = ? "
        "WHERE id = ? AND status = 'active'",
        [stamp, stamp, listing_id],
    )
    return get_listing(db, listing_id)


def quantity_of(listing: dict) -> Decimal:
    """The listing's quantity as a Decimal."""
    return from_milli(listing["quantity_milli"])


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: A listing buyers see. Written exactly as the partial indexes of migration m006 say it
#: (`listings_cheapest` and the `catalog_counts` triggers), so that
#: SQLite can use them.
VISIBLE = "l.status = 'active' AND l.quantity_milli > 0"

#: Orders of `search_catalog`: the public catalog shows the newest first; a buyer's
#: `CARI` wants the cheapest (then the most stock) first.
CATALOG_ORDERS = {
    "newest": "l.id DESC",
    "cheapest": "l.price ASC, l.quantity_milli DESC, l.id DESC",
}


#: Kinds walked per statement: SQLite allows 500 terms in one compound SELECT.
WALKS_PER_STATEMENT = 100


def _cheapest_of(
    db: sqlite_utils.Database, product_ids: list[int], limit: int, offset: int, count: bool
) -> tuple[list[dict], int | None]:
    """The cheapest visible listings of several products (a product and its kinds): each
    product's own cheapest-first index walked up to the page's end, the few merged here,
    so no listing beyond the page is read or sorted.

    The walks (one statement) read the index alone (`listings_cheapest` holds the price,
    the stock and the id it is sorted by), and only the page's own listings are then read
    with their sellers: at 100% a `CARI cabai` (cabai and three kinds) read 20 listing rows and 20
    sellers' rows, scattered over the tables, to show five (DECISIONS 481)."""
    walk = (f"SELECT * FROM (SELECT l.price, l.quantity_milli, l.id FROM listings l WHERE {VISIBLE} "
            f"AND l.product_id = ? ORDER BY {CATALOG_ORDERS['cheapest']} LIMIT ?)")
    ranked = []
    for start in range(0, len(product_ids), WALKS_PER_STATEMENT):
        chunk = product_ids[start : start + WALKS_PER_STATEMENT]
        ranked += db.execute(" UNION ALL ".join([walk] * len(chunk)),
                             [value for product_id in chunk for value in (product_id, offset + limit)],
                             ).fetchall()
    ranked.sort(key=lambda row: (row[0], -row[1], -row[2]))
    ids = [row[2] for row in ranked[offset : offset + limit]]
    total = None
    if count:
        total = db.execute(
            f"SELECT COALESCE(SUM(visible), 0) FROM catalog_counts WHERE product_id IN "
            f"({', '.join('?' * len(product_ids))})", product_ids).fetchone()[0]
    if not ids:
        return [], total
    rows = {row["id"]: row for row in fetch_all(
        db, f"SELECT {_CATALOG_COLUMNS} {_CATALOG_FROM} WHERE l.id IN ({', '.join('?' * len(ids))})",
        ids)}
    return [rows[listing_id] for listing_id in ids], total


#: What a catalog row carries, and where from (`search_catalog`, `_cheapest_of`).
_CATALOG_COLUMNS = (
    "l.id, l.code, l.product_id, l.product_text, l.quantity_milli, l.unit, l.price, "
    "l.created_at, l.updated_at, p.name AS product_name, c.name AS seller_name, "
    "c.village AS seller_village, c.province AS seller_province")
_CATALOG_FROM = ("FROM listings l JOIN products p ON p.id = l.product_id "
                 "JOIN contacts c ON c.id = l.seller_id")


def search_catalog(
    db: sqlite_utils.Database, *, product_id: int | None = None, village: str | None = None,
    q: str | None = None, limit: int = 20, offset: int = 0, order: str = "newest",
    count: bool = True, product_ids: list[int] | None = None, province: str | None = None,
) -> tuple[list[dict], int | None]:
    """Active listings with stock, most recent first (or `order="cheapest"`), as (page of
    rows, total matching); the total is None with `count=False` (CARI shows no total, so
    it does not pay for one).

    `product_id` is an exact product (the caller resolves synonyms), `product_ids` any of
    several (a product and its kinds); `village` the seller's village, any case, and with
    `province` only that province's village of the name ('' for sellers whose province
    nobody recorded; None: any); `q` free
    text matched, any case, against the product's
    names, what the seller typed, and the seller's village. Rows carry `product_name`,
    `seller_name` and `seller_village` — never the seller's phone.

    Reads only what it shows: a product's page walks an index in the order asked (the
    partial `listings_cheapest` of visible listings, or `listings_product`), a village's
    starts from its sellers (`contacts_village`); the total without a village or `q`
    comes from `catalog_counts` (kept by triggers), not from counting listings. `q` is
    free text and is matched row by row.
    """
    if product_ids and len(product_ids) > 1 and not village and not q and order == "cheapest":
        return _cheapest_of(db, product_ids, limit, offset, count)
    where = [VISIBLE]
    params: list = []
    if product_id is not None:
        where.append("l.product_id = ?")
        params.append(product_id)
    if product_ids:  # a product and its kinds (CARI cabai: cabai merah, cabai rawit)
        where.append(f"l.product_id IN ({', '.join('?' * len(product_ids))})")
        params.extend(product_ids)
    if village:
        where.append("c.village = ? COLLATE NOCASE")
        params.append(" ".join(village.split()))
        if province is not None:
            where.append("COALESCE(c.province, '') = ? COLLATE NOCASE")
            params.append(province)
    if q:
        pattern = _like(" ".join(q.lower().split()))
        where.append(
            "(l.product_text LIKE ? ESCAPE '\\' OR c.village LIKE ? ESCAPE '\\' OR EXISTS "
            "(SELECT 1 FROM product_names n WHERE n.product_id = l.product_id "
            "AND n.name LIKE ? ESCAPE '\\'))"
        )
        params += [pattern, pattern, pattern]
    condition = " AND ".join(where)
    base = _CATALOG_FROM
    total = None
    if count and not village and not q:
        counted = product_ids or ([product_id] if product_id is not None else [])
        total = db.execute(
            "SELECT COALESCE(SUM(visible), 0) FROM catalog_counts"
            + (f" WHERE product_id IN ({', '.join('?' * len(counted))})" if counted else ""),
            counted).fetchone()[0]
    elif count:
        total = db.execute(f"SELECT COUNT(*) {base} WHERE {condition}", params).fetchone()[0]
    rows = fetch_all(
        db,
        f"SELECT {_CATALOG_COLUMNS} {base} WHERE {condition} ORDER BY {CATALOG_ORDERS[order]} "
        f"LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return rows, total
