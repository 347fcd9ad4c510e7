"""Moving payouts along: report an outcome (and tell the seller), submit to a provider,
take a Xendit callback. Used by the CLI, the RQ job and the callback endpoint.

Each outcome is one transaction: the status change, its ledger posting and the seller's
message (an outbox row) commit together or not at all. Provider calls happen outside
any transaction, between a claim (with a lease) and the recording of the answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlite_utils

from bot.payouts import (
    DuplicatePayoutRequest,
    PermanentPayoutError,
    ProviderPayout,
    RetryablePayoutError,
    get_provider,
)
from bot.payouts.xendit import STATUS_EVENTS, callback_payout
from bot.services import payouts
from bot.services.handover import Handover
from bot.services.payouts import IllegalPayoutTransition, PayoutChange
from bot.storage import transaction
from conversations.news.payouts import notify_payout_change, release_and_tell

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reported:
    """A reported event: what it changed, and the seller's message to deliver."""

    change: PayoutChange
    handover: Handover = field(default_factory=Handover)


def report_payout_event(
    db: sqlite_utils.Database, settings: dict, payout_id: int, event: str, now: datetime, *,
    source: str, **details,
) -> Reported:
    """Apply `event` to the payout (see bot.services.payouts.TRANSITIONS) and, when it
    settles something the seller cares about, queue their message, in one transaction.
    Raises IllegalPayoutTransition for an event the payout's status does not allow."""
    with transaction(db):
        change = payouts.apply_payout_event(db, payout_id, event, now, source=source, **details)
        return report_change(db, settings, change, now)


def report_change(db: sqlite_utils.Database, settings: dict, change: PayoutChange,
                  now: datetime) -> Reported:
    """Queue the seller's message about a change already applied (in the caller's
    transaction), as `report_payout_event` does for the events it applies."""
    outbox_id = notify_payout_change(db, settings, change, now)
    return Reported(change, Handover(outbox_ids=[outbox_id] if outbox_id else []))


def release_held_payouts(db: sqlite_utils.Database, settings: dict, now: datetime) -> Handover:
    """Let held payouts go ahead as far as buyers' payments allow (PAYOUT_ADVANCE_LIMIT),
    with their news, in one transaction; returns what to hand over (messages, and the
    automatic payouts now due for submission)."""
    with transaction(db):
        return release_and_tell(db, settings, now)


@dataclass(frozen=True)
class SubmitOutcome:
    """What one submission attempt did: skipped, retry (with `retry_at`), or the status
    the payout reached; `handover` holds the messages it caused."""

    status: str
    retry_at: datetime | None = None
    handover: Handover = field(default_factory=Handover)


def submit_payout(db: sqlite_utils.Database, config: dict, payout_id: int,
                  now: datetime) -> SubmitOutcome:
    """Send one payout to its (automatic) provider and record the answer.

    Safe to run any number of times: only a due, unsubmitted payout that no other worker
    holds is sent, and every send of a payout carries the same Idempotency-key.
    """
    payout = payouts.claim_for_submission(db, payout_id, now)
    if payout is None:
        return SubmitOutcome("skipped")
    provider = get_provider(payout["provider"])
    refusal = None
    try:
        try:
            answer = provider.submit(config, payout)
        except DuplicatePayoutRequest:
            # An earlier try got through although we never saw the answer: find it. If
            # Xendit does not show it yet, it exists all the same; callbacks will tell.
            answer = provider.find(config, payout) or ProviderPayout(None, "ACCEPTED")
        except PermanentPayoutError as exc:
            refusal = exc
            # After an earlier try whose answer we never saw, a refusal may be about the
            # repeat, not the payout: look before failing it, or we would give the money
            # back while the provider pays it.
            answer = provider.find(config, payout) if payout["submit_attempts"] > 1 else None
    except RetryablePayoutError as exc:
        retry_at = payouts.record_submit_retry(db, payout_id, f"{exc.code}: {exc.message}", now)
        log.warning("payout %s: %s, next try %s", payout["code"], exc, retry_at)
        return SubmitOutcome("retry", retry_at)
    if answer is None:
        log.warning("payout %s refused by %s: %s", payout["code"], provider.name, refusal)
        reported = report_payout_event(
            db, config, payout_id, "failed", now, source=provider.name, failure_code=refusal.code,
            detail={"error_code": refusal.code, "message": refusal.message})
        return SubmitOutcome(reported.change.to_status, handover=reported.handover)
    event = STATUS_EVENTS.get(answer.status, "accepted")
    try:
        reported = report_payout_event(
            db, config, payout_id, event, now, source=provider.name,
            provider_payout_id=answer.provider_payout_id, provider_status=answer.status,
            failure_code=answer.failure_code, detail={"response": answer.raw})
    except IllegalPayoutTransition:
        # A callback got there first and moved the payout further: nothing to add.
        log.info("payout %s: submit answer %s arrived after a callback", payout["code"], answer.status)
        return SubmitOutcome(payouts.get_payout(db, payout_id)["status"])
    return SubmitOutcome(reported.change.to_status, handover=reported.handover)


@dataclass(frozen=True)
class CallbackResult:
    """How to answer a callback: HTTP status, a short word for the body, messages to send."""

    http_status: int
    result: str
    handover: Handover = field(default_factory=Handover)


def handle_xendit_callback(db: sqlite_utils.Database, config: dict, body: object,
                           now: datetime) -> CallbackResult:
    """Apply one (already authenticated) Xendit payout callback.

    Repeats are harmless (the transition table makes them no-ops). A callback for a
    payout we do not know, or with a status we do not use, is acknowledged (200) so
    Xendit stops retrying; one whose amount disagrees with ours changes nothing (422);
    one that arrives before the step it follows (REVERSED before SUCCEEDED) gets 409, so
    Xendit retries it later, in order.
    """
    notice = callback_payout(body)
    if notice is None:
        return CallbackResult(400, "not a payout callback")
    data = notice.raw
    payout = None
    if data.get("reference_id"):
        payout = payouts.find_payout_by_reference(db, str(data["reference_id"]))
    if payout is None and notice.provider_payout_id:
        payout = payouts.find_payout_by_provider_id(db, str(notice.provider_payout_id))
    if payout is None:
        log.warning("Xendit callback for an unknown payout: %s", data.get("reference_id"))
        return CallbackResult(200, "unknown payout")
    event = STATUS_EVENTS.get(notice.status)
    if event is None:
        log.info("Xendit callback status %s for %s: not used", notice.status, payout["code"])
        return CallbackResult(200, "ignored")
    if data.get("amount") is not None and _amount(data["amount"]) != payout["amount"]:
        log.error("Xendit callback for %s says amount %s, ours is %s", payout["code"],
                  data["amount"], payout["amount"])
        return CallbackResult(422, "amount mismatch")
    try:
        reported = report_payout_event(
            db, config, payout["id"], event, now, source="xendit_callback",
            provider_payout_id=notice.provider_payout_id, provider_status=notice.status,
            failure_code=notice.failure_code, detail={"callback": body})
    except IllegalPayoutTransition as exc:
        log.warning("Xendit callback out of order: %s", exc)
        return CallbackResult(409, "out of order")
    return CallbackResult(200, "applied" if reported.change.applied else "repeated",
                          reported.handover)


def _amount(value: object) -> int | None:
    """Xendit sends amounts as JSON numbers (10000 or 10000.0): whole rupiah, or None."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return int(number) if number.is_finite() and number == number.to_integral_value() else None
