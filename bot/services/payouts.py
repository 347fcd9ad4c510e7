"""Payouts: a seller's withdrawal on its way to their bank account or e-wallet.

A withdrawal moves money from the seller's available balance to "in transit" and
creates a payout, in one transaction. The payout then moves through an explicit
transition table, (status, event) -> status, whatever reports the event: a coordinator
(`jembatan payout paid`, `BAYAR kode`), Xendit's answer to our request, or its callback.
Each transition that settles money posts its ledger transaction in the same database
transaction as the status change:

- succeeded: in transit -> paid out;
- failed / cancelled: in transit -> back to available;
- reversed (after succeeded): paid out -> back to available.

Callbacks arrive twice and out of order, so news the payout is already past (a
REQUESTED after SUCCEEDED, a second SUCCEEDED) is a recorded no-op; anything else not
in the table raises IllegalPayoutTransition and changes nothing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.services import ledger, timing
from bot.services.payout_accounts import PayoutAccount
from bot.services.timing import backoff_delay
from bot.storage import fetch_all, fetch_one, to_db_time, transaction, where_in

STATUSES = ("pending", "submitted", "processing", "succeeded", "failed", "cancelled", "reversed")
EVENTS = ("accepted", "requested", "succeeded", "failed", "cancelled", "reversed")

#: The payout lifecycle: (current status, event) -> new status.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "accepted"): "submitted",      # the provider took the request
    ("pending", "requested"): "processing",    # the provider sent it to the bank
    ("submitted", "requested"): "processing",
    ("pending", "succeeded"): "succeeded",     # manual: the coordinator paid
    ("submitted", "succeeded"): "succeeded",
    ("processing", "succeeded"): "succeeded",
    ("pending", "failed"): "failed",
    ("submitted", "failed"): "failed",
    ("processing", "failed"): "failed",
    ("pending", "cancelled"): "cancelled",
    ("submitted", "cancelled"): "cancelled",   # Xendit cancels only while ACCEPTED
    ("succeeded", "reversed"): "reversed",     # the bank sent the money back
}
#: News that changes nothing: a repeat, or a step the payout has already passed.
REPEATS: frozenset[tuple[str, str]] = frozenset(
    {("submitted", "accepted"), ("processing", "accepted"), ("processing", "requested")}
    | {(done, event) for done in ("succeeded", "failed", "cancelled", "reversed")
       for event in ("accepted", "requested")}
    | {(status, status) for status in ("succeeded", "failed", "cancelled", "reversed")}
    | {("reversed", "succeeded")}
)
#: Payout statuses whose money sits in the seller's in-transit account (the rest has
#: reached them or come back to their balance; see bot/services/reconciliation.py).
OPEN_STATUSES = ("pending", "submitted", "processing")
FINAL_STATUSES = ("succeeded", "failed", "cancelled", "reversed")
#: Ledger posting for reaching a status: (transaction kind, from account, to account).
_POSTING_ON_ARRIVAL = {
    "succeeded": ("payout_succeeded", "in_transit", "paid_out"),
    "failed": ("payout_returned", "in_transit", "available"),
    "cancelled": ("payout_returned", "in_transit", "available"),
    "reversed": ("payout_reversed", "paid_out", "available"),
}

#: Providers that submit payouts through an API, in a job (`SUBMIT_JOB`); the others wait
#: for a coordinator to pay by hand.
AUTOMATIC_PROVIDERS = ("xendit",)

#: Short codes people type (`BAYAR T7K2`): no 0/O, 1/I/L; the parser wants a digit in it.
CODE_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_DIGITS = "23456789"
SUBMIT_LEASE = timing.PAYOUT_SUBMIT_LEASE
SUBMIT_RETRY_BASE_SECONDS = 15

#: Provider failure codes, by what the seller should do about them (docs/DECISIONS.md).
_ACCOUNT_FAILURES = {"INVALID_DESTINATION", "RECIPIENT_ACCOUNT_NUMBER_ERROR", "INVALID_ACCOUNT",
                     "ACCOUNT_NOT_FOUND", "ACCOUNT_NAME_MISMATCH", "INVALID_ACCOUNT_DETAILS",
                     "account"}
_OUR_FAILURES = {"INSUFFICIENT_BALANCE", "SERVER_ERROR", "REQUEST_FORBIDDEN_ERROR",
                 "API_VALIDATION_ERROR", "INVALID_JSON_FORMAT", "other"}


class IllegalPayoutTransition(RuntimeError):
    """An event the payout's status does not allow (nothing was changed)."""


