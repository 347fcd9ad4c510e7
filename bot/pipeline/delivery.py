"""Deliver one outbox row through its channel, and record what the provider said."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.channels import (
    PermanentSendError,
    RetryableSendError,
    SendError,
    UnknownOutcomeError,
    find_sent_message,
    send_outbox_row,
)
from bot.liveness import process_identity
from bot.services import contacts, outbox
from bot.services.handover import Handover
from bot.storage import from_db_time, transaction, utcnow

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt did: sent, retry (with `retry_at`), failed, expired, skipped."""

    status: str
    retry_at: datetime | None = None
    next_outbox_id: int | None = None

    @property
    def handover(self) -> Handover:
        """The recipient's next message, now free to go."""
        return Handover(outbox_ids=[self.next_outbox_id] if self.next_outbox_id else [])


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
        row = outbox.claim_for_delivery(db, outbox_id, now, claimed_by=process_identity())
        if row is None:
            # Held back by an earlier message to the same person whose hold ends (its lease
            # runs out)? Then the sweep takes this one as soon as it does, without an
            # enqueue grace on top.
            until = outbox.blocked_until(db, outbox_id, now)
            if until is not None:
                outbox.hand_over_again_at(db, outbox_id, until)
            return DeliveryOutcome("skipped")
        if outbox.expire_if_stale(db, row, now):
            return DeliveryOutcome("expired", next_outbox_id=outbox.next_in_line(db, row))
        row = outbox.prepare_gateway_row(db, config, row, now)  # TTL by kind, SIM caps
        if row["status"] == "expired":
            return DeliveryOutcome("expired", next_outbox_id=outbox.next_in_line(db, row))
        if row["status"] == "pending":
            return DeliveryOutcome("retry", from_db_time(row["next_attempt_at"]))
        contact = contacts.get_contact(db, row["contact_id"]) if row["contact_id"] else None
    if row["unknown_since"]:
        # An earlier try may have reached the provider (it timed out, or the connection
        # broke after the request went out): ask before sending again.
        try:
            found = find_sent_message(config, row, outbox.sent_provider_ids(db, row))
        except SendError as exc:
            return _retry(db, config, row, RetryableSendError(exc.code, f"lookup: {exc.message}"), now)
        if found is not None:
            log.info("outbox %s: the provider had it already (%s)", outbox_id, found.provider_id)
            return _record_sent(db, row, found, now)
    if before_send is not None:
        before_send(row)
    # The provider call happens outside any transaction: SQLite must not stay locked
    # for the seconds a provider may take.
    try:
        result = send_outbox_row(config, row, contact)
    except RetryableSendError as exc:
        return _retry(db, config, row, exc, now)
    except PermanentSendError as exc:
        with transaction(db):
            outbox.record_permanent_failure(db, outbox_id, exc.code, exc.message, now)
            outbox.opt_out_after_refusal(db, row, exc.code, now)  # 21610, 63014
            following = outbox.next_in_line(db, row)
        log.warning("outbox %s: failed permanently %s %s", outbox_id, exc.code, exc.message)
        return DeliveryOutcome("failed", next_outbox_id=following)
    return _record_sent(db, row, result, now)


def _record_sent(db: sqlite_utils.Database, row: dict, result, now: datetime) -> DeliveryOutcome:
    with transaction(db):
        outbox.record_sent(db, row["id"], result.provider_id, result.provider_status, now,
                           result.details)
        following = outbox.next_in_line(db, row)
    return DeliveryOutcome("sent", next_outbox_id=following)


def _retry(db: sqlite_utils.Database, config: dict, row: dict, exc: RetryableSendError,
           now: datetime) -> DeliveryOutcome:
    """Schedule the next try (an unknown outcome is remembered, so that try asks first)."""
    max_attempts = min(exc.max_attempts or config["OUTBOX_MAX_ATTEMPTS"], config["OUTBOX_MAX_ATTEMPTS"])
    record = (outbox.record_unknown_outcome if isinstance(exc, UnknownOutcomeError)
              else outbox.record_retryable_failure)
    with transaction(db):
        retry_at = record(db, row["id"], exc.code, exc.message, now, max_attempts=max_attempts,
                          base_delay_seconds=config.get("OUTBOX_RETRY_BASE_SECONDS", 15))
        following = None if retry_at else outbox.next_in_line(db, row)
    log.info("outbox %s: retryable %s, next try %s", row["id"], exc.code, retry_at)
    return DeliveryOutcome("retry" if retry_at else "failed", retry_at, following)
