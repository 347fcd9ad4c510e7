"""Who a broadcast reaches: named groups, villages, product subscribers, all sellers/buyers.

A group name is resolved in this order, so a coordinator can always make a name mean
what they intend by creating a named group: reserved words (`semua`/`all` and
`penjual`/`sellers` = all sellers, `pembeli`/`buyers` = all buyers), a named group,
a village, then the subscribers of a product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.services import products
from bot.services.contacts import get_or_create_contact
from bot.storage import fetch_one, to_db_time, transaction

RESERVED_GROUPS = {
    "semua": "sellers", "all": "sellers", "penjual": "sellers", "sellers": "sellers",
    "pembeli": "buyers", "buyers": "buyers",
}


#: `produk:cabai` always means cabai's subscribers (price updates use it).
PRODUCT_PREFIX = "produk:"


class UnknownGroup(LookupError):
    """The name matches no group, village or product."""


@dataclass(frozen=True)
class Audience:
    """A resolved group: what it is and the SQL that selects its contact ids."""

    kind: str  # sellers, buyers, group, village, product
    label: str
    where: str  # a condition on `contacts c`
    params: tuple


def resolve_group(db: sqlite_utils.Database, name: str) -> Audience:
    """Turn a group name into an Audience, or raise UnknownGroup."""
    key = " ".join(name.split()).lower()
    if key.startswith(PRODUCT_PREFIX):
        # Explicitly a product's subscribers, whatever villages or groups are called.
        product = _product_audience(db, key.removeprefix(PRODUCT_PREFIX).strip())
        if product is None:
            raise UnknownGroup(name)
        return product
    reserved = RESERVED_GROUPS.get(key)
    if reserved == "sellers":
        return Audience("sellers", key, "c.role = 'seller'", ())
    if reserved == "buyers":
        return Audience("buyers", key, "c.role = 'buyer'", ())
    group = fetch_one(db, "SELECT id, name FROM contact_groups WHERE name = ?", [key])
    if group:
        return Audience("group", group["name"], "c.id IN (SELECT contact_id FROM "
                        "contact_group_members WHERE group_id = ?)", (group["id"],))
    if fetch_one(db, "SELECT 1 AS x FROM contacts WHERE role = 'seller' AND village = ? "
                 "COLLATE NOCASE LIMIT 1", [key]):
        return Audience("village", key, "c.role = 'seller' AND c.village = ? COLLATE NOCASE", (key,))
    product = _product_audience(db, key)
    if product:
        return product
    raise UnknownGroup(name)


def _product_audience(db: sqlite_utils.Database, key: str) -> Audience | None:
    """Subscribers of a product (synonyms resolve: `cabe` is cabai)."""
    product = products.find_product(db, key)
    if product is None:
        return None
    return Audience("product", product["name"], "c.id IN (SELECT contact_id FROM subscriptions "
                    "WHERE product_id = ?)", (product["id"],))


def create_group(db: sqlite_utils.Database, name: str, now: datetime) -> int:
    """Create a named group (names are case-insensitive); return its id."""
    key = " ".join(name.split()).lower()
    if key in RESERVED_GROUPS:
        raise ValueError(f"{name!r} is reserved")
    with transaction(db):
        db.execute("INSERT INTO contact_groups (name, created_at) VALUES (?, ?) "
                   "ON CONFLICT(name) DO NOTHING", [key, to_db_time(now)])
        return fetch_one(db, "SELECT id FROM contact_groups WHERE name = ?", [key])["id"]


def add_to_group(db: sqlite_utils.Database, name: str, phones: list[str], now: datetime) -> int:
    """Add numbers (created as contacts if new) to a named group; return how many were added."""
    with transaction(db):
        group_id = create_group(db, name, now)
        added = 0
        for phone in phones:
            contact = get_or_create_contact(db, phone, now)
            cursor = db.execute("INSERT OR IGNORE INTO contact_group_members VALUES (?, ?)",
                                [group_id, contact["id"]])
            added += cursor.rowcount
        return added


def remove_from_group(db: sqlite_utils.Database, name: str, phones: list[str]) -> int:
    """Remove numbers from a named group; return how many were removed."""
    with transaction(db):
        cursor = db.conn.executemany(
            "DELETE FROM contact_group_members WHERE group_id = (SELECT id FROM contact_groups "
            "WHERE name = ?) AND contact_id = (SELECT id FROM contacts WHERE phone = ?)",
            [(name.lower(), phone) for phone in phones],
        )
        return cursor.rowcount


def group_sizes(db: sqlite_utils.Database) -> list[tuple[str, int]]:
    """Named groups and their member counts."""
    return [tuple(row) for row in db.execute(
        "SELECT g.name, COUNT(m.contact_id) FROM contact_groups g LEFT JOIN contact_group_members m "
        "ON m.group_id = g.id GROUP BY g.id ORDER BY g.name").fetchall()]
