"""The transactional outbox: every outgoing message is a row, written with its cause.

Rows move `pending -> sending -> sent`, or to `failed` (permanent error, or retries
exhausted) or `expired` (too late to be useful). Delivery claims a row atomically, so a
job queued twice sends once, and a row with a provider id is never sent again. Within
one recipient, channel and lane, rows go out strictly in id order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.config import sms_channel
from bot.phones import is_bsuid
from bot.services import timing
from bot.services.contacts import (
    blocked_channels,
    find_contact_by_address,
    get_contact,
    set_channel_blocked,
    set_opted_out,
)
from bot.services.timing import backoff_delay
from bot.storage import fetch_all, fetch_one, from_db_time, to_db_time, transaction

LEASE = timing.OUTBOX_LEASE
ENQUEUE_GRACE = timing.OUTBOX_ENQUEUE_GRACE

# Provider statuses by rank: a status callback may only move a row forward.
# Twilio's and the Android gateway's vocabularies share this ladder.
_STATUS_RANK = {
    "twiml": 0, "accepted": 1, "queued": 1, "scheduled": 1, "pending": 1, "processed": 2,
    "sending": 2, "sent": 3, "delivered": 4, "undelivered": 4, "failed": 4, "read": 5,
    "canceled": 4,
}
_FAILED_PROVIDER_STATUSES = {"undelivered", "failed", "canceled"}


def queue_message(
    db: sqlite_utils.Database,
    *,
    phone: str,
    channel: str,
    body: str,
    kind: str,
    now: datetime,
    contact_id: int | None = None,
    lane: str = "conversation",
    reply_id: str | None = None,
    inbound_id: int | None = None,
    expires_at: datetime | None = None,
    not_before: datetime | None = None,
    sent_inline: bool = False,
    broadcast_id: int | None = None,
    per_minute_cap: int | None = None,
) -> int:
    """Write one outgoing message; call it inside the transaction that caused it.

    `sent_inline` records a reply that goes back in the webhook's own response (TwiML),
    so it is kept for the record but never handed to a worker. `per_minute_cap` (for
    conversation traffic) delays, never drops, a row that would be the cap+1th to this
    address within a minute.
    """
    stamp = to_db_time(now)
    if per_minute_cap and not sent_inline and lane != "broadcast":
        not_before = _capped_start(db, contact_id, phone, not_before or now, per_minute_cap)
    cursor = db.execute(
        """
        INSERT INTO outbox (contact_id, phone, channel, lane, kind, body, reply_id, inbound_id,
            status, provider_status, next_attempt_at, expires_at, created_at, sent_at, broadcast_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            contact_id, phone, channel, lane, kind, body, reply_id, inbound_id,
            "sent" if sent_inline else "pending",
            "twiml" if sent_inline else None,
            to_db_time(not_before or now), to_db_time(expires_at), stamp,
            stamp if sent_inline else None, broadcast_id,
        ],
    )
    return cursor.lastrowid


def _capped_start(db: sqlite_utils.Database, contact_id: int | None, phone: str, start: datetime,
                  cap: int) -> datetime:
    """The earliest time at or after `start` that keeps the contact (`contact_id`, else the
    one with `phone`) at most `cap` conversation rows per minute (counting when rows are
    due, so delayed rows are spaced too). By contact, through the index the desk lists a
    person's rows with (m030): one index fewer for every row to enter."""
    rows = db.execute(
        "SELECT next_attempt_at FROM outbox WHERE contact_id = COALESCE(?, (SELECT id FROM contacts "
        "WHERE phone = ?)) AND lane = 'conversation' AND next_attempt_at > ? "
        "ORDER BY next_attempt_at DESC LIMIT ?",
        [contact_id, phone, to_db_time(start - timedelta(minutes=1)), cap],
    ).fetchall()
    if len(rows) < cap:
        return start
    # The cap-th most recent due time opens the next free slot one minute later.
    return max(start, from_db_time(rows[-1][0]) + timedelta(minutes=1))


