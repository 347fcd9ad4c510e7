"""The loop breaker: an auto-responder answering our replies with the same text, over and
over, burns SMS credit on both sides (RapidPro #1018, CHT #4715).

The same normalised text from one sender more than `LOOP_MAX_REPEATS` times within
`LOOP_WINDOW_MINUTES` is faster than a person types: such messages are stored and get no
reply (a documented exception to "exactly one reply", DECISIONS.md 91). Different texts
in quick succession are never counted together.
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta

import sqlite_utils

from bot.storage import to_db_time

_EDGES = string.punctuation + string.whitespace


def normalise(text: str | None) -> str:
    """Case, runs of spaces and punctuation around the text do not make it another text."""
    return " ".join((text or "").casefold().split()).strip(_EDGES)


def is_looping(db: sqlite_utils.Database, contact_id: int, text: str, inbound_id: int,
               now: datetime, settings: dict) -> bool:
    """True when `text` from the contact `contact_id` repeats more often than the breaker
    allows. By contact, through the index the desk lists a person's messages with (m030):
    one index fewer for every message to enter."""
    limit = int(settings.get("LOOP_MAX_REPEATS") or 0)
    key = normalise(text)
    if limit <= 0 or not key or key == "[redacted]":
        return False
    since = now - timedelta(minutes=int(settings.get("LOOP_WINDOW_MINUTES") or 5))
    earlier = db.execute(
        "SELECT body FROM inbound WHERE contact_id = ? AND received_at >= ? AND id < ? "
        "ORDER BY received_at DESC LIMIT ?",
        [contact_id, to_db_time(since), inbound_id, limit * 10],
    ).fetchall()
    return sum(normalise(body) == key for (body,) in earlier) >= limit
