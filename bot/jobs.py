"""RQ job functions: take ids, open their own database, stay thin.

Every job is safe to run twice; the database decides what actually happens. What a job
leaves for other workers (a retry, the recipient's next message, a notice) goes through
the one after-commit dispatch (`bot.pipeline.dispatch.dispatch`). These functions'
dotted paths are stored in Redis: they stay here, whatever moves behind them.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from rq import Queue, get_current_job

from bot.config import load_config
from bot.pipeline.delivery import deliver_outbox_message
from bot.pipeline.dispatch import dispatch, enqueue_deliveries, schedule_sweep
from bot.pipeline.media import download_media
from bot.pipeline.pacing import Pacer, broadcast_rates
from bot.pipeline.payouts import submit_payout
from bot.pipeline.relays import deliver_webhook
from bot.pipeline.sweep import sweep
from bot.services import broadcasts
from bot.services.handover import Handover
from bot.sms import sms_segments
from bot.storage import WORKER_SYNCHRONOUS, open_database, request_autocheckpoint, utcnow

log = logging.getLogger(__name__)

#: How often a broadcast batch looks whether a reply is waiting (seconds).
REPLY_CHECK_INTERVAL = 0.25


def _open():
    config = load_config()
    # Checkpoints as for request connections (DECISIONS 101): the sweep's, or Litestream's
    # with SQLITE_CHECKPOINTS=external; a broadcast's planning does not run them itself.
    return config, open_database(config["DATABASE_PATH"], WORKER_SYNCHRONOUS,
                                 autocheckpoint=request_autocheckpoint(config))


def _follow_up(connection, db, config, outcome, again: Handover,
               min_delay: timedelta = timedelta(0)) -> None:
    """Hand over what an attempt left: `again` (the same work) at the outcome's
    `retry_at`, if it has one, and the outcome's own handover (what it freed or caused)."""
    now = utcnow()
    batch_size = config["BROADCAST_BATCH_SIZE"]
    retry_at: datetime | None = outcome.retry_at
    if retry_at is not None:
        dispatch(connection, db, again, now, delay=max(retry_at - now, min_delay), batch_size=batch_size)
    dispatch(connection, db, outcome.handover, now, batch_size=batch_size)


def _attempt(work, again: Handover, min_delay: timedelta = timedelta(0)) -> str:
    """Run `work(db, config)` — one attempt at one row — then hand over what it left;
    the attempt's status word is the job's result."""
    config, db = _open()
    try:
        outcome = work(db, config)
        _follow_up(get_current_job().connection, db, config, outcome, again, min_delay)
        return outcome.status
    finally:
        db.conn.close()


def deliver_outbox_job(outbox_id: int) -> str:
    """Deliver one outbox row; queue its retry or the recipient's next row."""
    return _attempt(lambda db, config: deliver_outbox_message(db, config, outbox_id),
                    Handover(outbox_ids=[outbox_id]))


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
                    dispatch(connection, db, Handover(outbox_ids=outbox_ids[position:]), utcnow(),
                             batch_size=len(outbox_ids))
                    counts["yielded"] = len(outbox_ids) - position
                    break
            outcome = deliver_outbox_message(db, config, outbox_id, before_send=pace)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            _follow_up(connection, db, config, outcome, Handover(outbox_ids=[outbox_id]))
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
            # The outbox part of the dispatch, with the rows planning has just written.
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
        if (report.released or report.reprocessed or report.enqueued or report.media_enqueued
                or report.payouts_enqueued):
            log.info("sweep: %s", report)
        return report.__dict__
    finally:
        db.conn.close()


def download_media_job(media_id: int) -> str:
    """Download one photo a seller sent; queue its retry, or the notice of a refusal."""
    return _attempt(lambda db, config: download_media(db, config, media_id), Handover(media_ids=[media_id]))


def submit_payout_job(payout_id: int) -> str:
    """Submit one payout to its provider (Xendit); on a timeout or 5xx, queue the retry,
    which reuses the payout's Idempotency-key; deliver any message it caused."""
    return _attempt(lambda db, config: submit_payout(db, config, payout_id, utcnow()),
                    Handover(payout_ids=[payout_id]), min_delay=timedelta(seconds=1))


def deliver_webhook_job(delivery_id: int) -> str:
    """Post one webhook relay to a buyer's system; queue its retry (with backoff) or the
    order's next relay, which waits until this one is delivered or given up."""
    return _attempt(lambda db, config: deliver_webhook(db, config, delivery_id),
                    Handover(relay_ids=[delivery_id]))
