"""Hand outbox rows and jobs to RQ, without ever letting a Redis outage lose work.

The outbox row is the truth; a job in Redis is only a nudge. If Redis is unreachable the
enqueue is skipped (logged), the row stays `pending`, and the periodic sweep enqueues it
once Redis is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis
import sqlite_utils
from rq import Queue
from rq.job import Job

from bot.services import outbox

log = logging.getLogger(__name__)

#: Replies to people are dequeued before broadcast traffic: workers listen in this order.
QUEUES = ("replies", "default", "broadcasts")
LANE_QUEUE = {"conversation": "replies", "broadcast": "broadcasts"}
SWEEP_JOB_ID = "jembatan-sweep"
SWEEP_INTERVAL = timedelta(seconds=30)


def connect_redis(url: str) -> redis.Redis:
    """A Redis client that fails fast: a webhook must not hang on a dead Redis."""
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)


def enqueue_deliveries(
    connection: redis.Redis | None, db: sqlite_utils.Database, rows: list[dict], now: datetime,
    delay: timedelta | None = None, batch_size: int = 100,
) -> bool:
    """Enqueue delivery jobs for outbox rows (`id`, `lane`). False if Redis was unreachable.

    Conversation rows get a job each on the `replies` queue; broadcast rows go in batches
    of `batch_size` to the `broadcasts` queue, where one job paces through a batch.
    """
    if not rows or connection is None:
        return not rows
    try:
        conversation = [row["id"] for row in rows if row["lane"] != "broadcast"]
        broadcast = [row["id"] for row in rows if row["lane"] == "broadcast"]
        jobs = [("replies", "bot.jobs.deliver_outbox_job", (i,)) for i in conversation]
        jobs += [("broadcasts", "bot.jobs.deliver_outbox_batch_job", (broadcast[i:i + batch_size],))
                 for i in range(0, len(broadcast), batch_size)]
        for name in ("replies", "broadcasts"):
            queue = Queue(name, connection=connection)
            mine = [(function, args) for queue_name, function, args in jobs if queue_name == name]
            if delay:
                for function, args in mine:
                    queue.enqueue_in(delay, function, *args)
            elif mine:
                queue.enqueue_many([
                    Queue.prepare_data(function, args, result_ttl=0, failure_ttl=86400)
                    for function, args in mine
                ])
    except redis.exceptions.RedisError as exc:
        log.warning("Redis unreachable, %d outbox rows wait for the sweep: %s", len(rows), exc)
        return False
    outbox.mark_enqueued(db, [row["id"] for row in rows], now)
    return True


def enqueue_broadcast_planning(connection: redis.Redis | None, broadcast_id: int) -> bool:
    """Hand a broadcast's fan-out to a worker; False if Redis was unreachable (the sweep
    plans it later)."""
    if connection is None:
        return False
    try:
        Queue("broadcasts", connection=connection).enqueue(
            "bot.jobs.plan_broadcast_job", broadcast_id, result_ttl=3600, failure_ttl=86400)
        return True
    except redis.exceptions.RedisError as exc:
        log.warning("could not enqueue planning of broadcast %s: %s", broadcast_id, exc)
        return False


def schedule_sweep(connection: redis.Redis, now: datetime, interval: timedelta = SWEEP_INTERVAL) -> bool:
    """Make sure a sweep is scheduled for the next interval boundary.

    The job id names the boundary (`jembatan-sweep-<slot>`), so every process that calls
    this (web after an enqueue, the worker at start and on maintenance, the sweep itself)
    agrees on one job: calling it twice schedules once.
    """
    interval = max(int(interval.total_seconds()), 1)
    slot = int(now.timestamp()) // interval + 1
    job_id = f"{SWEEP_JOB_ID}-{slot}"
    try:
        if Job.exists(job_id, connection=connection):
            return True
        run_at = datetime.fromtimestamp(slot * interval, tz=UTC)
        Queue("default", connection=connection).enqueue_at(
            run_at, "bot.jobs.sweep_job", job_id=job_id, result_ttl=interval * 4, failure_ttl=3600
        )
        return True
    except redis.exceptions.RedisError as exc:
        log.warning("could not schedule the sweep: %s", exc)
        return False


def enqueue_jobs(connection: redis.Redis | None, jobs: list[tuple[str, tuple]]) -> bool:
    """Enqueue (function path, args) jobs on the `default` queue; False if Redis was
    unreachable. Callers only use this for work the sweep also finds on its own."""
    if connection is None or not jobs:
        return not jobs
    try:
        queue = Queue("default", connection=connection)
        for function, args in jobs:
            queue.enqueue(function, *args, result_ttl=3600, failure_ttl=86400)
    except redis.exceptions.RedisError as exc:
        log.warning("Redis unreachable, %d jobs wait for the sweep: %s", len(jobs), exc)
        return False
    return True


def enqueue_each(connection: redis.Redis | None, function: str, ids: list[int], *,
                 delay: timedelta | None = None, what: str = "jobs",
                 mark: Callable[[list[int]], None] | None = None) -> bool:
    """Enqueue `function(id)` on the `default` queue for each id (after `delay`); False if
    Redis was unreachable. Only for rows the sweep also finds on its own, so nothing is
    lost: `mark(ids)` (recording them as enqueued) runs only when all went to Redis."""
    if connection is None or not ids:
        return not ids
    try:
        queue = Queue("default", connection=connection)
        for item in ids:
            if delay:
                queue.enqueue_in(delay, function, item, result_ttl=3600, failure_ttl=86400)
            else:
                queue.enqueue(function, item, result_ttl=3600, failure_ttl=86400)
    except redis.exceptions.RedisError as exc:
        log.warning("Redis unreachable, %d %s wait for the sweep: %s", len(ids), what, exc)
        return False
    if mark is not None:
        mark(ids)
    return True


def enqueue_payout_submissions(
    connection: redis.Redis | None, db: sqlite_utils.Database, payout_ids: list[int],
    now: datetime, delay: timedelta | None = None,
) -> bool:
    """Hand payouts to `submit_payout_job` (after `delay`); False if Redis was unreachable.
    The payout row is the truth: the sweep re-enqueues any that a lost job left behind."""
    from bot.services import payouts

    return enqueue_each(connection, "bot.jobs.submit_payout_job", payout_ids, delay=delay,
                        what="payouts", mark=lambda ids: payouts.mark_enqueued(db, ids, now))


def enqueue_webhook_deliveries(
    connection: redis.Redis | None, db: sqlite_utils.Database, delivery_ids: list[int],
    now: datetime, delay: timedelta | None = None,
) -> bool:
    """Hand webhook relays to `deliver_webhook_job` (after `delay`); False if Redis was
    unreachable (the sweep enqueues due relays later)."""
    from bot.services import webhooks

    return enqueue_each(connection, "bot.jobs.deliver_webhook_job", delivery_ids, delay=delay,
                        what="webhook relays", mark=lambda ids: webhooks.mark_enqueued(db, ids, now))
