"""Benchmark the federation: events/s from a hub to the city through real nats-server
processes (the hub's server a leaf node of the city's, per-hub credentials) and the two
`jembatan relay` processes, and the catch-up time after a "day offline".

Throughput: N listing events are written at the hub first (one transaction per 1,000, as
the triggers write them), then both relays start; the clock runs until the city has
applied all N (`federation_applied`), and the hub-side figure until its outbox is empty
(every event acknowledged by the hub's own JetStream).

Day offline: the city's nats-server is stopped (the uplink's far end is gone), the hub
writes M more events, which its relay stores in the hub's own stream; the city's server
is started again and the clock runs until the city has applied them all.

    .venv/bin/python bench/federation.py --events 10000 --offline 10000

Every wait is bounded (`--timeout`); nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.migrations import apply_migrations  # noqa: E402
from bot.nats_server import CITY_DOMAIN, NatsServer, hub_domain  # noqa: E402
from bot.redis_server import free_port  # noqa: E402
from bot.services import contacts, federation, listings, products  # noqa: E402
from bot.storage import open_database, transaction, utcnow  # noqa: E402

JEMBATAN = Path(sys.executable).parent / "jembatan"


def write_events(db, seller_id: int, count: int, start: int) -> None:
    """`count` listings at the hub, 1,000 per transaction: one event each."""
    now = utcnow()
    with transaction(db):
        product, _ = products.resolve_product(db, "cabai", now)
    for first in range(start, start + count, 1000):
        with transaction(db):
            for n in range(first, min(first + 1000, start + count)):
                listings.create_listing(db, seller_id=seller_id, product=product, product_text=f"cabai {n}",
                                        quantity=Decimal(1 + n % 50), unit="kg", price=10_000 + n, now=now)


def wait(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--offline", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-federation-"))
    leaf = free_port()
    city_nats = NatsServer(root / "city-nats", free_port(), CITY_DOMAIN, leaf_port=leaf,
                           users={"hub-a": "secret-a"}).start()
    hub_nats = NatsServer(root / "hub-nats", free_port(), hub_domain("A"),
                          leaf_remote=f"nats-leaf://127.0.0.1:{leaf}", leaf_user="hub-a",
                          leaf_password="secret-a").start()
    hub_env = {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "A", "DATABASE_PATH": str(root / "hub.db"),
               "JEMBATAN_NATS_URL": hub_nats.url}
    city_env = {"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A", "DATABASE_PATH": str(root / "city.db"),
                "JEMBATAN_NATS_URL": city_nats.url}
    hub, city = open_database(hub_env["DATABASE_PATH"]), open_database(city_env["DATABASE_PATH"])
    for db, env in ((hub, hub_env), (city, city_env)):
        apply_migrations(db)
        federation.sync_identity(db, env, utcnow())
    contact = contacts.get_or_create_contact(hub, "+6281234567890", utcnow())
    seller = contacts.register_seller(hub, contact["id"], "Siti", "Sukamaju", utcnow())
    relays = []

    def relay(env: dict) -> subprocess.Popen:
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("JEMBATAN_", "DATABASE_", "REDIS_"))}
        log = open(root / f"relay-{env['JEMBATAN_ROLE']}.log", "ab")  # noqa: SIM115
        with log:
            process = subprocess.Popen([str(JEMBATAN), "relay"], env=clean | env, cwd=root,
                                       stdout=log, stderr=log, start_new_session=True)
        relays.append(process)
        return process

    applied = lambda: city.execute("SELECT COUNT(*) FROM federation_applied").fetchone()[0]  # noqa: E731
    waiting = lambda: federation.outbox_counts(hub)["waiting"]  # noqa: E731
    try:
        write_events(hub, seller["id"], args.events, 0)
        total = federation.outbox_counts(hub)["events"]
        started = time.monotonic()
        relay(hub_env)
        relay(city_env)
        hub_done = wait(lambda: waiting() == 0, args.timeout, "the hub's outbox to empty")
        city_done = wait(lambda: applied() == total, args.timeout, "the city to apply every event")
        print(f"throughput: {total} events, relays started cold (connect, streams, consumer)")
        print(f"  hub published (JetStream-acknowledged): {hub_done - started:6.2f} s  "
              f"{total / (hub_done - started):8.0f} events/s")
        print(f"  city applied (end to end):              {city_done - started:6.2f} s  "
              f"{total / (city_done - started):8.0f} events/s")

        city_nats.stop(kill=True)  # a day without the city
        write_events(hub, seller["id"], args.offline, args.events)
        total = federation.outbox_counts(hub)["events"]
        wait(lambda: waiting() == 0, args.timeout, "the hub to store the day's events in its own stream")
        queued = total - applied()
        started = time.monotonic()
        city_nats.start()
        done = wait(lambda: applied() == total, args.timeout, "the city to catch up")
        print(f"catch-up: {queued} events queued at the hub while the city was down")
        print(f"  city's server restarted -> all applied: {done - started:6.2f} s  "
              f"{queued / (done - started):8.0f} events/s (leaf reconnect and source retry included)")
    finally:
        for process in relays:
            process.kill()
            process.wait()
        hub_nats.stop()
        city_nats.stop()


if __name__ == "__main__":
    main()