def queue_broadcast_select(
    db: sqlite_utils.Database, broadcast_id: int, select: str, params: list, *, join: str,
    created_at: str,
) -> tuple[int, int]:
    """Write broadcast rows, as `queue_message(kind="broadcast", lane="broadcast")` would
    write each, from a query: `select` ("SELECT contact id, phone, channel, body,
    not-before, expires, handed over FROM contacts c ... WHERE ...", stored texts; `join`
    is put after its `FROM contacts c`), one row per result, with ids in contact order.
    Returns (the first id, how many). Call it inside the write transaction (`BEGIN
    IMMEDIATE`): the ids are allocated from MAX(id) under that lock, so the rows of this
    call are exactly those with an id from the first on."""
    first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM outbox").fetchone()[0]
    head, rest = select.split(" FROM contacts c ", 1)
    columns = head.removeprefix("SELECT ")
    cursor = db.execute(
        f"""
        INSERT INTO outbox (id, contact_id, phone, channel, body, next_attempt_at, expires_at,
            enqueued_at, lane, kind, status, created_at, broadcast_id)
        SELECT {int(first)} - 1 + row_number() OVER (ORDER BY c.id), {columns},
               'broadcast', 'broadcast', 'pending', ?, {int(broadcast_id)}
          FROM contacts c {join} {rest}
        """,
        [created_at, *params],
    )
    return first, cursor.rowcount


def channel_for_contact(contact: dict, settings: dict) -> str:
    """How to reach a contact unprompted: their `preferred_channel` if the caller names
    one (`whatsapp`/`sms`: a buyer's, set by a coordinator); else WhatsApp if they ever
    wrote on it (the template covers the 24-hour rule), else the SMS transport they last
    used, else the default one.

    A contact known only by a WhatsApp id (BSUID) has no number: WhatsApp is the only way.
    A channel whose provider refuses the person (21610, 63014) is passed over: WhatsApp
    falls back to SMS, and Twilio SMS to the hub's gateway.
    """
    if is_bsuid(contact.get("phone")):
        return "twilio_whatsapp"
    blocked = blocked_channels(contact)
    preferred = contact.get("preferred_channel")
    if "twilio_whatsapp" not in blocked and (
            preferred == "whatsapp" or (preferred != "sms" and contact.get("last_whatsapp_at"))):
        return "twilio_whatsapp"
    channel = contact.get("sms_channel") or sms_channel(settings) or "android_sms"
    if channel == "twilio_sms" and "twilio_sms" in blocked and settings.get("ANDROID_GATEWAY_URL"):
        return "android_sms"
    return channel


def get_outbox_row(db: sqlite_utils.Database, outbox_id: int) -> dict | None:
    """The outbox row, or None."""
    return fetch_one(db, "SELECT * FROM outbox WHERE id = ?", [outbox_id])


def claim_for_delivery(db: sqlite_utils.Database, outbox_id: int, now: datetime, *,
                       claimed_by: str | None = None, lease: timedelta = LEASE) -> dict | None:
    """Take the row for sending, or return None if it is not ours to send now.

    Not ours: already sent/failed/claimed, not yet due, or an earlier message to the same
    recipient on the same lane is still ahead of it (order per recipient is kept). An
    earlier message stops being ahead once it has held the line for a lease: a claim whose
    lease ran out, or a retry waiting for its turn more than a lease after its last try, no
    longer holds back the recipient's later messages (`blocked_until` says until when).
    `claimed_by` names the claiming process (`bot.liveness`), so the sweep can recover
    the row as soon as that process is gone.
    """
    cursor = db.execute(
        f"""
        UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_at = :now,
               lease_until = :lease, claimed_by = :by
         WHERE id = :id AND status = 'pending' AND provider_id IS NULL
           AND next_attempt_at <= :now
           AND NOT EXISTS (
               SELECT 1 FROM outbox AS earlier
                WHERE earlier.phone = outbox.phone AND earlier.channel = outbox.channel
                  AND earlier.lane = outbox.lane AND earlier.id < outbox.id
                  AND earlier.status IN ('pending', 'sending') AND {_HOLDS_THE_LINE})
        RETURNING *
        """,
        {"id": outbox_id, "now": to_db_time(now), "lease": to_db_time(now + lease),
         "by": claimed_by, "held_since": to_db_time(now - lease)},
    )
    claimed = cursor.fetchone()
    cursor.close()  # RETURNING: the statement is done when its cursor is
    if claimed is None:
        return None
    return dict(zip([column[0] for column in cursor.description], claimed, strict=True))


