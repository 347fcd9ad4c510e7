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

from bot.phones import is_bsuid
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


#: What planning needs to know of a contact, as one SQL value (a JSON array). Contacts with
#: the same facts get the same row (status, channel, text, send time), worked out once in
#: Python (`_PlanContext.plan`) and joined to every contact of that kind by SQL (`_KINDS`). A
#: phone is part of the facts only if it may be a WhatsApp id (`bot.phones.is_bsuid`
#: decides); numbers all count as one.
_KIND_OF_CONTACT = ("json_array(c.opted_out, c.timezone, c.village, c.locale, "
                    "c.last_whatsapp_at IS NOT NULL, c.sms_channel, c.blocked_channels, "
                    "CASE WHEN c.phone GLOB '[A-Z][A-Z].*' THEN c.phone END)")
_KINDS = "temp.broadcast_plan_kinds"


def plan_broadcast(
    db: sqlite_utils.Database, settings: dict, broadcast_id: int, now: datetime,
    *, batch_size: int = 1000, on_batch: Callable[[list[dict]], None] | None = None,
) -> PlanReport:
    """Write recipients and outbox rows for everyone in the broadcast's group not yet
    planned. `on_batch(rows)` gets each committed batch's outbox rows that are due now
    (the rest wait for morning and the sweep); they are stored as handed over
    (`enqueued_at`), so `on_batch` must enqueue them, as `enqueue_deliveries` does (should
    it not get there, the sweep hands them over after its grace).

    Each batch is set-based: its contacts' kinds (`_KIND_OF_CONTACT`) are planned in
    Python, a few per batch, and three `INSERT ... SELECT`s write the outbox rows and the
    recipients of the next `batch_size` unplanned contacts (DECISIONS 262)."""
    broadcast = get_broadcast(db, broadcast_id)
    if broadcast is None:
        return PlanReport(0, 0, 0)  # a job for a broadcast that is not (or no longer) there
    audience = resolve_group(db, broadcast["group_name"])
    context = _PlanContext(db, settings, broadcast, now, handed_over=to_db_time(now) if on_batch else None)
    # The connection's own scratch table (never in the database file), emptied per plan.
    db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_KINDS.split('.')[1]} (kind TEXT PRIMARY KEY, "
               "status TEXT NOT NULL, channel TEXT, body TEXT, next_attempt_at TEXT, expires_at TEXT, "
               "enqueued_at TEXT)")
    db.execute(f"DELETE FROM {_KINDS}")
    unplanned = (f"FROM contacts c WHERE {audience.where} AND c.id > ? AND c.id <= ? "
                 "AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r "
                 "WHERE r.broadcast_id = ? AND r.contact_id = c.id)")
    plans: dict[str, tuple] = {}  # kind -> what `_PlanContext.plan` decided
    counts = {"queued": 0, "skipped": 0, "expired": 0}
    last_id = 0
    try:
        while True:
            with transaction(db):
                upper = db.execute(
                    f"SELECT MAX(id) FROM (SELECT c.id {unplanned} ORDER BY c.id LIMIT ?)",
                    [*audience.params, last_id, 2**62, broadcast_id, batch_size]).fetchone()[0]
                if upper is None:
                    break
                bounds = [*audience.params, last_id, upper, broadcast_id]
                kinds = db.execute(f"SELECT {_KIND_OF_CONTACT}, COUNT(*) {unplanned} GROUP BY 1",
                                   bounds).fetchall()
                fresh = {kind: context.plan(json.loads(kind)) for kind, _ in kinds if kind not in plans}
                db.conn.executemany(f"INSERT INTO {_KINDS} VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    [(kind, *plan) for kind, plan in fresh.items()])
                plans.update(fresh)
                batch = {"queued": 0, "skipped": 0, "expired": 0, "due": 0}
                for kind, count in kinds:
                    batch[plans[kind][0]] += count
                    batch["due"] += count if plans[kind][-1] else 0
                first, queued = outbox.queue_broadcast_select(
                    db, broadcast_id,
                    f"SELECT c.id, c.phone, k.channel, k.body, k.next_attempt_at, k.expires_at, "
                    f"k.enqueued_at {unplanned} AND k.status = 'queued'",
                    bounds, join=f"JOIN {_KINDS} k ON k.kind = {_KIND_OF_CONTACT}",
                    created_at=context.created)
                if queued != batch["queued"]:  # cannot happen inside one transaction: say so if it does
                    raise RuntimeError(f"broadcast {broadcast_id}: {queued} rows for {batch['queued']}")
                just_written = [first, first + queued - 1]
                db.execute("INSERT INTO broadcast_recipients (broadcast_id, contact_id, status, outbox_id) "
                           "SELECT broadcast_id, contact_id, 'queued', id FROM outbox "
                           "WHERE id BETWEEN ? AND ?", just_written)
                if batch["skipped"] or batch["expired"]:
                    with_kinds = unplanned.replace(
                        "FROM contacts c", f"FROM contacts c JOIN {_KINDS} k ON k.kind = {_KIND_OF_CONTACT}",
                        1)
                    db.execute(f"INSERT INTO broadcast_recipients (broadcast_id, contact_id, status) "
                               f"SELECT {int(broadcast_id)}, c.id, k.status {with_kinds} "
                               "AND k.status <> 'queued'", bounds)
                for status in counts:
                    counts[status] += batch[status]
                if not batch["due"]:
                    due_ids = []
                elif batch["due"] == queued:  # all of them (the usual case): the ids are known
                    due_ids = range(first, first + queued)
                else:
                    due_ids = [outbox_id for (outbox_id,) in db.execute(
                        "SELECT id FROM outbox WHERE id BETWEEN ? AND ? AND enqueued_at IS NOT NULL "
                        "ORDER BY id", just_written)]
                due_now = [{"id": outbox_id, "lane": "broadcast", "enqueued_at": context.handed_over}
                           for outbox_id in due_ids]
                last_id = upper
            if on_batch and due_now:
                on_batch(due_now)
    finally:
        db.execute(f"DELETE FROM {_KINDS}")
    with transaction(db):
        db.execute("UPDATE broadcasts SET status = 'planned', planned_at = ? WHERE id = ?",
                   [to_db_time(now), broadcast_id])
    return PlanReport(counts["queued"], counts["skipped"], counts["expired"])


class _PlanContext:
    """What a broadcast's planning decides per kind of contact (see `_KIND_OF_CONTACT`)."""

    def __init__(self, db: sqlite_utils.Database, settings: dict, broadcast: dict, now: datetime,
                 handed_over: str | None):
        self.settings, self.broadcast, self.now, self.handed_over = settings, broadcast, now, handed_over
        self.texts = json.loads(broadcast["texts"]) if broadcast["texts"] else {}
        expires_at = from_db_time(broadcast["expires_at"])
        self.start = max(now, from_db_time(broadcast.get("send_at")) or now)
        # A price's validity starts when it may first reach each recipient: one published at
        # 21.03 and held for the morning is still good for its full TTL after 06.00.
        self.validity = expires_at - from_db_time(broadcast["created_at"]) if expires_at else None
        self.quiet = parse_quiet_hours(settings.get("QUIET_HOURS"))
        self.default_zone = settings.get("DEFAULT_TIMEZONE") or "Asia/Jakarta"
        self.default_locale = settings.get("DEFAULT_LOCALE") or "id"
        self.zones = village_timezones(db)
        self.created = to_db_time(now)
        # Everyone in a zone gets the same send time (now, or the zone's morning).
        self.send_times: dict[str, tuple] = {}

    def plan(self, kind: list) -> tuple:
        """(status, channel, body, next attempt, expires, handed over) for contacts of `kind`."""
        opted_out, timezone, village, locale, whatsapp, sms, blocked, maybe_bsuid = kind
        if opted_out:
            return ("skipped", None, None, None, None, None)
        zone = contact_timezone({"timezone": timezone, "village": village}, self.zones, self.default_zone)
        timing = self.send_times.get(zone)
        if timing is None:
            send_at = next_send_time(self.start, zone, self.quiet)
            row_expires = send_at + self.validity if self.validity is not None else None
            timing = self.send_times[zone] = (
                to_db_time(send_at), to_db_time(row_expires),
                row_expires is not None and row_expires <= self.now, send_at <= self.now)
        send_text, expires_text, too_late, due = timing
        if too_late:
            return ("expired", None, None, None, None, None)
        locale = locale or self.default_locale
        # Texts may differ by language and by zone (a price's time is local time).
        body = self.texts.get(f"{locale}|{zone}") or self.texts.get(locale) or self.broadcast["text"]
        channel = outbox.channel_for_contact(
            {"phone": maybe_bsuid if maybe_bsuid and is_bsuid(maybe_bsuid) else None,
             "last_whatsapp_at": whatsapp or None, "sms_channel": sms, "blocked_channels": blocked},
            self.settings)
        # A row due now is written as handed over: `on_batch` enqueues it right after the
        # commit (no second write per row; DECISIONS 261).
        return ("queued", channel, body, send_text, expires_text, self.handed_over if due else None)


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
