"""Benchmark Jembatan at a real cooperative's size (issue 13).

Builds (once, then cached) a population of `--scale` times 100,000 sellers in 2,000
villages with 300,000 listings, 1,000,000 orders (half of them received, ~3 events each)
and 500,000 ledger receipts; then

1. drives the realistic mix — registered sellers sending STOK, SALDO,
   `JUAL cabai 10kg 12rb`, `CARI cabai` and STATUS in equal parts — as signed Twilio
   webhooks under gunicorn, beside the bare Flask TwiML endpoint in the same run
   (alternating round by round, as bench/webhook.py does);
2. times single calls in-process, one at a time: STOK, SALDO, CARI, STATUS, JUAL, PESAN
   through `accept_inbound_message`, and `GET /api/v1/listings` with and without filters
   through the Flask test client.

Its last line is one summary a script can read:
`scale S: mix N msg/s = R% of bare Flask, p99 X ms, worst command p99 Y ms`.

    .venv/bin/python bench/scale.py --scale 0.1
    .venv/bin/python bench/scale.py --scale 1.0 --requests 2000 --rounds 3

The population (the "documented bulk path"): rows are written with `executemany` in
the shapes the services write them (codes from `listings.code_number`, ledger receipts
with the legs `ledger.credit_order_receipt` posts, through the ledger's own triggers),
then `ANALYZE`. Building through one `create_listing` call per row would measure the
services, not build a database; `tests/test_query_plans.py` and the single-call timings
here exercise the services on the result. The file is cached under `--cache`
(default `var/scale-cache/`, never committed) at the schema before m006, copied for each
run (so runs do not drift) and the copy migrated, timed: m006 itself derives the code
counters and catalog counts from the rows, as it would on a real hub.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.webhook import (  # noqa: E402
    TOKEN,
    add_engine_options,
    cpu_seconds,
    disk_sync_latency,
    post_signed_sms,
    run_workers,
    server_cpu_line,
    start_engine,
    start_gunicorn,
)
from bot import create_app  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.migrations import apply_migrations, migrations  # noqa: E402
from bot.pipeline.inbound import accept_inbound_message  # noqa: E402
from bot.redis_server import RedisServer, free_port  # noqa: E402
from bot.services import ledger  # noqa: E402
from bot.services.listings import code_letter, code_number  # noqa: E402
from bot.storage import open_database, request_autocheckpoint, to_db_time, transaction, utcnow  # noqa: E402

#: Bump when the population's shape changes: the cache key.
BUILD_VERSION = 1
SELLERS, VILLAGES, BUYERS = 100_000, 2_000, 2_000
LISTINGS_PER_SELLER, ORDERS_PER_SELLER = 3, 10
FEE_BPS = 200
MIX = ["STOK", "SALDO", "JUAL cabai 10kg 12rb", "CARI cabai", "STATUS"]
PROVINCE_ZONES = [("Jawa Barat", "Asia/Jakarta"), ("Bali", "Asia/Makassar"),
                  ("Papua", "Asia/Jayapura"), ("Jawa Tengah", "Asia/Jakarta")]
#: Order statuses and their share; events per status follow the lifecycle.
ORDER_MIX = [("received", 0.50), ("expired", 0.14), ("declined", 0.10), ("cancelled", 0.10),
             ("shipped", 0.06), ("accepted", 0.05), ("pending", 0.05)]
EVENTS = {
    "received": [("place", None, "pending"), ("accept", "pending", "accepted"),
                 ("ship", "accepted", "shipped"), ("receive", "shipped", "received")],
    "shipped": [("place", None, "pending"), ("accept", "pending", "accepted"),
                ("ship", "accepted", "shipped")],
    "accepted": [("place", None, "pending"), ("accept", "pending", "accepted")],
    "pending": [("place", None, "pending")],
    "declined": [("place", None, "pending"), ("decline", "pending", "declined")],
    "cancelled": [("place", None, "pending"), ("cancel", "pending", "cancelled")],
    "expired": [("place", None, "pending"), ("expire", "pending", "expired")],
}


def seller_phone(n: int) -> str:
    return f"+62812{n:07d}"


def buyer_phone(n: int) -> str:
    return f"+62813{n:07d}"


def village_name(n: int) -> str:
    return f"Desa {n:04d}"


def sizes(scale: float) -> dict:
    sellers = max(100, round(SELLERS * scale))
    return {"sellers": sellers, "villages": max(10, round(VILLAGES * scale)),
            "buyers": max(20, round(BUYERS * scale)),
            "listings": sellers * LISTINGS_PER_SELLER, "orders": sellers * ORDERS_PER_SELLER}


# --- building ----------------------------------------------------------------------------


#: The population is built on the schema before this migration (the one issue 13 added),
#: and every later migration runs on a copy at each use: so the bench also shows what
#: migrating a full hub costs, and changing those migrations never stales the cache.
BUILT_BEFORE = "m006_scale"


def build_population(path: Path, scale: float, seed: int = 13, *, migrate: bool = True) -> dict:
    """Write the population into a new SQLite file at `path`; return its sizes.

    `migrate=False` leaves it at the schema before BUILT_BEFORE (the cached form)."""
    size = sizes(scale)
    rng = random.Random(seed)
    db = open_database(path)
    with transaction(db):
        migrations.apply(db, stop_before=BUILT_BEFORE)
    db.execute("PRAGMA synchronous=OFF")  # a bench build: a crash means building again
    now = utcnow()
    year = timedelta(days=365)
    start = now - year

    def at(fraction: float) -> str:
        return to_db_time(start + year * fraction)

    with transaction(db):
        db.conn.executemany(
            "INSERT INTO villages (name, province, timezone) VALUES (?, ?, ?)",
            [(village_name(v), *PROVINCE_ZONES[v % len(PROVINCE_ZONES)])
             for v in range(size["villages"])])
        db.conn.executemany(
            "INSERT INTO contacts (phone, role, name, village, sms_channel, last_inbound_at, "
            "registered_at, created_at) VALUES (?, 'seller', ?, ?, 'twilio_sms', ?, ?, ?)",
            [(seller_phone(n), f"Petani {n}", village_name(n % size["villages"]),
              at(n / size["sellers"]), at(n / size["sellers"] / 2), at(n / size["sellers"] / 2))
             for n in range(size["sellers"])])
        db.conn.executemany(
            "INSERT INTO contacts (phone, role, name, city, sms_channel, registered_at, created_at) "
            "VALUES (?, 'buyer', ?, 'Bandung', 'twilio_sms', ?, ?)",
            [(buyer_phone(n), f"Warung {n}", at(0), at(0)) for n in range(size["buyers"])])
        db.execute(
            "INSERT INTO buyers (contact_id, name, city, channel, source, created_at, updated_at) "
            "SELECT id, name, city, NULL, 'sms', created_at, created_at FROM contacts "
            "WHERE role = 'buyer'")
    seller_ids = [r[0] for r in db.execute("SELECT id FROM contacts WHERE role = 'seller' ORDER BY id")]
    buyer_ids = [r[0] for r in db.execute("SELECT id FROM buyers ORDER BY id")]
    products = db.execute("SELECT id, name FROM products ORDER BY id").fetchall()
    cabai = next(pid for pid, name in products if name == "cabai")
    # cabai is a sixth of the market (as in the 100% figures: 44,501 of 300k).
    weights = [len(products) / 5 if pid == cabai else 1 for pid, _ in products]
    letters = {pid: code_letter(name) for pid, name in products}
    names = dict(products)

    counters: dict[str, int] = {}
    listing_rows, subscriptions = [], set()
    for n in range(size["listings"]):
        seller = seller_ids[n % len(seller_ids)]
        pid = rng.choices(products, weights)[0][0]
        letter = letters[pid]
        counters[letter] = counters.get(letter, 0) + 1
        unit = "kg"
        stamp = at(n / size["listings"])
        withdrawn = rng.random() < 0.10
        quantity = 0 if rng.random() < 0.05 else rng.randrange(1, 500) * 1000
        listing_rows.append((n + 1, letter + code_number(counters[letter]), seller, pid,
                             names[pid], quantity, unit, rng.randrange(20, 800) * 50,
                             "withdrawn" if withdrawn else "active", stamp, stamp,
                             stamp if withdrawn else None))
        subscriptions.add((seller, pid))
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO listings (id, code, seller_id, product_id, product_text, quantity_milli, "
            "unit, price, status, created_at, updated_at, withdrawn_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", listing_rows)
        db.conn.executemany(
            "INSERT INTO subscriptions (contact_id, product_id, source, created_at) "
            "VALUES (?, ?, 'listing', ?)", [(s, p, at(0.5)) for s, p in sorted(subscriptions)])

    statuses = [s for s, _ in ORDER_MIX]
    shares = [w for _, w in ORDER_MIX]
    with transaction(db):
        accounts = {kind: ledger.account_id(db, kind)
                    for kind in ("buyer_receivables", "cooperative_fees")}
        db.conn.executemany(
            "INSERT INTO ledger_accounts (code, kind, contact_id, normal_side) "
            "VALUES (?, 'available', ?, 'credit')",
            [(f"seller:{s}:available", s) for s in seller_ids])
    available = dict(db.execute(
        "SELECT contact_id, id FROM ledger_accounts WHERE kind = 'available'").fetchall())
    order_id = event_id = transaction_id = 0
    chunk = 50_000
    for begin in range(0, size["orders"], chunk):
        orders, events, entries, headers = [], [], [], []
        for n in range(begin, min(begin + chunk, size["orders"])):
            order_id += 1
            listing = listing_rows[rng.randrange(len(listing_rows))]
            status = rng.choices(statuses, shares)[0]
            fraction = n / size["orders"]
            if status in ("pending", "accepted", "shipped"):
                fraction = 1 - rng.random() * 0.0005  # under way: the last few hours
            created = start + year * fraction
            stamp = to_db_time(created)
            milli = rng.randrange(1, 40) * 1000
            total = (listing[7] * milli + 500) // 1000
            closed = status in ("received", "declined", "cancelled", "expired")
            orders.append((
                order_id, "P" + code_number(order_id), rng.choice(buyer_ids), listing[0],
                listing[2], listing[3], milli, listing[6], listing[7], total, status,
                to_db_time(created + timedelta(hours=2)), to_db_time(created + timedelta(hours=6)),
                stamp, stamp, stamp if status in ("accepted", "shipped", "received") else None,
                stamp if status in ("shipped", "received") else None,
                stamp if status == "received" else None, stamp if closed else None))
            for event, before, after in EVENTS[status]:
                event_id += 1
                events.append((event_id, order_id, event, before, after, stamp))
            if status == "received":
                transaction_id += 1
                fee = total * FEE_BPS // ledger.MAX_FEE_BPS
                entries += [(transaction_id, accounts["buyer_receivables"], total, stamp),
                            (transaction_id, available[listing[2]], -(total - fee), stamp)]
                if fee:
                    entries.append((transaction_id, accounts["cooperative_fees"], -fee, stamp))
                headers.append((transaction_id, f"order_receipt:P{code_number(order_id)}",
                                f"P{code_number(order_id)}", listing[2], stamp))
        with transaction(db):
            db.conn.executemany(
                "INSERT INTO orders (id, code, buyer_id, listing_id, seller_id, product_id, "
                "quantity_milli, unit, unit_price, total, status, source, remind_at, expires_at, "
                "created_at, updated_at, accepted_at, shipped_at, received_at, closed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'text', ?, ?, ?, ?, ?, ?, ?, ?)", orders)
            db.conn.executemany(
                "INSERT INTO order_events (id, order_id, event, from_status, to_status, source, "
                "created_at) VALUES (?, ?, ?, ?, ?, 'text', ?)", events)
            db.conn.executemany(
                "INSERT INTO ledger_entries (transaction_id, account_id, amount, created_at) "
                "VALUES (?, ?, ?, ?)", entries)
            db.conn.executemany(
                "INSERT INTO ledger_transactions (id, kind, idempotency_key, order_ref, "
                "seller_contact_id, created_at) VALUES (?, 'order_receipt', ?, ?, ?, ?)", headers)
    db.execute("ANALYZE")
    if migrate:
        apply_migrations(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return {**size, "order_events": event_id, "receipts": transaction_id}


def cached_population(cache: Path, scale: float) -> Path:
    """The cached population file for `scale` (built if missing), at the schema before
    BUILT_BEFORE."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"population-{scale:g}-v{BUILD_VERSION}.db"
    if not path.exists():
        partial = path.with_suffix(".building")
        for leftover in partial.parent.glob(partial.name + "*"):
            leftover.unlink()
        started = time.perf_counter()
        built = build_population(partial, scale, migrate=False)
        partial.rename(path)
        print(f"built population {scale:g} in {time.perf_counter() - started:.0f} s: "
              + ", ".join(f"{value:,} {name}" for name, value in built.items())
              + f"; {path.stat().st_size / 2**20:,.0f} MiB")
    return path


