"""Dialog tables for the seller commands (JUAL, STOK, HAPUS, HARGA, LANGGAN) in id and en,
including their dialog paths, ownership errors, suggestions and photos."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.services import listings, media, prices, products, subscriptions
from bot.services.contacts import find_contact_by_phone
from tests.dialogs import BUDI, SITI, Conversation, in_english, siti_and_budi

ANI = "+6281399998888"  # not registered

JUAL_CABAI_ID = ("Terima kasih! Jualan tercatat: cabai 50 kg, Rp12.000/kg. Kode: C2. "
                 "Ubah stok: STOK C2 jumlah. Hapus: HAPUS C2")
JUAL_CABAI_EN = ("Thank you! Listed: cabai 50 kg, Rp12.000/kg. Code: C2. "
                 "Change stock: STOCK C2 quantity. Remove: DELETE C2")
ASK_QUANTITY_ID = ("Berapa banyak cabai yang dijual? Balas jumlah dan satuan. Contoh: 50 kg. Ketik BATAL "
                   "bila tidak jadi.")
ASK_PRICE_ID = "Berapa harga cabai per kg? Balas harganya. Contoh: 12rb. Ketik BATAL bila tidak jadi."
ASK_PRICE_EN = ("What is the price of cabai per kg? Reply with the price. Example: 12000. Send CANCEL if "
                "you change your mind.")
CANCELLED_ID = "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah."
EXPIRED_ID = "Pertanyaan sebelumnya sudah kedaluwarsa. Silakan ketik perintahnya lagi dari awal."
NOT_YOURS_ID = ("Maaf, jualan C2 bukan milik Bapak/Ibu, jadi tidak bisa diubah. Ketik STOK untuk melihat "
                "kode jualan Bapak/Ibu.")
NOT_YOURS_EN = ("Sorry, listing C2 is not yours, so you cannot change it. Send STOCK to see your "
                "listing codes.")


@pytest.fixture
def chat(tmp_path):
    return siti_and_budi(tmp_path, budi_village="Sukamaju")


@pytest.fixture
def chat_en(chat):
    return in_english(chat)


def only_listing(chat) -> dict:
    (row,) = chat.db.query("SELECT * FROM listings")
    return row


# --- JUAL -------------------------------------------------------------------------------


def test_sell_in_one_message(chat):
    chat.play([(SITI, "JUAL cabai 50kg 12rb", JUAL_CABAI_ID)])
    listing = only_listing(chat)
    siti = find_contact_by_phone(chat.db, SITI)
    assert (listing["code"], listing["seller_id"], listing["quantity_milli"], listing["unit"],
            listing["price"], listing["status"]) == ("C2", siti["id"], 50_000, "kg", 12000, "active")


def test_sell_in_one_message_english(chat_en):
    chat_en.play([(SITI, "SELL chili 50kg 12000", JUAL_CABAI_EN)])


def test_synonyms_land_on_one_product_and_typed_name_is_kept(chat):
    chat.play([
        (SITI, "JUAL cabe 50kg 12rb", JUAL_CABAI_ID),
        (SITI, "jual brambang 2,5 kw Rp 25.000/kg",
         "Terima kasih! Jualan tercatat: bawang merah 250 kg, Rp25.000/kg. Kode: B2. "
         "Ubah stok: STOK B2 jumlah. Hapus: HAPUS B2"),
        (SITI, "JUAL kangkung 50 ikat 3rb",
         "Terima kasih! Jualan tercatat: kangkung 50 ikat, Rp3.000/ikat. Kode: K2. "
         "Ubah stok: STOK K2 jumlah. Hapus: HAPUS K2"),
        (SITI, "JUAL cabai 2,5 kg 40 ribu",
         "Bapak/Ibu sudah menjual cabai (C2, 50 kg). Balas TAMBAH untuk menambah 2,5 kg ke C2, atau "
         "BARU untuk jualan baru."),
        (SITI, "BARU",
         "Terima kasih! Jualan tercatat: cabai 2,5 kg, Rp40.000/kg. Kode: C3. "
         "Ubah stok: STOK C3 jumlah. Hapus: HAPUS C3"),
    ])
    rows = {row["code"]: row for row in chat.db.query(
        "SELECT l.code, l.product_text, p.name FROM listings l JOIN products p ON p.id = l.product_id")}
    assert (rows["C2"]["product_text"], rows["C2"]["name"]) == ("cabe", "cabai")
    assert (rows["B2"]["product_text"], rows["B2"]["name"]) == ("brambang", "bawang merah")
    assert rows["C3"]["name"] == "cabai"


def test_unknown_product_is_accepted_and_recorded_as_new(chat):
    chat.play([(SITI, "JUAL gula semut 10 kg 30rb",
                "Terima kasih! Jualan tercatat: gula semut 10 kg, Rp30.000/kg. Kode: G2. "
                "Ubah stok: STOK G2 jumlah. Hapus: HAPUS G2")])
    product = products.find_product(chat.db, "Gula Semut")
    siti = find_contact_by_phone(chat.db, SITI)
    assert (product["source"], product["created_by"]) == ("seller", siti["id"])


def test_listing_subscribes_the_seller_to_the_product(chat):
    chat.send(SITI, "JUAL cabe 50kg 12rb")
    siti = find_contact_by_phone(chat.db, SITI)
    cabai = products.find_product(chat.db, "cabai")
    assert subscriptions.is_subscribed(chat.db, siti["id"], cabai["id"])
    assert [c["phone"] for c in subscriptions.subscribers(chat.db, cabai["id"])] == [SITI]


def test_missing_price_is_asked(chat):
    chat.play([
        (SITI, "JUAL cabai 50kg", ASK_PRICE_ID),
        (SITI, "12rb", JUAL_CABAI_ID),
    ])


def test_missing_price_is_asked_in_english(chat_en):
    chat_en.play([
        (SITI, "SELL cabai 50kg", ASK_PRICE_EN),
        (SITI, "Rp 12.000", JUAL_CABAI_EN),
    ])


def test_dialog_asks_only_what_is_missing(chat):
    chat.play([
        (SITI, "JUAL", "Apa yang mau dijual? Balas nama produknya. Contoh: cabai. Ketik BATAL bila tidak "
                       "jadi."),
        (SITI, "cabai", ASK_QUANTITY_ID),
        (SITI, "50", "Satuannya apa untuk 50 cabai? Balas satuannya. Contoh: kg, ikat, buah atau liter. "
                     "Ketik BATAL bila tidak jadi."),
        (SITI, "kg", ASK_PRICE_ID),
        (SITI, "12 ribu", JUAL_CABAI_ID),
    ])


def test_dialog_in_english(chat_en):
    chat_en.play([
        (SITI, "SELL", "What are you selling? Reply with the product. Example: chili. Send CANCEL if you "
                       "change your mind."),
        (SITI, "chili", "How much chili are you selling? Reply with quantity and unit. Example: 50 kg. "
                        "Send CANCEL if you change your mind."),
        (SITI, "50", "Which unit for 50 chili? Reply with the unit. Example: kg, ikat, buah or liter. Send "
                     "CANCEL if you change your mind."),
        (SITI, "kg", "What is the price of chili per kg? Reply with the price. Example: 12000. Send CANCEL "
                     "if you change your mind."),
        (SITI, "12000", JUAL_CABAI_EN),
    ])


def test_an_answer_can_carry_more_than_was_asked(chat):
    chat.play([
        (SITI, "JUAL cabai", ASK_QUANTITY_ID),
        (SITI, "50kg 12rb", JUAL_CABAI_ID),
        (SITI, "JUAL", "Apa yang mau dijual? Balas nama produknya. Contoh: cabai. Ketik BATAL bila tidak "
                       "jadi."),
        (SITI, "tomat 1 ton 8rb/kg", "Terima kasih! Jualan tercatat: tomat 1.000 kg, Rp8.000/kg. "
                                     "Kode: T2. Ubah stok: STOK T2 jumlah. Hapus: HAPUS T2"),
    ])


def test_price_unit_gives_the_quantity_question_its_unit(chat):
    chat.play([
        (SITI, "JUAL cabai 12rb/kg", "Berapa kg cabai yang dijual? Balas angkanya. Contoh: 50. Ketik BATAL "
                                     "bila tidak jadi."),
        (SITI, "50", JUAL_CABAI_ID),
    ])


def test_a_quantity_in_another_unit_than_the_price_asks_the_price_again(chat):
    chat.play([
        (SITI, "JUAL kangkung 3rb/kg", "Berapa kg kangkung yang dijual? Balas angkanya. Contoh: 50. Ketik "
                                       "BATAL bila tidak jadi."),
        (SITI, "50 ikat", "Berapa harga kangkung per ikat? Balas harganya. Contoh: 12rb. Ketik BATAL bila "
                          "tidak jadi."),
        (SITI, "3rb", "Terima kasih! Jualan tercatat: kangkung 50 ikat, Rp3.000/ikat. Kode: K2. "
                      "Ubah stok: STOK K2 jumlah. Hapus: HAPUS K2"),
    ])


def test_unit_answer_converts_weight(chat):
    chat.play([
        (SITI, "JUAL beras 2 12rb", "Satuannya apa untuk 2 beras? Balas satuannya. Contoh: kg, ikat, buah "
                                    "atau liter. Ketik BATAL bila tidak jadi."),
        (SITI, "kwintal", "Terima kasih! Jualan tercatat: beras 200 kg, Rp12.000/kg. Kode: B2. "
                          "Ubah stok: STOK B2 jumlah. Hapus: HAPUS B2"),
    ])


def test_unreadable_answers_are_asked_again_never_guessed(chat):
    chat.play([
        (SITI, "JUAL cabai", ASK_QUANTITY_ID),
        (SITI, "banyak", "Maaf, jumlahnya tidak terbaca. Balas jumlah dan satuan. Contoh: 50 kg atau 2,5 "
                         "kg. Ketik BATAL bila tidak jadi."),
        (SITI, "0 kg", "Maaf, jumlahnya tidak terbaca. Balas jumlah dan satuan. Contoh: 50 kg atau 2,5 kg. "
                       "Ketik BATAL bila tidak jadi."),
        (SITI, "50", "Satuannya apa untuk 50 cabai? Balas satuannya. Contoh: kg, ikat, buah atau liter. "
                     "Ketik BATAL bila tidak jadi."),
        (SITI, "hasta", "Maaf, satuan itu tidak dikenal. Balas satuannya. Contoh: kg, ons, kw, ton, liter, "
                        "ikat, buah, karung. Ketik BATAL bila tidak jadi."),
        (SITI, "kg", ASK_PRICE_ID),
        (SITI, "1,000", "Maaf, harganya tidak terbaca. Balas harga per kg. Contoh: 12rb atau Rp12.000. "
                        "Ketik BATAL bila tidak jadi."),
        (SITI, "3rb/ikat", "Maaf, harganya tidak terbaca. Balas harga per kg. Contoh: 12rb atau Rp12.000. "
                           "Ketik BATAL bila tidak jadi."),
        (SITI, "harga 12 rb saja", JUAL_CABAI_ID),
    ])


def test_invalid_product_name_is_asked_again(chat):
    chat.play([
        (SITI, "JUAL 50kg 12rb", "Apa yang mau dijual? Balas nama produknya. Contoh: cabai. Ketik BATAL "
                                 "bila tidak jadi."),
        (SITI, "x", "Maaf, nama produk harus 2-40 huruf. Balas nama produknya. Contoh: cabai. Ketik BATAL "
                    "bila tidak jadi."),
        (SITI, "Cabai", JUAL_CABAI_ID),
    ])


def test_cancel_leaves_the_sell_dialog(chat):
    chat.play([
        (SITI, "JUAL cabai 50kg", ASK_PRICE_ID),
        (SITI, "BATAL", CANCELLED_ID),
        (SITI, "12rb", "Maaf, pesan Bapak/Ibu tidak dimengerti. Ketik BANTUAN untuk melihat daftar "
                       "perintah."),
    ])
    assert chat.db.execute("SELECT COUNT(*) FROM listings").fetchone()[0] == 0


def test_cancel_in_english(chat_en):
    chat_en.play([
        (SITI, "SELL cabai 50kg", ASK_PRICE_EN),
        (SITI, "CANCEL", "OK, cancelled. Send HELP to see the list of commands."),
    ])


def test_sell_dialog_expires(chat):
    chat.play([(SITI, "JUAL cabai 50kg", ASK_PRICE_ID)])
    chat.advance(minutes=31)
    chat.play([(SITI, "12rb", EXPIRED_ID)])
    assert chat.db.execute("SELECT COUNT(*) FROM listings").fetchone()[0] == 0


def test_sell_dialog_expires_in_english(chat_en):
    chat_en.play([(SITI, "SELL cabai 50kg", ASK_PRICE_EN)])
    chat_en.advance(minutes=31)
    chat_en.play([(SITI, "12000", "The previous question has expired. Please send the command "
                                  "again from the start.")])


def test_a_second_sell_while_a_dialog_is_open_starts_over(chat):
    chat.play([
        (SITI, "JUAL cabai 50kg", ASK_PRICE_ID),
        (SITI, "JUAL tomat", "Berapa banyak tomat yang dijual? Balas jumlah dan satuan. Contoh: 50 kg. "
                             "Ketik BATAL bila tidak jadi."),
        (SITI, "1 ton 8rb", "Terima kasih! Jualan tercatat: tomat 1.000 kg, Rp8.000/kg. Kode: T2. "
                            "Ubah stok: STOK T2 jumlah. Hapus: HAPUS T2"),
    ])
    assert [row["code"] for row in chat.db.query("SELECT code FROM listings")] == ["T2"]


def test_a_second_sell_in_one_message_finishes_at_once(chat_en):
    chat_en.play([
        (SITI, "SELL cabai 50kg", ASK_PRICE_EN),
        (SITI, "SELL cabai 50kg 12000", JUAL_CABAI_EN),
        (SITI, "12000", "Sorry, we did not understand your message. Send HELP to see the list of "
                        "commands."),
    ])


def test_other_commands_while_asked_repeat_the_question(chat):
    chat.play([
        (SITI, "JUAL cabai 50kg", ASK_PRICE_ID),
        (SITI, "YA", ASK_PRICE_ID),
        (SITI, "BANTUAN JUAL", "JUAL produk jumlah harga - pasang jualan. Contoh: JUAL cabai 50kg 12rb. "
                               "Harga ditulis per satuan (per kg, per ikat). Foto bisa dikirim lewat "
                               "WhatsApp."),
        (SITI, "12rb", JUAL_CABAI_ID),
    ])


@pytest.mark.parametrize("text,keyword", [("JAUL cabai 50kg 12rb", "JUAL"), ("STOCK C2 30", None),
                                          ("HAPSU C2", "HAPUS"), ("LANGAN cabai", "LANGGAN"),
                                          ("HARGAnya cabai", "HARGA")])
def test_near_miss_suggests_and_never_acts(chat, text, keyword):
    chat.send(SITI, "JUAL cabai 50kg 12rb")
    if keyword is None:  # an English keyword is a keyword, not a near miss
        chat.play([(SITI, text, "Stok C2 cabai sekarang 30 kg. Terima kasih.")])
        return
    chat.play([(SITI, text, f"Maaf, perintah tidak dikenal. Maksud Bapak/Ibu {keyword}? Ketik BANTUAN "
                            f"{keyword} untuk contoh.")])
    assert [(r["code"], r["quantity_milli"], r["status"]) for r in chat.db.query(
        "SELECT * FROM listings")] == [("C2", 50_000, "active")]
    assert chat.db.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0] == 1


def test_near_miss_in_english(chat_en):
    chat_en.play([
        (SITI, "SLEL cabai 50kg 12rb", "Sorry, unknown command. Did you mean SELL? Send HELP SELL "
                                       "for an example."),
        (SITI, "HELP SELL", "SELL product quantity price - list your produce. Example: SELL chili 50kg "
                            "12000. The price is per unit (per kg, per ikat). Photos via WhatsApp."),
    ])
    assert chat_en.db.execute("SELECT COUNT(*) FROM listings").fetchone()[0] == 0


def test_only_registered_sellers_sell(chat):
    chat.play([
        # A seller's command names itself and says to send it again (DECISIONS 454); a JUAL
        # is kept until the number has registered (490, tests/conversations/test_kept_sell_dialogs.py).
        (ANI, "JUAL cabai 50kg 12rb", "Perintah JUAL untuk penjual. Mohon daftar dulu: DAFTAR nama, desa. "
                                      "Contoh: DAFTAR Siti, Sukamaju. JUAL Bapak/Ibu kami simpan sampai "
                                      "terdaftar."),
        (ANI, "STOK", "Perintah STOK untuk penjual. Mohon daftar dulu: DAFTAR nama, desa. Contoh: DAFTAR "
                      "Siti, Sukamaju. Lalu kirim lagi STOK Bapak/Ibu."),
        (ANI, "HARGA cabai", "Nomor ini belum terdaftar. Penjual: DAFTAR nama, desa. Pembeli: DAFTAR "
                             "PEMBELI usaha, kota. Contoh: DAFTAR Siti, Sukamaju"),
    ])
    assert chat.db.execute("SELECT COUNT(*) FROM listings").fetchone()[0] == 0


# --- STOK and HAPUS -------------------------------------------------------------------


def test_stock_lists_own_active_listings_most_recent_first(chat):
    chat.send(SITI, "JUAL cabai 50kg 12rb")
    chat.send(SITI, "JUAL kangkung 30 ikat 3rb")
    chat.send(BUDI, "JUAL beras 1 ton 11.500")
    chat.send(SITI, "JUAL tomat 2,5 kg 8rb")
    chat.send(SITI, "HAPUS T2")
    chat.play([
        (SITI, "STOK", "Jualan Bapak/Ibu: K2 kangkung 30 ikat Rp3.000/ikat; C2 cabai 50 kg Rp12.000/kg. "
                       "Ubah stok: STOK kode jumlah"),
        (BUDI, "stok", "Jualan Bapak/Ibu: B2 beras 1.000 kg Rp11.500/kg. Ubah stok: STOK kode jumlah"),
        (ANI, "DAFTAR Ani, Cibodas", "Terima kasih, Ani dari Cibodas. Bapak/Ibu terdaftar sebagai penjual. "
                                     "Untuk jual: JUAL produk jumlah harga. Contoh: JUAL cabai 50kg 12rb"),
        (ANI, "STOK", "Bapak/Ibu belum punya jualan aktif. Untuk jual: JUAL produk jumlah harga. Contoh: "
                      "JUAL cabai 50kg 12rb"),
    ])


def test_stock_list_in_english(chat_en):
    chat_en.send(SITI, "SELL cabai 50kg 12000")
    chat_en.play([
        (SITI, "STOCK", "Your listings: C2 cabai 50 kg Rp12.000/kg. Change stock: STOCK code quantity"),
        (BUDI, "STOCK", "You have no active listings. To sell: SELL product quantity price. Example: SELL "
                        "chili 50kg 12000"),
    ])


def test_stock_list_fits_one_sms_and_says_how_many_more(chat):
    for product in ("cabai merah", "bawang putih", "kacang panjang", "gula aren", "kopi", "madu"):
        chat.send(SITI, f"JUAL {product} 1.250,5 kg 125rb")
    chat.play([(SITI, "STOK", "Jualan Bapak/Ibu: M2 madu 1.250,5 kg Rp125.000/kg; K3 kopi 1.250,5 kg "
                              "Rp125.000/kg; 4 lagi, balas LAGI. Ubah stok: STOK kode jumlah")])


def test_stock_sets_quantity(chat):
    chat.send(SITI, "JUAL cabai 50kg 12rb")
    chat.play([
        (SITI, "STOK c2 30", "Stok C2 cabai sekarang 30 kg. Terima kasih."),
        (SITI, "stok C2 2,5 kw", "Stok C2 cabai sekarang 250 kg. Terima kasih."),
        (SITI, "STOK C2 0", "Stok C2 cabai sekarang 0 kg. Terima kasih."),
        (SITI, "STOK C2 30 ikat", "Maaf, C2 dijual per kg. Ketik jumlahnya dalam kg. Contoh: STOK C2 30"),
        (SITI, "STOK C2", "Format: STOK kode jumlah. Contoh: STOK C7 30. Ketik STOK saja untuk melihat "
                          "kode jualan Bapak/Ibu."),
    ])
    assert only_listing(chat)["quantity_milli"] == 0


def test_stock_sets_quantity_in_english(chat_en):
    chat_en.send(SITI, "SELL cabai 50kg 12000")
    chat_en.play([
        (SITI, "STOCK C2 30", "Stock of C2 cabai is now 30 kg. Thank you."),
        (SITI, "STOCK C2 3 ikat", "Sorry, C2 is sold per kg. Send the quantity in kg. Example: STOCK C2 30"),
        (SITI, "STOCK 30", "Format: STOCK code quantity. Example: STOCK C7 30. Send STOCK alone to see "
                           "your listing codes."),
    ])


def test_another_sellers_listing_cannot_be_touched(chat):
    chat.send(SITI, "JUAL cabai 50kg 12rb")
    chat.play([
        (BUDI, "STOK C2 1", NOT_YOURS_ID),
        (BUDI, "HAPUS c2", NOT_YOURS_ID),
    ])
    listing = only_listing(chat)
    assert (listing["quantity_milli"], listing["status"]) == (50_000, "active")


def test_another_sellers_listing_cannot_be_touched_in_english(chat_en):
    chat_en.send(SITI, "SELL cabai 50kg 12000")
    chat_en.play([(BUDI, "STOCK C2 1", NOT_YOURS_EN), (BUDI, "DELETE C2", NOT_YOURS_EN)])
    assert only_listing(chat_en)["status"] == "active"


def test_unknown_code(chat):
    chat.play([
        (SITI, "STOK K9 3", "Maaf, kode K9 tidak ditemukan. Ketik STOK untuk melihat kode jualan Bapak/Ibu."),
        (SITI, "HAPUS #k-9", "Maaf, kode K9 tidak ditemukan. Ketik STOK untuk melihat kode jualan "
                             "Bapak/Ibu."),
    ])


def test_unknown_code_in_english(chat_en):
    chat_en.play([(SITI, "DELETE K9", "Sorry, code K9 was not found. Send STOCK to see your listing "
                                      "codes.")])


def test_delete_withdraws_for_good(chat):
    chat.send(SITI, "JUAL cabai 50kg 12rb")
    chat.play([
        (SITI, "HAPUS", "Kode mana yang mau dihapus? Contoh: HAPUS C7. Ketik STOK untuk melihat kode "
                        "jualan Bapak/Ibu."),
        (SITI, "HAPUS c2", "Jualan C2 cabai sudah dihapus dan tidak tampil lagi di katalog."),
        (SITI, "HAPUS C2", "Jualan C2 sudah dihapus sebelumnya. Ketik STOK untuk melihat jualan Bapak/Ibu "
                           "yang masih aktif."),
        (SITI, "STOK C2 5", "Jualan C2 sudah dihapus sebelumnya. Ketik STOK untuk melihat jualan Bapak/Ibu "
                            "yang masih aktif."),
        (SITI, "JUAL cabai 5kg 12rb", "Terima kasih! Jualan tercatat: cabai 5 kg, Rp12.000/kg. "
                                      "Kode: C3. Ubah stok: STOK C3 jumlah. Hapus: HAPUS C3"),
    ])
    assert only_listing_status(chat) == {"C2": "withdrawn", "C3": "active"}


def only_listing_status(chat) -> dict:
    return {row["code"]: row["status"] for row in chat.db.query("SELECT code, status FROM listings")}


def test_delete_in_english(chat_en):
    chat_en.send(SITI, "SELL cabai 50kg 12000")
    chat_en.play([
        (SITI, "DELETE", "Which code do you want to remove? Example: DELETE C7. Send STOCK to see your "
                         "listing codes."),
        (SITI, "DELETE C2", "Listing C2 cabai is removed and no longer shown in the catalog."),
        (SITI, "DELETE C2", "Listing C2 was already removed. Send STOCK to see your active listings."),
    ])


# --- HARGA and LANGGAN ----------------------------------------------------------------


def publish(chat, product: str, price: int, unit: str, market: str | None, when: datetime) -> None:
    found = products.find_product(chat.db, product)
    prices.record_reference_price(chat.db, product_id=found["id"], price=price, unit=unit,
                                  market=market, now=when)


def test_price_latest_with_market_and_local_time(chat):
    publish(chat, "cabai", 11000, "kg", "Pasar Induk", datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
    publish(chat, "cabai", 11500, "kg", "Pasar Induk", datetime(2026, 11, 27, 2, 30, tzinfo=UTC))
    publish(chat, "cabai", 12500, "kg", "Pasar Caringin", datetime(2026, 11, 27, 1, 0, tzinfo=UTC))
    chat.db.execute("UPDATE contacts SET timezone = 'Asia/Makassar' WHERE phone = ?", [BUDI])
    chat.play([
        (SITI, "HARGA cabe", "Harga acuan cabai di Pasar Induk: Rp11.500/kg, diperbarui "
                             "27/11/2026 09.30 WIB."),
        (BUDI, "harga cabai berapa?", "Harga acuan cabai di Pasar Induk: Rp11.500/kg, diperbarui "
                                      "27/11/2026 10.30 WITA."),
        (SITI, "HARGA cabai di pasar caringin", "Harga acuan cabai di Pasar Caringin: Rp12.500/kg, "
                                                "diperbarui 27/11/2026 08.00 WIB."),
        (SITI, "HARGA cabai Pasar Minggu", "Maaf, belum ada harga cabai di Pasar Minggu. Ketik HARGA "
                                           "cabai untuk harga terbaru dari pasar lain."),
    ])
    # history is kept: three rows, nothing overwritten
    assert chat.db.execute("SELECT COUNT(*) FROM reference_prices").fetchone()[0] == 3


def test_price_without_market_and_none_yet(chat):
    publish(chat, "bawang merah", 25000, "kg", None, datetime(2026, 11, 28, 0, 5, tzinfo=UTC))
    chat.play([
        (SITI, "HARGA brambang", "Harga acuan bawang merah: Rp25.000/kg, diperbarui 28/11/2026 07.05 WIB."),
        (SITI, "HARGA tomat", "Maaf, belum ada harga acuan untuk tomat. Ketik LANGGAN tomat agar "
                              "dikabari saat ada harga."),
        (SITI, "HARGA durian montong", "Maaf, belum ada harga acuan untuk durian montong. Ketik "
                                       "LANGGAN durian montong agar dikabari saat ada harga."),
        (SITI, "HARGA", "Harga apa yang ingin Bapak/Ibu ketahui? Contoh: HARGA cabai"),
    ])
    assert products.find_product(chat.db, "durian montong") is None  # a question creates nothing


def test_price_in_english(chat_en):
    publish(chat_en, "cabai", 11500, "kg", "Pasar Induk", datetime(2026, 11, 27, 2, 30, tzinfo=UTC))
    chat_en.play([
        (SITI, "PRICE chili", "Reference price of cabai at Pasar Induk: Rp11.500/kg, updated "
                              "27/11/2026 09.30 WIB."),
        (SITI, "PRICE tomato", "Sorry, there is no reference price for tomat yet. Send SUBSCRIBE tomat "
                               "to hear when there is one."),
        (SITI, "PRICE", "Which product's price? Example: PRICE chili"),
    ])


def test_subscribe(chat):
    chat.play([
        (SITI, "LANGGAN cabe", "Baik, Bapak/Ibu akan menerima kabar harga cabai. Ketik BERHENTI untuk "
                               "berhenti menerima siaran."),
        (SITI, "LANGGAN harga cabai", "Bapak/Ibu sudah berlangganan kabar harga cabai. Ketik BERHENTI untuk "
                                      "berhenti menerima siaran."),
        (SITI, "LANGGAN", "Langganan harga apa? Contoh: LANGGAN cabai"),
        (SITI, "LANGGAN jamur tiram", "Baik, Bapak/Ibu akan menerima kabar harga jamur tiram. Ketik BERHENTI "
                                      "untuk berhenti menerima siaran."),
        (BUDI, "BERHENTI", "Bapak/Ibu tidak akan menerima siaran lagi. Balasan perintah tetap dikirim. "
                           "Ketik MULAI untuk menerima siaran lagi."),
        (BUDI, "LANGGAN cabai", "Langganan harga cabai tercatat, tetapi siaran sedang Bapak/Ibu hentikan. "
                                "Ketik MULAI untuk menerimanya lagi."),
    ])
    cabai = products.find_product(chat.db, "cabai")
    assert [c["phone"] for c in subscriptions.subscribers(chat.db, cabai["id"])] == [SITI]
    assert len(subscriptions.subscribers(chat.db, cabai["id"], include_opted_out=True)) == 2
    assert products.find_product(chat.db, "jamur tiram")["source"] == "seller"


def test_subscribe_in_english(chat_en):
    chat_en.play([
        (SITI, "SUBSCRIBE shallots", "OK, you will get price news for bawang merah. Send STOP to stop "
                                     "receiving broadcasts."),
        (SITI, "SUBSCRIBE bawang merah", "You already get price news for bawang merah. Send STOP to "
                                         "stop receiving broadcasts."),
        (SITI, "SUBSCRIBE", "Price news for which product? Example: SUBSCRIBE chili"),
    ])


# --- photos (WhatsApp) ----------------------------------------------------------------


def whatsapp_raw(*images: tuple[str, str], body: str = "") -> dict:
    raw = {"MessageSid": "MM" + "a" * 32, "From": f"whatsapp:{SITI}", "Body": body,
           "NumMedia": str(len(images))}
    for index, (url, content_type) in enumerate(images):
        raw[f"MediaUrl{index}"] = url
        raw[f"MediaContentType{index}"] = content_type
    return raw


PHOTO = ("https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1", "image/jpeg")
PHOTO2 = ("https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM2/Media/ME2", "image/png")


@pytest.fixture
def whatsapp(tmp_path):
    conversation = Conversation(tmp_path, channel="twilio_whatsapp")
    conversation.send(SITI, "DAFTAR Siti, Sukamaju")
    return conversation


def photo_rows(chat) -> list[tuple]:
    return [(row["listing_id"], row["provider_url"], row["declared_type"], row["status"])
            for row in chat.db.query("SELECT * FROM media ORDER BY id")]


def test_photo_with_sell_is_attached(whatsapp):
    text = "JUAL cabai 50kg 12rb"
    assert whatsapp.send(SITI, text, whatsapp_raw(PHOTO, body=text)) == (
        "Terima kasih! Jualan tercatat (foto sedang dipasang): cabai 50 kg, Rp12.000/kg. Kode: C2. "
        "Ubah stok: STOK C2 jumlah")
    listing = only_listing(whatsapp)
    assert photo_rows(whatsapp) == [(listing["id"], PHOTO[0], "image/jpeg", "pending")]


def test_photo_alone_right_after_selling_is_attached(whatsapp):
    whatsapp.send(SITI, "JUAL cabai 50kg 12rb")
    whatsapp.advance(minutes=9)
    assert whatsapp.send(SITI, "", whatsapp_raw(PHOTO, PHOTO2)) == (
        "Terima kasih, foto untuk jualan C2 cabai sudah diterima dan akan tampil di katalog.")
    listing_id = only_listing(whatsapp)["id"]
    assert photo_rows(whatsapp) == [(listing_id, PHOTO[0], "image/jpeg", "pending"),
                                    (listing_id, PHOTO2[0], "image/png", "pending")]


def test_photo_with_a_caption_right_after_selling_is_attached(whatsapp):
    whatsapp.send(SITI, "JUAL cabai 50kg 12rb")
    whatsapp.send(SITI, "BAHASA en")
    assert whatsapp.send(SITI, "ini cabainya", whatsapp_raw(PHOTO, body="ini cabainya")) == (
        "Thank you, the photo for listing C2 cabai was received and will show in the catalog.")


def test_photo_too_late_or_without_listing_is_not_attached(whatsapp):
    assert whatsapp.send(SITI, "", whatsapp_raw(PHOTO)) == (
        "Maaf, foto tidak bisa dipasang. Kirim foto bersama pesan JUAL, atau paling lambat 10 menit "
        "sesudah JUAL.")
    whatsapp.send(SITI, "JUAL cabai 50kg 12rb")
    whatsapp.advance(minutes=11)
    whatsapp.send(SITI, "BAHASA en")
    assert whatsapp.send(SITI, "", whatsapp_raw(PHOTO2)) == (
        "Sorry, this photo cannot be added. Send it with a SELL message, or at most 10 minutes after "
        "SELL.")
    assert photo_rows(whatsapp) == []


def test_photo_from_a_stranger_gets_the_welcome(whatsapp):
    assert whatsapp.send(BUDI, "", whatsapp_raw(PHOTO)).startswith("Selamat datang di Jembatan!")
    assert photo_rows(whatsapp) == []


def test_photo_during_the_sell_dialog_waits_for_the_listing(whatsapp):
    assert whatsapp.send(SITI, "JUAL cabai", whatsapp_raw(PHOTO, body="JUAL cabai")) == ASK_QUANTITY_ID
    assert whatsapp.send(SITI, "", whatsapp_raw(PHOTO2)) == ASK_QUANTITY_ID  # photo kept, asked again
    assert photo_rows(whatsapp) == [(None, PHOTO[0], "image/jpeg", "pending"),
                                    (None, PHOTO2[0], "image/png", "pending")]
    assert whatsapp.send(SITI, "50kg 12rb").startswith("Terima kasih! Jualan tercatat (foto sedang")
    listing_id = only_listing(whatsapp)["id"]
    assert {row[0] for row in photo_rows(whatsapp)} == {listing_id}


def test_inbound_media_reads_twilio_fields():
    row = {"id": 7, "raw": '{"NumMedia": "2", "MediaUrl0": "u0", "MediaContentType0": "image/jpeg", '
                           '"MediaUrl1": "u1"}'}
    assert media.inbound_media(row) == [
        {"inbound_id": 7, "index": 0, "url": "u0", "content_type": "image/jpeg"},
        {"inbound_id": 7, "index": 1, "url": "u1", "content_type": None},
    ]
    assert media.inbound_media({"id": 1, "raw": '{"NumMedia": "0"}'}) == []
    assert media.inbound_media({"id": 1, "raw": '{"NumMedia": "x", "MediaUrl0": "u"}'}) == []
    assert media.inbound_media({"id": 1, "raw": None}) == []


def test_quantities_are_exact_milli_units(chat):
    chat.send(SITI, "JUAL cabai 2,5 ons 40rb/kg")
    listing = only_listing(chat)
    assert listing["quantity_milli"] == 250 and listings.quantity_of(listing) == Decimal("0.25")


@pytest.mark.parametrize("topic,id_text,en_text", [
    ("STOK", "STOK - lihat jualan Bapak/Ibu. STOK kode jumlah - ubah sisa stok. Contoh: STOK C7 30. Ketik "
             "STOK C7 0 bila sudah habis.",
     "STOCK - see your listings. STOCK code quantity - change what is left. Example: STOCK C7 30. Send "
     "STOCK C7 0 when sold out."),
    ("HAPUS", "HAPUS kode - hapus jualan dari katalog. Contoh: HAPUS C7. Ketik STOK untuk melihat "
              "kode jualan Bapak/Ibu.",
     "DELETE code - remove a listing from the catalog. Example: DELETE C7. Send STOCK to see your "
     "listing codes."),
    ("HARGA", "HARGA produk - harga acuan terbaru. Contoh: HARGA cabai atau HARGA cabai Pasar Induk",
     "PRICE product - latest reference price. Example: PRICE chili or PRICE chili Pasar Induk"),
    ("LANGGAN", "LANGGAN produk - terima kabar harga produk itu. Contoh: LANGGAN cabai. BERHENTI - hentikan "
                "semua siaran.",
     "SUBSCRIBE product - get price news for that product. Example: SUBSCRIBE chili. STOP - stop "
     "all broadcasts."),
])
def test_help_for_each_seller_command(chat, topic, id_text, en_text):
    chat.play([(SITI, f"BANTUAN {topic}", id_text), (BUDI, f"BANTUAN {topic.lower()}", id_text)])
    chat.send(SITI, "BAHASA en")
    chat.play([(SITI, f"HELP {topic}", en_text)])
