"""RQ job functions: take ids, open their own database, stay thin.

Every job is safe to run twice; the database decides what actually happens.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from rq import Queue, get_current_job

from bot.config import load_config
from bot.pipeline.delivery import DeliveryOutcome, deliver_outbox_message
from bot.pipeline.dispatch import (
    enqueue_deliveries,
    enqueue_payout_submissions,
    enqueue_webhook_deliveries,
    schedule_sweep,
)
from bot.pipeline.media import download_media, enqueue_due_downloads, enqueue_media_downloads
from bot.pipeline.pacing import Pacer, broadcast_rates
from bot.pipeline.relays import deliver_webhook
from bot.pipeline.sweep import sweep
from bot.services import broadcasts, outbox, payouts
from bot.sms import sms_segments
from bot.storage import WORKER_SYNCHRONOUS, open_database, utcnow

log = logging.getLogger(__name__)

#: How often a broadcast batch looks whether a reply is waiting (seconds).
REPLY_CHECK_INTERVAL = 0.25


def _open():
    config = load_config()
    return config, open_database(config["DATABASE_PATH"], WORKER_SYNCHRONOUS)


def _follow_up(connection, db, config, outbox_id: int, outcome: DeliveryOutcome) -> None:
    """Queue a row's retry (at its due time) and the recipient's next row."""
    now = utcnow()
    batch_size = config["BROADCAST_BATCH_SIZE"]
    if outcome.retry_at is not None:
        delay = max(outcome.retry_at - now, timedelta(0))
        enqueue_deliveries(connection, db, [outbox.get_outbox_row(db, outbox_id)], now,
                           delay=delay or None, batch_size=batch_size)
    if outcome.next_outbox_id is not None:
        enqueue_deliveries(connection, db, [outbox.get_outbox_row(db, outcome.next_outbox_id)],
                           now, batch_size=batch_size)


def deliver_outbox_job(outbox_id: int) -> str:
    """Deliver one outbox row; queue its retry or the recipient's next row."""
    config, db = _open()
    try:
        outcome = deliver_outbox_message(db, config, outbox_id)
        _follow_up(get_current_job().connection, db, config, outbox_id, outcome)
        return outcome.status
    finally:
        db.conn.close()


def deliver_outbox_batch_job(outbox_ids: list[int]) -> dict:
    """Deliver a batch of broadcast rows at the channel's pace.

    Between messages it looks at the `replies` queue: if a person is waiting for an
    answer, the rest of the batch goes back to the end of the `broadcasts` queue and
    the worker turns to the reply first.
    """
    config, db = _open()
    connection = get_current_job().connection
    pacer = Pacer(connection, broadcast_rates(config))
    replies = Queue("replies", connection=connection)

    def pace(row: dict) -> None:
        pacer.wait_for(row["channel"], sms_segments(row["body"]))

    counts: dict[str, int] = {}
    next_look = 0.0
    try:
        for position, outbox_id in enumerate(outbox_ids):
            # Looking at most every quarter second keeps Redis round trips off the per-message
            # cost; a waiting reply is still picked up within that time.
            if position and time.monotonic() >= next_look:
                next_look = time.monotonic() + REPLY_CHECK_INTERVAL
                if replies.count:
                    Queue("broadcasts", connection=connection).enqueue(
                        "bot.jobs.deliver_outbox_batch_job", outbox_ids[position:], result_ttl=0,
                        failure_ttl=86400)
                    counts["yielded"] = len(outbox_ids) - position
                    break
            outcome = deliver_outbox_message(db, config, outbox_id, before_send=pace)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            _follow_up(connection, db, config, outbox_id, outcome)
        return counts
    finally:
        db.conn.close()


def plan_broadcast_job(broadcast_id: int) -> dict:
    """Fan a broadcast out: recipients and outbox rows in batches, delivery jobs for each."""
    config, db = _open()
    connection = get_current_job().connection
    try:
        report = broadcasts.plan_broadcast(
            db, config, broadcast_id, utcnow(),
            on_batch=lambda rows: enqueue_deliveries(connection, db, rows, utcnow(),
                                                     batch_size=config["BROADCAST_BATCH_SIZE"]),
        )
        return report.__dict__
    finally:
        db.conn.close()


def sweep_job() -> dict:
    """The periodic sweep (see `bot.pipeline.sweep.sweep`); schedules the next one first."""
    config, db = _open()
    connection = get_current_job().connection
    try:
        # Next sweep first: if this one crashes, the chain must not break.
        schedule_sweep(connection, utcnow() + timedelta(seconds=1),
                       timedelta(seconds=config["SWEEP_INTERVAL_SECONDS"]))
        report = sweep(db, config, connection)
        if report.released or report.reprocessed or report.enqueued:
            log.info("sweep: %s", report)
        # Photo downloads that Redis lost (or never got) are picked up here too.
        media_enqueued = enqueue_due_downloads(connection, db, utcnow())
        if media_enqueued:
            log.info("sweep: %d media downloads enqueued", media_enqueued)
        # So are payout submissions (Redis was down when the seller withdrew, a worker
        # died mid-submission, a retry's delayed job vanished).
        due_payouts = payouts.due_submissions(db, utcnow())
        if due_payouts and enqueue_payout_submissions(connection, db, due_payouts, utcnow()):
            log.info("sweep: %d payout submissions enqueued", len(due_payouts))
        return report.__dict__
    finally:
        db.conn.close()


def download_media_job(media_id: int) -> str:
    """Download one photo a seller sent; queue its retry, or the notice of a refusal."""
    config, db = _open()
    try:
        outcome = download_media(db, config, media_id)
        connection = get_current_job().connection
        now = utcnow()
        if outcome.retry_at is not None:
            delay = max(outcome.retry_at - now, timedelta(0))
            enqueue_media_downloads(connection, db, [media_id], now, delay=delay or None)
        if outcome.outbox_id is not None:
            enqueue_deliveries(connection, db, [outbox.get_outbox_row(db, outcome.outbox_id)], now)
        return outcome.status
    finally:
        db.conn.close()


def submit_payout_job(payout_id: int) -> str:
    """Submit one payout to its provider (Xendit); on a timeout or 5xx, queue the retry,
    which reuses the payout's Idempotency-key; deliver any message it caused."""
    from bot.pipeline.payouts import submit_payout

    config, db = _open()
    try:
        outcome = submit_payout(db, config, payout_id, utcnow())
        connection = get_current_job().connection
        now = utcnow()
        if outcome.retry_at is not None:
            delay = max(outcome.retry_at - now, timedelta(seconds=1))
            enqueue_payout_submissions(connection, db, [payout_id], now, delay=delay)
        if outcome.outbox_ids:
            enqueue_deliveries(connection, db, [outbox.get_outbox_row(db, i) for i in outcome.outbox_ids],
                               now)
        return outcome.status
    finally:
        db.conn.close()


def deliver_webhook_job(delivery_id: int) -> str:
    """Post one webhook relay to a buyer's system; queue its retry (with backoff) or the
    order's next relay, which waits until this one is delivered or given up."""
    config, db = _open()
    try:
        outcome = deliver_webhook(db, config, delivery_id)
        connection = get_current_job().connection
        now = utcnow()
        if outcome.retry_at is not None:
            delay = max(outcome.retry_at - now, timedelta(0))
            enqueue_webhook_deliveries(connection, db, [delivery_id], now, delay=delay or None)
        if outcome.next_delivery_id is not None:
            enqueue_webhook_deliveries(connection, db, [outcome.next_delivery_id], now)
        return outcome.status
    finally:
        db.conn.close()
