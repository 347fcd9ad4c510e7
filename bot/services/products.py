"""The product catalogue: one row per product, any number of names (synonyms) for it.

`cabe`, `cabai` and `chili` are names of one product, so listings, reference prices and
subscriptions written with any of them meet. The catalogue is seeded from
`bot/data/products.csv` (by migration `m002_catalog`, and again by `jembatan product
seed` after the file grows); coordinators add products and synonyms with `jembatan
product add`. A product nobody has heard of is accepted and recorded as new (source
`seller`): `jembatan product list --new` shows those, and adding one of them as a
synonym of a catalogue product folds it (and its listings, prices, subscriptions) in.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from datetime import datetime
from pathlib import Path

import sqlite_utils

from bot.storage import fetch_all, fetch_one, to_db_time, transaction

CATALOGUE_CSV = Path(__file__).resolve().parent.parent / "data" / "products.csv"
#: Where a product came from: the seeded file, a coordinator, or a seller's message.
SOURCES = ("catalogue", "coordinator", "seller")
NAME_LIMITS = (2, 40)


class ProductNameTaken(ValueError):
    """The name already belongs to another established product (merging it needs a person)."""


_NOT_NAME_RE = re.compile(r"[^\w\s'&.,/-]|_")


def normalize_product_name(text: str) -> str:
    """The lookup key of a product name: `  Cabe  Merah. ` -> `cabe merah`; emoji and
    other symbols go (`cabai🌶️` -> `cabai`), so a decorated name finds the product."""
    text = _NOT_NAME_RE.sub(" ", unicodedata.normalize("NFKC", text).lower())
    return " ".join(text.split()).strip(" .,;:!?-\"'")


def valid_product_name(name: str) -> bool:
    """2-40 characters with at least one letter (a name, not a number or punctuation)."""
    return NAME_LIMITS[0] <= len(name) <= NAME_LIMITS[1] and any(ch.isalpha() for ch in name)


def get_product(db: sqlite_utils.Database, product_id: int) -> dict:
    """The product row with `product_id` (KeyError if absent)."""
    row = fetch_one(db, "SELECT * FROM products WHERE id = ?", [product_id])
    if row is None:
        raise KeyError(product_id)
    return row


def find_product(db: sqlite_utils.Database, name: str) -> dict | None:
    """The product that `name` (its own name or any synonym, any case) stands for, or None."""
    return fetch_one(
        db,
        "SELECT p.* FROM product_names n JOIN products p ON p.id = n.product_id WHERE n.name = ?",
        [normalize_product_name(name)],
    )


def resolve_product(
    db: sqlite_utils.Database, name: str, now: datetime, *, contact_id: int | None = None
) -> tuple[dict, bool]:
    """The product `name` stands for, creating it as new if nobody knows it.

    Returns (product row, created). A new product is named exactly as written (normalised)
    and marked `seller`, so coordinators can review it.
    """
    product = find_product(db, name)
    if product is not None:
        return product, False
    return _create(db, normalize_product_name(name), "seller", now, contact_id), True


def kinds_of(db: sqlite_utils.Database, product: dict) -> list[int]:
    """Ids of the product and its kinds: products named after it (`cabai` -> `cabai
    merah`, `cabai rawit`), the product first."""
    # names starting with "cabai ": a range of the unique index on name ("!" follows " ")
    rows = db.execute(
        "SELECT id FROM products WHERE name > ? AND name < ? ORDER BY name",
        [product["name"] + " ", product["name"] + "!"],
    ).fetchall()
    return [product["id"], *(row[0] for row in rows)]


def product_names(db: sqlite_utils.Database, product_id: int) -> list[str]:
    """Every name of the product: its own first, then synonyms alphabetically."""
    product = get_product(db, product_id)
    synonyms = [row["name"] for row in fetch_all(
        db, "SELECT name FROM product_names WHERE product_id = ? AND name != ? ORDER BY name",
        [product_id, product["name"]])]
    return [product["name"], *synonyms]


def list_products(db: sqlite_utils.Database, *, source: str | None = None) -> list[dict]:
    """Products by name, each with `synonyms` (list) and `listings` (active listing count)."""
    where, params = ("WHERE p.source = ?", [source]) if source else ("", [])
    rows = fetch_all(
        db,
        f"""
        SELECT p.*, (SELECT COUNT(*) FROM listings l WHERE l.product_id = p.id
                     AND l.status = 'active') AS listings
        FROM products p {where} ORDER BY p.name
        """,
        params,
    )
    for row in rows:
        row["synonyms"] = product_names(db, row["id"])[1:]
    return rows


def add_product(
    db: sqlite_utils.Database, name: str, synonyms: list[str], now: datetime,
    *, source: str = "coordinator",
) -> dict:
    """Create product `name` if needed and give it `synonyms`; return the product.

    A synonym that is already another product's name folds that product into this one
    when it was only recorded from a seller's message (its listings, reference prices
    and subscriptions move over); a name that belongs to an established product raises
    ProductNameTaken, since merging two real products is a decision for a person.
    A `name` that is a seller-recorded product is promoted to `source`.
    """
    key = normalize_product_name(name)
    if not valid_product_name(key):
        raise ValueError(f"not a product name: {name!r}")
    with transaction(db):
        product = find_product(db, key)
        if product is None:
            product = _create(db, key, source, now, None)
        elif product["source"] == "seller" and source != "seller":
            db.execute("UPDATE products SET source = ? WHERE id = ?", [source, product["id"]])
        for synonym in synonyms:
            _add_name(db, product["id"], normalize_product_name(synonym), now)
        return get_product(db, product["id"])


def seed_catalogue(db: sqlite_utils.Database, now: datetime, path: Path = CATALOGUE_CSV) -> int:
    """Add the products and synonyms of the catalogue file that are not there yet.

    Idempotent: run it again after the file grows. Returns how many names were added.
    """
    added = 0
    with transaction(db), Path(path).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            before = db.execute("SELECT COUNT(*) FROM product_names").fetchone()[0]
            synonyms = [s for s in (row.get("synonyms") or "").split("|") if s.strip()]
            add_product(db, row["name"], synonyms, now, source="catalogue")
            added += db.execute("SELECT COUNT(*) FROM product_names").fetchone()[0] - before
    return added


def _create(db, name: str, source: str, now: datetime, contact_id: int | None) -> dict:
    cursor = db.execute(
        "INSERT INTO products (name, source, created_by, created_at) VALUES (?, ?, ?, ?)",
        [name, source, contact_id, to_db_time(now)],
    )
    db.execute("INSERT INTO product_names (name, product_id, created_at) VALUES (?, ?, ?)",
               [name, cursor.lastrowid, to_db_time(now)])
    return get_product(db, cursor.lastrowid)


def _add_name(db, product_id: int, name: str, now: datetime) -> None:
    if not valid_product_name(name):
        raise ValueError(f"not a product name: {name!r}")
    owner = find_product(db, name)
    if owner is None:
        db.execute("INSERT INTO product_names (name, product_id, created_at) VALUES (?, ?, ?)",
                   [name, product_id, to_db_time(now)])
    elif owner["id"] != product_id:
        if owner["source"] != "seller":
            raise ProductNameTaken(f"{name!r} already names the product {owner['name']!r}")
        _merge(db, owner["id"], product_id)


def _merge(db, source_id: int, target_id: int) -> None:
    """Fold a seller-recorded product into another: everything that pointed at it moves."""
    db.execute("UPDATE listings SET product_id = ? WHERE product_id = ?", [target_id, source_id])
    db.execute("UPDATE reference_prices SET product_id = ? WHERE product_id = ?",
               [target_id, source_id])
    db.execute(
        "INSERT OR IGNORE INTO subscriptions (contact_id, product_id, source, created_at) "
        "SELECT contact_id, ?, source, created_at FROM subscriptions WHERE product_id = ?",
        [target_id, source_id],
    )
    db.execute("DELETE FROM subscriptions WHERE product_id = ?", [source_id])
    db.execute("UPDATE product_names SET product_id = ? WHERE product_id = ?", [target_id, source_id])
    db.execute("DELETE FROM products WHERE id = ?", [source_id])
