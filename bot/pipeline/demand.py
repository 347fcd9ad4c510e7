"""Demand texts to sellers (issue 17): "Minggu ini 12 pembeli mencari cabai rawit. Punya
stok? Balas JUAL cabai rawit jumlah harga", run by the sweep.

For each product buyers searched with little found this week (`demand.wanted_products`,
most searched first), the sellers who may hear about it (`demand.recipients`: listed it
before or subscribed, not opted out, not told in the last week) get one text, each at
most one a week whatever the number of products. A seller for whom it is quiet hours
(`QUIET_HOURS`, in their own zone: `bot.services.schedule`) gets nothing now; a sweep
after their morning picks them up, with that day's count.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import redis
import sqlite_utils

from bot.services import demand, schedule
from bot.services.handover import Handover
from bot.storage import transaction
from conversations.news.notify import queue_notification

log = logging.getLogger(__name__)

#: A demand text not delivered within a day is stale (the count has moved on): dropped.
TEXT_LIFETIME = timedelta(days=1)
#: Anonymous searches (pages, API) counted per UTC day until the sweep folds them in.
COUNTS_KEY = "jembatan:demand:{day}"
#: Sellers told per write transaction: short enough (~0.3 s) that webhooks wait little.
WRITE_BATCH = 500
#: Counts nobody folded (no sweep ran) are dropped after this long.
COUNTS_TTL = timedelta(days=8)


def count_search(connection: redis.Redis | None, key: list | None, now: datetime) -> None:
    """Count one anonymous search (`demand.search_key`) in Redis: a public page or API call
    never takes the hub's write lock. Never raises: without Redis the count is lost."""
    if connection is None or key is None:
        return
    name = COUNTS_KEY.format(day=now.date().isoformat())
    try:
        with connection.pipeline(transaction=False) as pipe:
            pipe.hincrby(name, json.dumps(key, separators=(",", ":")), 1)
            pipe.expire(name, int(COUNTS_TTL.total_seconds()))
            pipe.execute()
    except redis.exceptions.RedisError as exc:
        log.warning("demand: a search was not counted (%s)", exc)


def fold_search_counts(connection: redis.Redis | None, db: sqlite_utils.Database, now: datetime) -> int:
    """Move the anonymous search counts from Redis into `demand_searches`; how many keys'
    worth. Each day's hash is read and deleted atomically, then added in one transaction
    (a crash in between loses those counts, never doubles them)."""
    if connection is None:
        return 0
    folded = 0
    try:
        for name in connection.scan_iter(match=COUNTS_KEY.format(day="*"), count=100):
            with connection.pipeline(transaction=True) as pipe:
                pipe.hgetall(name)
                pipe.delete(name)
                counts, _ = pipe.execute()
            day = (name.decode() if isinstance(name, bytes) else name).rsplit(":", 1)[1]
            demand.add_counts(db, day, [(json.loads(field), int(n)) for field, n in counts.items()], now)
            folded += len(counts)
    except redis.exceptions.RedisError as exc:
        log.warning("demand: search counts not folded this time (%s)", exc)
    return folded


def send_demand_signals(db: sqlite_utils.Database, settings: dict, now: datetime) -> Handover:
    """Queue this run's demand texts, in batches of `WRITE_BATCH`; the outbox rows to hand over.

    Who is told is read first, without the write lock (at 100% a week's wanted products
    walk tens of thousands of sellers who listed them, seconds of reading, every sweep);
    the lock is taken only when someone is to be told, and each of them is checked again
    inside it (a seller told by an overlapping run, or who wrote MINAT OFF meanwhile, is
    skipped)."""
    handover = Handover()
    quiet = schedule.parse_quiet_hours(settings.get("QUIET_HOURS"))
    default_zone = settings.get("DEFAULT_TIMEZONE") or "Asia/Jakarta"
    wanted = demand.wanted_products(db, now)  # a read: most sweeps stop here, lock-free
    if not wanted:
        return handover
    villages = schedule.village_timezones(db)
    chosen: dict[int, tuple[dict, dict]] = {}
    for product in wanted:
        for contact in demand.recipients(db, product["product_id"], now):
            if contact["id"] in chosen:
                continue  # one text a run: the most searched product wins
            zone = schedule.contact_timezone(contact, villages, default_zone)
            if schedule.next_send_time(now, zone, quiet) != now:
                continue  # quiet hours where they live: a later sweep tells them
            chosen[contact["id"]] = (contact, product)
    if not chosen:
        return handover
    told = list(chosen.values())
    for start in range(0, len(told), WRITE_BATCH):
        # Batches, not one transaction: at 100% the first sweep of a week tells ~25,000
        # sellers, 13-16 s of writing that would hold every webhook behind the lock.
        # Each batch is whole (text and notice together); a crash between batches leaves
        # the rest for the next sweep, which reads them again as still to tell.
        with transaction(db):
            for contact, product in told[start:start + WRITE_BATCH]:
                if not demand.still_to_tell(db, contact["id"], now):
                    continue
                outbox_id = queue_notification(db, settings, contact, "demand.signal", now,
                                               expires_at=now + TEXT_LIFETIME,
                                               count=product["searches"], product=product["product"])
                demand.record_notice(db, contact["id"], product["product_id"], product["searches"],
                                     outbox_id, now)
                handover.outbox_ids.append(outbox_id)
    if handover.outbox_ids:
        log.info("demand: %d sellers told buyers are looking", len(handover.outbox_ids))
    return handover
