"""The misses left from the blind trial (DECISIONS 411-413), as dialog tables in Indonesian
and English: `3jt5` and `goceng` are offered back in digits and used only after YA;
`bisa P12` and `butuh cabai 1 ton` only get a suggestion. Exact replies, real SQLite, the
real engine."""

from __future__ import annotations

import pytest

from tests.dialogs import BUDI, SITI, Conversation, in_english, siti_and_budi
from tests.money import PIN, payouts_of, ready


@pytest.fixture
def chat(tmp_path):
    return siti_and_budi(tmp_path)


def test_short_compound_amount_is_offered_back_for_a_withdrawal(tmp_path):
    chat = Conversation(tmp_path)
    ready(chat)
    chat.play([
        (SITI, "TARIK 1jt2", "Tarik Rp1.200.000? Balas YA bila benar, atau kirim jumlahnya dengan "
                             "angka. Contoh: 200rb. Ketik BATAL bila tidak jadi."),
        (SITI, "YA", "Tarik Rp1.200.000 ke DANA 0812...7890? Balas dengan PIN Bapak/Ibu untuk "
                     "lanjut, atau BATAL."),
    ])
    chat.send(SITI, PIN)
    (payout,) = payouts_of(chat.db, SITI)
    assert payout["amount"] == 1_200_000


def test_short_compound_amount_in_english_moves_nothing_unconfirmed(tmp_path):
    chat = Conversation(tmp_path)
    ready(chat, "en")
    chat.play([
        (SITI, "TARIK 1jt2", "Withdraw Rp1.200.000? Reply YES if so, or send the amount in digits. "
                             "Example: 200000. Send CANCEL if you change your mind."),
        (SITI, "YES", "Withdraw Rp1.200.000 to DANA 0812...7890? Reply with your PIN to go ahead, "
                      "or CANCEL."),
    ])
    chat.send(SITI, "CANCEL")
    assert payouts_of(chat.db, SITI) == []


def test_slang_price_is_offered_back(chat):
    chat.play([
        (SITI, "JUAL tomat 10kg goceng",
         "Harga tomat Rp5.000/kg? Balas YA bila benar, atau kirim harganya dengan angka. Contoh: 20rb."),
        (SITI, "YA",
         "Terima kasih! Jualan tercatat: tomat 10 kg, Rp5.000/kg. Kode: T2. Ubah stok: STOK T2 "
         "jumlah. Hapus: HAPUS T2"),
    ])


def test_slang_price_in_english(chat):
    in_english(chat).play([
        (SITI, "JUAL tomat 10kg goceng",
         "Is the price of tomat Rp5.000/kg? Reply YES if so, or send the price in digits. "
         "Example: 20000."),
        (SITI, "YES",
         "Thank you! Listed: tomat 10 kg, Rp5.000/kg. Code: T2. Change stock: STOCK T2 quantity. "
         "Remove: DELETE T2"),
    ])


def test_can_do_and_need_are_only_suggestions(chat):
    chat.play([
        (SITI, "bisa P12", "Maaf, perintah tidak dikenal. Maksud Bapak/Ibu YA? Ketik BANTUAN YA "
                           "untuk contoh."),
        (BUDI, "butuh cabai 1 ton", "Maaf, perintah tidak dikenal. Maksud Bapak/Ibu CARI? Ketik "
                                    "BANTUAN CARI untuk contoh."),
    ])


def test_can_do_and_need_in_english(chat):
    in_english(chat).play([
        (SITI, "bisa P12", "Sorry, unknown command. Did you mean YES? Send HELP YES for an example."),
        (BUDI, "butuh cabai 1 ton", "Sorry, unknown command. Did you mean SEARCH? Send HELP SEARCH "
                                    "for an example."),
    ])


# The second blind trial's one wrong action (DECISIONS 393): a price between the stock and
# a bundle ("40 ikat 10rb 3 ikat": each? or for 3?) is asked, never stored per ikat.
def test_a_price_beside_a_second_bundle_is_asked(chat):
    chat.play([
        (SITI, "JUAL kangkung 40 ikat 10rb 3 ikat",
         "Berapa harga kangkung per ikat? Balas harganya. Contoh: 12rb. Ketik BATAL bila tidak jadi."),
    ])
    assert chat.db.execute("SELECT COUNT(*) FROM listings").fetchone()[0] == 0
    chat.play([
        (SITI, "3500", "Terima kasih! Jualan tercatat: kangkung 40 ikat, Rp3.500/ikat. Kode: K2. "
                       "Ubah stok: STOK K2 jumlah. Hapus: HAPUS K2"),
    ])


def test_a_price_beside_a_second_bundle_is_asked_in_english(chat):
    in_english(chat).play([
        (SITI, "JUAL kangkung 40 ikat 3 ikat 10rb",
         "What is the price of kangkung per ikat? Reply with the price. Example: 12000. "
         "Send CANCEL if you change your mind."),
        (SITI, "3500", "Thank you! Listed: kangkung 40 ikat, Rp3.500/ikat. Code: K2. "
                       "Change stock: STOCK K2 quantity. Remove: DELETE K2"),
    ])
