"""`TARIK dua ratus ribu`: an amount in number words is read back in digits and only a YA
makes it the amount (DECISIONS 161). Dialog tables in Indonesian and English, exact texts,
real SQLite, the real engine."""

from __future__ import annotations

import pytest

from conversations.parse import parse
from tests.dialogs import SITI, Conversation
from tests.money import PIN, balance, payouts_of, ready


@pytest.fixture
def chat(tmp_path):
    return Conversation(tmp_path)


@pytest.mark.parametrize("text, amount", [
    ("TARIK dua ratus ribu", 200_000),
    ("tarik lima ratus ribu rupiah", 500_000),
    ("TARIK sejuta", 1_000_000),
])
def test_number_words_are_offered_never_taken(text, amount):
    assert parse(text) == {"command": "withdraw", "missing": ["amount"], "amount_options": [amount]}


def test_digits_and_unreadable_words_are_unchanged():
    assert parse("TARIK 200rb") == {"command": "withdraw", "amount": 200_000}
    assert parse("TARIK dua tiga") == {"command": "withdraw", "missing": ["amount"]}


def test_yes_withdraws_the_amount_read_back(chat):
    ready(chat)
    chat.play([
        (SITI, "TARIK dua ratus ribu", "Tarik Rp200.000? Balas YA bila benar, atau kirim jumlahnya "
                                       "dengan angka. Contoh: 200rb. Ketik BATAL bila tidak jadi."),
        (SITI, "YA", "Tarik Rp200.000 ke DANA 0812...7890? Balas dengan PIN Bapak/Ibu untuk lanjut, "
                     "atau BATAL."),
    ])
    chat.send(SITI, PIN)
    (payout,) = payouts_of(chat.db, SITI)
    assert payout["amount"] == 200_000
    assert balance(chat.db, SITI) == (1_050_000, 200_000, 0)


def test_no_asks_the_amount_and_digits_replace_the_reading(chat):
    ready(chat)
    chat.play([
        (SITI, "TARIK dua ratus ribu", "Tarik Rp200.000? Balas YA bila benar, atau kirim jumlahnya "
                                       "dengan angka. Contoh: 200rb. Ketik BATAL bila tidak jadi."),
        (SITI, "TIDAK", "Berapa yang mau ditarik? Saldo Bapak/Ibu Rp1.250.000. Balas jumlahnya atau SEMUA. "
                        "Contoh: 500rb. Ketik BATAL bila tidak jadi."),
        (SITI, "250rb", "Tarik Rp250.000 ke DANA 0812...7890? Balas dengan PIN Bapak/Ibu untuk lanjut, "
                        "atau BATAL."),
    ])
    assert payouts_of(chat.db, SITI) == []  # nothing moves before the PIN


def test_in_english_digits_typed_instead_are_the_amount(chat):
    ready(chat, "en")
    chat.play([
        (SITI, "TARIK dua ratus ribu", "Withdraw Rp200.000? Reply YES if so, or send the amount in digits. "
                                       "Example: 200000. Send CANCEL if you change your mind."),
        (SITI, "300000", "Withdraw Rp300.000 to DANA 0812...7890? Reply with your PIN to go ahead, "
                         "or CANCEL."),
    ])
    assert payouts_of(chat.db, SITI) == []


def test_in_english_yes_and_cancel(chat):
    ready(chat, "en")
    chat.play([
        (SITI, "TARIK dua ratus ribu", "Withdraw Rp200.000? Reply YES if so, or send the amount in digits. "
                                       "Example: 200000. Send CANCEL if you change your mind."),
        (SITI, "YES", "Withdraw Rp200.000 to DANA 0812...7890? Reply with your PIN to go ahead, "
                      "or CANCEL."),
    ])
    chat.send(SITI, "CANCEL")
    assert payouts_of(chat.db, SITI) == []
    assert balance(chat.db, SITI) == (1_250_000, 0, 0)
