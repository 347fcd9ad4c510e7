"""The webhook-relay outbox: order news for buyers whose own system takes it by webhook.

Like the message outbox, every relay is a row written in the same transaction as the
order change it reports, so a change and its relay exist together or not at all. The
body is fixed then (JSON with an event id the buyer can dedupe on and a per-order
`sequence`); a job (`bot.pipeline.relays.deliver_webhook`) posts it, signed, outside any
transaction. Rows move `pending -> sending -> delivered`, or back to `pending` with
exponential backoff after a failure, until `give_up_after` (created + WEBHOOK_RETRY_HOURS)
has passed: then `failed`, listed by `jembatan webhook list --status failed`.

Order per order: a row is only claimed when no earlier row of the same order is still
pending or sending, so a buyer never hears "shipped" before "accepted".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta

import sqlite_utils

from bot.services import timing
from bot.services.timing import backoff_delay
from bot.storage import fetch_all, fetch_one, to_db_time, transaction, where_in

LEASE = timing.RELAY_LEASE
ENQUEUE_GRACE = timing.RELAY_ENQUEUE_GRACE
SIGNATURE_VERSION = "v1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Jembatan-Signature` value: `v1=` + hex HMAC-SHA256 of `timestamp.body`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def queue_event(
    db: sqlite_utils.Database, *, buyer_id: int, order_id: int, event_type: str, order: dict,
    now: datetime, retry_hours: int,
) -> int:
    """Write one relay (call inside the transaction of the change it reports); return its id.

    The row counts as enqueued now: the caller enqueues its job after the commit, and
    only if that fails does the sweep pick it up (after a grace).
    """
    sequence = db.execute("SELECT COALESCE(MAX(sequence), 0) + 1 FROM webhook_deliveries "
                          "WHERE order_id = ?", [order_id]).fetchone()[0]
    event_id = "evt_" + secrets.token_hex(12)
    stamp = to_db_time(now)
    payload = json.dumps({"id": event_id, "type": event_type, "created_at": stamp,
                          "sequence": sequence, "order": order},
                         ensure_ascii=False, separators=(",", ":"))
    cursor = db.execute(
        """
        INSERT INTO webhook_deliveries (event_id, buyer_id, order_id, event_type, sequence, payload,
            next_attempt_at, give_up_after, enqueued_at, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [event_id, buyer_id, order_id, event_type, sequence, payload, stamp,
         to_db_time(now + timedelta(hours=retry_hours)), stamp, stamp],
    )
    return cursor.lastrowid


def get_delivery(db: sqlite_utils.Database, delivery_id: int) -> dict | None:
    """The relay row, or None."""
    return fetch_one(db, "SELECT * FROM webhook_deliveries WHERE id = ?", [delivery_id])


def claim(db: sqlite_utils.Database, delivery_id: int, now: datetime,
          retry_hours: float = 24) -> dict | None:
    """Take the row for posting, or None if it is not ours to send now: delivered, failed,
    claimed, not yet due, or an earlier event of the same order has not gone out yet.

    On its first try a relay gets its full `retry_hours` from now: one that waited behind
    an earlier event of its order must not inherit a deadline that ran out meanwhile.
    """
    with transaction(db):
        cursor = db.execute(
            """
            UPDATE webhook_deliveries SET status = 'sending', attempts = attempts + 1,
                   lease_until = :lease,
                   give_up_after = CASE WHEN attempts = 0 THEN MAX(give_up_after, :deadline)
                                        ELSE give_up_after END
             WHERE id = :id AND status = 'pending' AND next_attempt_at <= :now
               AND NOT EXISTS (
                   SELECT 1 FROM webhook_deliveries AS earlier
                    WHERE earlier.order_id = webhook_deliveries.order_id
                      AND earlier.id < webhook_deliveries.id
                      AND earlier.status IN ('pending', 'sending'))
            """,
            {"id": delivery_id, "now": to_db_time(now), "lease": to_db_time(now + LEASE),
             "deadline": to_db_time(now + timedelta(hours=retry_hours))},
        )
        return get_delivery(db, delivery_id) if cursor.rowcount else None


def record_delivered(db: sqlite_utils.Database, row: dict, status_code: int, now: datetime) -> None:
    """The buyer's server answered 2xx: done for good."""
    with transaction(db):
        db.execute(
            "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?, last_status_code = ?, "
            "last_error = NULL, lease_until = NULL WHERE " + _STILL_OURS,
            [to_db_time(now), status_code, row["id"], row["attempts"]])


# A worker records an attempt only while the row is still the one it claimed: after its
# lease ran out and another worker claimed it, a late answer must not undo theirs.
_STILL_OURS = "id = ? AND status = 'sending' AND attempts = ?"


