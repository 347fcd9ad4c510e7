"""Hand committed work to RQ — one function for every kind — without ever losing it.

`dispatch(connection, db, handover, now)` takes the `Handover` a transaction returned
(outbox rows, webhook relays, photo downloads, payout submissions, broadcasts to plan)
and enqueues a job for each. The rows are the truth and a job only a nudge: if Redis is
unreachable the enqueue is skipped (logged), the rows stay as they are, and the periodic
sweep hands them over once Redis is back.

Enqueueing is idempotent. Each job has a deterministic id naming its row and the row's
attempt count (`outbox-17-0`), enqueued with RQ 3's `unique=True`: a second enqueue of the
same work is refused while the first is queued, scheduled or running. RQ keeps a
finished or failed job's key for its TTL, which would refuse a legitimate retry too, so
such a leftover is deleted and the enqueue made again. A retry after a failure has a
higher attempt count, hence a new id. Jobs are stored as dotted paths (`bot.jobs.*`):
those names are in Redis and must keep working after an upgrade.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import redis
import sqlite_utils
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.scripts import UNIQUE_ENQUEUE_SCRIPT, _build_hset_args

from bot.services import media, outbox, payouts, webhooks
from bot.services.handover import Handover
from bot.storage import fetch_all, in_clause, transaction

log = logging.getLogger(__name__)

#: Replies to people are dequeued before broadcast traffic: workers listen in this order.
QUEUES = ("replies", "default", "broadcasts")
SWEEP_JOB_ID = "jembatan-sweep"
SWEEP_INTERVAL = timedelta(seconds=30)

#: Job functions, by kind of work (their dotted paths are stored in Redis).
DELIVER_JOB = "bot.jobs.deliver_outbox_job"
DELIVER_BATCH_JOB = "bot.jobs.deliver_outbox_batch_job"
RELAY_JOB = "bot.jobs.deliver_webhook_job"
MEDIA_JOB = "bot.jobs.download_media_job"
PAYOUT_JOB = "bot.jobs.submit_payout_job"
PLAN_JOB = "bot.jobs.plan_broadcast_job"
SWEEP_JOB = "bot.jobs.sweep_job"

#: Work with one job per row: (Handover field prefix and job id prefix, job, table, the
#: column counting attempts, how rows are marked as handed over).
_ONE_JOB_PER_ROW = (
    ("relay", RELAY_JOB, "webhook_deliveries", "attempts", webhooks.mark_enqueued),
    ("media", MEDIA_JOB, "media", "attempts", media.mark_enqueued),
    ("payout", PAYOUT_JOB, "payouts", "submit_attempts AS attempts", payouts.mark_enqueued),
)
#: A job still in one of these states makes a second enqueue of the same work a duplicate.
_LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
#: How long RQ keeps a failed job (to look at), and a finished one's result.
FAILURE_TTL = 86400
RESULT_TTL = 3600


def connect_redis(url: str) -> redis.Redis:
    """A Redis client that fails fast: a webhook must not hang on a dead Redis."""
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)


def dispatch(connection: redis.Redis | None, db: sqlite_utils.Database, handover: Handover | None,
             now: datetime, *, delay: timedelta | None = None, batch_size: int = 100,
             keep_sweep: bool = False) -> bool:
    """Enqueue a job for every row `handover` names (after `delay`, if given) and record
    the rows as handed over. True when everything reached Redis (or there was nothing);
    False when some of it waits for the sweep.

    `keep_sweep`: callers outside the worker (web, CLI) also make sure a sweep is
    scheduled, so a retry the worker cannot schedule itself is still picked up.
    """
    if not handover:
        return True
    if connection is None:
        return False
    ok = _dispatch(connection, db, handover, now, delay, batch_size)
    if ok and keep_sweep:
        schedule_sweep(connection, now)
    return ok


def _dispatch(connection: redis.Redis, db: sqlite_utils.Database, handover: Handover, now: datetime,
              delay: timedelta | None, batch_size: int) -> bool:
    ok = True
    if handover.outbox_ids:
        ok &= enqueue_deliveries(connection, db, _rows(db, "outbox", "attempts", handover.outbox_ids),
                                 now, delay=delay, batch_size=batch_size)
    for kind, function, table, attempts, mark in _ONE_JOB_PER_ROW:
        ids = getattr(handover, f"{kind}_ids")
        if ids:
            ok &= _enqueue_each(connection, function, kind, _rows(db, table, attempts, ids), delay,
                                mark=lambda done, mark=mark: mark(db, done, now))
    if handover.broadcast_ids:
        ok &= _enqueue_each(connection, PLAN_JOB, "broadcast-plan",
                            [{"id": i, "attempts": 0} for i in handover.broadcast_ids], delay)
    return bool(ok)


def enqueue_deliveries(
    connection: redis.Redis | None, db: sqlite_utils.Database, rows: list[dict], now: datetime,
    delay: timedelta | None = None, batch_size: int = 100,
) -> bool:
    """Enqueue delivery jobs for outbox rows (`id`, `lane`, optionally `attempts`) and mark
    them handed over; False if Redis was unreachable.

    Conversation rows get a job each on the `replies` queue; broadcast rows go in batches
    of `batch_size` to the `broadcasts` queue, where one job paces through a batch.
    (Broadcast planning calls this directly with the rows it has just written, already
    stored as handed over: rows with an `enqueued_at` are not written again, and if Redis
    is unreachable their mark is cleared so that the sweep takes them at once.)
    """
    if not rows:
        return True
    if connection is None:
        _clear_premarked(db, rows)
        return False
    conversation = [row for row in rows if row["lane"] != "broadcast"]
    broadcast = [row for row in rows if row["lane"] == "broadcast"]
    try:
        _enqueue_all(Queue("replies", connection=connection), DELIVER_JOB,
                     [((row["id"],), _job_id("outbox", row)) for row in conversation], delay, result_ttl=0)
        batches = [broadcast[start:start + batch_size] for start in range(0, len(broadcast), batch_size)]
        _enqueue_all(Queue("broadcasts", connection=connection), DELIVER_BATCH_JOB,
                     [(([row["id"] for row in batch],), _batch_job_id(batch)) for batch in batches],
                     delay, result_ttl=0)
    except redis.exceptions.RedisError as exc:
        log.warning("Redis unreachable, %d outbox rows wait for the sweep: %s", len(rows), exc)
        _clear_premarked(db, rows)
        return False
    outbox.mark_enqueued(db, [row["id"] for row in rows if not row.get("enqueued_at")], now)
    return True


def _clear_premarked(db: sqlite_utils.Database, rows: list[dict]) -> None:
    """Rows stored as handed over whose jobs did not reach Redis: the sweep's, at once."""
    premarked = [row["id"] for row in rows if row.get("enqueued_at")]
    if premarked:
        with transaction(db):
            outbox.set_enqueued_at(db, premarked, None)


