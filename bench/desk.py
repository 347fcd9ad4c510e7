"""Benchmark the coordinator's desk: every page's latency (p50, p99) on a large population.

Builds a database of sellers, buyers, listings, orders, a year of messages and reference
prices with bulk inserts (the figures are the population, not the app's write path), signs
in as an admin, then requests each page `--requests` times through the WSGI app in this
process (no network, no browser) and prints a table. Not a timed test: a figure for
docs/BENCHMARKS.md.

    .venv/bin/python bench/desk.py --sellers 20000 --messages 1000000 --requests 200
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.migrations import apply_migrations  # noqa: E402
from bot.services import desk_auth, products  # noqa: E402
from bot.storage import open_database, to_db_time, transaction, utcnow  # noqa: E402
from bot.web.app import create_app  # noqa: E402

VILLAGES = [f"Desa {i}" for i in range(300)]
CHANNELS = ("android_sms", "twilio_whatsapp", "twilio_sms")


def populate(db, sellers: int, buyers: int, listings_per_seller: int, messages: int, orders: int) -> dict:
    """Bulk-insert the population; returns a few ids to visit."""
    rng = random.Random(15)
    now = utcnow()
    stamp = to_db_time(now)
    with transaction(db):
        products.seed_catalogue(db, now)
    product_ids = [row[0] for row in db.execute("SELECT id FROM products")]
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO contacts (phone, role, name, village, registered_at, created_at, sms_channel) "
            "VALUES (?, ?, ?, ?, ?, ?, 'android_sms')",
            [(f"+62812{i:08d}", "seller" if i < sellers else "buyer", f"Petani {i}", rng.choice(VILLAGES),
              stamp, stamp) for i in range(sellers + buyers)])
        db.conn.executemany(
            "INSERT INTO buyers (contact_id, name, city, source, created_at, updated_at) "
            "VALUES (?, ?, 'Bandung', 'sms', ?, ?)",
            [(sellers + i + 1, f"Warung {i}", stamp, stamp) for i in range(buyers)])
        listing_rows = []
        code = 0
        for seller in range(1, sellers + 1):
            for _ in range(listings_per_seller):
                code += 1
                listing_rows.append((f"Z{code}", seller, rng.choice(product_ids), "cabai", 50_000, "kg",
                                     rng.randrange(5_000, 50_000), stamp, stamp))
        db.conn.executemany(
            "INSERT INTO listings (code, seller_id, product_id, product_text, quantity_milli, unit, price, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", listing_rows)
    contacts = sellers + buyers
    start = now - timedelta(days=365)
    step = timedelta(days=365) / max(messages // 2, 1)
    with transaction(db):
        inbound, outbox = [], []
        for i in range(messages // 2):
            contact = rng.randrange(1, contacts + 1)
            at = to_db_time(start + step * i)
            channel = rng.choice(CHANNELS)
            inbound.append((channel, f"m{i}", f"+62812{contact - 1:08d}", contact, "STOK", at, "processed"))
            outbox.append((contact, f"+62812{contact - 1:08d}", channel, "reply", "Stok Anda: Z7 cabai 50 kg",
                           "sent", at, at, at, f"p{i}"))
        db.conn.executemany(
            "INSERT INTO inbound (channel, provider_id, phone, contact_id, body, received_at, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", inbound)
        db.conn.executemany(
            "INSERT INTO outbox (contact_id, phone, channel, kind, body, status, next_attempt_at, "
            "created_at, sent_at, provider_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", outbox)
    with transaction(db):
        order_rows = []
        for i in range(orders):
            listing = rng.randrange(1, len(listing_rows) + 1)
            seller = listing_rows[listing - 1][1]
            placed = start + timedelta(days=365) * i / orders
            at = to_db_time(placed)
            # Orders of the last day are still open; older ones mostly received.
            recent = placed > now - timedelta(days=1)
            status = rng.choice(("pending", "accepted") if recent else ("received",) * 4 + ("declined",))
            order_rows.append((f"Q{i}", rng.randrange(1, buyers + 1), listing, seller,
                               listing_rows[listing - 1][2], 1000, "kg", 10_000, 10_000, status, "text",
                               at, at, at, at, at if status == "received" else None))
        db.conn.executemany(
            "INSERT INTO orders (code, buyer_id, listing_id, seller_id, product_id, quantity_milli, unit, "
            "unit_price, total, status, source, remind_at, expires_at, created_at, updated_at, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", order_rows)
        cabai = products.find_product(db, "cabai")["id"]
        db.conn.executemany(
            "INSERT INTO reference_prices (product_id, price, unit, market, recorded_at) "
            "VALUES (?, ?, 'kg', ?, ?)",
            [(cabai, rng.randrange(10_000, 14_000), rng.choice(("Pasar Induk", "Kramat Jati")),
              to_db_time(start + timedelta(days=i))) for i in range(365)])
    return {"person": sellers // 2, "listing": len(listing_rows) // 2, "phone": f"0812{sellers // 2 - 1:08d}"}


def measure(client, path: str, requests: int) -> tuple[float, float]:
    """p50 and p99 of `requests` GETs, after three to warm SQLite's page cache."""
    for _ in range(3):
        client.get(path)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sellers", type=int, default=20_000)
    parser.add_argument("--buyers", type=int, default=2_000)
    parser.add_argument("--listings-per-seller", type=int, default=3)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="desk-bench-"))
    db = open_database(folder / "jembatan.db")
    apply_migrations(db)
    built = time.perf_counter()
    ids = populate(db, args.sellers, args.buyers, args.listings_per_seller, args.messages, args.orders)
    print(f"population: {args.sellers} sellers, {args.buyers} buyers, "
          f"{args.sellers * args.listings_per_seller} listings, {args.messages} messages, "
          f"{args.orders} orders "
          f"(built in {time.perf_counter() - built:.0f} s)")
    app = create_app({"DATABASE_PATH": str(folder / "jembatan.db"), "REDIS_URL": None, "SIMULATOR": "on"})
    desk_auth.grant_role(db, "+6281100000001", "admin", utcnow())
    token = desk_auth.create_link_token(db, "+6281100000001", utcnow())
    client = app.test_client()
    page = client.get(f"/dashboard/masuk/tautan/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/dashboard/masuk/tautan/{token}", data={"csrf_token": csrf}).status_code == 302
    pages = ["/dashboard/", "/dashboard/orang", "/dashboard/orang?q=Petani%20123",
             "/dashboard/orang?village=Desa%207&product=cabai", f"/dashboard/orang/{ids['person']}",
             "/dashboard/iklan", "/dashboard/iklan?q=cabai", f"/dashboard/iklan/{ids['listing']}",
             "/dashboard/produk", "/dashboard/pesan", f"/dashboard/pesan?phone={ids['phone']}",
             "/dashboard/pesan?status=failed", "/dashboard/siaran", "/dashboard/harga?product=cabai",
             "/dashboard/tim", "/dashboard/jejak", f"/simulator?phone=%2B62{ids['phone'][1:]}"]
    print(f"{'page':58} {'p50 ms':>8} {'p99 ms':>8}")
    for path in pages:
        p50, p99 = measure(client, path, args.requests)
        print(f"{path:58} {p50:8.1f} {p99:8.1f}")


if __name__ == "__main__":
    main()