def record_failure(
    db: sqlite_utils.Database, claimed: dict, status_code: int | None, error: str, now: datetime,
    *, base_delay_seconds: float,
) -> datetime | None:
    """Schedule another try (delay doubling from `base_delay_seconds`, at most an hour),
    or fail the row once `give_up_after` has passed. Returns when the next try is due,
    or None if the row is now failed (or no longer this worker's to record)."""
    with transaction(db):
        row = get_delivery(db, claimed["id"])
        ours = [claimed["id"], claimed["attempts"]]
        if to_db_time(now) >= row["give_up_after"]:
            db.execute(
                "UPDATE webhook_deliveries SET status = 'failed', last_status_code = ?, last_error = ?, "
                "lease_until = NULL WHERE " + _STILL_OURS,
                [status_code, f"gave up after {row['attempts']} tries: {error}"[:500], *ours])
            return None
        due = now + backoff_delay(row["attempts"], base_delay_seconds)
        cursor = db.execute(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, last_status_code = ?, "
            "last_error = ?, lease_until = NULL, enqueued_at = NULL WHERE " + _STILL_OURS,
            [to_db_time(due), status_code, error[:500], *ours])
        return due if cursor.rowcount else None


def next_in_line(db: sqlite_utils.Database, row: dict) -> int | None:
    """The next pending relay of the same order (to send after `row`)."""
    found = db.execute(
        "SELECT id FROM webhook_deliveries WHERE order_id = ? AND id > ? AND status = 'pending' "
        "ORDER BY id LIMIT 1", [row["order_id"], row["id"]]).fetchone()
    return found[0] if found else None


def release_expired_leases(db: sqlite_utils.Database, now: datetime) -> int:
    """Put rows whose worker died mid-post back to pending; return how many."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL, enqueued_at = NULL "
            "WHERE status = 'sending' AND lease_until < ?", [to_db_time(now)])
        return cursor.rowcount


def due_deliveries(db: sqlite_utils.Database, now: datetime, limit: int = 500) -> list[int]:
    """Relays that are due, first in line for their order, and not (recently) handed to a
    worker: the sweep's work. Rows waiting behind an earlier one of their order are left
    for the job that delivers that one."""
    return [row["id"] for row in fetch_all(
        db,
        """
        SELECT id FROM webhook_deliveries AS w
         WHERE status = 'pending' AND next_attempt_at <= :now
           AND (enqueued_at IS NULL OR enqueued_at < :grace)
           AND NOT EXISTS (
               SELECT 1 FROM webhook_deliveries AS earlier
                WHERE earlier.order_id = w.order_id AND earlier.id < w.id
                  AND earlier.status IN ('pending', 'sending'))
         ORDER BY id LIMIT :limit
        """,
        {"now": to_db_time(now), "grace": to_db_time(now - ENQUEUE_GRACE), "limit": limit},
    )]


def mark_enqueued(db: sqlite_utils.Database, delivery_ids: list[int], now: datetime) -> None:
    """Remember that a delivery job was handed to Redis for these rows."""
    with transaction(db):
        db.conn.executemany("UPDATE webhook_deliveries SET enqueued_at = ? WHERE id = ?",
                            [(to_db_time(now), i) for i in delivery_ids])


def list_deliveries(db: sqlite_utils.Database, statuses: tuple[str, ...] | None = None,
                    limit: int = 200) -> list[dict]:
    """Relays with their buyer and order code, newest first (for `jembatan webhook list`)."""
    where, params = where_in("w.status", statuses)
    return fetch_all(
        db,
        f"SELECT w.id, w.event_id, w.event_type, w.sequence, w.status, w.attempts, w.next_attempt_at, "
        f"w.last_status_code, w.last_error, w.created_at, w.delivered_at, o.code AS order_code, "
        f"b.name AS buyer_name, b.webhook_url FROM webhook_deliveries w "
        f"JOIN orders o ON o.id = w.order_id JOIN buyers b ON b.id = w.buyer_id {where} "
        f"ORDER BY w.id DESC LIMIT ?", [*params, limit])


def retry_failed(db: sqlite_utils.Database, delivery_id: int, now: datetime, retry_hours: int) -> bool:
    """Give a failed relay another `retry_hours` of tries (after the buyer fixed their
    server); False if it is not failed. It goes out with its original event id."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, "
            "give_up_after = ?, enqueued_at = NULL WHERE id = ? AND status = 'failed'",
            [to_db_time(now), to_db_time(now + timedelta(hours=retry_hours)), delivery_id])
        return bool(cursor.rowcount)
