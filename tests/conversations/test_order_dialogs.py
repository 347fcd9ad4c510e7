"""Dialog tables for orders by text, in Indonesian and English: a buyer registers,
searches, orders; the seller accepts and ships; the buyer confirms receipt. Every row
checks the exact reply and the exact messages the other side was sent. Real SQLite, the
real engine, a clock the test moves (reminders and expiry)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.config import ConfigError, check_config, load_config
from bot.pipeline.order_timers import run_order_timers
from bot.pipeline.sweep import sweep
from bot.services import ledger, orders
from bot.sms import BRAND_PREFIX, septets
from tests.dialogs import BUDI, SITI, Conversation
from tests.money import seller_id
from tests.orders import listing_quantity

TINI = "+6281311112222"  # Warung Bu Tini, Bandung: a city buyer
TONO = "+6287800001111"  # another buyer
STRANGER = "+6281200000000"


@pytest.fixture
def chat(tmp_path):
    return Conversation(tmp_path)


def market(chat: Conversation) -> Conversation:
    """Two sellers with chili: Siti (C2, 50 kg at Rp12.000) and Budi (C3, 20 kg at Rp11.500)."""
    for phone, registration, listing in ((SITI, "DAFTAR Siti Aminah, Sukamaju", "JUAL cabai 50kg 12rb"),
                                         (BUDI, "DAFTAR Budi, Cibodas", "JUAL cabe 20kg 11500")):
        chat.send(phone, registration)
        chat.send(phone, listing)
    chat.notices()
    return chat


def play(chat: Conversation, rows) -> None:
    """A 4-column dialog table (tests/dialogs.py); every message to others fits one SMS."""
    before = chat.db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
    chat.play(rows)
    for (body,) in chat.db.execute("SELECT body FROM outbox WHERE kind <> 'reply' AND id > ?", [before]):
        assert septets(BRAND_PREFIX + body) <= 160, body


def buyer_registered(chat: Conversation, phone: str = TINI, text: str = "DAFTAR PEMBELI Warung Bu Tini, "
                     "Bandung") -> None:
    chat.send(phone, text)
    chat.notices()


# --- the whole path ----------------------------------------------------------------------


def test_whole_path_by_text_in_indonesian(chat):
    market(chat)
    new_order = ("Pesanan P2: 20 kg cabai @Rp12.000 = Rp240.000 dari Warung Bu Tini, Bandung. Balas YA P2 "
                 "atau TIDAK P2")
    play(chat, [
        (TINI, "DAFTAR PEMBELI Warung Bu Tini, Bandung",
         "Terima kasih, Warung Bu Tini di Bandung. Bapak/Ibu terdaftar sebagai pembeli. Cari barang: "
         "CARI produk. Contoh: CARI cabai", []),
        (TINI, "CARI cabe",
         "Jualan cabai termurah: C3 Rp11.500/kg 20 kg Cibodas; C2 Rp12.000/kg 50 kg Sukamaju. Pesan: "
         "PESAN kode jumlah", []),
        (TINI, "PESAN C2 20",
         "Pesanan P2: 20 kg cabai @Rp12.000 = Rp240.000, penjual Siti Aminah, Sukamaju. Menunggu "
         "jawaban penjual. Batal: BATAL P2", [(SITI, new_order)]),
        (SITI, "YA",
         "Pesanan P2 Bapak/Ibu setujui. Mohon siapkan 20 kg cabai untuk Warung Bu Tini, Bandung. Setelah "
         "dikirim, balas KIRIM P2",
         [(TINI, "Kabar baik: pesanan P2 (20 kg cabai) disetujui Siti Aminah, Sukamaju. Kami kabari lagi "
                 "saat barang dikirim.")]),
        (SITI, "KIRIM P2",
         "Pesanan P2 tercatat dikirim ke Warung Bu Tini. Uang masuk ke saldo Bapak/Ibu setelah pembeli "
         "mengonfirmasi terima.",
         [(TINI, "Pesanan P2 (20 kg cabai) sudah dikirim oleh Siti Aminah. Setelah barang sampai, balas "
                 "TERIMA P2")]),
        (TINI, "TERIMA P2",
         "Terima kasih! Pesanan P2 (20 kg cabai) tercatat sudah sampai. Total Rp240.000.",
         [(SITI, "Pesanan P2 (20 kg cabai) sudah diterima pembeli. Rp240.000 masuk ke saldo Bapak/Ibu. Cek: "
                 "SALDO")]),
        (SITI, "SALDO", "Saldo Bapak/Ibu Rp240.000. Sedang ditransfer Rp0. Sudah cair bulan ini Rp0. "
                        "Untuk tarik: TARIK jumlah. Contoh: TARIK 500rb", []),
        (TINI, "STATUS P2", "Pesanan P2: 20 kg cabai @Rp12.000 = Rp240.000, penjual Siti Aminah, Sukamaju. "
                            "Status: sudah sampai.", []),
    ])
    # The design's example, letter for letter (with our look-alike-free code), fits one SMS.
    assert septets(BRAND_PREFIX + new_order) <= 160
    assert listing_quantity(chat.db, "C2") == Decimal(30)
    order = orders.find_order(chat.db, "P2")
    assert (order["status"], order["total"], order["quantity_milli"]) == ("received", 240_000, 20_000)
    assert ledger.order_receivable(chat.db, "P2") == 240_000
    assert [e["event"] for e in chat.db.query(
        "SELECT event FROM order_events ORDER BY id")] == ["place", "accept", "ship", "receive"]


def test_whole_path_by_text_in_english_with_a_cooperative_fee(tmp_path):
    chat = Conversation(tmp_path, DEFAULT_LOCALE="en", COOPERATIVE_FEE_BPS=250)
    market(chat)
    play(chat, [
        (TINI, "REGISTER BUYER Warung Bu Tini, Bandung",
         "Thank you, Warung Bu Tini in Bandung. You are registered as a buyer. To find goods: SEARCH "
         "product. Example: SEARCH chili", []),
        (TINI, "SEARCH chili",
         "Cheapest cabai: C3 Rp11.500/kg 20 kg Cibodas; C2 Rp12.000/kg 50 kg Sukamaju. To order: ORDER "
         "code quantity", []),
        (TINI, "ORDER C2 20 kg",
         "Order P2: 20 kg cabai @Rp12.000 = Rp240.000 from Siti Aminah, Sukamaju. Waiting for the seller. "
         "Cancel: CANCEL P2",
         [(SITI, "Order P2: 20 kg cabai @Rp12.000 = Rp240.000 from Warung Bu Tini, Bandung. Reply YES P2 "
                 "or NO P2")]),
        (SITI, "YES P2",
         "You accepted order P2. Prepare 20 kg cabai for Warung Bu Tini, Bandung. Once it is sent, reply "
         "SHIP P2",
         [(TINI, "Good news: Siti Aminah, Sukamaju accepted order P2 (20 kg cabai). We will tell you when "
                 "it ships.")]),
        (SITI, "SHIP",  # bare: Siti has exactly one accepted order
         "Order P2 is recorded as shipped to Warung Bu Tini. The money reaches your balance once the "
         "buyer confirms receipt.",
         [(TINI, "Siti Aminah shipped order P2 (20 kg cabai). When it arrives, reply RECEIVED P2")]),
        (TINI, "RECEIVED P2",
         "Thank you! Order P2 (20 kg cabai) is recorded as received. Total Rp240.000.",
         [(SITI, "The buyer received order P2 (20 kg cabai). Rp234.000 was added to your balance. Check: "
                 "BALANCE")]),
        (SITI, "BALANCE", "Your balance is Rp234.000. Being transferred: Rp0. Paid out this month: "
                          "Rp0. Withdraw: WITHDRAW amount. Example: WITHDRAW 500000", []),
    ])
    assert ledger.seller_balance(chat.db, seller_id(chat.db, SITI)).available == 234_000


# --- registration ------------------------------------------------------------------------


def test_buyer_registration_asks_for_what_is_missing(chat):
    play(chat, [
        (TINI, "DAFTAR PEMBELI", "Apa nama usaha Bapak/Ibu? Balas dengan nama usaha. Contoh: Warung Bu "
                                 "Tini. Ketik BATAL bila tidak jadi.", []),
        (TINI, "x", "Maaf, nama usaha harus 2-40 huruf. Balas dengan nama usaha. Contoh: Warung Bu "
                    "Tini. Ketik BATAL bila tidak jadi.", []),
        (TINI, "warung bu tini", "Terima kasih, Warung Bu Tini. Di kota mana? Balas dengan nama kota. "
                                 "Contoh: Bandung. Ketik BATAL bila tidak jadi.", []),
        (TINI, "bandung", "Terima kasih, Warung Bu Tini di Bandung. Bapak/Ibu terdaftar sebagai "
                          "pembeli. Cari barang: CARI produk. Contoh: CARI cabai", []),
        (TINI, "DAFTAR PEMBELI Warung Lain, Bogor",
         "Nomor ini sudah terdaftar sebagai pembeli: Warung Bu Tini, Bandung. Ketik BANTUAN untuk melihat "
         "daftar perintah.", []),
        (TINI, "DAFTAR Tini, Sukamaju", "Nomor ini terdaftar sebagai pembeli (Warung Bu Tini). Silakan "
                                        "hubungi koordinator bila ingin menjadi penjual.", []),
        (SITI, "DAFTAR Siti, Sukamaju", "Terima kasih, Siti dari Sukamaju. Bapak/Ibu terdaftar sebagai "
                                        "penjual. Untuk jual: JUAL produk jumlah harga. Contoh: JUAL "
                                        "cabai 50kg 12rb", []),
        (SITI, "DAFTAR PEMBELI Siti Shop, Bogor", "Nomor ini terdaftar sebagai penjual (Siti). Silakan "
                                                  "hubungi koordinator bila ingin menjadi pembeli.", []),
        (TINI, "BANTUAN", "Perintah: CARI produk, LAGI, PESAN kode jumlah, STATUS, TERIMA kode, BATAL "
                          "kode, BAHASA, BERHENTI. Contoh: BANTUAN CARI", []),
        (TINI, "BANTUAN CARI", "CARI produk [tempat] - jualan termurah dengan kodenya. Contoh: CARI cabai "
                               "atau CARI cabai di Sukamaju", []),
    ])
    (buyer,) = chat.db.query("SELECT b.*, c.role FROM buyers b JOIN contacts c ON c.id = b.contact_id")
    assert (buyer["name"], buyer["city"], buyer["channel"], buyer["role"]) == (
        "Warung Bu Tini", "Bandung", None, "buyer")


def test_only_buyers_order_and_only_sellers_answer(chat):
    market(chat)
    buyer_registered(chat)
    play(chat, [
        # A stranger is asked who they are (tests/conversations/test_buyer_dialogs.py), then leaves.
        (STRANGER, "PESAN C2 5", "Untuk memesan C2, Bapak/Ibu perlu terdaftar sebagai pembeli. Apa nama "
                                 "usaha Bapak/Ibu? Contoh: Warung Bu Tini. Ketik BATAL bila tidak jadi.", []),
        (STRANGER, "BATAL", "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah.", []),
        (SITI, "PESAN C3 5", "Maaf, nomor ini terdaftar sebagai penjual, jadi tidak bisa memesan. "
                             "Silakan pesan dari nomor lain yang terdaftar sebagai pembeli.", []),
        (TINI, "YA", "Maaf, perintah YA belum tersedia untuk nomor ini. Ketik BANTUAN untuk melihat "
                     "daftar perintah.", []),
        (STRANGER, "STATUS", "Nomor ini belum terdaftar. Penjual: DAFTAR nama, desa. Pembeli: DAFTAR "
                             "PEMBELI usaha, kota. Contoh: DAFTAR Siti, Sukamaju", []),
        # Anyone may look: the same listings are on the public catalog.
        (STRANGER, "CARI cabai di Sukamaju", "Jualan cabai termurah: C2 Rp12.000/kg 50 kg Sukamaju. "
                                             "Pesan: PESAN kode jumlah", []),
    ])
    assert chat.db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0


# --- search ------------------------------------------------------------------------------


def test_search_finds_synonyms_places_and_says_when_nothing_is_there(chat):
    market(chat)
    for village, phone in (("Cikole Girang", "+6281500000001"), ("Sukamaju Kidul", "+6281500000002"),
                           ("Margamulya", "+6281500000003")):
        chat.send(phone, f"DAFTAR Petani {village[:4]}, {village}")
        chat.send(phone, "JUAL lombok 1250,5kg 13rb")
        chat.send(phone, "JUAL cabai 7kg 12500")
        chat.send(phone, "BARU")  # "you already sell cabai: add to it, or new?"
    buyer_registered(chat)
    play(chat, [
        (TINI, "CARI lombok",
         "Jualan cabai termurah: C3 Rp11.500/kg 20 kg Cibodas; C2 Rp12.000/kg 50 kg Sukamaju; 6 "
         "lagi, balas LAGI. Pesan: PESAN kode jumlah", []),  # as many as fit one SMS, then LAGI
        (TINI, "CARI cabai di cibodas", "Jualan cabai termurah: C3 Rp11.500/kg 20 kg Cibodas. Pesan: "
                                        "PESAN kode jumlah", []),
        (TINI, "CARI cabai di Bogor", "Maaf, belum ada jualan cabai di Bogor. Coba tanpa tempat: CARI "
                                      "cabai", []),
        (TINI, "CARI durian", "Maaf, belum ada jualan durian saat ini. Silakan coba lagi nanti atau "
                              "cari produk lain.", []),
        (TINI, "CARI", "Format: CARI produk. Contoh: CARI cabai atau CARI cabai di Sukamaju.", []),
    ])
    chat.send(BUDI, "STOK C3 0")  # sold out: no longer offered
    chat.notices()
    play(chat, [(TINI, "CARI cabai di Cibodas", "Maaf, belum ada jualan cabai di Cibodas. Coba tanpa "
                                                "tempat: CARI cabai", [])])


# --- ordering ----------------------------------------------------------------------------


def test_order_refusals_explain_and_change_nothing(chat):
    market(chat)
    buyer_registered(chat)
    chat.send(BUDI, "JUAL kangkung 30 ikat 3rb")  # K2
    chat.send(BUDI, "HAPUS K2")
    chat.notices()
    play(chat, [
        (TINI, "PESAN", "Format: PESAN kode jumlah. Contoh: PESAN C7 20. Cari kodenya dulu: CARI produk", []),
        (TINI, "PESAN C9 5", "Maaf, kode jualan C9 tidak ditemukan. Cari kodenya dulu: CARI produk. "
                             "Contoh: CARI cabai", []),
        (TINI, "PESAN C2 51", "Maaf, stok C2 tinggal 50 kg. Ketik lagi PESAN C2 dengan jumlah paling "
                              "banyak 50 kg.", []),
        (TINI, "PESAN C2 5 ikat", "Maaf, C2 dijual per kg. Tulis jumlah dalam kg. Contoh: PESAN C2 20",
         []),
        (TINI, "PESAN C2 0", "Maaf, jumlah itu tidak bisa dipesan. Tulis jumlah lebih dari 0. Contoh: "
                             "PESAN C2 20", []),
        (TINI, "PESAN K2 5", "Maaf, jualan K2 sudah habis atau dihapus penjualnya. Cari yang lain: CARI "
                             "produk", []),
    ])
    assert chat.db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0
    assert listing_quantity(chat.db, "C2") == Decimal(50)


def test_order_without_quantity_asks_for_it(chat):
    market(chat)
    buyer_registered(chat)
    play(chat, [
        (TINI, "PESAN c3", "Berapa kg cabai (C3) yang mau dipesan? Tersedia 20 kg. Balas angkanya. "
                           "Contoh: 20. Ketik BATAL bila tidak jadi.", []),
        (TINI, "banyak", "Maaf, jumlahnya tidak terbaca. Balas jumlah pesanan C3. Contoh: 20. Ketik "
                         "BATAL bila tidak jadi.", []),
        (TINI, "2,5 kg", "Pesanan P2: 2,5 kg cabai @Rp11.500 = Rp28.750, penjual Budi, Cibodas. Menunggu "
                         "jawaban penjual. Batal: BATAL P2",
         [(BUDI, "Pesanan P2: 2,5 kg cabai @Rp11.500 = Rp28.750 dari Warung Bu Tini, Bandung. Balas YA P2 "
                 "atau TIDAK P2")]),
        (TINI, "PESAN C2", "Berapa kg cabai (C2) yang mau dipesan? Tersedia 50 kg. Balas angkanya. "
                           "Contoh: 20. Ketik BATAL bila tidak jadi.", []),
        (TINI, "BATAL", "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah.", []),
    ])
    assert listing_quantity(chat.db, "C3") == Decimal("17.5")
    assert listing_quantity(chat.db, "C2") == Decimal(50)


def test_cancel_before_the_seller_answers_releases_the_stock(chat):
    market(chat)
    buyer_registered(chat)
    buyer_registered(chat, TONO, "DAFTAR PEMBELI Toko Tono, Bogor")
    chat.send(TINI, "PESAN C2 20")
    chat.send(TINI, "PESAN C2 10")
    chat.notices()
    assert listing_quantity(chat.db, "C2") == Decimal(20)
    play(chat, [
        (TONO, "BATAL P2", "Maaf, pesanan P2 tidak ditemukan. Ketik STATUS untuk melihat pesanan "
                           "Bapak/Ibu.", []),
        (TINI, "BATAL P2", "Pesanan P2 (20 kg cabai) sudah dibatalkan. Penjual sudah diberi tahu.",
         [(SITI, "Pesanan P2 (20 kg cabai) dibatalkan oleh Warung Bu Tini. Stok kembali ke jualan C2. "
                 "Tidak perlu dibalas.")]),
        (TINI, "BATAL P2", "Maaf, pesanan P2 tidak bisa dibatalkan lagi (status: dibatalkan). Hubungi "
                           "koordinator bila ada masalah.", []),
        (SITI, "YA P3", "Pesanan P3 Bapak/Ibu setujui. Mohon siapkan 10 kg cabai untuk Warung Bu Tini, "
                        "Bandung. Setelah dikirim, balas KIRIM P3",
         [(TINI, "Kabar baik: pesanan P3 (10 kg cabai) disetujui Siti Aminah, Sukamaju. Kami kabari lagi "
                 "saat barang dikirim.")]),
        (TINI, "BATAL P3", "Maaf, pesanan P3 tidak bisa dibatalkan lagi (status: disetujui penjual). "
                           "Hubungi koordinator bila ada masalah.", []),
    ])
    assert listing_quantity(chat.db, "C2") == Decimal(40)


def test_bare_yes_with_several_pending_lists_them_and_no_releases_stock(chat):
    market(chat)
    buyer_registered(chat)
    chat.send(TINI, "PESAN C2 20")
    chat.send(TINI, "PESAN C2 5")
    chat.notices()
    play(chat, [
        (BUDI, "YA", "Tidak ada pesanan yang menunggu jawaban Bapak/Ibu. Pesanan baru akan kami kirim lewat "
                     "pesan.", []),
        (BUDI, "TIDAK P2", "Maaf, pesanan P2 tidak ditemukan. Ketik STATUS untuk melihat pesanan Bapak/Ibu.",
         []),
        (SITI, "YA", "Ada 2 pesanan menunggu jawaban: P2 20 kg cabai; P3 5 kg cabai. Balas YA kode atau "
                     "TIDAK kode.", []),
        (SITI, "TIDAK P2", "Pesanan P2 Bapak/Ibu tolak. Stok 20 kg cabai kembali ke jualan C2.",
         [(TINI, "Maaf, penjual menolak pesanan P2 (20 kg cabai). Cari penjual lain: CARI cabai")]),
        (SITI, "YA P2", "Pesanan P2 sudah tidak menunggu jawaban (status: ditolak penjual). Tidak ada "
                        "yang diubah.", []),
        (SITI, "KIRIM", "Tidak ada pesanan yang perlu dikirim. Ketik STATUS untuk melihat pesanan Bapak/Ibu.",
         []),
        (SITI, "KIRIM P3", "Maaf, pesanan P3 tidak bisa ditandai dikirim (status: menunggu penjual). "
                           "Ketik STATUS P3 untuk rinciannya.", []),
        (TINI, "TERIMA P3", "Maaf, pesanan P3 tidak bisa dikonfirmasi sampai (status: menunggu penjual). "
                            "Ketik STATUS P3 untuk rinciannya.", []),
        (SITI, "YA", "Pesanan P3 Bapak/Ibu setujui. Mohon siapkan 5 kg cabai untuk Warung Bu Tini, Bandung. "
                     "Setelah dikirim, balas KIRIM P3",
         [(TINI, "Kabar baik: pesanan P3 (5 kg cabai) disetujui Siti Aminah, Sukamaju. Kami kabari lagi "
                 "saat barang dikirim.")]),
        (SITI, "STATUS", "Pesanan berjalan: P3 5 kg cabai (disetujui penjual). Rincian: STATUS kode", []),
        (SITI, "STATUS P3", "Pesanan P3: 5 kg cabai @Rp12.000 = Rp60.000, pembeli Warung Bu Tini, "
                            "Bandung. Status: disetujui penjual.", []),
        (TINI, "STATUS", "Pesanan berjalan: P3 5 kg cabai (disetujui penjual). Rincian: STATUS kode", []),
    ])
    assert listing_quantity(chat.db, "C2") == Decimal(45)


def test_several_orders_on_their_way_are_listed_for_bare_receipt(chat):
    market(chat)
    buyer_registered(chat)
    for text in ("PESAN C2 1", "PESAN C3 2"):
        chat.send(TINI, text)
    for seller in (SITI, BUDI):
        chat.send(seller, "YA")
    chat.notices()
    play(chat, [
        (TINI, "TERIMA", "Ada 2 pesanan dalam perjalanan: P3 2 kg cabai; P2 1 kg cabai. Balas TERIMA dan "
                         "kodenya.", []),
        # Received although the seller never sent KIRIM: the goods prove it was shipped.
        (TINI, "TERIMA P2", "Terima kasih! Pesanan P2 (1 kg cabai) tercatat sudah sampai. Total Rp12.000.",
         [(SITI, "Pesanan P2 (1 kg cabai) sudah diterima pembeli. Rp12.000 masuk ke saldo Bapak/Ibu. Cek: "
                 "SALDO")]),
        (TINI, "TERIMA P2", "Maaf, pesanan P2 tidak bisa dikonfirmasi sampai (status: sudah sampai). Ketik "
                            "STATUS P2 untuk rinciannya.", []),
    ])
    assert ledger.order_receivable(chat.db, "P2") == 12_000


def test_bare_yes_never_takes_over_an_open_question_but_a_coded_one_does(chat):
    market(chat)
    buyer_registered(chat)
    chat.send(TINI, "PESAN C2 5")
    chat.notices()
    ask_price = "Berapa harga bayam per ikat? Balas harganya. Contoh: 12rb. Ketik BATAL bila tidak jadi."
    play(chat, [
        (SITI, "JUAL bayam 30 ikat", ask_price, []),
        (SITI, "YA", ask_price, []),
        (SITI, "YA P2", "Pesanan P2 Bapak/Ibu setujui. Mohon siapkan 5 kg cabai untuk Warung Bu Tini, "
                        "Bandung. Setelah dikirim, balas KIRIM P2",
         [(TINI, "Kabar baik: pesanan P2 (5 kg cabai) disetujui Siti Aminah, Sukamaju. Kami kabari lagi "
                 "saat barang dikirim.")]),
    ])


# --- reminder and expiry (a clock the test moves) ----------------------------------------


def test_pending_order_gets_one_reminder_then_expires_and_both_sides_are_told(tmp_path):
    chat = market(Conversation(tmp_path, ORDER_REMINDER_MINUTES=120, ORDER_EXPIRY_MINUTES=360))
    buyer_registered(chat)
    chat.send(TINI, "PESAN C2 20")  # at 09.00 WIB
    chat.notices()
    assert listing_quantity(chat.db, "C2") == Decimal(30)

    chat.advance(minutes=119)
    assert sweep(chat.db, chat.settings, None, now=chat.now).orders_reminded == 0
    assert chat.notices() == []
    chat.advance(minutes=1)
    report = sweep(chat.db, chat.settings, None, now=chat.now)  # the periodic job's path
    assert (report.orders_reminded, report.orders_expired) == (1, 0)
    assert chat.notices() == [(SITI, "Pengingat: pesanan P2 (20 kg cabai, Warung Bu Tini) menunggu "
                                     "jawaban sampai 28/11 15.00 WIB. Balas YA P2 atau TIDAK P2")]
    chat.advance(minutes=100)
    assert run_order_timers(chat.db, chat.settings, chat.now).reminded == 0  # one reminder only
    assert chat.notices() == []

    chat.advance(minutes=140)  # six hours after the order
    report = run_order_timers(chat.db, chat.settings, chat.now)
    assert (report.reminded, report.expired, len(report.handover.outbox_ids)) == (0, 1, 2)
    assert chat.notices() == [
        (SITI, "Pesanan P2 (20 kg cabai) batal karena tidak dijawab. Stok kembali ke jualan C2."),
        (TINI, "Maaf, pesanan P2 (20 kg cabai) batal karena penjual belum menjawab. Cari penjual lain: "
               "CARI cabai"),
    ]
    assert listing_quantity(chat.db, "C2") == Decimal(50)
    assert run_order_timers(chat.db, chat.settings, chat.now).expired == 0  # once
    play(chat, [
        (SITI, "YA P2", "Pesanan P2 sudah tidak menunggu jawaban (status: kedaluwarsa). Tidak ada yang "
                        "diubah.", []),
        (TINI, "STATUS P2", "Pesanan P2: 20 kg cabai @Rp12.000 = Rp240.000, penjual Siti Aminah, Sukamaju. "
                            "Status: kedaluwarsa.", []),
    ])


def test_an_answered_order_neither_reminds_nor_expires(tmp_path):
    chat = market(Conversation(tmp_path, DEFAULT_LOCALE="en"))
    buyer_registered(chat, text="REGISTER BUYER Warung Bu Tini, Bandung")
    chat.send(TINI, "ORDER C2 20")
    chat.send(SITI, "YES")
    chat.notices()
    chat.advance(hours=7)
    report = run_order_timers(chat.db, chat.settings, chat.now)
    assert (report.reminded, report.expired) == (0, 0)
    assert orders.find_order(chat.db, "P2")["status"] == "accepted"
    assert listing_quantity(chat.db, "C2") == Decimal(30)


def test_reminder_and_expiry_in_english_and_in_the_sellers_zone(tmp_path):
    chat = market(Conversation(tmp_path, DEFAULT_LOCALE="en"))
    from bot.services.schedule import set_village_province
    from bot.storage import transaction

    with transaction(chat.db):
        set_village_province(chat.db, "Sukamaju", "Sulawesi Selatan")  # WITA
    buyer_registered(chat, text="REGISTER BUYER Warung Bu Tini, Bandung")
    chat.send(TINI, "ORDER C2 20")
    chat.notices()
    chat.advance(hours=2)
    run_order_timers(chat.db, chat.settings, chat.now)
    assert chat.notices() == [(SITI, "Reminder: order P2 (20 kg cabai, Warung Bu Tini) is waiting for your "
                                     "answer until 28/11 16.00 WITA. Reply YES P2 or NO P2")]
    chat.advance(hours=4)
    run_order_timers(chat.db, chat.settings, chat.now)
    assert chat.notices() == [
        (SITI, "Order P2 (20 kg cabai) lapsed without an answer. The stock is back on offer in C2."),
        (TINI, "Sorry, order P2 (20 kg cabai) lapsed: the seller did not answer in time. Find another: "
               "SEARCH cabai"),
    ]


def test_stok_counts_what_is_on_hand_so_reserved_stock_is_never_sold_twice(chat):
    market(chat)
    buyer_registered(chat)
    chat.send(TINI, "PESAN C2 20")  # 20 kg of Siti's 50 kg reserved: 30 kg left to order
    chat.notices()
    chat.play([
        (SITI, "STOK C2 30", "Stok C2 cabai sekarang 30 kg: 10 kg masih bisa dipesan, 20 kg sudah "
                             "dipesan. Terima kasih."),
    ])
    assert listing_quantity(chat.db, "C2") == Decimal("10")
    chat.send(SITI, "TIDAK")  # the reservation comes back: on hand is 30 again
    assert listing_quantity(chat.db, "C2") == Decimal("30")
    chat.play([(SITI, "STOK C2 25", "Stok C2 cabai sekarang 25 kg. Terima kasih.")])
    chat.send(TINI, "PESAN C2 12")  # a new buyer takes at most half of what is left (DECISIONS 363)
    chat.notices()
    chat.play([(SITI, "STOK C2 5", "Stok C2 tidak bisa kurang dari 12 kg yang sudah dipesan (P3). "
                                   "Bila barang sudah tidak ada, balas TIDAK kode pesanan dulu.")])
    chat.send(SITI, "TIDAK P3")
    assert listing_quantity(chat.db, "C2") == Decimal("25")  # never more than she has


def test_one_order_that_cannot_expire_does_not_stop_the_others(chat):
    market(chat)
    buyer_registered(chat)
    chat.send(TINI, "PESAN C2 5")  # P2
    chat.send(TINI, "PESAN C3 5")  # P3
    chat.notices()
    # A real failure for P2 only, raised by SQLite itself.
    chat.db.execute("CREATE TRIGGER p2_stuck BEFORE UPDATE ON orders WHEN OLD.code = 'P2' "
                    "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    chat.advance(hours=7)
    report = run_order_timers(chat.db, chat.settings, chat.now)
    statuses = {o["code"]: o["status"] for o in chat.db.query("SELECT code, status FROM orders")}
    assert statuses == {"P2": "pending", "P3": "expired"} and report.expired == 1


def test_buyers_are_told_how_to_pay_when_the_seller_accepts(tmp_path):
    chat = market(Conversation(tmp_path, PAYMENT_INSTRUCTIONS="Transfer BRI 1234567890 a.n. Koperasi "
                                                              "Tani Makmur"))
    buyer_registered(chat)
    chat.send(TINI, "PESAN C2 20")
    chat.notices()
    play(chat, [
        (SITI, "YA P2",
         "Pesanan P2 Bapak/Ibu setujui. Mohon siapkan 20 kg cabai untuk Warung Bu Tini, Bandung. Setelah "
         "dikirim, balas KIRIM P2",
         [(TINI, "Kabar baik: pesanan P2 (20 kg cabai) disetujui Siti Aminah, Sukamaju. Kami kabari lagi "
                 "saat barang dikirim."),
          (TINI, "Pembayaran pesanan P2 (Rp240.000): Transfer BRI 1234567890 a.n. Koperasi Tani Makmur. "
                 "Terima kasih.")]),
    ])


@pytest.mark.parametrize("instructions", ["x" * 91, "Transfer\nBRI 123"])
def test_payment_instructions_that_cannot_travel_in_one_sms_refuse_to_start(instructions):
    with pytest.raises(ConfigError, match="PAYMENT_INSTRUCTIONS"):
        check_config(load_config({}) | {"PAYMENT_INSTRUCTIONS": instructions})
