"""Broadcasts from coordinators: create (with a one-SMS check), plan the fan-out in batches,
and report how it went.

Planning writes one `broadcast_recipients` row per contact (primary key: broadcast +
contact) together with that contact's outbox row, batch by batch, each batch in its own
transaction. Planning again — a retried job, a second run — only picks up contacts that
have no row yet, so nobody gets the same broadcast twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.services import outbox
from bot.services.coordinators import record_action
from bot.services.groups import resolve_group
from bot.services.schedule import (
    contact_timezone,
    next_send_time,
    parse_quiet_hours,
    village_timezones,
)
from bot.sms import BRAND_PREFIX, gsm_safe, sms_segments
from bot.storage import fetch_all, fetch_one, from_db_time, to_db_time, transaction


class BroadcastTooLong(ValueError):
    """The text needs more than one SMS; `segments` says how many."""

    def __init__(self, segments: int):
        super().__init__(f"text needs {segments} SMS segments")
        self.segments = segments


@dataclass(frozen=True)
class PlanReport:
    """What one planning run added."""

    queued: int
    skipped: int
    expired: int


def create_broadcast(
    db: sqlite_utils.Database, *, group: str, text: str, created_by: str, now: datetime,
    kind: str = "announcement", texts: dict[str, str] | None = None,
    expires_at: datetime | None = None, allow_long: bool = False,
    contact_id: int | None = None, keep_unicode: bool = False, send_at: datetime | None = None,
) -> int:
    """Record a broadcast to `group` (UnknownGroup if it means nothing); return its id.

    `texts` gives the text per reply language (`"id"`), or per language and time zone
    (`"id|Asia/Makassar"`, for texts that show a local time); without it everyone gets
    `text`. Text that needs more than one SMS (with the brand
    prefix) is refused unless `allow_long`. Texts are made GSM-7-safe (emoji dropped) unless
    `keep_unicode`: the desk shows the UCS-2 cost and lets the coordinator choose.
    `send_at` schedules it: it is planned at once, its messages wait until then (and, as
    always, for each recipient's morning if that falls in their quiet hours).
    """
    audience = resolve_group(db, group)
    text = text.strip() if keep_unicode else gsm_safe(text)
    texts = {locale: value if keep_unicode else gsm_safe(value) for locale, value in (texts or {}).items()}
    if not allow_long:
        segments = max(sms_segments(BRAND_PREFIX + t) for t in [text, *texts.values()])
        if segments > 1:
            raise BroadcastTooLong(segments)
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO broadcasts (kind, group_name, text, texts, created_by, created_at, "
            "expires_at, send_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [kind, audience.label, text, json.dumps(texts) if texts else None, created_by,
             to_db_time(now), to_db_time(expires_at), to_db_time(send_at)],
        )
        record_action(db, created_by, "broadcast.create",
                      {"broadcast": cursor.lastrowid, "group": audience.label, "kind": kind,
                       "text": text, "send_at": to_db_time(send_at)}, now, contact_id)
        return cursor.lastrowid


def get_broadcast(db: sqlite_utils.Database, broadcast_id: int) -> dict | None:
    """The broadcast row, or None."""
    return fetch_one(db, "SELECT * FROM broadcasts WHERE id = ?", [broadcast_id])


def plan_broadcast(
    db: sqlite_utils.Database, settings: dict, broadcast_id: int, now: datetime,
    *, batch_size: int = 1000, on_batch: Callable[[list[dict]], None] | None = None,
) -> PlanReport:
    """Write recipients and outbox rows for everyone in the broadcast's group not yet
    planned. `on_batch(rows)` gets each committed batch's outbox rows that are due now
    (the rest wait for morning and the sweep)."""
    broadcast = get_broadcast(db, broadcast_id)
    if broadcast is None:
        return PlanReport(0, 0, 0)  # a job for a broadcast that is not (or no longer) there
    audience = resolve_group(db, broadcast["group_name"])
    texts = json.loads(broadcast["texts"]) if broadcast["texts"] else {}
    expires_at = from_db_time(broadcast["expires_at"])
    start = max(now, from_db_time(broadcast.get("send_at")) or now)
    # A price's validity starts when it may first reach each recipient: one published at
    # 21.03 and held for the morning is still good for its full TTL after 06.00.
    validity = expires_at - from_db_time(broadcast["created_at"]) if expires_at else None
    quiet = parse_quiet_hours(settings.get("QUIET_HOURS"))
    default_zone = settings.get("DEFAULT_TIMEZONE") or "Asia/Jakarta"
    default_locale = settings.get("DEFAULT_LOCALE") or "id"
    zones = village_timezones(db)
    # Everyone in a zone gets the same send time (now, or the zone's morning): worked out
    # once per zone, not once per recipient.
    send_times: dict[str, tuple] = {}
    created_text = to_db_time(now)
    queued = skipped = expired = 0
    last_id = 0
    while True:
        due_now: list[dict] = []
        with transaction(db):
            batch = db.execute(
                f"SELECT c.id, c.phone, c.opted_out, c.timezone, c.village, c.locale, "
                f"c.last_whatsapp_at, c.sms_channel, c.blocked_channels FROM contacts c "
                f"WHERE {audience.where} "
                "AND c.id > ? AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r "
                "WHERE r.broadcast_id = ? AND r.contact_id = c.id) ORDER BY c.id LIMIT ?",
                [*audience.params, last_id, broadcast_id, batch_size],
            ).fetchall()
            if not batch:
                break
            recipients, messages = [], []
            for (contact_id, phone, opted_out, timezone, village, locale, whatsapp, sms,
                 blocked) in batch:
                last_id = contact_id
                if opted_out:
                    recipients.append((broadcast_id, contact_id, "skipped", None))
                    skipped += 1
                    continue
                zone = contact_timezone({"timezone": timezone, "village": village}, zones,
                                        default_zone)
                timing = send_times.get(zone)
                if timing is None:
                    send_at = next_send_time(start, zone, quiet)
                    row_expires = send_at + validity if validity is not None else None
                    timing = send_times[zone] = (
                        send_at, to_db_time(send_at), to_db_time(row_expires),
                        row_expires is not None and row_expires <= now, send_at <= now)
                send_at, send_text, expires_text, too_late, due = timing
                if too_late:
                    recipients.append((broadcast_id, contact_id, "expired", None))
                    expired += 1
                    continue
                locale = locale or default_locale
                # Texts may differ by language and by zone (a price's time is local time).
                body = texts.get(f"{locale}|{zone}") or texts.get(locale) or broadcast["text"]
                channel = outbox.channel_for_contact(
                    {"phone": phone, "last_whatsapp_at": whatsapp, "sms_channel": sms,
                     "blocked_channels": blocked}, settings)
                messages.append((contact_id, phone, channel, body, send_text, expires_text, due))
            outbox_ids = outbox.queue_broadcast_messages(
                db, broadcast_id, [m[:6] for m in messages], None, created_text)
            for (contact_id, *_, due), outbox_id in zip(messages, outbox_ids, strict=True):
                recipients.append((broadcast_id, contact_id, "queued", outbox_id))
                if due:
                    due_now.append({"id": outbox_id, "lane": "broadcast"})
            queued += len(messages)
            db.conn.executemany("INSERT INTO broadcast_recipients VALUES (?, ?, ?, ?)", recipients)
        if on_batch and due_now:
            on_batch(due_now)
    with transaction(db):
        db.execute("UPDATE broadcasts SET status = 'planned', planned_at = ? WHERE id = ?",
                   [to_db_time(now), broadcast_id])
    return PlanReport(queued, skipped, expired)


def audience_size(db: sqlite_utils.Database, group: str) -> int:
    """How many people a broadcast to `group` would reach now (opted-out ones excluded)."""
    audience = resolve_group(db, group)
    return db.execute(f"SELECT COUNT(*) FROM contacts c WHERE {audience.where} AND c.opted_out = 0",
                      list(audience.params)).fetchone()[0]


def first_send_time(db: sqlite_utils.Database, settings: dict, group: str, now: datetime) -> datetime:
    """When a broadcast to `group` planned now first reaches anyone: now, or the end of
    the quiet hours in the earliest-waking zone among its recipients."""
    audience = resolve_group(db, group)
    quiet = parse_quiet_hours(settings.get("QUIET_HOURS"))
    if quiet is None:
        return now
    zones = village_timezones(db)
    default_zone = settings.get("DEFAULT_TIMEZONE") or "Asia/Jakarta"
    people = fetch_all(db, f"SELECT DISTINCT c.timezone, c.village FROM contacts c "
                       f"WHERE {audience.where} AND c.opted_out = 0", list(audience.params))
    times = [next_send_time(now, contact_timezone(p, zones, default_zone), quiet) for p in people]
    return min(times, default=now)


def waiting_until(db: sqlite_utils.Database, broadcast_id: int, now: datetime) -> datetime | None:
    """If nothing of the broadcast has gone out and all of it waits for the morning: when
    the first rows are due; else None."""
    row = db.execute(
        "SELECT MIN(next_attempt_at), SUM(status <> 'pending' OR next_attempt_at <= ?) "
        "FROM outbox WHERE broadcast_id = ?", [to_db_time(now), broadcast_id]).fetchone()
    if row is None or row[0] is None or row[1]:
        return None
    return from_db_time(row[0])


def latest_broadcast_by(db: sqlite_utils.Database, actor: str) -> dict | None:
    """The newest broadcast `actor` (a phone, or 'cli') created."""
    return fetch_one(db, "SELECT * FROM broadcasts WHERE created_by = ? ORDER BY id DESC LIMIT 1",
                     [actor])


def unplanned_broadcasts(db: sqlite_utils.Database, older_than: datetime) -> list[int]:
    """Broadcasts whose planning never finished (Redis was down, a worker died)."""
    return [row[0] for row in db.execute(
        "SELECT id FROM broadcasts WHERE status = 'planning' AND created_at < ? ORDER BY id",
        [to_db_time(older_than)]).fetchall()]


def broadcast_report(db: sqlite_utils.Database, broadcast_id: int) -> dict[str, int]:
    """Counts for coordinators: queued, sent, delivered, failed, skipped (opted out), expired.

    `sent` includes delivered; `delivered` relies on delivery receipts, which Indonesian
    networks do not always send.
    """
    row = db.execute(
        """
        SELECT
          SUM(r.status = 'skipped'),
          SUM(r.status = 'expired' OR o.status = 'expired'),
          SUM(o.status IN ('pending', 'sending')),
          SUM(o.status = 'sent'),
          SUM(o.status = 'sent' AND o.provider_status IN ('delivered', 'read')),
          SUM(o.status = 'failed'),
          COUNT(*)
        FROM broadcast_recipients r LEFT JOIN outbox o ON o.id = r.outbox_id
        WHERE r.broadcast_id = ?
        """,
        [broadcast_id],
    ).fetchone()
    names = ("skipped", "expired", "queued", "sent", "delivered", "failed", "recipients")
    return {name: int(value or 0) for name, value in zip(names, row, strict=True)}