#: (Queries using it also say `earlier.status IN ('pending', 'sending')`, which it implies:
#: that is the condition of the partial index `outbox_recipient_waiting`, m006, and SQLite
#: only uses a partial index when the query states its condition.)
#: When an earlier row (`earlier`) still goes first: never tried yet, due now (it is about
#: to go), claimed with a live lease, or waiting for a retry and its last try less than a
#: lease ago. Only a row that keeps failing lets later ones overtake it.
_HOLDS_THE_LINE = """(
    (earlier.status = 'pending' AND (earlier.attempts = 0 OR earlier.next_attempt_at <= :now
                                     OR earlier.claimed_at > :held_since))
    OR (earlier.status = 'sending' AND earlier.lease_until > :now))"""


def blocked_until(db: sqlite_utils.Database, outbox_id: int, now: datetime,
                  lease: timedelta = LEASE) -> datetime | None:
    """When the earlier rows of the same recipient that hold `outbox_id` back stop doing so
    (their lease runs out); None if one of them holds it without limit (never tried, or due:
    it goes first, and its own delivery hands over to this one) or nothing holds it."""
    stamp = to_db_time(now)
    ahead = fetch_all(
        db,
        f"""
        SELECT earlier.status, earlier.attempts, earlier.next_attempt_at, earlier.claimed_at,
               earlier.lease_until
          FROM outbox AS mine JOIN outbox AS earlier
            ON earlier.phone = mine.phone AND earlier.channel = mine.channel
           AND earlier.lane = mine.lane AND earlier.id < mine.id
         WHERE mine.id = :id AND earlier.status IN ('pending', 'sending') AND {_HOLDS_THE_LINE}
        """,
        {"id": outbox_id, "now": stamp, "held_since": to_db_time(now - lease)},
    )
    if not ahead or any(r["status"] == "pending" and (r["attempts"] == 0 or r["next_attempt_at"] <= stamp)
                        for r in ahead):
        return None
    return max(from_db_time(r["lease_until"]) if r["status"] == "sending"
               else from_db_time(r["claimed_at"]) + lease for r in ahead)


def record_sent(
    db: sqlite_utils.Database, outbox_id: int, provider_id: str, provider_status: str,
    now: datetime, details: dict | None = None,
) -> None:
    """The provider accepted the row: store its id so it is never sent again."""
    details = details or {}
    db.execute(
        """
        UPDATE outbox SET status = 'sent', provider_id = ?, provider_status = ?, sent_at = ?,
               lease_until = NULL, error_code = NULL, error_message = NULL,
               template_sid = ?, template_variables = ?
         WHERE id = ?
        """,
        [provider_id, provider_status, to_db_time(now), details.get("template_sid"),
         details.get("template_variables"), outbox_id],
    )


def record_permanent_failure(
    db: sqlite_utils.Database, outbox_id: int, code: str, message: str, now: datetime
) -> None:
    """Give up on the row, keeping why (shown to coordinators)."""
    db.execute(
        "UPDATE outbox SET status = 'failed', error_code = ?, error_message = ?, "
        "lease_until = NULL WHERE id = ?",
        [code, message[:500], outbox_id],
    )


