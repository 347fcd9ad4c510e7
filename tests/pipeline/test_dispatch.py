"""The one after-commit dispatch: every kind of work through one function, enqueued once.

Against a real Redis and real SQLite rows: a second dispatch of the same work is refused
while the first job waits or runs; a failed or finished job never blocks a legitimate
retry; a retry after a failure is new work (its attempt count is in the job id).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis as redis_lib
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from bot.pipeline.dispatch import dispatch, enqueue_deliveries, schedule_sweep
from bot.services import outbox
from bot.services.handover import KINDS, Handover
from bot.storage import transaction, utcnow
from tests.conftest import run_worker


def _queue(db, phone="+6281234567890", lane="conversation"):
    with transaction(db):
        return outbox.queue_message(db, phone=phone, channel="simulator", body="Halo", kind="notification",
                                    now=utcnow(), lane=lane)


def _job_ids(connection, name):
    return Queue(name, connection=connection).job_ids


def test_every_kind_goes_through_one_dispatch(migrated_db, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    reply, notice = _queue(migrated_db), _queue(migrated_db, lane="broadcast")
    assert dispatch(connection, migrated_db, Handover(outbox_ids=[reply, notice], broadcast_ids=[7]),
                    utcnow())
    assert _job_ids(connection, "replies") == [f"outbox-{reply}-0"]
    assert len(_job_ids(connection, "broadcasts")) == 1
    assert _job_ids(connection, "default") == ["broadcast-plan-7-0"]
    assert outbox.get_outbox_row(migrated_db, reply)["enqueued_at"] is not None


def test_a_duplicate_is_refused_while_the_first_is_queued(migrated_db, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    row = _queue(migrated_db)
    for _ in range(3):  # the webhook, a sweep, another sweep
        dispatch(connection, migrated_db, Handover(outbox_ids=[row]), utcnow())
    assert _job_ids(connection, "replies") == [f"outbox-{row}-0"]


def test_a_failed_job_does_not_block_the_retry(migrated_db, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    row = _queue(migrated_db)
    dispatch(connection, migrated_db, Handover(outbox_ids=[row]), utcnow())
    job = Job.fetch(f"outbox-{row}-0", connection=connection)
    Queue("replies", connection=connection).remove(job)
    job.set_status("failed")  # what RQ leaves when the worker lost Redis mid-job
    dispatch(connection, migrated_db, Handover(outbox_ids=[row]), utcnow())
    assert _job_ids(connection, "replies") == [f"outbox-{row}-0"]
    assert Job.fetch(f"outbox-{row}-0", connection=connection).get_status() == "queued"


def test_a_finished_job_does_not_block_new_work_under_its_id(db, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    dispatch(connection, db, Handover(broadcast_ids=[3]), utcnow())
    run_worker(redis_url)  # plans nothing (no such broadcast) and finishes; its key stays an hour
    assert Job.fetch("broadcast-plan-3-0", connection=connection).get_status() == "finished"
    dispatch(connection, db, Handover(broadcast_ids=[3]), utcnow())
    assert _job_ids(connection, "default") == ["broadcast-plan-3-0"]


def test_a_retry_after_a_failure_is_new_work(migrated_db, redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    row = _queue(migrated_db)
    dispatch(connection, migrated_db, Handover(outbox_ids=[row]), utcnow())
    migrated_db.execute("UPDATE outbox SET attempts = 1 WHERE id = ?", [row])  # claimed and failed once
    dispatch(connection, migrated_db, Handover(outbox_ids=[row]), utcnow(), delay=timedelta(seconds=30))
    assert ScheduledJobRegistry("replies", connection=connection).get_job_ids() == [f"outbox-{row}-1"]


def test_redis_down_leaves_the_rows_for_the_sweep(migrated_db):
    connection = redis_lib.Redis(port=1, socket_connect_timeout=0.2)  # nothing listens there
    row = _queue(migrated_db)
    assert not dispatch(connection, migrated_db, Handover(outbox_ids=[row], broadcast_ids=[1]), utcnow())
    assert outbox.get_outbox_row(migrated_db, row)["enqueued_at"] is None
    assert not dispatch(None, migrated_db, Handover(outbox_ids=[row]), utcnow())
    assert dispatch(None, migrated_db, Handover(), utcnow())  # nothing to hand over


def test_the_sweep_is_scheduled_once_per_slot_from_anywhere(redis_url):
    connection = redis_lib.Redis.from_url(redis_url)
    now = utcnow()
    for _ in range(3):
        assert schedule_sweep(connection, now)
    assert len(ScheduledJobRegistry("default", connection=connection).get_job_ids()) == 1


def test_handover_add_keeps_order_and_drops_repeats():
    combined = Handover(outbox_ids=[3, 1]).add(Handover(outbox_ids=[1, 5], relay_ids=[2])).add(None)
    assert (combined.outbox_ids, combined.relay_ids) == ([3, 1, 5], [2])
    assert not Handover() and combined


def test_many_jobs_in_one_round_trip_refuse_the_live_and_replace_the_leftovers(migrated_db, redis_url):
    """The pipelined enqueue (a broadcast's jobs in one round trip) keeps the one-by-one
    rules: a queued job is not enqueued twice, a failed or finished leftover under the
    same id is replaced, and every row is marked handed over."""
    connection = redis_lib.Redis.from_url(redis_url)
    rows = [{"id": _queue(migrated_db, phone=f"+62812345{n:05d}", lane="broadcast"), "lane": "broadcast"}
            for n in range(250)]
    assert enqueue_deliveries(connection, migrated_db, rows, utcnow(), batch_size=100)
    queue = Queue("broadcasts", connection=connection)
    first = queue.job_ids
    assert len(first) == 3
    assert sorted(i for job in queue.jobs for i in job.args[0]) == [row["id"] for row in rows]
    failed = Job.fetch(first[1], connection=connection)
    queue.remove(failed)
    failed.set_status("failed")
    assert enqueue_deliveries(connection, migrated_db, rows, utcnow(), batch_size=100)
    assert sorted(queue.job_ids) == sorted(first)  # the two live ones once, the failed one again
    assert Job.fetch(first[1], connection=connection).get_status() == "queued"
    assert migrated_db.execute("SELECT COUNT(*) FROM outbox WHERE enqueued_at IS NULL").fetchone()[0] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_handover_with_ids_of_any_kind_is_work(kind):
    assert Handover(**{kind: [7]})
    assert not Handover()
    merged = Handover().add(Handover(**{kind: [7, 8]})).add(Handover(**{kind: [8, 9]}))
    assert getattr(merged, kind) == [7, 8, 9]
