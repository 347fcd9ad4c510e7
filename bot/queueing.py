"""Hand outbox rows and jobs to RQ, without ever letting a Redis outage lose work.

The outbox row is the truth; a job in Redis is only a nudge. If Redis is unreachable the
enqueue is skipped (logged), the row stays `pending`, and the periodic sweep enqueues it
once Redis is back.
"""

from __future__ import annotations

import logging
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
    delay: timedelta | None = None,
) -> bool:
    """Enqueue a delivery job per outbox row (`id`, `lane`). False if Redis was unreachable."""
    if not rows or connection is None:
        return not rows
    try:
        by_queue: dict[str, list] = {}
        for row in rows:
            by_queue.setdefault(LANE_QUEUE.get(row["lane"], "replies"), []).append(row["id"])
        for name, ids in by_queue.items():
            queue = Queue(name, connection=connection)
            if delay:
                for outbox_id in ids:
                    queue.enqueue_in(delay, "bot.jobs.deliver_outbox_job", outbox_id)
            else:
                queue.enqueue_many([
                    Queue.prepare_data("bot.jobs.deliver_outbox_job", (outbox_id,),
                                       result_ttl=0, failure_ttl=86400)
                    for outbox_id in ids
                ])
    except redis.exceptions.RedisError as exc:
        log.warning("Redis unreachable, %d outbox rows wait for the sweep: %s", len(rows), exc)
        return False
    outbox.mark_enqueued(db, [row["id"] for row in rows], now)
    return True


def schedule_sweep(connection: redis.Redis, now: datetime) -> bool:
    """Make sure a sweep is scheduled for the next interval boundary.

    The job id names the boundary (`jembatan-sweep-<slot>`), so every process that calls
    this (web after an enqueue, the worker at start and on maintenance, the sweep itself)
    agrees on one job: calling it twice schedules once.
    """
    interval = int(SWEEP_INTERVAL.total_seconds())
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