def migrate_copy(path: Path) -> None:
    """Apply the migrations since BUILT_BEFORE to a copy of the population, timed."""
    db = open_database(path)
    started = time.perf_counter()
    applied = apply_migrations(db)
    print(f"migrated the copy ({', '.join(applied) or 'nothing pending'}) in "
          f"{time.perf_counter() - started:.1f} s")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()


# --- driving -----------------------------------------------------------------------------


def drive(port: int, messages: list[tuple[str, str]], concurrency: int, prefix: str,
          ) -> tuple[float, list[tuple[str, float]]]:
    """Send the (phone, text) messages as signed Twilio webhooks over keep-alive connections."""
    url = f"http://127.0.0.1:{port}/twilio/messages"
    validator = RequestValidator(TOKEN)
    timings: list[tuple[str, float]] = []
    lock = threading.Lock()
    counter = iter(range(len(messages)))
    failures: list[str] = []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for n in counter:
            phone, text = messages[n]
            status, seconds = post_signed_sms(conn, validator, url, f"SM{prefix}{n:029d}", phone, text)
            mine.append((text.split()[0], seconds))
            if status != 200:
                failures.append(f"HTTP {status}")
                return
        with lock:
            timings.extend(mine)

    elapsed = run_workers(worker, concurrency)
    if failures:
        raise RuntimeError(failures[0])
    return elapsed, timings


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


