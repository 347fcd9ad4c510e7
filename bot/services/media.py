"""Photos sellers send with listings: which message brought them, which listing they
belong to, and whether they are stored yet.

A row is recorded `pending` with the message that carried it (in that message's
transaction); a job (`bot.pipeline.media.download_media`) fetches it from the provider and moves
it to `stored`, `refused` (too big, not an image) or `failed` (the provider kept
failing). Only stored photos of active listings are served.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import sqlite_utils

from bot.services import timing
from bot.services.timing import backoff_delay
from bot.storage import fetch_all, fetch_one, to_db_time, transaction

#: Image types we keep, with the file extension they are stored under.
IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
#: WhatsApp's own image limit (PROVIDERS.md), and plenty for a catalogue photo.
MAX_MEDIA_BYTES = 5 * 1024 * 1024
MAX_DOWNLOAD_ATTEMPTS = 5
REENQUEUE_AFTER = timing.MEDIA_ENQUEUE_GRACE


def media_dir(config: dict) -> Path:
    """Where photos are stored: MEDIA_DIR, else `media/` beside the database file."""
    configured = config.get("MEDIA_DIR")
    return Path(configured) if configured else Path(config["DATABASE_PATH"]).parent / "media"


def inbound_media(inbound_row: dict) -> list[dict]:
    """The media a stored inbound message carried: [{inbound_id, index, url, content_type}].

    Reads Twilio's form fields as stored in the row's `raw` JSON (`NumMedia`,
    `MediaUrlN`, `MediaContentTypeN`); other channels carry no media.
    """
    raw_text = inbound_row.get("raw")
    if not raw_text or "MediaUrl" not in raw_text:
        return []  # the common case, decided without parsing JSON
    try:
        raw = json.loads(raw_text)
        count = int(raw.get("NumMedia") or 0)
    except (ValueError, TypeError, AttributeError):
        return []
    items = []
    for index in range(min(count, 10)):  # Twilio allows at most 10
        url = raw.get(f"MediaUrl{index}")
        if isinstance(url, str) and url:
            content_type = raw.get(f"MediaContentType{index}")
            items.append({"inbound_id": inbound_row["id"], "index": index, "url": url,
                          "content_type": content_type if isinstance(content_type, str) else None})
    return items


def record_media(
    db: sqlite_utils.Database, contact_id: int, items: list[dict], now: datetime,
    listing_id: int | None = None,
) -> list[int]:
    """Record media items (from `inbound_media`) as pending downloads; return their ids.

    Recording the same item twice (a message processed again) returns the existing row.
    """
    ids = []
    stamp = to_db_time(now)
    for item in items:
        db.execute(
            """
            INSERT INTO media (contact_id, inbound_id, media_index, listing_id, provider_url,
                               declared_type, next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (inbound_id, media_index) DO NOTHING
            """,
            [contact_id, item["inbound_id"], item["index"], listing_id, item["url"],
             item.get("content_type"), stamp, stamp],
        )
        ids.append(db.execute("SELECT id FROM media WHERE inbound_id = ? AND media_index = ?",
                              [item["inbound_id"], item["index"]]).fetchone()[0])
    return ids


def attach_media(db: sqlite_utils.Database, media_ids: list[int], listing_id: int) -> None:
    """Give media recorded during a dialog to the listing the dialog created."""
    for media_id in media_ids:
        db.execute("UPDATE media SET listing_id = ? WHERE id = ? AND listing_id IS NULL",
                   [listing_id, media_id])


def attach_to_story(db: sqlite_utils.Database, media_ids: list[int], story_id: int) -> None:
    """Photos sent with a seller's own story (`CERITA teks` with a photo) belong to it."""
    for media_id in media_ids:
        db.execute("UPDATE media SET story_id = ? WHERE id = ? AND listing_id IS NULL",
                   [story_id, media_id])


def story_photos(db: sqlite_utils.Database, story_id: int) -> list[dict]:
    """Stored photos of a story, oldest first."""
    return fetch_all(db, "SELECT * FROM media WHERE story_id = ? AND status = 'stored' ORDER BY id",
                     [story_id])


def get_media(db: sqlite_utils.Database, media_id: int) -> dict | None:
    """The media row, or None."""
    return fetch_one(db, "SELECT * FROM media WHERE id = ?", [media_id])


def pending_media_ids(db: sqlite_utils.Database, inbound_id: int) -> list[int]:
    """Media of one inbound message still to be downloaded."""
    return [row[0] for row in db.execute(
        "SELECT id FROM media WHERE inbound_id = ? AND status = 'pending' ORDER BY id",
        [inbound_id]).fetchall()]


def record_stored(
    db: sqlite_utils.Database, media_id: int, file_name: str, content_type: str, size: int,
    now: datetime,
) -> bool:
    """Mark a download done; False if another run already finished it."""
    cursor = db.execute(
        "UPDATE media SET status = 'stored', file_name = ?, content_type = ?, size_bytes = ?, "
        "stored_at = ?, error = NULL, attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
        [file_name, content_type, size, to_db_time(now), media_id],
    )
    return bool(cursor.rowcount)


def stored_photos(db: sqlite_utils.Database) -> list[dict]:
    """Every stored photo's id, file name and content type, oldest first."""
    return fetch_all(db, "SELECT id, file_name, content_type FROM media WHERE status = 'stored' "
                     "AND file_name IS NOT NULL ORDER BY id")


def record_redrawn(db: sqlite_utils.Database, media_id: int, size: int) -> None:
    """A stored photo's file was rewritten in place (`size` bytes now)."""
    db.execute("UPDATE media SET size_bytes = ? WHERE id = ?", [size, media_id])


def record_refused(db: sqlite_utils.Database, media_id: int, reason: str, content_type: str | None
                   ) -> bool:
    """Mark a photo we will not keep (too big, not an image); False if already settled."""
    cursor = db.execute(
        "UPDATE media SET status = 'refused', error = ?, content_type = COALESCE(?, content_type), "
        "attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
        [reason, content_type, media_id],
    )
    return bool(cursor.rowcount)


def record_failure(
    db: sqlite_utils.Database, media_id: int, error: str, now: datetime, *, retryable: bool,
    base_delay_seconds: int = 15,
) -> datetime | None:
    """Count a failed download; return when to try again, or None when it is given up."""
    row = get_media(db, media_id)
    if row is None or row["status"] != "pending":
        return None
    attempts = row["attempts"] + 1
    if not retryable or attempts >= MAX_DOWNLOAD_ATTEMPTS:
        db.execute("UPDATE media SET status = 'failed', attempts = ?, error = ? WHERE id = ?",
                   [attempts, error[:500], media_id])
        return None
    retry_at = now + backoff_delay(attempts, base_delay_seconds)
    db.execute(
        "UPDATE media SET attempts = ?, error = ?, next_attempt_at = ?, enqueued_at = NULL "
        "WHERE id = ?",
        [attempts, error[:500], to_db_time(retry_at), media_id],
    )
    return retry_at


def mark_enqueued(db: sqlite_utils.Database, media_ids: list[int], now: datetime) -> None:
    """Remember that a download job was handed to RQ (the sweep re-enqueues stale ones)."""
    with transaction(db):
        db.conn.executemany("UPDATE media SET enqueued_at = ? WHERE id = ?",
                            [(to_db_time(now), media_id) for media_id in media_ids])


def due_downloads(db: sqlite_utils.Database, now: datetime, limit: int = 100) -> list[int]:
    """Pending downloads that are due and not enqueued recently (Redis was down, a job vanished)."""
    return [row["id"] for row in fetch_all(
        db,
        "SELECT id FROM media WHERE status = 'pending' AND next_attempt_at <= ? "
        "AND (enqueued_at IS NULL OR enqueued_at < ?) ORDER BY id LIMIT ?",
        [to_db_time(now), to_db_time(now - REENQUEUE_AFTER), limit],
    )]


def listing_photos(db: sqlite_utils.Database, listing_ids: list[int]) -> dict[int, list[dict]]:
    """Stored photos per listing id, oldest first."""
    if not listing_ids:
        return {}
    marks = ",".join("?" * len(listing_ids))
    photos: dict[int, list[dict]] = {}
    for row in fetch_all(
        db,
        f"SELECT * FROM media WHERE listing_id IN ({marks}) AND status = 'stored' ORDER BY id",
        list(listing_ids),
    ):
        photos.setdefault(row["listing_id"], []).append(row)
    return photos


def servable_photo(db: sqlite_utils.Database, *, media_id: int | None = None,
                   listing_code: str | None = None) -> dict | None:
    """A stored photo of an active listing, by media id or by the listing's code (its first
    photo), or by media id a photo of a visible seller's story; None if there is no such
    photo to show."""
    query = ("SELECT m.* FROM media m JOIN listings l ON l.id = m.listing_id "
             "WHERE m.status = 'stored' AND l.status = 'active' AND ")
    if media_id is not None:
        return fetch_one(db, query + "m.id = ?", [media_id]) or fetch_one(
            db, "SELECT m.* FROM media m JOIN stories s ON s.id = m.story_id WHERE m.id = ? "
                "AND m.status = 'stored' AND s.status = 'visible'", [media_id])
    return fetch_one(db, query + "l.code = ? ORDER BY m.id LIMIT 1", [(listing_code or "").upper()])
