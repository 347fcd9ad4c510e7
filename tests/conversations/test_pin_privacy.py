"""A PIN never stays readable in the inbound table: not when its question expired before
the seller had a PIN, and not when processing it crashed until we gave up."""

from __future__ import annotations

import pytest

from bot.services import inbox
from bot.storage import fetch_all, transaction
from tests.dialogs import SITI, Conversation
from tests.money import PIN, registered


@pytest.fixture
def chat(tmp_path):
    return Conversation(tmp_path)


def stored_bodies(chat):
    return [row["body"] for row in fetch_all(chat.db, "SELECT body FROM inbound ORDER BY id")]


@pytest.mark.parametrize("answers_before_expiry", [0, 1])
def test_new_pin_typed_after_its_question_expired_is_not_kept(chat, answers_before_expiry):
    registered(chat)
    chat.send(SITI, "REK DANA 081234567890 Siti Aminah")
    chat.send(SITI, "TARIK 300rb")  # "Buat PIN dulu ..." (no PIN yet)
    for _ in range(answers_before_expiry):
        chat.send(SITI, PIN)  # "Ulangi PIN baru Bapak/Ibu ..."
    chat.advance(minutes=31)
    chat.send(SITI, PIN)
    assert PIN not in stored_bodies(chat)


def test_pin_whose_processing_keeps_crashing_is_redacted_when_we_give_up(chat):
    registered(chat)
    chat.send(SITI, "REK DANA 081234567890 Siti Aminah")
    chat.send(SITI, f"PIN {PIN}")
    chat.send(SITI, "TARIK 300rb")  # asks for the PIN
    # Storage fails for replies (a trigger in SQLite itself), so every attempt crashes.
    chat.db.execute("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox WHEN NEW.reply_id != "
                    "'error.internal' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    with transaction(chat.db):
        inbound_id, _ = inbox.store_inbound(chat.db, channel="android_sms", provider_id="crash-pin",
                                            phone=SITI, body=PIN, raw={"message": PIN}, now=chat.now)
    from conversations.engine import respond_to_inbound

    for _ in range(2):
        with pytest.raises(Exception):  # noqa: B017 - the injected storage failure
            respond_to_inbound(chat.db, inbound_id, chat.settings, chat.now)
    assert respond_to_inbound(chat.db, inbound_id, chat.settings, chat.now).reply.startswith("Maaf")
    row = inbox.get_inbound(chat.db, inbound_id)
    assert row["status"] == "failed" and PIN not in row["body"] and PIN not in row["raw"]


def test_a_mistyped_old_pin_is_not_counted_as_a_try(chat):
    from bot.services import pins
    from tests.money import seller_id

    registered(chat)
    chat.send(SITI, f"PIN {PIN}")
    chat.play([(SITI, "PIN 12 9613", "Untuk mengganti PIN ketik: PIN lama baru. Contoh: PIN 2580 9613")])
    assert pins.pin_state(chat.db, seller_id(chat.db, SITI), chat.now).failed_attempts == 0
