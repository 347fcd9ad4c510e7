"""The periodic sweep: recover from crashes and outages, and hand due work to RQ.

Redis is only a nudge; SQLite is the truth. Whatever a dead worker, a lost job or a
Redis outage left behind is found here from the database alone and handed over again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from bot.channels import SendError, find_sent_message
from bot.pipeline.dispatch import enqueue_broadcast_planning, enqueue_deliveries, enqueue_webhook_deliveries
from bot.pipeline.hub import watch_hub
from bot.pipeline.order_timers import run_order_timers
from bot.services import broadcasts, inbox, outbox, webhooks
from bot.storage import transaction, utcnow
from conversations.engine import respond_to_inbound

log = logging.getLogger(__name__)

#: An inbound message unprocessed for this long was dropped by a crash: process it again.
INBOUND_GRACE = timedelta(seconds=30)


def _recover_expired_leases(db: sqlite_utils.Database, config: dict, now: datetime) -> list[int]:
    """Rows whose worker died mid-delivery: if the provider has the message after all
    (it answered, the worker died before recording it), record it as sent; otherwise
    put the row back to be sent again. Returns the ids put back."""
    released = []
    for row in outbox.expired_leases(db, now):
        try:
            found = find_sent_message(config, row)
        except SendError as exc:
            # The provider cannot say now; sending again could duplicate. Ask next sweep.
            log.warning("outbox %s: cannot check the provider (%s); asking again later", row["id"], exc)
            continue
        if found is None:
            released.append(row["id"])
            continue
        with transaction(db):
            outbox.record_sent(db, row["id"], found.provider_id, found.provider_status, now,
                               found.details)
        log.info("outbox %s: the provider had it already (%s)", row["id"], found.provider_id)
    with transaction(db):
        outbox.release_leases(db, released)
    return released


@dataclass(frozen=True)
class SweepReport:
    """What one sweep found and did."""

    released: int
    reprocessed: int
    enqueued: int
    redis_ok: bool
    orders_reminded: int = 0
    orders_expired: int = 0
    relays_enqueued: int = 0


def sweep(
    db: sqlite_utils.Database, config: dict, redis_connection, now: datetime | None = None
) -> SweepReport:
    """Recover from crashes and outages.

    1. Rows claimed by a worker that died are put back to pending (their lease expired).
    2. Inbound messages nobody processed get processed now (their replies then go out
       through the outbox, since the webhook that could have answered inline is gone).
    3. Pending orders get their reminder or expire (`bot.pipeline.order_timers`).
    4. Every due, pending row not recently enqueued is enqueued (this is also how
       broadcast rows held back by quiet hours go out in the morning); so is every due
       webhook relay that is first in line for its order.
    5. Broadcasts whose planning never finished are planned again.
    """

    now = now or utcnow()
    released = _recover_expired_leases(db, config, now)
    relays_released = webhooks.release_expired_leases(db, now)
    reprocessed = 0
    for inbound_id in inbox.unprocessed_inbound_ids(db, now - INBOUND_GRACE):
        try:
            if respond_to_inbound(db, inbound_id, config, now) is not None:
                reprocessed += 1
        except Exception:  # counted on the row; it will be tried again next sweep
            log.exception("sweep could not process inbound %s", inbound_id)
    timers = run_order_timers(db, config, now)
    try:
        watch_hub(db, config, now)  # its alerts are due now: enqueued just below
    except Exception:  # the hub phone's troubles must never stop the sweep
        log.exception("watching the hub phone failed")
    due = outbox.due_unqueued(db, now)
    redis_ok = enqueue_deliveries(redis_connection, db, due, now)
    relays = sorted(set(timers.webhook_ids) | set(webhooks.due_deliveries(db, now)))
    relays_ok = enqueue_webhook_deliveries(redis_connection, db, relays, now)
    for broadcast_id in broadcasts.unplanned_broadcasts(db, now - INBOUND_GRACE):
        redis_ok = enqueue_broadcast_planning(redis_connection, broadcast_id) and redis_ok
    return SweepReport(len(released) + relays_released, reprocessed, len(due) if redis_ok else 0,
                       redis_ok and relays_ok,
                       timers.reminded, timers.expired, len(relays) if relays_ok else 0)
