"""Run dialog tables against a real SQLite file.

A row is `(who, message in, reply out)` or `(who, message in, reply out, who else was
told)`; the fourth column lists every other message that one message caused, as
`(phone, text)` in the order they were queued (`[]`: nobody else heard anything). Tables
of either width, or both mixed, go to `Conversation.play`.

Random codes (a payout's T7K2, an order's P2) are written as placeholders: `{code}` in an
expected text matches a code and binds it, and from then on `{code}` anywhere in the
table, incoming messages included, means that value. `play` returns what it bound.

No Flask and no Redis: the language layer and the services are exercised exactly as a
webhook would, through `store_inbound` and `respond_to_inbound`.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

from bot.config import load_config
from bot.migrations import apply_migrations
from bot.services import inbox, prices, products
from bot.storage import open_database, transaction, utcnow
from conversations.engine import respond_to_inbound
from tests.conftest import migrated_copy

SITI = "+6281234567890"
BUDI = "+6285711112222"


class Conversation:
    """A test database plus a clock, to play messages in and read replies out."""

    _ids = itertools.count(1)

    def __init__(self, tmp_path, channel: str = "android_sms", **settings):
        self.db = open_database(migrated_copy(tmp_path / "dialogs.db"))
        apply_migrations(self.db)  # nothing pending in the copy
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

    def play(self, table: list[tuple], **values: str) -> dict[str, str]:
        """Play a dialog table (see the module docstring); every text must match exactly.

        Three-column rows check the reply only and leave other messages for `notices()`;
        four-column rows check exactly the messages their message caused (and `notices()`
        goes on after them). `values` are placeholders known before the table starts (what
        an earlier table returned). Returns the placeholders' values.
        """
        bound = dict(values)
        for row in table:
            who, incoming, expected = row[:3]
            text = fill(incoming, bound)
            before = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
            got = self.send(who, text)
            where = f"\n{who} > {text}"
            expect_text(expected, got, bound, where)
            if len(row) == 4:
                expect_told(row[3], self._caused_since(before), bound, where)
        return bound

    def _caused_since(self, outbox_id: int) -> list[tuple[str, str]]:
        """Messages other than replies queued after `outbox_id`; `notices()` resumes after them."""
        rows = list(self.db.query("SELECT id, phone, body FROM outbox WHERE kind <> 'reply' AND id > ? "
                                  "ORDER BY id", [outbox_id]))
        if rows:
            self._last_notice = max(self._last_notice, rows[-1]["id"])
        return [(row["phone"], row["body"]) for row in rows]


# --- placeholders ------------------------------------------------------------------------

def siti_and_budi(tmp_path, budi_village: str = "Cibodas") -> Conversation:
    """A conversation where Siti (of Sukamaju) and Budi (of `budi_village`) have registered."""
    conversation = Conversation(tmp_path)
    conversation.send(SITI, "DAFTAR Siti, Sukamaju")
    conversation.send(BUDI, f"DAFTAR Budi, {budi_village}")
    return conversation


def with_chili_reference_price(conversation: Conversation) -> Conversation:
    """`conversation`, with chili given a reference price of Rp12.000/kg."""
    cabai = products.find_product(conversation.db, "cabai")
    with conversation.db.conn:
        prices.record_reference_price(conversation.db, product_id=cabai["id"], price=12000, unit="kg",
                                      now=conversation.now)
    return conversation


def in_english(conversation: Conversation) -> Conversation:
    """`conversation`, with Siti and Budi switched to English."""
    conversation.send(SITI, "BAHASA en")
    conversation.send(BUDI, "LANGUAGE en")
    return conversation


_PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
#: What an unbound placeholder matches: a code as the bot prints it (T7K2, P12, C3).
CODE_PATTERN = r"[A-Za-z0-9]+"


def fill(text: str, bound: dict[str, str]) -> str:
    """`text` with its placeholders replaced by their values (each must be bound already)."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in bound, f"{{{name}}} is used in {text!r} before a reply showed its value"
        return bound[name]

    return _PLACEHOLDER_RE.sub(value, text)


def expect_text(expected: str, got: str, bound: dict[str, str], where: str) -> None:
    """Assert `got` is `expected` with its placeholders filled in; bind the new ones.

    A failure shows `where`, then both texts (placeholders filled where known).
    """
    pattern, position, fresh = [], 0, set()
    for match in _PLACEHOLDER_RE.finditer(expected):
        pattern.append(re.escape(expected[position:match.start()]))
        name = match.group(1)
        if name in bound:
            pattern.append(re.escape(bound[name]))
        elif name in fresh:
            pattern.append(f"(?P={name})")
        else:
            pattern.append(f"(?P<{name}>{CODE_PATTERN})")
            fresh.add(name)
        position = match.end()
    pattern.append(re.escape(expected[position:]))
    match = re.fullmatch("".join(pattern), got)
    shown = _PLACEHOLDER_RE.sub(lambda m: bound.get(m.group(1), m.group(0)), expected)
    assert match is not None, f"{where}\nexpected < {shown}\n     got < {got}"
    bound.update(match.groupdict())


def expect_told(expected: list[tuple[str, str]], got: list[tuple[str, str]], bound: dict[str, str],
                where: str) -> None:
    """Assert exactly the messages `expected` went out to others, in order; bind placeholders."""
    def show(messages):
        return "".join(f"\n    {phone} < {text}" for phone, text in messages) or " nobody"

    message = f"{where}\nexpected others told:{show(expected)}\n     got:{show(got)}"
    assert [phone for phone, _ in got] == [phone for phone, _ in expected], message
    for (phone, wanted), (_, text) in zip(expected, got, strict=True):
        expect_text(wanted, text, bound, f"{message}\nthe message to {phone} differs:")
