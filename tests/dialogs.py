"""Run dialog tables — rows of (who, message in, reply out) — against a real SQLite file.

No Flask and no Redis: the language layer and the services are exercised exactly as a
webhook would, through `store_inbound` and `respond_to_inbound`.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from bot.config import load_config
from bot.migrations import apply_migrations
from bot.services import inbox
from bot.storage import open_database, transaction, utcnow
from conversations.engine import respond_to_inbound

SITI = "+6281234567890"
BUDI = "+6285711112222"


class Conversation:
    """A test database plus a clock, to play messages in and read replies out."""

    _ids = itertools.count(1)

    def __init__(self, tmp_path, channel: str = "android_sms", **settings):
        self.db = open_database(tmp_path / "dialogs.db")
        apply_migrations(self.db)
        self.settings = load_config({}) | settings
        self.channel = channel
        self.now = datetime(2026, 11, 28, 2, 0, tzinfo=utcnow().tzinfo)
        self._last_notice = 0

    def send(self, phone: str, text: str, raw: dict | None = None) -> str:
        """Deliver `text` from `phone` (with the provider payload `raw`); return the one reply."""
        with transaction(self.db):
            inbound_id, _ = inbox.store_inbound(
                self.db, channel=self.channel, provider_id=f"m{next(self._ids)}", phone=phone,
                body=text, raw=raw, now=self.now,
            )
        response = respond_to_inbound(self.db, inbound_id, self.settings, self.now)
        replies = list(self.db.query(
            "SELECT body FROM outbox WHERE inbound_id = ? AND kind = 'reply'", [inbound_id]))
        assert len(replies) == 1, f"expected exactly one reply to {text!r}, got {replies}"
        assert replies[0]["body"] == response.reply
        return response.reply

    def notices(self) -> list[tuple[str, str]]:
        """Messages to people other than the sender (outbox rows that are not replies)
        queued since the last call, oldest first: (phone, body)."""
        rows = list(self.db.query("SELECT id, phone, body FROM outbox WHERE kind <> 'reply' AND id > ? "
                                  "ORDER BY id", [self._last_notice]))
        if rows:
            self._last_notice = rows[-1]["id"]
        return [(row["phone"], row["body"]) for row in rows]

    def advance(self, **delta) -> None:
        """Move the clock forward (dialog expiry, reminders)."""
        self.now += timedelta(**delta)

    def play(self, table: list[tuple[str, str, str]]) -> None:
        """Play a dialog table; each reply must equal the expected text exactly."""
        for who, incoming, expected in table:
            got = self.send(who, incoming)
            assert got == expected, f"\n{who} > {incoming}\nexpected < {expected}\n     got < {got}"
