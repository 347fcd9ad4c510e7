"""RQ job functions: take ids, open their own database, stay thin.

Every job is safe to run twice; the database decides what actually happens.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from rq import get_current_job

from bot.config import load_config
from bot.delivery import deliver_outbox_message, sweep
from bot.queueing import enqueue_deliveries, schedule_sweep
from bot.services import outbox
from bot.storage import open_database, utcnow

log = logging.getLogger(__name__)


def _open():
    config = load_config()
    return config, open_database(config["DATABASE_PATH"])


def deliver_outbox_job(outbox_id: int) -> str:
    """Deliver one outbox row; queue its retry or the recipient's next row."""
    config, db = _open()
    try:
        outcome = deliver_outbox_message(db, config, outbox_id)
        connection = get_current_job().connection
        now = utcnow()
        if outcome.retry_at is not None:
            row = outbox.get_outbox_row(db, outbox_id)
            delay = max(outcome.retry_at - now, timedelta(0))
            enqueue_deliveries(connection, db, [row], now, delay=delay if delay else None)
        if outcome.next_outbox_id is not None:
            enqueue_deliveries(connection, db, [outbox.get_outbox_row(db, outcome.next_outbox_id)], now)
        return outcome.status
    finally:
        db.conn.close()


def sweep_job() -> dict:
    """The periodic sweep (see `bot.delivery.sweep`); schedules the next one first."""
    config, db = _open()
    connection = get_current_job().connection
    try:
        # Next sweep first: if this one crashes, the chain must not break.
        schedule_sweep(connection, utcnow() + timedelta(seconds=1))
        report = sweep(db, config, connection)
        if report.released or report.reprocessed or report.enqueued:
            log.info("sweep: %s", report)
        return report.__dict__
    finally:
        db.conn.close()
