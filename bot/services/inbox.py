"""The durable inbox: every inbound message is stored before anything acts on it."""

from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from bot.storage import fetch_all, fetch_one, to_db_time, transaction

#: After this many failed processing attempts a message gets the apology reply instead.
MAX_PROCESSING_ATTEMPTS = 3


_STORE = """
    INSERT INTO inbound (channel, provider_id, phone, body, raw, received_at, bsuid, status)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(channel, provider_id) DO NOTHING
    RETURNING *
"""
_STORE_PROCESSED = """
    INSERT INTO inbound (channel, provider_id, phone, body, raw, received_at, bsuid, status,
                         processed_at, contact_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?6, (SELECT id FROM contacts WHERE phone = ?9))
    ON CONFLICT(channel, provider_id) DO NOTHING
    RETURNING *
"""


#: `json.dumps(raw, ensure_ascii=False)` with one encoder made once (`dumps` builds a new
#: `JSONEncoder` for every call that passes an option).
_raw_json = json.JSONEncoder(ensure_ascii=False).encode


def store_inbound(
    db: sqlite_utils.Database,
    *,
    channel: str,
    provider_id: str,
    phone: str,
    body: str,
    raw: dict | None,
    now: datetime,
    bsuid: str | None = None,
    status: str = "new",
) -> tuple[int, dict | None]:
    """Insert the message unless (channel, provider_id) is already stored.

    Returns (inbound id, the stored row as `get_inbound` reads it) for a new message and
    (existing id, None) for a repeat, so a webhook retried by the provider has no second
    effect, and the webhook hands the row on instead of reading it back. `phone` is the
    sender's address (a number, or a WhatsApp BSUID); `bsuid` the BSUID Twilio gave beside
    a number. `status="ignored"` keeps a message nobody answers (an operator's notice).

    `status="processed"`: the message is about to be processed in this same transaction
    (the webhook's one transaction), so it is stored as processed at `now`, with the
    contact its address names if there is one, and spares that transaction the `UPDATE`
    of `mark_processed` (DECISIONS 401). If the processing fails, `unmark_processed` puts
    it back as a new message for the sweep, before the transaction commits.
    """
    stored = fetch_all(
        db,
        _STORE_PROCESSED if status == "processed" else _STORE,
        [channel, provider_id, phone, body, _raw_json(raw or {}),
         to_db_time(now), bsuid, status] + ([phone] if status == "processed" else []),
    )
    if stored:
        return stored[0]["id"], stored[0]
    existing = db.execute(
        "SELECT id FROM inbound WHERE channel = ? AND provider_id = ?", [channel, provider_id]
    ).fetchone()
    return existing[0], None


def get_inbound(db: sqlite_utils.Database, inbound_id: int) -> dict:
    """The inbound row with `inbound_id`."""
    return fetch_one(db, "SELECT * FROM inbound WHERE id = ?", [inbound_id])


def mark_processed(db: sqlite_utils.Database, inbound_id: int, contact_id: int, now: datetime) -> None:
    """Record that the message has had its effect (in the same transaction as the effect)."""
    db.execute(
        "UPDATE inbound SET status = 'processed', contact_id = ?, processed_at = ? WHERE id = ?",
        [contact_id, to_db_time(now), inbound_id],
    )


def mark_processed_once(db: sqlite_utils.Database, row: dict, contact_id: int, now: datetime) -> None:
    """`mark_processed`, unless `row` was stored processed in this transaction with this
    contact already (`store_inbound(status="processed")`)."""
    if row["status"] != "processed" or row["contact_id"] != contact_id:
        mark_processed(db, row["id"], contact_id, now)


def unmark_processed(db: sqlite_utils.Database, inbound_id: int) -> None:
    """A message stored as processed whose processing failed (and was rolled back): new
    again, as `store_inbound` would have stored it, so the sweep takes it."""
    db.execute("UPDATE inbound SET status = 'new', contact_id = NULL, processed_at = NULL WHERE id = ?",
               [inbound_id])


def record_processing_failure(db: sqlite_utils.Database, inbound_id: int, error: str) -> int:
    """Count a crashed processing attempt (outside the rolled-back work); return the count."""
    with transaction(db):
        db.execute(
            "UPDATE inbound SET attempts = attempts + 1, error = ? WHERE id = ?",
            [error[:500], inbound_id],
        )
        return db.execute("SELECT attempts FROM inbound WHERE id = ?", [inbound_id]).fetchone()[0]


def unprocessed_inbound_ids(db: sqlite_utils.Database, older_than: datetime, limit: int = 500) -> list[int]:
    """Messages stored before `older_than` that nothing has processed (a crash, a restart)."""
    return [
        row[0]
        for row in db.execute(
            "SELECT id FROM inbound WHERE status = 'new' AND received_at < ? ORDER BY id LIMIT ?",
            [to_db_time(older_than), limit],
        ).fetchall()
    ]


def redact_inbound(db: sqlite_utils.Database, inbound_id: int) -> None:
    """Blank a handled message's text because it was a secret (a PIN answer).

    Deduplication needs only the channel and provider id, so nothing else depends on the
    text once the message has had its effect (call in the same transaction).
    """
    db.execute(
        "UPDATE inbound SET body = '[redacted]', raw = ? WHERE id = ?",
        [json.dumps({"redacted": True}), inbound_id],
    )
