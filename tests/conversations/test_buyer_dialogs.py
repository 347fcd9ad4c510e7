"""Dialog tables for a first-time buyer (issue 17): `PESAN` from a number nobody
registered asks for the business and city inline, registers the buyer and places the
order they asked for, in Indonesian and English. BATAL and a timed-out question leave
nothing behind. Real SQLite, the real engine, a clock the test moves."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.sms import BRAND_PREFIX, septets
from tests.conversations.test_order_dialogs import market
from tests.dialogs import BUDI, SITI, Conversation
from tests.money import make_coordinator
from tests.orders import listing_quantity

NEWCOMER = "+6281311112222"  # Warung Bu Tini, Bandung, arriving from a storefront page

ASK_NAME_ID = ("Untuk memesan {listing}, Bapak/Ibu perlu terdaftar sebagai pembeli. Apa nama usaha "
               "Bapak/Ibu? Contoh: Warung Bu Tini. Ketik BATAL bila tidak jadi.")
ASK_NAME_EN = ("To order {listing} you need to register as a buyer. What is your business called? Example: "
               "Warung Bu Tini. Send CANCEL if you change your mind.")


@pytest.fixture
def chat(tmp_path):
    """Siti sells chili (C2, 50 kg at Rp12.000), Budi too (C3, 20 kg at Rp11.500)."""
    return market(Conversation(tmp_path))


def play(chat: Conversation, rows) -> dict:
    """A 4-column table; every reply and every message to others fits one SMS."""
    bound = chat.play(rows)
    for (body,) in chat.db.execute("SELECT body FROM outbox"):
        assert septets(BRAND_PREFIX + body) <= 160, body
    return bound


def buyers(chat: Conversation) -> list[tuple]:
    return [(row["name"], row["city"], row["source"], row["role"]) for row in chat.db.query(
        "SELECT b.name, b.city, b.source, c.role FROM buyers b JOIN contacts c ON c.id = b.contact_id")]


def orders(chat: Conversation) -> list[tuple]:
    return [tuple(row.values()) for row in chat.db.query(
        "SELECT o.code, o.quantity_milli, o.source, b.name FROM orders o JOIN buyers b ON b.id = o.buyer_id")]


def test_first_order_from_a_page_registers_the_buyer_and_places_it(chat):
    play(chat, [
        (NEWCOMER, "PESAN C2 5 (web)", ASK_NAME_ID.format(listing="C2"), []),
        (NEWCOMER, "Warung bu Tini", "Terima kasih, Warung Bu Tini. Di kota mana? Balas dengan nama "
                                     "kota. Contoh: Bandung. Ketik BATAL bila tidak jadi.", []),
        (NEWCOMER, "Bandung.",
         "Terdaftar: Warung Bu Tini, Bandung. Pesanan P2: 5 kg cabai = Rp60.000, penjual Siti Aminah, "
         "Sukamaju. Tunggu jawaban penjual. Batal: BATAL P2",
         [(SITI, "Pesanan P2: 5 kg cabai @Rp12.000 = Rp60.000 dari Warung Bu Tini, Bandung. Balas YA P2 "
                 "atau TIDAK P2")]),
        # From now on a buyer like any other: the next order is placed at once.
        (NEWCOMER, "PESAN C3 2", "Pesanan P3: 2 kg cabai @Rp11.500 = Rp23.000, penjual Budi, Cibodas. "
                                 "Menunggu jawaban penjual. Batal: BATAL P3",
         [(BUDI, "Pesanan P3: 2 kg cabai @Rp11.500 = Rp23.000 dari Warung Bu Tini, Bandung. Balas YA P3 "
                 "atau TIDAK P3")]),
        (NEWCOMER, "BATAL P3", "Pesanan P3 (2 kg cabai) sudah dibatalkan. Penjual sudah diberi tahu.",
         [(BUDI, "Pesanan P3 (2 kg cabai) dibatalkan oleh Warung Bu Tini. Stok kembali ke jualan C3. "
                 "Tidak perlu dibalas.")]),
    ])
    assert buyers(chat) == [("Warung Bu Tini", "Bandung", "sms", "buyer")]
    assert orders(chat) == [("P2", 5000, "page", "Warung Bu Tini"), ("P3", 2000, "text", "Warung Bu Tini")]
    assert listing_quantity(chat.db, "C2") == Decimal(45)


def test_first_order_without_quantity_asks_it_first_and_takes_name_and_city_in_one_answer(chat):
    play(chat, [
        (NEWCOMER, "pesan c3", "Berapa kg cabai (C3) yang mau dipesan? Tersedia 20 kg. Balas angkanya. "
                               "Contoh: 20. Ketik BATAL bila tidak jadi.", []),
        (NEWCOMER, "2,5 kg", ASK_NAME_ID.format(listing="C3"), []),
        (NEWCOMER, "LAGI", ASK_NAME_ID.format(listing="C3"), []),
        (NEWCOMER, "?", "Maaf, nama usaha harus 2-40 huruf. Balas dengan nama usaha. Contoh: Warung Bu "
                        "Tini. Ketik BATAL bila tidak jadi.", []),
        (NEWCOMER, "Warung Bu Tini, Bandung",
         "Terdaftar: Warung Bu Tini, Bandung. Pesanan P2: 2,5 kg cabai = Rp28.750, penjual Budi, Cibodas. "
         "Tunggu jawaban penjual. Batal: BATAL P2",
         [(BUDI, "Pesanan P2: 2,5 kg cabai @Rp11.500 = Rp28.750 dari Warung Bu Tini, Bandung. Balas YA "
                 "P2 atau TIDAK P2")]),
    ])
    assert orders(chat) == [("P2", 2500, "text", "Warung Bu Tini")]


def test_first_order_in_english(chat):
    play(chat, [
        (NEWCOMER, "LANGUAGE en", "OK, replies are now in English. Send LANGUAGE id for Bahasa Indonesia.",
         []),
        (NEWCOMER, "PESAN C2 3 (web)", ASK_NAME_EN.format(listing="C2"), []),
        (NEWCOMER, "x", "Sorry, a business name must be 2-40 letters. Reply with its name. Example: "
                        "Warung Bu Tini. Send CANCEL if you change your mind.", []),
        (NEWCOMER, "Kedai Kopi Senja", "Thank you, Kedai Kopi Senja. Which city are you in? Reply with "
                                       "the city. Example: Bandung. Send CANCEL if you change your "
                                       "mind.", []),
        (NEWCOMER, "1", "Sorry, a city name must be 2-40 letters. Reply with the city. Example: "
                        "Bandung. Send CANCEL if you change your mind.", []),
        (NEWCOMER, "Jakarta",
         "Registered: Kedai Kopi Senja, Jakarta. Order P2: 3 kg cabai = Rp36.000 from Siti Aminah, "
         "Sukamaju. Waiting for the seller. Cancel: CANCEL P2",
         [(SITI, "Pesanan P2: 3 kg cabai @Rp12.000 = Rp36.000 dari Kedai Kopi Senja, Jakarta. Balas YA P2 "
                 "atau TIDAK P2")]),
    ])
    assert buyers(chat) == [("Kedai Kopi Senja", "Jakarta", "sms", "buyer")]
    assert orders(chat) == [("P2", 3000, "page", "Kedai Kopi Senja")]


def test_cancel_or_timeout_leaves_no_buyer_and_no_order(chat):
    play(chat, [
        (NEWCOMER, "PESAN C2 5 (web)", ASK_NAME_ID.format(listing="C2"), []),
        (NEWCOMER, "BATAL", "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah.", []),
        # The dialog is gone: a stray answer is a stranger's message.
        (NEWCOMER, "Bandung", "Selamat datang di Jembatan! Penjual: DAFTAR nama, desa. Pembeli: DAFTAR "
                              "PEMBELI usaha, kota. Contoh: DAFTAR Siti, Sukamaju. Info: BANTUAN", []),
        (NEWCOMER, "PESAN C2 5", ASK_NAME_ID.format(listing="C2"), []),
        (NEWCOMER, "Warung Bu Tini", "Terima kasih, Warung Bu Tini. Di kota mana? Balas dengan nama "
                                     "kota. Contoh: Bandung. Ketik BATAL bila tidak jadi.", []),
    ])
    chat.advance(minutes=31)  # DIALOG_TIMEOUT_MINUTES is 30
    play(chat, [
        (NEWCOMER, "Bandung", "Pertanyaan sebelumnya sudah kedaluwarsa. Silakan ketik perintahnya lagi "
                              "dari awal.", []),
    ])
    assert buyers(chat) == [] and orders(chat) == []
    assert chat.db.execute("SELECT role FROM contacts WHERE phone = ?", [NEWCOMER]).fetchone()[0] is None
    assert listing_quantity(chat.db, "C2") == Decimal(50)


def test_first_order_for_nothing_orderable_asks_nothing(chat):
    chat.send(BUDI, "HAPUS C3")
    play(chat, [
        (NEWCOMER, "PESAN C9 5", "Maaf, kode jualan C9 tidak ditemukan. Cari kodenya dulu: CARI "
                                 "produk. Contoh: CARI cabai", []),
        (NEWCOMER, "PESAN C3 5", "Maaf, jualan C3 sudah habis atau dihapus penjualnya. Cari yang lain: "
                                 "CARI produk", []),
        (NEWCOMER, "PESAN C2 0", "Maaf, jumlah itu tidak bisa dipesan. Tulis jumlah lebih dari 0. "
                                 "Contoh: PESAN C2 20", []),
        (NEWCOMER, "PESAN C2 5 ikat", "Maaf, C2 dijual per kg. Tulis jumlah dalam kg. Contoh: PESAN C2 "
                                      "20", []),
        (NEWCOMER, "PESAN C2 51", "Maaf, stok C2 tinggal 50 kg. Ketik lagi PESAN C2 dengan jumlah "
                                  "paling banyak 50 kg.", []),
        (NEWCOMER, "PESAN C2", "Berapa kg cabai (C2) yang mau dipesan? Tersedia 50 kg. Balas angkanya. "
                               "Contoh: 20. Ketik BATAL bila tidak jadi.", []),
        (NEWCOMER, "60", "Maaf, stok C2 tinggal 50 kg. Ketik lagi PESAN C2 dengan jumlah paling banyak "
                         "50 kg.", []),
    ])
    assert buyers(chat) == [] and orders(chat) == []


def test_stock_gone_while_the_newcomer_answered_registers_and_says_what_is_left(chat):
    play(chat, [
        (NEWCOMER, "PESAN C2 20", ASK_NAME_ID.format(listing="C2"), []),
        (SITI, "STOK C2 10", "Stok C2 cabai sekarang 10 kg. Terima kasih.", []),
        (NEWCOMER, "Warung Bu Tini, Bandung", "Maaf, stok C2 tinggal 10 kg. Ketik lagi PESAN C2 dengan "
                                              "jumlah paling banyak 10 kg.", []),
        (NEWCOMER, "PESAN C2 5 (web)",
         "Pesanan P2: 5 kg cabai @Rp12.000 = Rp60.000, penjual Siti Aminah, Sukamaju. Menunggu jawaban "
         "penjual. Batal: BATAL P2",
         [(SITI, "Pesanan P2: 5 kg cabai @Rp12.000 = Rp60.000 dari Warung Bu Tini, Bandung. Balas YA P2 "
                 "atau TIDAK P2")]),
    ])
    assert buyers(chat) == [("Warung Bu Tini", "Bandung", "sms", "buyer")]
    assert orders(chat) == [("P2", 5000, "page", "Warung Bu Tini")]


def test_sellers_still_cannot_order_and_strangers_cannot_cancel(chat):
    play(chat, [
        (SITI, "PESAN C3 5", "Maaf, nomor ini terdaftar sebagai penjual, jadi tidak bisa memesan. "
                             "Silakan pesan dari nomor lain yang terdaftar sebagai pembeli.", []),
        (NEWCOMER, "BATAL P2", "Untuk memesan, daftar dulu sebagai pembeli: DAFTAR PEMBELI usaha, kota. "
                               "Contoh: DAFTAR PEMBELI Warung Bu Tini, Bandung", []),
        (NEWCOMER, "TERIMA P2", "Untuk memesan, daftar dulu sebagai pembeli: DAFTAR PEMBELI usaha, kota. "
                                "Contoh: DAFTAR PEMBELI Warung Bu Tini, Bandung", []),
    ])
    assert orders(chat) == []


COORDINATOR = "+6281399990000"


def test_a_coordinator_orders_only_once_registered_as_a_buyer(chat):
    """Review finding 3 (DECISIONS 362): a coordinator's PESAN does not register them as a
    buyer on the way; it says how to, and after `DAFTAR PEMBELI` they order like anyone."""
    make_coordinator(chat.db, COORDINATOR, chat.now)
    refusal = ("Maaf, nomor ini terdaftar sebagai koordinator, bukan pembeli. Bila ingin memesan, mohon "
               "daftar dulu: DAFTAR PEMBELI usaha, kota")
    play(chat, [
        (COORDINATOR, "PESAN C2 5 (web)", refusal, []),
        (COORDINATOR, "PESAN C2", refusal, []),
        (COORDINATOR, "Warung Bu Tini, Bandung", "Selamat datang di Jembatan! Penjual: DAFTAR nama, desa. "
                                                 "Pembeli: DAFTAR PEMBELI usaha, kota. Contoh: DAFTAR Siti, "
                                                 "Sukamaju. Info: BANTUAN", []),
    ])
    assert buyers(chat) == [] and orders(chat) == []
    chat.send(COORDINATOR, "DAFTAR PEMBELI Koperasi Tani Maju, Bandung")
    play(chat, [
        (COORDINATOR, "PESAN C2 5",
         "Pesanan P2: 5 kg cabai @Rp12.000 = Rp60.000, penjual Siti Aminah, Sukamaju. Menunggu jawaban "
         "penjual. Batal: BATAL P2",
         [(SITI, "Pesanan P2: 5 kg cabai @Rp12.000 = Rp60.000 dari Koperasi Tani Maju, Bandung. Balas YA P2 "
                 "atau TIDAK P2")]),
    ])
    assert buyers(chat) == [("Koperasi Tani Maju", "Bandung", "sms", "buyer")]


def test_a_coordinator_or_a_seller_is_told_why_in_english(chat):
    make_coordinator(chat.db, COORDINATOR, chat.now)
    chat.send(COORDINATOR, "LANGUAGE en")
    chat.send(SITI, "LANGUAGE en")
    play(chat, [
        (COORDINATOR, "PESAN C2 5", "Sorry, this number is registered as a coordinator, not a buyer. To "
                                    "order, please register first: REGISTER BUYER business, city", []),
        (SITI, "PESAN C3 5", "Sorry, this number is registered as a seller, so it cannot place orders. "
                             "Please order from another number registered as a buyer.", []),
    ])
    assert buyers(chat) == [] and orders(chat) == []


def test_a_new_number_cannot_hold_a_sellers_whole_stock(chat):
    """Review finding 4 (DECISIONS 363): until one of their orders is received, a buyer who
    registered by text takes at most half of what a listing has left per order and has at
    most two orders waiting; the limit is said before they are asked who they are."""
    play(chat, [
        (NEWCOMER, "PESAN C2 50", "Maaf, pembeli baru hanya dapat memesan sampai 25 kg dari C2 sebelum "
                                  "pesanan pertamanya diterima. Contoh: PESAN C2 25 kg", []),
        (NEWCOMER, "PESAN C2", "Berapa kg cabai (C2) yang mau dipesan? Tersedia 50 kg. Balas angkanya. "
                               "Contoh: 20. Ketik BATAL bila tidak jadi.", []),
        (NEWCOMER, "26", "Maaf, pembeli baru hanya dapat memesan sampai 25 kg dari C2 sebelum pesanan "
                         "pertamanya diterima. Contoh: PESAN C2 25 kg", []),
        # The example in the answer is a command that goes through (DECISIONS 450).
        (NEWCOMER, "PESAN C2 25 kg", ASK_NAME_ID.format(listing="C2"), []),
        (NEWCOMER, "Warung Bu Tini, Bandung",
         "Terdaftar: Warung Bu Tini, Bandung. Pesanan P2: 25 kg cabai = Rp300.000, penjual Siti Aminah, "
         "Sukamaju. Tunggu jawaban penjual. Batal: BATAL P2",
         [(SITI, "Pesanan P2: 25 kg cabai @Rp12.000 = Rp300.000 dari Warung Bu Tini, Bandung. Balas YA P2 "
                 "atau TIDAK P2")]),
        (NEWCOMER, "PESAN C2 13", "Maaf, pembeli baru hanya dapat memesan sampai 12 kg dari C2 sebelum "
                                  "pesanan pertamanya diterima. Contoh: PESAN C2 12 kg", []),
        (NEWCOMER, "PESAN C3 10",
         "Pesanan P3: 10 kg cabai @Rp11.500 = Rp115.000, penjual Budi, Cibodas. Menunggu jawaban "
         "penjual. Batal: BATAL P3",
         [(BUDI, "Pesanan P3: 10 kg cabai @Rp11.500 = Rp115.000 dari Warung Bu Tini, Bandung. Balas YA P3 "
                 "atau TIDAK P3")]),
        (NEWCOMER, "PESAN C2 1", "Maaf, pembeli baru dapat memiliki paling banyak 2 pesanan yang menunggu "
                                 "jawaban penjual. Mohon tunggu jawaban penjual dulu, lalu pesan lagi.", []),
    ])
    assert listing_quantity(chat.db, "C2") == Decimal(25) and listing_quantity(chat.db, "C3") == Decimal(10)
    # Once an order of theirs is received, they are a buyer like any other.
    chat.send(BUDI, "YA P3")
    chat.send(NEWCOMER, "TERIMA P3")
    chat.notices()
    play(chat, [
        (NEWCOMER, "PESAN C2 25",
         "Pesanan P4: 25 kg cabai @Rp12.000 = Rp300.000, penjual Siti Aminah, Sukamaju. Menunggu jawaban "
         "penjual. Batal: BATAL P4",
         [(SITI, "Pesanan P4: 25 kg cabai @Rp12.000 = Rp300.000 dari Warung Bu Tini, Bandung. Balas YA P4 "
                 "atau TIDAK P4")]),
    ])
    assert listing_quantity(chat.db, "C2") == Decimal(0)


def test_the_new_buyer_limits_in_english(chat):
    chat.send(NEWCOMER, "LANGUAGE en")
    play(chat, [
        (NEWCOMER, "PESAN C3 11", "Sorry, until a first order is received, a new buyer can order at most "
                                  "10 kg of C3. Example: ORDER C3 10 kg", []),
    ])
    chat.send(NEWCOMER, "PESAN C3 1")
    chat.send(NEWCOMER, "Kedai Kopi Senja, Jakarta")
    chat.send(NEWCOMER, "PESAN C2 1")
    chat.notices()
    play(chat, [
        (NEWCOMER, "PESAN C2 2", "Sorry, a new buyer can have at most 2 orders waiting for a seller's "
                                 "answer. Please wait for the sellers to answer, then order again.", []),
    ])
