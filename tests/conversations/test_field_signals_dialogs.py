"""Dialogs for issue 12, id and en, on a clock the test moves: the evening price and
broadcast texts that say when they go out, the loop breaker, and the per-number cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services import inbox
from bot.services.broadcasts import latest_broadcast_by, plan_broadcast
from bot.services.coordinators import grant_coordinator
from bot.storage import fetch_all, from_db_time, transaction
from conversations.engine import respond_to_inbound
from tests.dialogs import BUDI, SITI, Conversation

KOORD = "+6281311112222"
EVENING = datetime(2026, 11, 28, 14, 3, tzinfo=UTC)  # 21.03 WIB


@pytest.fixture
def chat(tmp_path):
    conversation = Conversation(tmp_path, ANDROID_GATEWAY_URL="http://hub")
    grant_coordinator(conversation.db, KOORD, "Sukamaju", conversation.now)
    conversation.send(SITI, "DAFTAR Siti, Sukamaju")
    conversation.send(SITI, "LANGGAN cabai")
    conversation.send(BUDI, "DAFTAR Budi, Sukamaju")
    conversation.send(BUDI, "BAHASA en")
    conversation.send(BUDI, "SUBSCRIBE cabai")
    conversation.now = EVENING
    return conversation


def test_evening_price_says_when_it_goes_out_and_stays_valid_after_morning(chat):
    chat.play([(KOORD, "HARGA cabai 11500 Pasar Induk",
                "Harga cabai Rp11.500/kg di Pasar Induk tercatat. Dikirim ke 2 pelanggan pukul "
                "06.00 WIB (jam tenang). Cek: SIARAN STATUS 1")])
    report = plan_broadcast(chat.db, chat.settings, latest_broadcast_by(chat.db, KOORD)["id"], chat.now)
    assert (report.queued, report.expired) == (2, 0)
    rows = fetch_all(chat.db, "SELECT next_attempt_at, expires_at FROM outbox WHERE lane = 'broadcast'")
    morning = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # 06.00 WIB
    assert [(from_db_time(r["next_attempt_at"]), from_db_time(r["expires_at"])) for r in rows] == [
        (morning, morning + timedelta(hours=6))] * 2
    chat.play([(KOORD, "SIARAN STATUS",
                "Siaran #1 ke cabai menunggu jam tenang: 2 penerima dapat pukul 06.00 WIB, "
                "0 berhenti, 0 kedaluwarsa.")])
    chat.advance(hours=9)  # 06.03 WIB: on its way
    chat.play([(KOORD, "SIARAN STATUS",
                "Siaran #1 ke cabai: 2 penerima, 0 terkirim, 0 sampai, 0 gagal, 2 antre, "
                "0 berhenti, 0 kedaluwarsa.")])


def test_evening_price_and_broadcast_in_english(chat):
    chat.send(KOORD, "BAHASA en")
    chat.play([
        (KOORD, "PRICE cabai 11500",
         "Price of cabai Rp11.500/kg recorded. Goes out to 2 subscribers at 06.00 WIB (quiet "
         "hours). Check: BROADCAST STATUS 1"),
        (KOORD, "BROADCAST sukamaju Panen raya Sabtu",
         "Broadcast #2 to sukamaju (2 recipients) waits for quiet hours to end and goes out at 06.00 WIB. "
         "Check: BROADCAST STATUS 2"),
    ])


def test_daytime_broadcast_goes_out_now(chat):
    chat.now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # 10.00 WIB
    chat.play([(KOORD, "SIARAN sukamaju Panen raya Sabtu",
                "Siaran #1 ke sukamaju sedang dikirim ke 2 penerima. Cek hasilnya: SIARAN STATUS 1")])


def _post(chat, phone, text):
    with transaction(chat.db):
        inbound_id, _ = inbox.store_inbound(
            chat.db, channel="android_sms", provider_id=f"loop-{chat.now.timestamp()}-{text}-"
            f"{len(list(chat.db.query('SELECT id FROM inbound')))}", phone=phone, body=text,
            raw=None, now=chat.now)
    return respond_to_inbound(chat.db, inbound_id, chat.settings, chat.now)


AUTO = "+6281999990000"  # an auto-responder


def test_a_ping_pong_of_50_identical_texts_gets_at_most_the_configured_answers(chat):
    chat.now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    answered = 0
    for _ in range(50):
        response = _post(chat, AUTO, "Maaf, nomor ini tidak menerima SMS.")
        answered += response.reply is not None
        chat.advance(seconds=3)
    assert answered == 10
    assert chat.db.execute("SELECT COUNT(*) FROM inbound WHERE phone = ?", [AUTO]).fetchone()[0] == 50
    # Coordinators are told once.
    told = [(phone, body) for phone, body in chat.notices() if phone == KOORD]
    assert told == [(KOORD, "Nomor 0819...0000 mengirim pesan yang sama lebih dari 10 kali dalam "
                            "5 menit (balasan otomatis?). Kami berhenti membalasnya.")]
    # After a quiet spell, a person at that number is answered again.
    chat.advance(minutes=10)
    assert _post(chat, AUTO, "BANTUAN").reply is not None


def test_the_loop_incident_closes_when_the_number_writes_normally_and_can_open_again(chat):
    """The close is skipped when no loop incident is open (DECISIONS 470): one that is
    open is still closed by the next answered message, so a later loop is told again."""
    chat.now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

    def loop_incidents():
        return chat.db.execute("SELECT closed_at IS NULL FROM incidents WHERE kind = 'loop' "
                               "AND subject = ? ORDER BY id", [AUTO]).fetchall()

    for _ in range(12):
        _post(chat, AUTO, "Maaf, nomor ini tidak menerima SMS.")
        chat.advance(seconds=3)
    assert loop_incidents() == [(1,)]
    chat.advance(minutes=10)
    assert _post(chat, AUTO, "BANTUAN").reply is not None
    assert loop_incidents() == [(0,)]
    for _ in range(12):
        _post(chat, AUTO, "Pesan otomatis: sedang di luar kantor.")
        chat.advance(seconds=3)
    assert loop_incidents() == [(0,), (1,)]
    told = [body for phone, body in chat.notices() if phone == KOORD]
    assert len(told) == 2


def test_ten_different_commands_in_a_minute_all_get_answers(chat):
    chat.now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    commands = ["BANTUAN", "HARGA cabai", "STOK", "SALDO", "BANTUAN JUAL", "CARI cabai",
                "LANGGAN bawang", "BAHASA id", "BANTUAN HARGA", "JUAL cabai 5kg 12rb"]
    for command in commands:
        assert chat.send(SITI, command)
        chat.advance(seconds=6)
    rows = fetch_all(chat.db, "SELECT next_attempt_at, created_at FROM outbox WHERE phone = ? "
                     "AND kind = 'reply' ORDER BY id DESC LIMIT 10", [SITI])
    assert all(r["next_attempt_at"] == r["created_at"] for r in rows)  # none delayed


def test_outbound_to_one_number_is_capped_per_minute_and_delayed_never_dropped(tmp_path):
    chat = Conversation(tmp_path, OUTBOUND_PER_NUMBER_PER_MINUTE=3, LOOP_MAX_REPEATS=0)
    for i in range(7):
        chat.send(SITI, f"BANTUAN {i}")
    due = [from_db_time(r["next_attempt_at"]) - chat.now for r in fetch_all(
        chat.db, "SELECT next_attempt_at FROM outbox WHERE phone = ? ORDER BY id", [SITI])]
    minute = timedelta(minutes=1)
    assert due == [timedelta(0)] * 3 + [minute] * 3 + [2 * minute]
