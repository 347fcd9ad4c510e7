"""What the blind field trial (issue 14) found at the dialog level: an approximate or
coin-sized price is asked again, never listed; a total after `=` is offered back with the
per-kg price; short and misspelled stock words change the stock and echo the new total;
a word the parser does not know before the number is never taken as the new stock.
Dialog tables in Indonesian and English, exact texts, real SQLite, the real engine."""

from __future__ import annotations

import pytest

from tests.dialogs import SITI, in_english, siti_and_budi

ASK_PRICE_ID = "Berapa harga cabai per kg? Balas harganya. Contoh: 12rb. Ketik BATAL bila tidak jadi."
ASK_PRICE_EN = ("What is the price of cabai per kg? Reply with the price. Example: 12000. Send CANCEL "
                "if you change your mind.")
BAD_PRICE_ID = ("Maaf, harganya tidak terbaca. Balas harga per kg. Contoh: 12rb atau Rp12.000. Ketik "
                "BATAL bila tidak jadi.")
BAD_PRICE_EN = ("Sorry, we could not read the price. Reply with the price per kg. Example: 12000. Send "
                "CANCEL if you change your mind.")


def listed_id(price: str) -> str:
    return (f"Terima kasih! Jualan tercatat: cabai 50 kg, Rp{price}/kg. Kode: C2. Ubah stok: STOK C2 "
            "jumlah. Hapus: HAPUS C2")


def listed_en(price: str) -> str:
    return (f"Thank you! Listed: cabai 50 kg, Rp{price}/kg. Code: C2. Change stock: STOCK C2 "
            "quantity. Remove: DELETE C2")


@pytest.fixture
def chat(tmp_path):
    return siti_and_budi(tmp_path)


def listings(chat) -> list[dict]:
    return list(chat.db.query("SELECT price, quantity_milli FROM listings"))


@pytest.mark.parametrize("answer", ["40 an", "40 ribuan", "40rb an", "sekitar 40rb",
                                    "kurang lebih 40rb", "40-an", "40"])
def test_an_approximate_or_coin_sized_price_answer_is_asked_again(chat, answer):
    chat.play([
        (SITI, "JUAL cabai 50kg", ASK_PRICE_ID),
        (SITI, answer, BAD_PRICE_ID),
    ])
    assert listings(chat) == []
    chat.play([(SITI, "40rb", listed_id("40.000"))])


def test_an_approximate_price_answer_is_asked_again_in_english(chat):
    in_english(chat)
    chat.play([
        (SITI, "JUAL cabai 50kg", ASK_PRICE_EN),
        (SITI, "40 ribuan", BAD_PRICE_EN),
        (SITI, "12", BAD_PRICE_EN),
        (SITI, "40rb", listed_en("40.000")),
    ])


@pytest.mark.parametrize("text", ["JUAL cabai 50kg 40", "JUAL cabai 50kg 40 an", "JUAL cabai 50 kg 40 rban"])
def test_a_coin_sized_or_approximate_price_in_the_message_is_asked(chat, text):
    if "rban" in text:
        chat.play([(SITI, text, "Harga cabai Rp40.000/kg? Balas YA bila benar, atau kirim harganya "
                                "dengan angka. Contoh: 20rb.")])
    else:
        chat.play([(SITI, text, ASK_PRICE_ID)])
    assert listings(chat) == []


def test_about_a_price_is_read_back_and_a_yes_lists_it(chat):
    chat.play([
        (SITI, "JUAL cabai 50kg sekitar 12rb", "Harga cabai Rp12.000/kg? Balas YA bila benar, atau "
                                               "kirim harganya dengan angka. Contoh: 20rb."),
        (SITI, "YA", listed_id("12.000")),
    ])


def test_a_short_y_confirms_and_gak_asks_the_price(chat):
    chat.play([
        (SITI, "JUAL cabai 50kg sekitar 12rb", "Harga cabai Rp12.000/kg? Balas YA bila benar, atau "
                                               "kirim harganya dengan angka. Contoh: 20rb."),
        (SITI, "gak", ASK_PRICE_ID),
        (SITI, "13rb", listed_id("13.000")),
    ])
    chat.play([
        (SITI, "JUAL tomat 20kg sekitar 6rb", "Harga tomat Rp6.000/kg? Balas YA bila benar, atau "
                                              "kirim harganya dengan angka. Contoh: 20rb."),
        (SITI, "y", "Terima kasih! Jualan tercatat: tomat 20 kg, Rp6.000/kg. Kode: T2. Ubah stok: "
                    "STOK T2 jumlah. Hapus: HAPUS T2"),
    ])


def test_about_a_price_is_read_back_in_english(chat):
    in_english(chat)
    chat.play([
        (SITI, "JUAL cabai 50kg kurang lebih 12rb", "Is the price of cabai Rp12.000/kg? Reply YES if "
                                                    "so, or send the price in digits. Example: 20000."),
        (SITI, "YES", listed_en("12.000")),
    ])


def test_a_total_after_equals_is_offered_with_the_price_per_kg(chat):
    chat.play([
        (SITI, "JUAL cabai 50kg = 600rb", "Harga cabai per kg Rp12.000 atau Rp600.000? Mohon balas "
                                          "harga per kg. Contoh: 12rb."),
        (SITI, "12rb", listed_id("12.000")),
    ])


def test_a_total_after_equals_in_english(chat):
    in_english(chat)
    chat.play([
        (SITI, "JUAL cabai 50kg jadi 600rb", "Is the price of cabai per kg Rp12.000 or Rp600.000? "
                                             "Please reply with the price per kg. Example: 12000."),
    ])


def test_short_stock_words_change_the_stock_and_echo_the_total(chat):
    chat.play([
        (SITI, "JUAL cabai 50kg 12rb", listed_id("12.000")),
        (SITI, "STOK C2 tmbh 15", "Stok C2 cabai ditambah 15 kg, sekarang 65 kg. Terima kasih."),
        (SITI, "stok C2 krg 5", "Stok C2 cabai dikurangi 5 kg, sekarang 60 kg. Terima kasih."),
        (SITI, "stok C2 berkurang 10", "Stok C2 cabai dikurangi 10 kg, sekarang 50 kg. Terima kasih."),
        (SITI, "tambah stok C2 5", "Stok C2 cabai ditambah 5 kg, sekarang 55 kg. Terima kasih."),
    ])


def test_short_stock_words_in_english(chat):
    in_english(chat)
    chat.play([
        (SITI, "SELL cabai 50kg 12rb", listed_en("12.000")),
        (SITI, "STOK C2 tmbh 15", "Stock of C2 cabai up by 15 kg, now 65 kg. Thank you."),
        (SITI, "stok C2 krg 5", "Stock of C2 cabai down by 5 kg, now 60 kg. Thank you."),
    ])


def test_an_unknown_word_before_the_number_never_sets_the_stock(chat):
    chat.play([
        (SITI, "JUAL cabai 50kg 12rb", listed_id("12.000")),
        (SITI, "stok C2 kemarin 3", "Format: STOK kode jumlah. Contoh: STOK C7 30. Ketik STOK saja "
                                    "untuk melihat kode jualan Bapak/Ibu."),
    ])
    assert [row["quantity_milli"] for row in listings(chat)] == [50_000]
