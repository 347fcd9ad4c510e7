"""Benchmark the coordinator's desk: every page's latency (p50, p99) at a real size.

The population is the scale issue's (`bench/scale.py`: `--scale` × 100,000 sellers in
2,000 villages, 300,000 listings, 1,000,000 orders, ledger receipts; cached under
`var/scale-cache/`, copied and migrated), with a year of messages added on top
(`--messages`, half in and half out, spread over the sellers) and a year of reference
prices, since the desk also reads those. It signs in as an admin, then requests each page
`--requests` times through the WSGI app in this process (no network, no browser) after
three warm-up requests, and prints a table. Not a timed test: a figure for
docs/BENCHMARKS.md.

    .venv/bin/python bench/desk.py --scale 1.0 --messages 1000000 --requests 200
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import cached_population, migrate_copy, seller_phone, sizes, village_name  # noqa: E402
from bot.services import desk_auth, products  # noqa: E402
from bot.storage import open_database, to_db_time, transaction, utcnow  # noqa: E402
from bot.web.app import create_app  # noqa: E402

CHANNELS = ("android_sms", "twilio_whatsapp", "twilio_sms")


def add_messages(db, sellers: int, messages: int) -> None:
    """A year of messages, in and out, over the sellers (what the desk's log and pages read)."""
    rng = random.Random(15)
    now = utcnow()
    start = now - timedelta(days=365)
    step = timedelta(days=365) / max(messages // 2, 1)
    ids = [row[0] for row in db.execute("SELECT id FROM contacts WHERE role = 'seller' ORDER BY id")]
    batch = 100_000
    for first in range(0, messages // 2, batch):
        inbound, outbox = [], []
        for i in range(first, min(first + batch, messages // 2)):
            n = rng.randrange(sellers)
            at = to_db_time(start + step * i)
            channel = rng.choice(CHANNELS)
            inbound.append((channel, f"m{i}", seller_phone(n), ids[n], "STOK", at, "processed"))
            outbox.append((ids[n], seller_phone(n), channel, "reply", "Stok Anda: C7 cabai 50 kg", "sent",
                           at, at, at, f"p{i}"))
        with transaction(db):
            db.conn.executemany(
                "INSERT INTO inbound (channel, provider_id, phone, contact_id, body, received_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", inbound)
            db.conn.executemany(
                "INSERT INTO outbox (contact_id, phone, channel, kind, body, status, next_attempt_at, "
                "created_at, sent_at, provider_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", outbox)
    with transaction(db):
        cabai = products.find_product(db, "cabai")["id"]
        db.conn.executemany(
            "INSERT INTO reference_prices (product_id, price, unit, market, recorded_at) "
            "VALUES (?, ?, 'kg', ?, ?)",
            [(cabai, rng.randrange(10_000, 14_000), rng.choice(("Pasar Induk", "Kramat Jati")),
              to_db_time(start + timedelta(days=i))) for i in range(365)])


def timed(calls: int, run) -> tuple[float, float]:
    """p50 and p99 (ms) of `calls` runs of `run()`, after three to warm SQLite's page cache."""
    for _ in range(3):
        run()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def measure(client, path: str, requests: int) -> tuple[float, float]:
    """p50 and p99 of `requests` GETs, after three to warm SQLite's page cache."""
    def get() -> None:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
    return timed(requests, get)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="of bench/scale.py's population")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "scale-cache")
    parser.add_argument("--messages", type=int, default=1_000_000, help="added on top, in and out")
    parser.add_argument("--requests", type=int, default=200, help="per page")
    args = parser.parse_args()
    size = sizes(args.scale)
    workdir = Path(tempfile.mkdtemp(prefix="desk-bench-"))
    try:
        path = workdir / "jembatan.db"
        shutil.copyfile(cached_population(args.cache, args.scale), path)
        migrate_copy(path)
        db = open_database(path)
        built = time.perf_counter()
        add_messages(db, size["sellers"], args.messages)
        print(f"population: scale {args.scale:g} ({size['sellers']:,} sellers, "
              f"{size['listings']:,} listings, {size['orders']:,} orders) + {args.messages:,} messages "
              f"(added in {time.perf_counter() - built:.0f} s)")
        app = create_app({"DATABASE_PATH": str(path), "REDIS_URL": None, "SIMULATOR": "on"})
        desk_auth.grant_role(db, "+6281100000001", "admin", utcnow())
        token = desk_auth.create_link_token(db, "+6281100000001", utcnow())
        client = app.test_client()
        page = client.get(f"/dashboard/masuk/tautan/{token}").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert client.post(f"/dashboard/masuk/tautan/{token}", data={"csrf_token": csrf}).status_code == 302
        middle = size["sellers"] // 2
        person = db.execute("SELECT id FROM contacts WHERE phone = ?", [seller_phone(middle)]).fetchone()[0]
        listing = db.execute("SELECT MAX(id) / 2 FROM listings").fetchone()[0]
        local = "0" + seller_phone(middle)[3:]
        village = village_name(7).replace(" ", "%20")
        pages = ["/dashboard/", "/dashboard/orang", "/dashboard/orang?q=Petani%20123",
                 f"/dashboard/orang?village={village}&product=cabai", f"/dashboard/orang/{person}",
                 "/dashboard/iklan", "/dashboard/iklan?q=cabai", f"/dashboard/iklan/{listing}",
                 "/dashboard/produk", "/dashboard/pesan", f"/dashboard/pesan?phone={local}",
                 f"/dashboard/pesan?phone={local[-6:]}", "/dashboard/pesan?status=failed",
                 "/dashboard/siaran", "/dashboard/harga?product=cabai", "/dashboard/tim", "/dashboard/jejak",
                 f"/simulator?phone=%2B{seller_phone(middle)[1:]}"]
        print(f"{'page':58} {'p50 ms':>8} {'p99 ms':>8}")
        for path_ in pages:
            p50, p99 = measure(client, path_, args.requests)
            print(f"{path_:58} {p50:8.1f} {p99:8.1f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