def mix_messages(rng: random.Random, sellers: int, count: int) -> list[tuple[str, str]]:
    return [(seller_phone(rng.randrange(sellers)), MIX[n % len(MIX)]) for n in range(count)]


def bench_mix(db_path: Path, size: dict, args, rng: random.Random) -> tuple[float, float, float]:
    workdir = db_path.parent
    redis_server = RedisServer(workdir / "redis", free_port(), persistent=False).start()
    env = dict(os.environ, DATABASE_PATH=str(db_path), REDIS_URL=redis_server.url,
               TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32, PYTHONPATH=str(ROOT))
    ports = {"jembatan": free_port(), "bare": free_port()}
    processes, engine = [], None
    try:
        if args.engine:
            engine = start_engine(env)
        for app, port in (("bot:create_app()", ports["jembatan"]), ("bench.bare_app:app", ports["bare"])):
            processes.append(start_gunicorn(app, port, args.workers, env, args.threads))
        drive(ports["jembatan"], mix_messages(rng, size["sellers"], 200), args.concurrency, "w")
        drive(ports["bare"], mix_messages(rng, size["sellers"], 200), args.concurrency, "w")
        full_rounds, bare_rounds = [], []
        cpu = {"full": 0.0, "bare": 0.0, "engine": 0.0}
        for n in range(args.rounds):
            before = cpu_seconds(processes[0]), cpu_seconds(engine) if engine else 0.0
            full_rounds.append(drive(ports["jembatan"], mix_messages(rng, size["sellers"], args.requests),
                                     args.concurrency, f"a{n}"))
            cpu["full"] += cpu_seconds(processes[0]) - before[0]
            if engine:
                cpu["engine"] += cpu_seconds(engine) - before[1]
            before = cpu_seconds(processes[1])
            bare_rounds.append(drive(ports["bare"], mix_messages(rng, size["sellers"], args.requests),
                                     args.concurrency, f"b{n}"))
            cpu["bare"] += cpu_seconds(processes[1]) - before
    finally:
        for process in processes + ([engine] if engine else []):
            process.terminate()
            process.wait()
        redis_server.stop()
    print(f"mix: {args.rounds} x {args.requests} signed POST /twilio/messages per app "
          f"({' / '.join(MIX)} in equal parts, random registered sellers), concurrency "
          f"{args.concurrency}, {args.workers} gunicorn workers each"
          + (f" ({args.threads} threads, the Procfile's worker class), " if args.threads else ", ")
          + ("the inbound engine beside the full app" if args.engine else "no inbound engine")
          + f", {os.cpu_count()} cores")
    rates = {}
    for name, rounds in (("full webhook path", full_rounds), ("bare Flask TwiML", bare_rounds)):
        per_round = [len(timings) / elapsed for elapsed, timings in rounds]
        pooled = [t for _, timings in rounds for _, t in timings]
        rates[name] = statistics.median(per_round)
        p99 = percentile(pooled, 99) * 1000
        print(f"  {name:<20} {rates[name]:7.0f} msg/s (median of {len(per_round)} rounds: "
              f"{', '.join(f'{r:.0f}' for r in per_round)})   p50 {percentile(pooled, 50) * 1000:6.2f} ms"
              f"   p99 {p99:6.2f} ms")
        if name == "full webhook path":
            full_p99 = p99
            by_command: dict[str, list[float]] = {}
            for _, timings in rounds:
                for command, t in timings:
                    by_command.setdefault(command, []).append(t)
            print("    per command under load: " + ", ".join(
                f"{c} p50 {percentile(v, 50) * 1000:.1f} / p99 {percentile(v, 99) * 1000:.1f} ms"
                for c, v in by_command.items()))
    total = args.rounds * args.requests
    print("  " + server_cpu_line(cpu, total))
    ratio = rates["full webhook path"] / rates["bare Flask TwiML"]
    print(f"  ratio full/bare: {ratio:.0%}  (target >= 40% at scale 1.0, p99 <= 25 ms)")
    return rates["full webhook path"], ratio, full_p99