def record_retryable_failure(
    db: sqlite_utils.Database, outbox_id: int, code: str, message: str, now: datetime,
    *, max_attempts: int, base_delay_seconds: float,
) -> datetime | None:
    """Schedule another try with exponential backoff; fail the row when tries run out.

    Returns when the next attempt is due, or None if the row is now failed.
    """
    attempts = db.execute("SELECT attempts FROM outbox WHERE id = ?", [outbox_id]).fetchone()[0]
    if attempts >= max_attempts:
        record_permanent_failure(db, outbox_id, code, f"gave up after {attempts} tries: {message}", now)
        return None
    due = now + backoff_delay(attempts, base_delay_seconds)
    db.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?, error_code = ?, "
        "error_message = ?, lease_until = NULL, enqueued_at = NULL WHERE id = ?",
        [to_db_time(due), code, message[:500], outbox_id],
    )
    return due


def _twilio_sms_configured(settings: dict) -> bool:
    return bool(settings.get("TWILIO_ACCOUNT_SID") and (
        settings.get("TWILIO_SMS_FROM") or settings.get("TWILIO_MESSAGING_SERVICE_SID")))


#: How long a message through the hub phone stays worth sending, by kind, counted from
#: when it was first due: a reply is useless hours late (the phone was off), a broadcast
#: without its own validity keeps half a day. Notifications (order and money news) have
#: none of their own: the person must hear them however late, and the order timers
#: decide when an order is over.
GATEWAY_VALIDITY = {"reply": timedelta(minutes=30), "broadcast": timedelta(hours=12)}
#: Reply ids that must arrive however late (money, sign-in codes): never given a validity.
MUST_ARRIVE = ("payout.", "withdraw.", "pay.", "account.", "desk.", "signin.", "login.")


def gateway_validity(row: dict) -> datetime | None:
    """Until when a gateway row is worth sending: its own `expires_at` or its kind's
    validity, whichever ends first; None for messages that must arrive."""
    if any((row.get("reply_id") or "").startswith(prefix) for prefix in MUST_ARRIVE):
        return from_db_time(row.get("expires_at"))
    kind = GATEWAY_VALIDITY.get(row.get("kind") or "")
    own = from_db_time(row.get("expires_at"))
    if kind is None:
        return own
    # Counted from when the row was first due (a broadcast held for the morning, a reply
    # delayed by the per-address cap), which is its `next_attempt_at` at the first claim.
    start = from_db_time(row["next_attempt_at"] if row.get("attempts", 1) <= 1 else row["created_at"])
    return min(moment for moment in (start + kind, own) if moment is not None)


def prepare_gateway_row(db: sqlite_utils.Database, settings: dict, row: dict, now: datetime) -> dict:
    """Before a claimed row goes to the hub phone: give it the validity of its kind (the
    phone gets it as `validUntil`), expire it if that has passed (the phone was off for
    hours: CHT #3180), and choose its SIM (`route_gateway_row`). Returns the row as it
    now is: `expired`, `pending` again (SIMs full until tomorrow), or ready to send."""
    if row["channel"] != "android_sms":
        return row
    valid = gateway_validity(row) if row.get("attempts", 1) <= 1 else from_db_time(row.get("expires_at"))
    if valid is not None and to_db_time(valid) != row.get("expires_at"):
        db.execute("UPDATE outbox SET expires_at = ? WHERE id = ?", [to_db_time(valid), row["id"]])
        row = dict(row, expires_at=to_db_time(valid))
    if expire_if_stale(db, row, now):
        return get_outbox_row(db, row["id"])
    return route_gateway_row(db, settings, row, now)


