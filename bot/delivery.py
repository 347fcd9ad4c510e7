"""Deliver outbox rows through their channels, and sweep up whatever fell through the cracks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from bot.channels import (
    PermanentSendError,
    RetryableSendError,
    SendError,
    find_sent_message,
    send_outbox_row,
)
from bot.services import broadcasts, contacts, inbox, outbox, webhooks
from bot.storage import transaction, utcnow

log = logging.getLogger(__name__)

#: An inbound message unprocessed for this long was dropped by a crash: process it again.
INBOUND_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt did: sent, retry (with `retry_at`), failed, expired, skipped."""

    status: str
    retry_at: datetime | None = None
    next_outbox_id: int | None = None


def deliver_outbox_message(
    db: sqlite_utils.Database, config: dict, outbox_id: int, now: datetime | None = None,
    before_send: Callable[[dict], None] | None = None,
) -> DeliveryOutcome:
    """Send one outbox row if it is due and not yet sent; record what the provider said.

    Safe to call any number of times for the same row: only the call that claims the
    row sends it, and a row with a provider id is never claimed again. `before_send(row)`
    runs after the claim and before the provider call (broadcast pacing waits there).
    """
    now = now or utcnow()
    with transaction(db):
        row = outbox.claim_for_delivery(db, outbox_id, now)
        if row is None:
            return DeliveryOutcome("skipped")
        if outbox.expire_if_stale(db, row, now):
            return DeliveryOutcome("expired", next_outbox_id=outbox.next_in_line(db, row))
        contact = contacts.get_contact(db, row["contact_id"]) if row["contact_id"] else None
    if before_send is not None:
        before_send(row)
    # The provider call happens outside any transaction: SQLite must not stay locked
    # for the seconds a provider may take.
    try:
        result = send_outbox_row(config, row, contact)
    except RetryableSendError as exc:
        max_attempts = min(exc.max_attempts or config["OUTBOX_MAX_ATTEMPTS"],
                           config["OUTBOX_MAX_ATTEMPTS"])
        with transaction(db):
            retry_at = outbox.record_retryable_failure(
                db, outbox_id, exc.code, exc.message, now,
                max_attempts=max_attempts,
                base_delay_seconds=config.get("OUTBOX_RETRY_BASE_SECONDS", 15),
            )
            following = None if retry_at else outbox.next_in_line(db, row)
        log.info("outbox %s: retryable %s, next try %s", outbox_id, exc.code, retry_at)
        return DeliveryOutcome("retry" if retry_at else "failed", retry_at, following)
    except PermanentSendError as exc:
        with transaction(db):
            outbox.record_permanent_failure(db, outbox_id, exc.code, exc.message, now)
            following = outbox.next_in_line(db, row)
        log.warning("outbox %s: failed permanently %s %s", outbox_id, exc.code, exc.message)
        return DeliveryOutcome("failed", next_outbox_id=following)
    with transaction(db):
        outbox.record_sent(db, outbox_id, result.provider_id, result.provider_status, now,
                           result.details)
        following = outbox.next_in_line(db, row)
    return DeliveryOutcome("sent", next_outbox_id=following)


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
    3. Pending orders get their reminder or expire (`bot.order_timers`).
    4. Every due, pending row not recently enqueued is enqueued (this is also how
       broadcast rows held back by quiet hours go out in the morning); so is every due
       webhook relay that is first in line for its order.
    5. Broadcasts whose planning never finished are planned again.
    """
    from bot.order_timers import run_order_timers
    from bot.queueing import enqueue_broadcast_planning, enqueue_deliveries, enqueue_webhook_deliveries
    from conversations.engine import respond_to_inbound

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
    due = outbox.due_unqueued(db, now)
    redis_ok = enqueue_deliveries(redis_connection, db, due, now)
    relays = sorted(set(timers.webhook_ids) | set(webhooks.due_deliveries(db, now)))
    relays_ok = enqueue_webhook_deliveries(redis_connection, db, relays, now)
    for broadcast_id in broadcasts.unplanned_broadcasts(db, now - INBOUND_GRACE):
        redis_ok = enqueue_broadcast_planning(redis_connection, broadcast_id) and redis_ok
    return SweepReport(len(released) + relays_released, reprocessed, len(due) if redis_ok else 0,
                       redis_ok and relays_ok,
                       timers.reminded, timers.expired, len(relays) if relays_ok else 0)