def bench_single(db_path: Path, size: dict, calls: int, rng: random.Random) -> float:
    """Time each command (and the catalog API) in-process, one call at a time."""
    config = load_config(dict(DATABASE_PATH=str(db_path), TWILIO_AUTH_TOKEN=TOKEN))
    # As the web opens its connections (`bot.web.db.thread_db`): group commit, and WAL
    # checkpoints left to the sweep, which is timed below. A connection with SQLite's
    # default auto-checkpoint ran a checkpoint inside every ~50th PESAN's COMMIT (10-15 ms
    # wall, 3-4 ms CPU), a cost the webhook path never pays (DECISIONS 101, 351).
    db = open_database(db_path, autocheckpoint=request_autocheckpoint(config), group_commit=True)
    listing_codes = [r[0] for r in db.execute(
        "SELECT code FROM listings WHERE status = 'active' AND quantity_milli >= 100000 "
        "ORDER BY random() LIMIT ?", [calls + 1])]
    counter = iter(range(10**9))

    cpu: dict[str, list[float]] = {}

    def message(phone: str, text: str, label: str | None = None) -> float:
        began, began_cpu = time.perf_counter(), time.thread_time()
        response, _ = accept_inbound_message(
            db, config, None, channel="twilio_sms", provider_id=f"SMsingle{next(counter):026d}",
            phone=phone, body=text, raw={"Body": text}, now=utcnow(), reply_inline=True)
        elapsed = time.perf_counter() - began
        cpu.setdefault(label or (text.split()[0] if text.startswith("PESAN") else text), []).append(
            time.thread_time() - began_cpu)
        if response is None or not response.reply:
            raise RuntimeError(f"no reply to {text!r}")
        return elapsed

    print("  " + disk_sync_latency(db_path.parent) + " (before the calls)")
    results: dict[str, list[float]] = {}
    for text in ["STOK", "SALDO", "CARI cabai", "CARI cabai di " + village_name(1), "STATUS",
                 "JUAL cabai 10kg 12rb"]:
        message(seller_phone(0), text)  # warm-up: catalogs, statement cache
        cpu.pop(text, None)
        results[text] = [message(seller_phone(rng.randrange(size["sellers"])), text)
                         for _ in range(calls)]
    message(buyer_phone(0), f"PESAN {listing_codes[0]} 2kg")  # warm-up
    cpu.pop("PESAN", None)
    results["PESAN kode 2kg"] = [message(buyer_phone(rng.randrange(size["buyers"])),
                                         f"PESAN {code} 2kg") for code in listing_codes[1:]]
    # Issue 14's queries: a price far from the usual one (the price-sanity question, after
    # the duplicate lookup), and the next page of CARI within its dialog.
    results["JUAL cabai 10kg 1,5jt (sanity)"] = [
        message(seller_phone(rng.randrange(size["sellers"])), "JUAL cabai 10kg 1,5jt",
                "JUAL cabai 10kg 1,5jt (sanity)") for _ in range(calls)]
    lagi = []
    for _ in range(calls):
        phone = seller_phone(rng.randrange(size["sellers"]))
        message(phone, "CARI cabai", "setup")
        lagi.append(message(phone, "LAGI", "LAGI after CARI cabai"))
    cpu.pop("setup", None)
    results["LAGI after CARI cabai"] = lagi

    app = create_app({"DATABASE_PATH": str(db_path), "TWILIO_AUTH_TOKEN": TOKEN})
    client = app.test_client()
    village = village_name(rng.randrange(size["villages"]))
    client.get("/api/v1/listings")  # warm-up
    for label, query in [("GET /api/v1/listings", ""),
                         ("  ?product=cabai", "?product=cabai"),
                         ("  ?product=cabai&village=", f"?product=cabai&village={village}"),
                         ("  ?village=", f"?village={village}"),
                         ("  ?offset=1000", "?offset=1000")]:
        timings = []
        for _ in range(calls):
            began, began_cpu = time.perf_counter(), time.thread_time()
            response = client.get("/api/v1/listings" + query)
            timings.append(time.perf_counter() - began)
            cpu.setdefault(label, []).append(time.thread_time() - began_cpu)
            if response.status_code != 200:
                raise RuntimeError(f"{query}: {response.status_code}")
        results[label] = timings
    print(f"single calls in-process, one at a time, {calls} each (commands through "
          "accept_inbound_message, the API through Flask's test client); wall clock, and the "
          "thread's CPU time (what preemption by other processes on this shared machine "
          "does not inflate):")
    worst = worst_cpu = 0.0
    for label, timings in results.items():
        p50, p99 = percentile(timings, 50) * 1000, percentile(timings, 99) * 1000
        spent = cpu.get(label.split()[0] if label.startswith("PESAN") else label, [])
        cpu_p99 = percentile(spent, 99) * 1000 if spent else float("nan")
        if not label.startswith(("GET", " ")):
            worst = max(worst, p99)
            worst_cpu = max(worst_cpu, cpu_p99)
        print(f"  {label:<32} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   CPU p50 "
              f"{percentile(spent, 50) * 1000 if spent else float('nan'):5.2f} / p99 {cpu_p99:5.2f} ms")
    began, began_cpu = time.perf_counter(), time.thread_time()
    busy, wal_pages, moved = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    print("  " + disk_sync_latency(db_path.parent) + " (after the calls)")
    print(f"  the sweep's checkpoint of what these calls wrote (off the request path): {moved:,} of "
          f"{wal_pages:,} WAL pages in {(time.perf_counter() - began) * 1000:.0f} ms "
          f"(CPU {(time.thread_time() - began_cpu) * 1000:.0f} ms)")
    db.conn.close()
    print(f"  worst command p99: {worst:.1f} ms wall clock, {worst_cpu:.1f} ms CPU")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "scale-cache")
    parser.add_argument("--requests", type=int, default=2000, help="per round and app")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for each app")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per gunicorn worker, with the Procfile's worker class "
                        "(0: sync workers)")
    parser.add_argument("--calls", type=int, default=300, help="single calls per command")
    parser.add_argument("--skip-mix", action="store_true")
    add_engine_options(parser)
    args = parser.parse_args()

    rng = random.Random(1)
    size = sizes(args.scale)
    source = cached_population(args.cache, args.scale)
    workdir = Path(tempfile.mkdtemp(prefix="jembatan-scale-"))
    try:
        db_path = workdir / "scale.db"
        shutil.copyfile(source, db_path)
        migrate_copy(db_path)
        print(f"scale {args.scale:g}: {size['sellers']:,} sellers in {size['villages']:,} villages, "
              f"{size['listings']:,} listings, {size['orders']:,} orders; "
              f"{db_path.stat().st_size / 2**20:,.0f} MiB; Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} cores (shared machine)")
        worst = bench_single(db_path, size, args.calls, rng)
        if args.skip_mix:
            print(f"scale {args.scale:g}: mix not run, worst command p99 {worst:.1f} ms")
            return
        rate, ratio, p99 = bench_mix(db_path, size, args, rng)
        print(f"scale {args.scale:g}: mix {rate:.0f} msg/s = {ratio:.0%} of bare Flask, "
              f"p99 {p99:.1f} ms, worst command p99 {worst:.1f} ms")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
