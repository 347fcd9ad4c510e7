"""Messages to someone other than the sender: rendered in the recipient's language and
queued in the outbox on the channel that reaches them, inside the caller's transaction.

Used by dialogs (`Turn.notify`: the buyer hears that the seller accepted) and by jobs
(an order expired, a payout arrived).
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.services import outbox
from bot.services.outbox import channel_for_contact
from conversations.i18n import normalize_locale
from conversations.replies import render


def recipient_locale(contact: dict, settings: dict) -> str:
    """The language `contact` is written to: their own, else the configured default."""
    return normalize_locale(contact.get("locale") or settings.get("DEFAULT_LOCALE"))


def queue_notification(
    db: sqlite_utils.Database, settings: dict, contact: dict, reply_id: str, now: datetime,
    *, lane: str = "conversation", expires_at: datetime | None = None,
    not_before: datetime | None = None, **values: object,
) -> int:
    """Render `reply_id` for `contact` and write it to the outbox; return the row id."""
    body = render(reply_id, recipient_locale(contact, settings), **values)
    return outbox.queue_message(
        db, phone=contact["phone"], channel=channel_for_contact(contact, settings), body=body,
        kind="broadcast" if lane == "broadcast" else "notification", now=now,
        contact_id=contact["id"], lane=lane, reply_id=reply_id, expires_at=expires_at,
        not_before=not_before, per_minute_cap=settings.get("OUTBOUND_PER_NUMBER_PER_MINUTE"),
    )
