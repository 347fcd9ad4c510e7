"""Benchmark the demand-signal queries (issue 17) at a real size: what a `CARI` by text
adds to its transaction, what a public search page reads to decide whether it counts, the
desk's top unmet searches, and the sweep's demand texts (which products, who hears).

The population is the scale issue's (`bench/scale.py`: `--scale` x 100,000 sellers in
2,000 villages, 300,000 listings; cached under `var/scale-cache/`, copied and migrated).
On the copy, `demand_searches` is filled to what the sweep keeps (`demand.KEEP`, eight
weeks): `--products` catalogue products searched in `--areas` villages and anywhere,
every day. Each query runs `--calls` times (p50, p99 in ms); the sweep's first run, which
queues the week's texts, once. Not a timed test: a figure for docs/BENCHMARKS.md.

    .venv/bin/python bench/demand.py --scale 1.0
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.desk import timed  # noqa: E402
from bench.scale import cached_population, migrate_copy, sizes, village_name  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.pipeline.demand import send_demand_signals  # noqa: E402
from bot.services import demand, products, storefront  # noqa: E402
from bot.storage import open_database, transaction, utcnow  # noqa: E402


def fill_searches(db, now, product_rows: list[tuple[int, str]], areas: list[str]) -> int:
    """Eight weeks of daily counts for every product and area; rows written."""
    rows = []
    for day in range(demand.KEEP.days):
        stamp = (now - timedelta(days=day)).date().isoformat()
        for index, (pid, name) in enumerate(product_rows):
            for area in areas:
                searches = 1 + (index + len(area) + day) % 4
                rows.append((stamp, f"p{pid}", area.lower(), pid, name, searches, searches // 2,
                             searches, 0, 0, f"{stamp}T08:00:00.000000Z"))
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO demand_searches (day, product_key, area, product_id, product_name, searches, "
            "unmet, by_text, by_page, by_api, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="of bench/scale.py's population")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "scale-cache")
    parser.add_argument("--calls", type=int, default=300, help="per query")
    parser.add_argument("--products", type=int, default=40, help="products searched each day")
    parser.add_argument("--areas", type=int, default=50, help="villages searched each day (and anywhere)")
    args = parser.parse_args()
    size = sizes(args.scale)
    workdir = Path(tempfile.mkdtemp(prefix="demand-bench-"))
    try:
        path = workdir / "jembatan.db"
        shutil.copyfile(cached_population(args.cache, args.scale), path)
        migrate_copy(path)
        db = open_database(path)
        now = utcnow().replace(hour=4)  # 11:00 WIB: nobody's quiet hours
        product_rows = db.execute("SELECT id, name FROM products ORDER BY id LIMIT ?",
                                  [args.products]).fetchall()
        areas = [""] + [village_name(n) for n in range(min(args.areas, size["villages"]))]
        started = time.perf_counter()
        written = fill_searches(db, now, product_rows, areas)
        print(f"population: scale {args.scale:g} ({size['sellers']:,} sellers, {size['listings']:,} "
              f"listings); demand_searches: {written:,} rows ({demand.KEEP.days} days x "
              f"{len(product_rows)} products x {len(areas)} areas) in {time.perf_counter() - started:.1f} s")
        cabai = products.find_product(db, "cabai")
        jengkol = products.find_product(db, "jengkol") or products.get_product(db, product_rows[-1][0])
        village = village_name(7)

        def text_search():  # a CARI by text that found little: counted in its own write
            with transaction(db):
                demand.record_search(db, product=jengkol, name="jengkol", area=village, results=1,
                                     source="text", now=now)

        listed = db.execute("SELECT COUNT(DISTINCT seller_id) FROM listings WHERE product_id = ?",
                            [cabai["id"]]).fetchone()[0]
        rows = [
            ("CARI by text: record_search (one write)", text_search),
            (f"/cari?q={jengkol['name']}: search_key", lambda: storefront.search_key(db, jengkol["name"], 1)),
            ("API ?product=&village=: search_key (village known?)",
             lambda: demand.search_key(db, product=jengkol, name=None, area=village, results=1,
                                       source="api")),
            ("desk card: top_unmet (7 days)", lambda: demand.top_unmet(db, now)),
            ("sweep: wanted_products (7 days)", lambda: demand.wanted_products(db, now)),
            (f"sweep: recipients(cabai), {listed:,} listed it",
             lambda: demand.recipients(db, cabai["id"], now)),
        ]
        print(f"{'query':52} {'p50 ms':>8} {'p99 ms':>8}")
        for name, run in rows:
            p50, p99 = timed(args.calls, run)
            print(f"{name:52} {p50:8.2f} {p99:8.2f}")
        settings = load_config({"TWILIO_SMS_FROM": "+6281100000000"})
        wanted = demand.wanted_products(db, now)
        started = time.perf_counter()
        handover = send_demand_signals(db, settings, now)
        first = time.perf_counter() - started
        print(f"sweep, first run this week: {len(wanted)} products wanted, "
              f"{len(handover.outbox_ids):,} texts queued in {first:.1f} s (one transaction)")
        p50, p99 = timed(max(args.calls // 30, 3), lambda: send_demand_signals(db, settings, now))
        print(f"{'sweep, every later run (everyone told this week)':52} {p50:8.1f} {p99:8.1f}")
        prune_started = time.perf_counter()
        dropped = demand.prune(db, now + demand.KEEP)  # eight weeks on: all but today's go
        print(f"prune eight weeks on: {dropped:,} rows in "
              f"{(time.perf_counter() - prune_started) * 1000:.0f} ms")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