def route_gateway_row(db: sqlite_utils.Database, settings: dict, row: dict, now: datetime) -> dict:
    """Choose the SIM for a claimed gateway row under `ANDROID_GATEWAY_DAILY_LIMIT`.

    SIM 1 first; when it has sent its daily quota (the hub's local day), the places named
    in `ANDROID_GATEWAY_OVERFLOW`, in order (`sim2`, `twilio`); when all are full, the row
    waits for the next day (`status` back to pending). Never dropped. Returns the row as
    it now is (its channel may have become `twilio_sms`).
    """
    if row["channel"] != "android_sms":
        return row
    arrived_on = _inbound_sim(db, row)
    limit = settings.get("ANDROID_GATEWAY_DAILY_LIMIT")
    if not limit:
        if arrived_on and not row.get("sim_number"):
            # A reply leaves from the SIM the person wrote to, so it comes from that number.
            db.execute("UPDATE outbox SET sim_number = ? WHERE id = ?", [arrived_on, row["id"]])
            return get_outbox_row(db, row["id"])
        return row
    zone = ZoneInfo(settings.get("DEFAULT_TIMEZONE") or "Asia/Jakarta")
    day = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    counts = dict(db.execute(
        "SELECT COALESCE(sim_number, 1), COUNT(*) FROM outbox WHERE channel = 'android_sms' "
        "AND status IN ('sending', 'sent') AND claimed_at >= ? AND id <> ? GROUP BY 1",
        [to_db_time(day), row["id"]]).fetchall())
    blocked = blocked_channels(get_contact(db, row["contact_id"])) if row.get("contact_id") else set()
    places = ["sim1"] + [p.strip() for p in (settings.get("ANDROID_GATEWAY_OVERFLOW") or "").split(",")]
    if arrived_on == 2 and "sim2" in places:
        places.remove("sim2")
        places.insert(0, "sim2")
    for place in places:
        if place in ("sim1", "sim2") and counts.get(int(place[-1]), 0) < int(limit):
            db.execute("UPDATE outbox SET sim_number = ? WHERE id = ?", [int(place[-1]), row["id"]])
            return get_outbox_row(db, row["id"])
        if place == "twilio" and _twilio_sms_configured(settings) and "twilio_sms" not in blocked:
            db.execute("UPDATE outbox SET channel = 'twilio_sms', sim_number = NULL WHERE id = ?",
                       [row["id"]])
            return get_outbox_row(db, row["id"])
    db.execute(
        "UPDATE outbox SET status = 'pending', attempts = attempts - 1, lease_until = NULL, "
        "enqueued_at = NULL, next_attempt_at = ?, error_code = 'sim_daily_limit' WHERE id = ?",
        [to_db_time(day + timedelta(days=1)), row["id"]])
    return get_outbox_row(db, row["id"])


def _inbound_sim(db: sqlite_utils.Database, row: dict) -> int | None:
    """The gateway SIM (1 or 2) the message this row answers arrived on, if known."""
    if not row.get("inbound_id"):
        return None
    found = db.execute("SELECT raw FROM inbound WHERE id = ? AND channel = 'android_sms'",
                       [row["inbound_id"]]).fetchone()
    try:
        sim = json.loads(found[0]).get("payload", {}).get("simNumber") if found else None
    except (ValueError, AttributeError):
        return None
    return sim if sim in (1, 2) else None


def record_unknown_outcome(
    db: sqlite_utils.Database, outbox_id: int, code: str, message: str, now: datetime,
    *, max_attempts: int, base_delay_seconds: float,
) -> datetime | None:
    """The provider may or may not have the message (timeout, connection cut after the
    request went out): like a retryable failure, but the row remembers since when, and
    is looked up at the provider before it may be sent again."""
    db.execute("UPDATE outbox SET unknown_since = COALESCE(unknown_since, claimed_at) WHERE id = ?",
               [outbox_id])
    return record_retryable_failure(db, outbox_id, code, message, now, max_attempts=max_attempts,
                                    base_delay_seconds=base_delay_seconds)


def sent_provider_ids(db: sqlite_utils.Database, row: dict) -> set[str]:
    """Provider ids already recorded for other rows to the same recipient and channel (a
    lookup must not take another row's message for this one's)."""
    return {r[0] for r in db.execute(
        "SELECT provider_id FROM outbox WHERE phone = ? AND channel = ? AND id != ? "
        "AND provider_id IS NOT NULL AND created_at >= ?",
        [row["phone"], row["channel"], row["id"],
         to_db_time(from_db_time(row["created_at"]) - timedelta(days=2))]).fetchall()}


def expire_if_stale(db: sqlite_utils.Database, row: dict, now: datetime) -> bool:
    """Mark a claimed row expired if its validity passed (a stale price is worse than none)."""
    expires_at = from_db_time(row.get("expires_at"))
    if expires_at is None or expires_at > now:
        return False
    db.execute(
        "UPDATE outbox SET status = 'expired', lease_until = NULL WHERE id = ?", [row["id"]]
    )
    return True