class SecondApprovalNeeded(RuntimeError):
    """Money above PAYOUT_SECOND_APPROVAL_ABOVE moves only on two coordinators' word:
    `approvers` have given theirs, and a different one is still needed."""

    def __init__(self, payout: dict, approvers: list[str]):
        super().__init__(f"payout {payout['code']} needs a second coordinator")
        self.payout = payout
        self.approvers = approvers


class PayoutHeld(RuntimeError):
    """The payout waits for buyers' payments (PAYOUT_ADVANCE_LIMIT): no money moves yet."""


class WithdrawalRefused(ValueError):
    """A withdrawal outside the rules: `reason` says which, `values` what to tell."""

    def __init__(self, reason: str, **values: int):
        super().__init__(reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class PayoutChange:
    """What reporting an event did to a payout."""

    payout: dict  # the row after the event
    event: str
    from_status: str
    to_status: str
    applied: bool  # False: a repeat, nothing changed


def failure_kind(failure_code: str | None) -> str:
    """What a failure means for the seller: `account` (check your account details),
    `ours` (our side: try again later) or `rejected` (the bank or e-wallet refused)."""
    if failure_code in _ACCOUNT_FAILURES:
        return "account"
    if failure_code in _OUR_FAILURES:
        return "ours"
    return "rejected"


# --- reading -----------------------------------------------------------------------------


def get_payout(db: sqlite_utils.Database, payout_id: int) -> dict | None:
    """The payout row, or None."""
    return fetch_one(db, "SELECT * FROM payouts WHERE id = ?", [payout_id])


def find_payout(db: sqlite_utils.Database, code: str) -> dict | None:
    """The payout with this code (any case, `#`/`-` ignored), or None."""
    cleaned = code.strip().lstrip("#").replace("-", "").upper()
    return fetch_one(db, "SELECT * FROM payouts WHERE code = ?", [cleaned])


def find_payout_by_reference(db: sqlite_utils.Database, reference: str) -> dict | None:
    """The payout we sent to a provider under `reference` (its reference_id)."""
    return fetch_one(db, "SELECT * FROM payouts WHERE reference = ?", [reference])


def find_payout_by_provider_id(db: sqlite_utils.Database, provider_payout_id: str) -> dict | None:
    """The payout the provider knows as `provider_payout_id`."""
    return fetch_one(db, "SELECT * FROM payouts WHERE provider_payout_id = ?", [provider_payout_id])


def list_payouts(db: sqlite_utils.Database, statuses: tuple[str, ...] | None = None,
                 limit: int = 200) -> list[dict]:
    """Payouts with their seller's name and phone, oldest first (the order to pay them)."""
    where, params = where_in("p.status", statuses)
    return fetch_all(
        db,
        f"SELECT p.*, c.name AS seller_name, c.village AS seller_village, c.phone AS seller_phone "
        f"FROM payouts p JOIN contacts c ON c.id = p.seller_contact_id {where} "
        f"ORDER BY p.id LIMIT ?",
        [*params, limit],
    )


def payout_approvers(db: sqlite_utils.Database) -> list[dict]:
    """Who hears about new manual payouts and may settle them (`BAYAR`): coordinators."""
    return fetch_all(db, "SELECT * FROM contacts WHERE is_coordinator = 1 ORDER BY id")


def local_day_start(now: datetime, timezone: str) -> datetime:
    """Midnight today in `timezone` (a seller's day ends at their midnight, not UTC's)."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def local_month_start(now: datetime, timezone: str) -> datetime:
    """The first moment of this month in `timezone`."""
    return local_day_start(now, timezone).replace(day=1)


def withdrawn_since(db: sqlite_utils.Database, seller_contact_id: int, since: datetime) -> int:
    """What the seller asked to withdraw since `since`, not counting payouts whose money
    came back (failed, cancelled, reversed): the daily limit counts money that left."""
    return db.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM payouts WHERE seller_contact_id = ? "
        "AND created_at >= ? AND status IN ('pending', 'submitted', 'processing', 'succeeded')",
        [seller_contact_id, to_db_time(since)],
    ).fetchone()[0]


# --- withdrawing -------------------------------------------------------------------------


def check_withdrawal(db: sqlite_utils.Database, seller_contact_id: int, amount: int, *,
                     settings: dict, now: datetime, timezone: str) -> None:
    """Raise WithdrawalRefused unless `amount` respects the balance and the limits.

    Order matters for the seller: nothing to withdraw; under the minimum; more than the
    balance; over what is left of today's limit.
    """
    available = ledger.account_balance(db, "available", seller_contact_id)
    minimum = int(settings.get("PAYOUT_MIN_AMOUNT") or 0)
    daily_max = int(settings.get("PAYOUT_DAILY_MAX") or 0)
    if available <= 0 or available < minimum:
        raise WithdrawalRefused("nothing_to_withdraw", available=available, minimum=minimum)
    if amount < minimum:
        raise WithdrawalRefused("below_minimum", minimum=minimum)
    if amount > available:
        raise WithdrawalRefused("insufficient", available=available)
    if daily_max:
        today = withdrawn_since(db, seller_contact_id, local_day_start(now, timezone))
        if today + amount > daily_max:
            raise WithdrawalRefused("daily_limit", limit=daily_max,
                                    remaining=max(daily_max - today, 0))


def request_withdrawal(
    db: sqlite_utils.Database, *, seller_contact_id: int, amount: int, account: PayoutAccount,
    provider: str, settings: dict, now: datetime, timezone: str, source: str = "sms",
) -> dict:
    """Create a payout of `amount` to `account` and move the money to in transit.

    Checks the balance and limits again inside the write transaction (BEGIN IMMEDIATE
    serialises writers), so two withdrawals at the same moment can never together take
    more than the balance; the ledger's trigger refuses it too.
    """
    if type(amount) is not int or amount <= 0:
        raise WithdrawalRefused("below_minimum", minimum=int(settings.get("PAYOUT_MIN_AMOUNT") or 0))
    approval = needs_second_approval(amount, settings)
    with transaction(db):
        check_withdrawal(db, seller_contact_id, amount, settings=settings, now=now,
                         timezone=timezone)
        room = advance_room(db, settings)
        # Beyond PAYOUT_ADVANCE_LIMIT the money is set aside for the seller (in transit) but
        # the payout waits for buyers' payments; queued behind any that already wait.
        held = room is not None and (amount > room or _any_held(db))
        code = _new_code(db)
        stamp = to_db_time(now)
        cursor = db.execute(
            """
            INSERT INTO payouts (code, reference, seller_contact_id, amount, channel,
                account_number, account_holder_name, provider, status, next_submit_at,
                enqueued_at, approval_required, held_for_payments, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)
            """,
            # An automatic payout counts as enqueued now: the caller enqueues its job after
            # the commit, and only if that fails does the sweep pick it up (after a grace).
            # One that needs a coordinator's approval is not submitted before it has one.
            [code, f"jembatan-{code}-{secrets.token_hex(6)}", seller_contact_id, amount,
             account.channel, account.number, account.holder, provider,
             *([stamp, stamp] if provider in AUTOMATIC_PROVIDERS and not approval and not held
               else [None, None]),
             int(approval), int(held), stamp, stamp],
        )
        payout_id = cursor.lastrowid
        ledger.move_seller_money(
            db, kind="withdrawal", key=f"payout:{payout_id}:withdrawal",
            seller_contact_id=seller_contact_id, amount=amount, source="available",
            target="in_transit", now=now, payout_id=payout_id)
        _record_event(db, payout_id, "created", "pending", "pending", "applied", source,
                      {"amount": amount, "provider": provider}, now)
        return get_payout(db, payout_id)


def _new_code(db: sqlite_utils.Database) -> str:
    """A fresh payout code: `T` + three characters, at least one a digit (`T7K2`)."""
    alphabet = CODE_LETTERS + CODE_DIGITS
    length = 3
    for attempt in range(60):
        if attempt and attempt % 20 == 0:
            length += 1  # crowded: use longer codes rather than loop for ever
        chars = [secrets.choice(alphabet) for _ in range(length - 1)] + [secrets.choice(CODE_DIGITS)]
        secrets.SystemRandom().shuffle(chars)
        code = "T" + "".join(chars)
        if fetch_one(db, "SELECT 1 AS taken FROM payouts WHERE code = ?", [code]) is None:
            return code
    raise RuntimeError("could not find a free payout code")


# --- the lifecycle -----------------------------------------------------------------------


def apply_payout_event(
    db: sqlite_utils.Database, payout_id: int, event: str, now: datetime, *, source: str,
    detail: dict | None = None, provider_status: str | None = None,
    provider_payout_id: str | None = None, failure_code: str | None = None,
    provider_reference: str | None = None,
) -> PayoutChange:
    """Report `event` for a payout: change its status per TRANSITIONS and post what that
    means in the ledger, atomically. A repeat is recorded and changes nothing; an event
    the status does not allow raises IllegalPayoutTransition (and records nothing)."""
    with transaction(db):
        payout = get_payout(db, payout_id)
        if payout is None:
            raise KeyError(payout_id)
        current = payout["status"]
        target = TRANSITIONS.get((current, event))
        if target is None and (current, event) not in REPEATS:
            raise IllegalPayoutTransition(f"payout {payout['code']} is {current}: cannot apply {event}")
        if target is None:
            if provider_payout_id and not payout["provider_payout_id"]:
                db.execute("UPDATE payouts SET provider_payout_id = ? WHERE id = ?",
                           [provider_payout_id, payout_id])
            _record_event(db, payout_id, event, current, current, "repeated", source, detail, now)
            return PayoutChange(get_payout(db, payout_id), event, current, current, False)
        stamp = to_db_time(now)
        db.execute(
            """
            UPDATE payouts SET status = ?, updated_at = ?,
                   provider_status = COALESCE(?, provider_status),
                   provider_payout_id = COALESCE(provider_payout_id, ?),
                   provider_reference = COALESCE(?, provider_reference),
                   failure_code = COALESCE(?, failure_code),
                   settled_at = CASE WHEN ? THEN ? ELSE settled_at END,
                   next_submit_at = NULL, submit_lease_until = NULL
             WHERE id = ?
            """,
            [target, stamp, provider_status, provider_payout_id, provider_reference, failure_code,
             target in FINAL_STATUSES, stamp, payout_id],
        )
        posting = _POSTING_ON_ARRIVAL.get(target)
        if posting is not None:
            kind, source_account, target_account = posting
            ledger.move_seller_money(
                db, kind=kind, key=f"payout:{payout_id}:{kind}",
                seller_contact_id=payout["seller_contact_id"], amount=payout["amount"],
                source=source_account, target=target_account, now=now, payout_id=payout_id)
        _record_event(db, payout_id, event, current, target, "applied", source, detail, now)
        return PayoutChange(get_payout(db, payout_id), event, current, target, True)


def _record_event(db, payout_id, event, from_status, to_status, outcome, source, detail, now):
    db.execute(
        "INSERT INTO payout_events (payout_id, event, from_status, to_status, outcome, source, "
        "detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [payout_id, event, from_status, to_status, outcome, source,
         json.dumps(detail, ensure_ascii=False) if detail else None, to_db_time(now)],
    )


# --- the cooperative's advance (PAYOUT_ADVANCE_LIMIT) ------------------------------------


def advance_limit(settings: dict) -> int | None:
    """PAYOUT_ADVANCE_LIMIT in rupiah, or None when withdrawals are not limited by it."""
    value = settings.get("PAYOUT_ADVANCE_LIMIT")
    return None if value is None or value == "" else int(value)


def advance_in_use(db: sqlite_utils.Database) -> int:
    """How far released payouts (on their way or paid) run ahead of what buyers paid."""
    released = db.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM payouts WHERE held_for_payments = 0 "
        "AND status IN ('pending', 'submitted', 'processing', 'succeeded')").fetchone()[0]
    return released - ledger.account_balance(db, "cash")


def advance_room(db: sqlite_utils.Database, settings: dict) -> int | None:
    """How much more may be paid out before the limit (None: no limit)."""
    limit = advance_limit(settings)
    return None if limit is None else limit - advance_in_use(db)


def _any_held(db: sqlite_utils.Database) -> bool:
    return fetch_one(db, "SELECT 1 AS held FROM payouts WHERE held_for_payments = 1 "
                         "AND status = 'pending' LIMIT 1") is not None


def held_amount(db: sqlite_utils.Database, seller_contact_id: int) -> int:
    """What of the seller's money in transit waits for buyers' payments."""
    return db.execute("SELECT COALESCE(SUM(amount), 0) FROM payouts WHERE seller_contact_id = ? "
                      "AND held_for_payments = 1 AND status = 'pending'", [seller_contact_id]).fetchone()[0]


def release_held(db: sqlite_utils.Database, settings: dict, now: datetime) -> list[dict]:
    """Release held payouts, oldest first, while they fit under the limit (all of them
    when the limit was lifted); an automatic one becomes due for submission unless it
    still waits for a coordinator's approval. Returns the released payouts."""
    released = []
    with transaction(db):
        held = fetch_all(db, "SELECT * FROM payouts WHERE held_for_payments = 1 "
                             "AND status = 'pending' ORDER BY id")
        if not held:
            return released  # the common case, every sweep: no sum over payouts and cash
        room = advance_room(db, settings)
        for payout in held:
            if room is not None and payout["amount"] > room:
                break  # first come, first served: nobody overtakes the oldest
            stamp = to_db_time(now)
            submit = (payout["provider"] in AUTOMATIC_PROVIDERS
                      and not (payout["approval_required"] and not approvers(db, payout["id"])))
            db.execute("UPDATE payouts SET held_for_payments = 0, updated_at = ?, "
                       "next_submit_at = CASE WHEN ? THEN ? ELSE next_submit_at END WHERE id = ?",
                       [stamp, submit, stamp, payout["id"]])
            _record_event(db, payout["id"], "released", "pending", "pending", "applied", "advance_limit",
                          {"room": room}, now)
            if room is not None:
                room -= payout["amount"]
            released.append(get_payout(db, payout["id"]))
    return released


# --- maker-checker ------------------------------------------------------------------------


def needs_second_approval(amount: int, settings: dict) -> bool:
    """Whether a payout of `amount` needs a second coordinator (decided when it is created,
    so changing the setting later strands nobody)."""
    threshold = int(settings.get("PAYOUT_SECOND_APPROVAL_ABOVE") or 0)
    return threshold > 0 and amount > threshold


def approvers(db: sqlite_utils.Database, payout_id: int) -> list[str]:
    """Who has given their word on this payout, first first."""
    return [row["actor"] for row in fetch_all(
        db, "SELECT actor FROM payout_approvals WHERE payout_id = ? ORDER BY id", [payout_id])]


def approve(db: sqlite_utils.Database, payout_id: int, actor: str, now: datetime, *,
            source: str) -> list[str]:
    """Record `actor`'s word on a payout (once per actor); returns everyone's so far."""
    with transaction(db):
        db.execute("INSERT OR IGNORE INTO payout_approvals (payout_id, actor, source, created_at) "
                   "VALUES (?, ?, ?, ?)", [payout_id, actor, source, to_db_time(now)])
        return approvers(db, payout_id)


def mark_paid(db: sqlite_utils.Database, payout_id: int, actor: str, now: datetime, *, source: str,
              detail: dict | None = None, provider_reference: str | None = None) -> PayoutChange:
    """A coordinator (`actor`) paid a manual payout by hand: record it as succeeded.

    Above PAYOUT_SECOND_APPROVAL_ABOVE (as it was when the payout was created) the money
    moves only when a coordinator other than `actor` has approved: otherwise `actor`'s
    word is recorded and SecondApprovalNeeded raised, and the payout stays pending. Every
    path that marks a payout paid — text, command line, desk — comes through here.
    """
    with transaction(db):
        payout = get_payout(db, payout_id)
        if payout["held_for_payments"] and payout["status"] == "pending":
            raise PayoutHeld(payout["code"])
        waiting = None
        if payout["approval_required"] and payout["status"] == "pending":
            others = [a for a in approvers(db, payout_id) if a != actor]
            everyone = approve(db, payout_id, actor, now, source=source)
            if not others:
                waiting = SecondApprovalNeeded(payout, everyone)
        if waiting is None:
            return apply_payout_event(db, payout_id, "succeeded", now, source=source, detail=detail,
                                      provider_reference=provider_reference)
    # Raised after the block, so `actor`'s word is kept (committed, or the caller's
    # savepoint released) while the payout stays pending.
    raise waiting


def approve_submission(db: sqlite_utils.Database, payout_id: int, actor: str, now: datetime, *,
                       source: str) -> bool:
    """A coordinator approves an automatic payout that waits for it: it becomes due for
    submission now. True if this approval released it (the caller hands it over)."""
    with transaction(db):
        payout = get_payout(db, payout_id)
        if payout["status"] != "pending" or payout["provider"] not in AUTOMATIC_PROVIDERS:
            return False
        released = payout["approval_required"] and not approvers(db, payout_id)
        approve(db, payout_id, actor, now, source=source)
        if released and not payout["held_for_payments"]:
            stamp = to_db_time(now)
            db.execute("UPDATE payouts SET next_submit_at = ?, enqueued_at = ?, updated_at = ? "
                       "WHERE id = ?", [stamp, stamp, stamp, payout_id])
        return bool(released and not payout["held_for_payments"])


def awaiting_approval(payout: dict, db: sqlite_utils.Database) -> bool:
    """A pending payout that needs a coordinator's approval it does not have yet (an
    automatic one waits unsubmitted; a manual one needs a second coordinator)."""
    if not payout["approval_required"] or payout["status"] != "pending":
        return False
    given = approvers(db, payout["id"])
    return not given if payout["provider"] in AUTOMATIC_PROVIDERS else len(given) < 2


# --- submission to automatic providers ----------------------------------------------------


def claim_for_submission(db: sqlite_utils.Database, payout_id: int, now: datetime) -> dict | None:
    """Take a due, unsubmitted payout for sending to its provider, or None if it is not
    ours to send now (manual, already submitted or settled, not due, another worker on it)."""
    with transaction(db):
        cursor = db.execute(
            """
            UPDATE payouts SET submit_attempts = submit_attempts + 1, submit_lease_until = :lease
             WHERE id = :id AND status = 'pending' AND provider <> 'manual'
               AND next_submit_at IS NOT NULL AND next_submit_at <= :now
               AND (submit_lease_until IS NULL OR submit_lease_until < :now)
               AND (approval_required = 0
                    OR EXISTS (SELECT 1 FROM payout_approvals a WHERE a.payout_id = payouts.id))
            """,
            {"id": payout_id, "now": to_db_time(now), "lease": to_db_time(now + SUBMIT_LEASE)},
        )
        return get_payout(db, payout_id) if cursor.rowcount else None


def record_submit_retry(db: sqlite_utils.Database, payout_id: int, error: str,
                        now: datetime) -> datetime:
    """The provider could not be reached or had a server error: try again later with the
    same reference (and so the same Idempotency-key). Never gives up on its own: after
    a timeout the payout may exist at the provider, so failing it here and returning the
    money could pay the seller twice. Returns when the next try is due."""
    with transaction(db):
        attempts = db.execute("SELECT submit_attempts FROM payouts WHERE id = ?",
                              [payout_id]).fetchone()[0]
        due = now + backoff_delay(attempts, SUBMIT_RETRY_BASE_SECONDS)
        db.execute(
            "UPDATE payouts SET next_submit_at = ?, last_error = ?, submit_lease_until = NULL, "
            "enqueued_at = NULL, updated_at = ? WHERE id = ? AND status = 'pending'",
            [to_db_time(due), error[:500], to_db_time(now), payout_id],
        )
        return due


def due_submissions(db: sqlite_utils.Database, now: datetime, limit: int = 100) -> list[int]:
    """Automatic payouts due for (re)submission that no job holds: the sweep's work."""
    stamp = to_db_time(now)
    return [row["id"] for row in fetch_all(
        db,
        """
        SELECT id FROM payouts
         WHERE status = 'pending' AND provider <> 'manual' AND next_submit_at <= :now
           AND (submit_lease_until IS NULL OR submit_lease_until < :now)
           AND (enqueued_at IS NULL OR enqueued_at < :grace)
         ORDER BY id LIMIT :limit
        """,
        {"now": stamp, "grace": to_db_time(now - SUBMIT_LEASE), "limit": limit},
    )]


def mark_enqueued(db: sqlite_utils.Database, payout_ids: list[int], now: datetime) -> None:
    """Remember that a submission job was handed to Redis for these payouts."""
    with transaction(db):
        db.conn.executemany("UPDATE payouts SET enqueued_at = ? WHERE id = ?",
                            [(to_db_time(now), payout_id) for payout_id in payout_ids])
