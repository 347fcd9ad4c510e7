"""Benchmark the catalog queries a JUAL, STOK or CARI message adds (issue 14): the usual
price for the price-sanity check, the seller's listing of the same product (duplicate
question), and CARI pages with the product's kinds, on a realistic catalogue.

Fills a fresh SQLite file with `--listings` active listings (default 100,000) spread over
the seeded catalogue and 5,000 sellers, then times each query many times on one core::

    .venv/bin/python bench/catalog_queries.py
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.migrations import apply_migrations  # noqa: E402
from bot.services import listings, prices, products  # noqa: E402
from bot.storage import open_database, to_db_time, transaction, utcnow  # noqa: E402

SELLERS = 5_000


def fill(db, count: int) -> list[dict]:
    stamp = to_db_time(utcnow())
    catalogue = products.list_products(db)
    rng = random.Random(14)
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO contacts (phone, role, name, village, created_at) VALUES (?, 'seller', ?, ?, ?)",
            [(f"+62812{n:07d}", f"Petani {n}", f"Desa {n % 300}", stamp) for n in range(SELLERS)])
        db.conn.executemany(
            "INSERT INTO listings (code, seller_id, product_id, product_text, quantity_milli, unit, "
            "price, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'kg', ?, 'active', ?, ?)",
            [(f"X{n}", rng.randint(1, SELLERS), (p := rng.choice(catalogue))["id"], p["name"],
              rng.randint(0, 500_000), rng.randint(20, 900) * 100, stamp, stamp)
             for n in range(count)])
        for product in catalogue:
            prices.record_reference_price(db, product_id=product["id"], price=12_000, unit="kg",
                                          now=utcnow())
    return catalogue


def timed(label: str, calls: int, function) -> None:
    start = time.perf_counter()
    for i in range(calls):
        function(i)
    elapsed = time.perf_counter() - start
    print(f"{label:44} {calls:6} calls  {elapsed / calls * 1e6:8.0f} us/call")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    args = parser.parse_args(argv)
    db = open_database(Path(tempfile.mkdtemp(prefix="jembatan-bench-")) / "bench.db")
    apply_migrations(db)
    catalogue = fill(db, args.listings)
    cabai = products.find_product(db, "cabai")
    kinds = products.kinds_of(db, cabai)
    print(f"{args.listings:,} listings, {SELLERS:,} sellers, {len(catalogue)} products; "
          f"cabai has {len(kinds) - 1} kinds")
    ids = [p["id"] for p in catalogue]
    timed("price sanity: recent_prices + price_history", 2000, lambda i: (
        listings.recent_prices(db, ids[i % len(ids)], "kg"),
        prices.price_history(db, ids[i % len(ids)], limit=10)))
    timed("duplicate: seller_listing_of", 2000,
          lambda i: listings.seller_listing_of(db, i % SELLERS + 1, ids[i % len(ids)], "kg"))
    timed("CARI cabai: kinds_of + page 1", 500, lambda i: listings.search_catalog(
        db, product_ids=products.kinds_of(db, cabai), limit=5, order="cheapest"))
    timed("CARI cabai before issue 14: one product", 500, lambda i: listings.search_catalog(
        db, product_id=cabai["id"], limit=5, order="cheapest"))
    timed("CARI cabai: page 20 (LAGI x19)", 500, lambda i: listings.search_catalog(
        db, product_ids=kinds, limit=5, offset=95, order="cheapest"))
    timed("STOK: seller_listings", 2000, lambda i: listings.seller_listings(db, i % SELLERS + 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