def schedule_sweep(connection: redis.Redis, now: datetime, interval: timedelta = SWEEP_INTERVAL) -> bool:
    """Make sure a sweep is scheduled for the next interval boundary.

    The job id names the boundary (`jembatan-sweep-<slot>`), so every process that calls
    this (web after an enqueue, the worker at start and on maintenance, the sweep itself)
    agrees on one job, and RQ's unique enqueue makes that atomic: calling it twice, from
    anywhere, schedules once. A slot's finished sweep keeps its id for a while, so the
    same slot is never swept twice.
    """
    interval = max(int(interval.total_seconds()), 1)
    slot = int(now.timestamp()) // interval + 1
    run_at = datetime.fromtimestamp(slot * interval, tz=UTC)
    try:
        Queue("default", connection=connection).enqueue_at(
            run_at, SWEEP_JOB, job_id=f"{SWEEP_JOB_ID}-{slot}", unique=True,
            result_ttl=interval * 4, failure_ttl=3600)
    except DuplicateJobError:
        pass
    except redis.exceptions.RedisError as exc:
        log.warning("could not schedule the sweep: %s", exc)
        return False
    return True


def _rows(db: sqlite_utils.Database, table: str, attempts: str, ids: Iterable[int]) -> list[dict]:
    """`id`, the attempt count (and for the outbox the lane) of the rows, in the ids' order."""
    ids = list(dict.fromkeys(ids))
    extra = ", lane" if table == "outbox" else ""
    found: dict[int, dict] = {}
    for start in range(0, len(ids), 500):
        where, params = in_clause("id", ids[start:start + 500])
        for row in fetch_all(db, f"SELECT id, {attempts}{extra} FROM {table} WHERE {where}", params):
            found[row["id"]] = row
    return [found[i] for i in ids if i in found]