def next_in_line(db: sqlite_utils.Database, row: dict) -> int | None:
    """The next pending row for the same recipient, channel and lane (to send after `row`).

    The `IN` term is the condition of the partial index `outbox_recipient_waiting`
    (m006), written out so SQLite uses it; `status = 'pending'` is what is asked."""
    found = db.execute(
        "SELECT id FROM outbox WHERE phone = ? AND channel = ? AND lane = ? AND id > ? "
        "AND status IN ('pending', 'sending') AND status = 'pending' ORDER BY id LIMIT 1",
        [row["phone"], row["channel"], row["lane"], row["id"]],
    ).fetchone()
    return found[0] if found else None


def mark_enqueued(db: sqlite_utils.Database, outbox_ids: list[int], now: datetime) -> None:
    """Remember that a delivery job was handed to Redis for these rows (not worth an fsync
    of its own: if a power cut takes the mark, the sweep hands the rows over again, and
    the job ids refuse a second job; DECISIONS 265)."""
    if outbox_ids:
        with transaction(db, sync=False):
            set_enqueued_at(db, outbox_ids, to_db_time(now))


def set_enqueued_at(db: sqlite_utils.Database, outbox_ids: list[int], stamp: str | None) -> None:
    """Set (or with None clear: the sweep then hands the rows over at once) `enqueued_at`."""
    # Runs of consecutive ids as one range update each: one seek instead of one per row.
    if outbox_ids:
        db.conn.executemany("UPDATE outbox SET enqueued_at = ? WHERE id BETWEEN ? AND ?",
                            [(stamp, first, last) for first, last in id_runs(outbox_ids)])


def id_runs(ids: list[int]) -> list[tuple[int, int]]:
    """`ids` as (first, last) runs of consecutive integers: [3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
    runs: list[list[int]] = []
    for value in sorted(set(ids)):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return [(first, last) for first, last in runs]


def hand_over_again_at(db: sqlite_utils.Database, outbox_id: int, moment: datetime) -> None:
    """Let the sweep hand a pending row over again from `moment` on (its enqueue grace
    then counts as passed)."""
    db.execute("UPDATE outbox SET enqueued_at = ? WHERE id = ? AND status = 'pending'",
               [to_db_time(moment - ENQUEUE_GRACE), outbox_id])


def expired_leases(db: sqlite_utils.Database, now: datetime,
                   is_dead: Callable[[str | None], bool] | None = None) -> list[dict]:
    """Rows a worker claimed and never finished: their lease ran out, or (with `is_dead`)
    the process that claimed them is known to be gone."""
    # `status <> 'sent'` is the condition of the partial index `outbox_unsent` (m030).
    rows = fetch_all(db, "SELECT * FROM outbox WHERE status <> 'sent' AND status = 'sending'")
    stamp = to_db_time(now)
    return [r for r in rows if (r["lease_until"] or "") < stamp
            or (is_dead is not None and is_dead(r["claimed_by"]))]


def release_leases(db: sqlite_utils.Database, outbox_ids: list[int]) -> None:
    """Put rows whose worker died back to pending, to be sent again."""
    db.conn.executemany(
        "UPDATE outbox SET status = 'pending', lease_until = NULL, enqueued_at = NULL "
        "WHERE id = ? AND status = 'sending'",
        [(i,) for i in outbox_ids],
    )


def due_unqueued(db: sqlite_utils.Database, now: datetime, limit: int = 1000,
                 grace: timedelta = ENQUEUE_GRACE) -> list[dict]:
    """Pending rows that are due and not handed to a worker within `grace`: the sweep's work
    (through the partial index `outbox_unsent`, whose condition the query says, m030)."""
    return fetch_all(
        db,
        """
        SELECT id, lane, attempts FROM outbox
         WHERE status <> 'sent' AND status = 'pending' AND next_attempt_at <= :now
           AND (enqueued_at IS NULL OR enqueued_at < :grace)
         ORDER BY id LIMIT :limit
        """,
        {"now": to_db_time(now), "grace": to_db_time(now - grace), "limit": limit},
    )


def apply_provider_status(
    db: sqlite_utils.Database, channel: str, provider_id: str, status: str,
    error_code: str | None, now: datetime,
) -> bool:
    """Move a sent row's provider status forward (never backwards). True if it changed."""
    status = (status or "").lower()
    row = db.execute(
        "SELECT id, provider_status FROM outbox WHERE channel = ? AND provider_id = ?",
        [channel, provider_id],
    ).fetchone()
    if row is None or status not in _STATUS_RANK:
        return False
    if _STATUS_RANK[status] <= _STATUS_RANK.get(row[1] or "", -1):
        return False
    if status in _FAILED_PROVIDER_STATUSES:
        db.execute(
            "UPDATE outbox SET provider_status = ?, status = 'failed', error_code = ? WHERE id = ?",
            [status, error_code, row[0]],
        )
    else:
        db.execute("UPDATE outbox SET provider_status = ? WHERE id = ?", [status, row[0]])
    return True


