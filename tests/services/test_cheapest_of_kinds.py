"""CARI of a product and its kinds (DECISIONS 481): the page merged from each product's
cheapest-first index is exactly the page one query over all of them would give, in the
same order, at every offset; listings not visible (sold out, withdrawn) never show."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from bot.services import contacts, listings, products
from bot.storage import fetch_all, transaction

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)


def _reference(db, product_ids, limit, offset):
    """The page as one query over all the products would give it (the definition)."""
    marks = ", ".join("?" * len(product_ids))
    return fetch_all(
        db, f"SELECT l.id FROM listings l WHERE {listings.VISIBLE} AND l.product_id IN ({marks}) "
        f"ORDER BY {listings.CATALOG_ORDERS['cheapest']} LIMIT ? OFFSET ?",
        [*product_ids, limit, offset])


def test_the_merged_page_is_the_cheapest_page_of_all_the_kinds(migrated_db, monkeypatch):
    db, rng = migrated_db, random.Random(481)
    names = ["cabai", "cabai merah", "cabai rawit", "cabai hijau"]
    with transaction(db):
        made = [products.resolve_product(db, name, NOW)[0] for name in names]
        sellers = []
        for n in range(6):
            contact = contacts.get_or_create_contact(db, f"+62812345600{n:02d}", NOW)
            sellers.append(contacts.register_seller(db, contact["id"], f"Penjual {n}",
                                                    f"Desa {n}", NOW))
        created = []
        for n in range(60):
            product = made[rng.randrange(len(made))]
            created.append(listings.create_listing(
                db, seller_id=sellers[n % len(sellers)]["id"], product=product,
                product_text=product["name"], quantity=Decimal(rng.choice([1, 5, 5, 10])),
                unit="kg", price=rng.choice([9_000, 10_000, 10_000, 12_000]), now=NOW))
        # Not visible: sold out, withdrawn.
        listings.set_quantity(db, created[0]["id"], Decimal(0), NOW)
        listings.withdraw_listing(db, created[1]["id"], NOW)
    ids = products.kinds_of(db, made[0])
    assert {product["id"] for product in made} <= set(ids) and ids[0] == made[0]["id"]
    for offset in (0, 3, 5, 17, 55, 70):
        rows, total = listings.search_catalog(db, product_ids=ids, limit=5, offset=offset,
                                              order="cheapest")
        assert [row["id"] for row in rows] == [row["id"] for row in _reference(db, ids, 5, offset)]
        assert total == 58
        for row in rows:  # the rows carry what CARI shows, seller included
            listing = listings.get_listing(db, row["id"])
            assert row["code"] == listing["code"] and row["price"] == listing["price"]
            assert row["product_name"] == listing["product_name"]
            assert row["seller_village"].startswith("Desa ")
    assert listings.search_catalog(db, product_ids=ids, limit=5, offset=0, order="cheapest",
                                   count=False)[1] is None
    # More kinds than one statement walks: the same page.
    monkeypatch.setattr(listings, "WALKS_PER_STATEMENT", 2)
    for offset in (0, 17):
        rows, _ = listings.search_catalog(db, product_ids=ids, limit=5, offset=offset, order="cheapest")
        assert [row["id"] for row in rows] == [row["id"] for row in _reference(db, ids, 5, offset)]