def _enqueue_each(connection: redis.Redis, function: str, kind: str, rows: list[dict],
                  delay: timedelta | None, mark: Callable[[list[int]], None] | None = None) -> bool:
    """One job `function(row id)` on the `default` queue per row; `mark(ids)` records them
    as handed over once all are in Redis. False if Redis was unreachable."""
    if not rows:
        return True
    try:
        _enqueue_all(Queue("default", connection=connection), function,
                     [((row["id"],), _job_id(kind, row)) for row in rows], delay, result_ttl=RESULT_TTL)
    except redis.exceptions.RedisError as exc:
        log.warning("Redis unreachable, %d %s jobs wait for the sweep: %s", len(rows), kind, exc)
        return False
    if mark is not None:
        mark([row["id"] for row in rows])
    return True


def _enqueue_all(queue: Queue, function: str, calls: list[tuple[tuple, str]], delay: timedelta | None,
                 *, result_ttl: int) -> int:
    """`_enqueue_unique` for each (args, job id) of `calls`, in one round trip to Redis
    when they are due now; how many were enqueued.

    Each job goes through RQ's own atomic unique-enqueue script (refuse if the id exists,
    else save and push), only pipelined: a broadcast's thousands of jobs cost one round
    trip, not one each (docs/DECISIONS.md 260). An id the script refused (queued, running,
    or a finished or failed leftover) takes the one-by-one path, which tells them apart."""
    if not calls:
        return 0
    if len(calls) == 1 or (delay and delay > timedelta(0)):
        return sum(_enqueue_unique(queue, function, args, job_id, delay, result_ttl=result_ttl)
                   for args, job_id in calls)
    connection = queue.connection
    script = connection.register_script(UNIQUE_ENQUEUE_SCRIPT)
    pipe = connection.pipeline(transaction=False)
    pipe.sadd(queue.redis_queues_keys, queue.key)
    for args, job_id in calls:
        job = queue.create_job(function, args=args, job_id=job_id, result_ttl=result_ttl,
                               failure_ttl=FAILURE_TTL)
        queue._prepare_for_queue(job)  # what Queue.enqueue sets before its unique script
        script(keys=[job.key, queue.key],
               args=[job.id, "R", job.ttl if job.ttl is not None else -1, *_build_hset_args(job)],
               client=pipe)
    results = pipe.execute()[1:]
    enqueued = sum(1 for result in results if result == 1)
    for (args, job_id), result in zip(calls, results, strict=True):
        if result != 1:
            enqueued += _enqueue_unique(queue, function, args, job_id, delay, result_ttl=result_ttl)
    return enqueued


def _enqueue_unique(queue: Queue, function: str, args: tuple, job_id: str, delay: timedelta | None,
                    *, result_ttl: int) -> bool:
    """Enqueue unless the same job is already queued, scheduled or running; True if it
    was enqueued now. A finished or failed leftover under the id is cleared first."""
    for _ in range(2):
        try:
            if delay and delay > timedelta(0):
                queue.enqueue_in(delay, function, *args, job_id=job_id, unique=True,
                                 result_ttl=result_ttl, failure_ttl=FAILURE_TTL)
            else:
                queue.enqueue(function, *args, job_id=job_id, unique=True, result_ttl=result_ttl,
                              failure_ttl=FAILURE_TTL)
            return True
        except DuplicateJobError:
            try:
                existing = Job.fetch(job_id, connection=queue.connection)
            except NoSuchJobError:  # gone meanwhile (finished with result_ttl 0, expired): try again
                continue
            if existing.get_status(refresh=False) in _LIVE:
                return False
            existing.delete()
    return False


def _job_id(kind: str, row: dict) -> str:
    return f"{kind}-{row['id']}-{row.get('attempts') or 0}"


def _batch_job_id(rows: list[dict]) -> str:
    key = ",".join(f"{row['id']}:{row.get('attempts') or 0}" for row in rows)
    return f"outbox-batch-{rows[0]['id']}-{hashlib.sha1(key.encode()).hexdigest()[:16]}"