def mark_provider_expired(db: sqlite_utils.Database, channel: str, provider_id: str,
                          reason: str | None, now: datetime) -> bool:
    """The provider dropped a sent row at its validity (the phone's TTL): `expired`."""
    cursor = db.execute(
        "UPDATE outbox SET status = 'expired', provider_status = 'expired', error_code = ? "
        "WHERE channel = ? AND provider_id = ? AND status IN ('sent', 'sending')",
        [(reason or "ttl")[:200], channel, provider_id],
    )
    return bool(cursor.rowcount)


#: Provider codes that mean "this person does not want (or cannot get) our messages here":
#: 21610 the number texted STOP to Twilio; 63014 the WhatsApp user blocked the business.
OPT_OUT_CODES = {"21610": "twilio_sms", "63014": "twilio_whatsapp"}


def apply_provider_opt_out(
    db: sqlite_utils.Database, channel: str, provider_id: str, recipient: str | None,
    error_code: str | None, now: datetime,
) -> bool:
    """A status callback (or a send) said the recipient opted out at the provider: opt them
    out of broadcasts, keep the reason, and mark the channel blocked. True if applied."""
    if error_code not in OPT_OUT_CODES:
        return False
    row = db.execute("SELECT contact_id, phone FROM outbox WHERE channel = ? AND provider_id = ?",
                     [channel, provider_id]).fetchone() if provider_id else None
    contact = None
    if row is not None and row[0] is not None:
        contact = {"id": row[0]}
    else:
        address = (recipient or (row[1] if row else "") or "").removeprefix("whatsapp:")
        contact = find_contact_by_address(db, address) if address else None
    if contact is None:
        return False
    set_opted_out(db, contact["id"], True, reason=f"provider:{error_code}", now=now)
    set_channel_blocked(db, contact["id"], OPT_OUT_CODES[error_code], True)
    return True


def opt_out_after_refusal(db: sqlite_utils.Database, row: dict, error_code: str,
                          now: datetime) -> bool:
    """The provider refused to send `row` with an opt-out code (21610 on create)."""
    if error_code not in OPT_OUT_CODES or not row.get("contact_id"):
        return False
    set_opted_out(db, row["contact_id"], True, reason=f"provider:{error_code}", now=now)
    set_channel_blocked(db, row["contact_id"], OPT_OUT_CODES[error_code], True)
    return True


def record_delivery_event(
    db: sqlite_utils.Database, channel: str, provider_id: str, status: str,
    error_code: str | None, raw: str, now: datetime,
) -> bool:
    """Store a status callback once; False if this (id, status) was already seen."""
    cursor = db.execute(
        "INSERT INTO delivery_events (channel, provider_id, status, error_code, raw, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [channel, provider_id, status, error_code, raw, to_db_time(now)],
    )
    return bool(cursor.rowcount)
