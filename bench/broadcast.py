"""Benchmark broadcast fan-out: planning for 100,000 recipients, and delivery throughput
per worker with the rate limit lifted, each beside a baseline run in the same process.

Planning = recipients + outbox rows written in batches and delivery jobs enqueued in a
real Redis, until everything is queued; its baseline is inserting the same number of bare
rows into SQLite. Delivery = real `rq worker` processes draining a broadcast against a
local gateway server; its baseline is one process POSTing the same messages straight to
that server.

    .venv/bin/python bench/broadcast.py --recipients 100000 300000 --deliver 10000 --workers 1
    .venv/bin/python bench/broadcast.py --recipients 1000 --deliver 1000 --paced 250 --workers 2

`--paced RATE` adds the paced rate as the gateway measures it (what a test once asserted
within 10%, and which depends on the machine: it is a figure here, not a test).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis as redis_lib  # noqa: E402
import requests  # noqa: E402

from bench.fake_gateway import start_fake_gateway  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.migrations import apply_migrations  # noqa: E402
from bot.pipeline.dispatch import enqueue_deliveries  # noqa: E402
from bot.redis_server import RedisServer, free_port  # noqa: E402
from bot.services.broadcasts import create_broadcast, plan_broadcast  # noqa: E402
from bot.storage import (  # noqa: E402
    WORKER_SYNCHRONOUS,
    open_database,
    request_autocheckpoint,
    to_db_time,
    transaction,
    utcnow,
)


def add_sellers(db, count: int, village: str, offset: int) -> None:
    stamp = to_db_time(utcnow())
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO contacts (phone, role, name, village, sms_channel, created_at) "
            "VALUES (?, 'seller', 'Penjual', ?, 'android_sms', ?)",
            [(f"+6281{offset + n:09d}", village, stamp) for n in range(count)],
        )


def bench_planning(db, settings, connection, recipients: int, village: str = "Sukamaju",
                   offset: int = 0) -> None:
    add_sellers(db, recipients, village, offset)
    broadcast_id = create_broadcast(db, group=village, text="Harga pupuk turun mulai Senin",
                                    created_by="bench", now=utcnow())
    start, cpu = time.perf_counter(), time.process_time()
    report = plan_broadcast(
        db, settings, broadcast_id, utcnow(),
        on_batch=lambda rows: enqueue_deliveries(connection, db, rows, utcnow(), batch_size=100))
    planning, cpu = time.perf_counter() - start, time.process_time() - cpu
    jobs = redis_lib.Redis.from_url(settings["REDIS_URL"]).llen("rq:queue:broadcasts")

    baseline_db = open_database(Path(settings["DATABASE_PATH"]).with_name("baseline.db"))
    baseline_db.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, phone TEXT, body TEXT, at TEXT)")
    start = time.perf_counter()
    for offset in range(0, recipients, 1000):
        with transaction(baseline_db):
            baseline_db.conn.executemany(
                "INSERT INTO rows (phone, body, at) VALUES (?, ?, ?)",
                [(f"+6281{n:09d}", "Harga pupuk turun", to_db_time(utcnow()))
                 for n in range(offset, min(offset + 1000, recipients))])
    baseline = time.perf_counter() - start
    target = 2 if recipients <= 100_000 else 5
    print(f"planning:  {report.queued:,} recipients queued in {planning:.2f} s (CPU {cpu:.2f} s; "
          f"{report.queued / planning:,.0f}/s, {jobs:,} delivery jobs in Redis)   target <= {target} s")
    print(f"  baseline: {recipients:,} bare SQLite inserts in {baseline:.2f} s; "
          f"planning / baseline = {planning / baseline:.1f}x; load average {os.getloadavg()[0]:.1f}")
    baseline_db.conn.close()
    Path(settings["DATABASE_PATH"]).with_name("baseline.db").unlink()
    connection.flushall()


def bench_delivery(db, settings, connection, count: int, workers: int, gateway_port: int,
                   env: dict, worker_class: str = "bot.worker.Worker") -> None:
    gateway = start_fake_gateway(gateway_port)
    url = f"http://127.0.0.1:{gateway_port}/messages"

    session = requests.Session()
    start = time.perf_counter()
    for n in range(count):
        session.post(url, json={"id": f"base-{n}", "textMessage": {"text": "Harga pupuk turun"},
                                "phoneNumbers": [f"+6282{n:09d}"], "withDeliveryReport": True},
                     timeout=10)
    baseline = time.perf_counter() - start
    gateway.accepted = 0
    gateway.arrivals = []

    add_sellers(db, count, "Makmur", 50_000_000)
    broadcast_id = create_broadcast(db, group="makmur", text="Harga pupuk turun mulai Senin",
                                    created_by="bench", now=utcnow())
    plan_broadcast(db, settings, broadcast_id, utcnow(),
                   on_batch=lambda rows: enqueue_deliveries(connection, db, rows, utcnow(),
                                                            batch_size=100))
    rq = str(Path(sys.executable).parent / "rq")
    start = time.perf_counter()
    processes = [subprocess.Popen([rq, "worker", "--burst", "--url", settings["REDIS_URL"],
                                   "--worker-class", worker_class, "-q", "broadcasts"],
                                  env=env, cwd=ROOT) for _ in range(workers)]
    for process in processes:
        process.wait()
    elapsed = time.perf_counter() - start
    rate = gateway.accepted / elapsed
    print(f"delivery:  {gateway.accepted:,} messages by {workers} worker(s) in {elapsed:.2f} s = "
          f"{rate:,.0f}/s ({rate / workers:,.0f}/s per worker)   target >= 500/s per worker")
    print(f"  baseline: {count:,} direct POSTs from one process in {baseline:.2f} s = "
          f"{count / baseline:,.0f}/s; delivery / baseline = {rate / (count / baseline):.0%}")
    # The worker's own rate, without its start-up (imports, registration: ~0.5-1 s, paid once
    # per worker process): first to last arrival at the gateway.
    steady = (len(gateway.arrivals) - 1) / (gateway.arrivals[-1] - gateway.arrivals[0])
    print(f"  steady:   {steady:,.0f}/s first to last message at the gateway (start-up "
          f"{elapsed - (gateway.arrivals[-1] - gateway.arrivals[0]):.2f} s left out); "
          f"steady / baseline = {steady / (count / baseline):.0%}; load average {os.getloadavg()[0]:.1f}")
    gateway.shutdown()


def bench_pacing(db, settings, connection, count: int, rate: float, workers: int, gateway_port: int,
                 env: dict) -> None:
    """The paced rate as the provider sees it: `count` messages at BROADCAST_RATE_ANDROID_SMS
    = `rate` through `workers` real workers sharing the bucket (the tests specify the pacer
    on simulated time, tests/test_pacing.py; this is how close a real machine gets)."""
    gateway = start_fake_gateway(gateway_port)
    add_sellers(db, count, "Lestari", 80_000_000)
    broadcast_id = create_broadcast(db, group="lestari", text="Harga pupuk turun mulai Senin",
                                    created_by="bench", now=utcnow())
    plan_broadcast(db, settings, broadcast_id, utcnow(),
                   on_batch=lambda rows: enqueue_deliveries(connection, db, rows, utcnow(),
                                                            batch_size=100))
    rq = str(Path(sys.executable).parent / "rq")
    paced_env = dict(env, BROADCAST_RATE_ANDROID_SMS=str(rate),
                     ANDROID_GATEWAY_URL=f"http://127.0.0.1:{gateway_port}")
    processes = [subprocess.Popen([rq, "worker", "--burst", "--url", settings["REDIS_URL"],
                                   "--worker-class", "bot.worker.Worker", "-q", "broadcasts"],
                                  env=paced_env, cwd=ROOT) for _ in range(workers)]
    for process in processes:
        process.wait()
    arrivals = gateway.arrivals
    if len(arrivals) < 2:
        sys.exit(f"pacing: the gateway got {len(arrivals)} messages")
    measured = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    # The busiest second, to show any burst beyond the bucket's.
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1) for start in arrivals)
    print(f"pacing:    {len(arrivals):,} messages at {rate:g}/s by {workers} worker(s): measured "
          f"{measured:,.1f}/s first to last ({measured / rate:.1%} of the setting), busiest second "
          f"{busiest:,}")
    gateway.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, nargs="+", default=[100_000],
                        help="plan a broadcast to this many sellers (several sizes: one after another)")
    parser.add_argument("--deliver", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker-class", default="bot.worker.Worker",
                        help="the worker class `rq worker` runs (the Procfile's by default)")
    parser.add_argument("--paced", type=float, default=0,
                        help="also measure the paced rate at the provider at this many per second")
    parser.add_argument("--paced-count", type=int, default=2_500)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jembatan-bench-broadcast-"))
    redis_server = RedisServer(workdir / "redis", free_port(), persistent=False).start()
    gateway_port = free_port()
    env = dict(os.environ, DATABASE_PATH=str(workdir / "bench.db"), REDIS_URL=redis_server.url,
               ANDROID_GATEWAY_URL=f"http://127.0.0.1:{gateway_port}",
               ANDROID_GATEWAY_SIGNING_KEY="bench", QUIET_HOURS="off",
               BROADCAST_RATE_ANDROID_SMS="0", PYTHONPATH=str(ROOT))
    settings = load_config(env)
    try:
        # As the planning job opens it (bot.jobs._open).
        db = open_database(settings["DATABASE_PATH"], WORKER_SYNCHRONOUS,
                           autocheckpoint=request_autocheckpoint(settings))
        apply_migrations(db)
        connection = redis_lib.Redis.from_url(redis_server.url)
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
        for n, recipients in enumerate(args.recipients):
            bench_planning(db, settings, connection, recipients, f"Sukamaju {n}", n * 1_000_000)
        bench_delivery(db, settings, connection, args.deliver, args.workers, gateway_port, env,
                       args.worker_class)
        if args.paced:
            connection.flushall()
            bench_pacing(db, settings, connection, args.paced_count, args.paced, args.workers,
                         free_port(), env)
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
