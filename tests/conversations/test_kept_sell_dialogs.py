"""A stranger's JUAL is kept through DAFTAR and offered back for a YA (DECISIONS 490), as a
newcomer's PESAN is kept through their business and city: nothing is listed unasked, and
once YA is sent the JUAL gets every question a registered seller's JUAL gets."""

from __future__ import annotations

import pytest

from bot.services import schedule
from bot.storage import transaction
from tests.dialogs import SITI, siti_and_budi, with_chili_reference_price

ANI = "+6281399998888"  # not registered
WATI = "+6281399997777"  # not registered

KEPT = ("Perintah JUAL untuk penjual. Mohon daftar dulu: DAFTAR nama, desa. Contoh: DAFTAR Siti, "
        "Sukamaju. JUAL Bapak/Ibu kami simpan sampai terdaftar.")


@pytest.fixture
def chat(tmp_path):
    return siti_and_budi(tmp_path, budi_village="Sukamaju")


def listings(chat) -> list[tuple]:
    return [tuple(row) for row in chat.db.execute(
        "SELECT c.phone, l.code, l.quantity_milli, l.unit, l.price FROM listings l "
        "JOIN contacts c ON c.id = l.seller_id ORDER BY l.id")]


def test_a_strangers_jual_is_offered_back_after_daftar_and_listed_on_ya(chat):
    chat.play([
        (ANI, "JUAL cabai 50kg 12rb", KEPT),
        (ANI, "halo", KEPT),  # still waiting for DAFTAR
        (ANI, "DAFTAR Ani, Sukamaju",
         'Terima kasih, Ani dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Lanjutkan "JUAL cabai '
         '50kg 12rb"? Balas YA, atau TIDAK.'),
    ])
    assert listings(chat) == []  # registered, nothing listed without the YA
    chat.play([
        (ANI, "apa itu", 'Lanjutkan "JUAL cabai 50kg 12rb"? Balas YA untuk menjualnya, atau TIDAK.'),
        (ANI, "YA", "Terima kasih! Jualan tercatat: cabai 50 kg, Rp12.000/kg. Kode: {code}. Ubah stok: "
                    "STOK {code} jumlah. Hapus: HAPUS {code}"),
    ])
    assert [row[0] for row in listings(chat)] == [ANI]


def test_the_kept_jual_gets_the_same_questions_as_any(chat):
    """A far-off price is asked about after the YA; a missing one is asked for."""
    with_chili_reference_price(chat)
    chat.play([
        (ANI, "JUAL cabai 50kg 150rb", KEPT),
        (ANI, "DAFTAR Ani, Sukamaju",
         'Terima kasih, Ani dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Lanjutkan "JUAL cabai '
         '50kg 150rb"? Balas YA, atau TIDAK.'),
        (ANI, "YA", "Harga Rp150.000/kg? Biasanya sekitar Rp12.000/kg. Balas YA bila benar, atau kirim "
                    "harga yang benar."),
        (ANI, "15rb", "Terima kasih! Jualan tercatat: cabai 50 kg, Rp15.000/kg. Kode: {code}. Ubah stok: "
                      "STOK {code} jumlah. Hapus: HAPUS {code}"),
    ])
    chat.play([
        (WATI, "jual tomat 3kg", KEPT),
        (WATI, "DAFTAR", "Siapa nama Bapak/Ibu? Balas dengan nama saja. Contoh: Siti. Ketik BATAL bila "
                         "tidak jadi."),
        # a bare YA is no name: the registration's question again, the JUAL still kept
        (WATI, "YA", "Siapa nama Bapak/Ibu? Balas dengan nama saja. Contoh: Siti. Ketik BATAL bila "
                     "tidak jadi."),
        (WATI, "Wati", "Terima kasih, Wati. Dari desa mana? Balas dengan nama desa. Contoh: Sukamaju. "
                       "Ketik BATAL bila tidak jadi."),
        (WATI, "Cibodas", 'Terima kasih, Wati dari Cibodas. Bapak/Ibu terdaftar sebagai penjual. Lanjutkan '
                          '"jual tomat 3kg"? Balas YA, atau TIDAK.'),
        (WATI, "ya", "Berapa harga tomat per kg? Balas harganya. Contoh: 12rb. Ketik BATAL bila tidak "
                     "jadi."),
        (WATI, "8rb", "Terima kasih! Jualan tercatat: tomat 3 kg, Rp8.000/kg. Kode: {code2}. Ubah stok: "
                      "STOK {code2} jumlah. Hapus: HAPUS {code2}"),
    ])
    assert [(row[0], row[2], row[4]) for row in listings(chat)] == [
        (ANI, 50_000, 15_000), (WATI, 3_000, 8_000)]


def test_tidak_lists_nothing_and_a_late_daftar_only_registers(chat):
    chat.play([
        (ANI, "JUAL cabai 50kg 12rb", KEPT),
        (ANI, "DAFTAR Ani, Sukamaju",
         'Terima kasih, Ani dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Lanjutkan "JUAL cabai '
         '50kg 12rb"? Balas YA, atau TIDAK.'),
        (ANI, "TIDAK", "Baik, tidak ada yang dijual. Untuk jual: JUAL produk jumlah harga. Contoh: JUAL "
                       "cabai 50kg 12rb"),
        (WATI, "JUAL tomat 3kg 8rb", KEPT),
    ])
    chat.advance(minutes=31)  # the kept JUAL lives as long as any open question
    chat.play([
        (WATI, "DAFTAR Wati, Cibodas", "Terima kasih, Wati dari Cibodas. Bapak/Ibu terdaftar sebagai "
                                       "penjual. Untuk jual: JUAL produk jumlah harga. Contoh: JUAL cabai "
                                       "50kg 12rb"),
    ])
    assert listings(chat) == []


def test_other_commands_and_roles_are_as_before(chat):
    chat.play([
        (ANI, "JUAL cabai 50kg 12rb", KEPT),
        # another seller's command is refused and the kept JUAL still waits
        (ANI, "STOK", "Perintah STOK untuk penjual. Mohon daftar dulu: DAFTAR nama, desa. Contoh: DAFTAR "
                      "Siti, Sukamaju. Lalu kirim lagi STOK Bapak/Ibu."),
        # a newer JUAL replaces it
        (ANI, "JUAL jagung 1 kw 5rb", KEPT),
        (ANI, "DAFTAR Ani, Sukamaju",
         'Terima kasih, Ani dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Lanjutkan "JUAL jagung 1 '
         'kw 5rb"? Balas YA, atau TIDAK.'),
        (ANI, "BATAL", "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah."),
        (SITI, "JUAL cabai 50kg 12rb", "Terima kasih! Jualan tercatat: cabai 50 kg, Rp12.000/kg. Kode: "
                                       "{code}. Ubah stok: STOK {code} jumlah. Hapus: HAPUS {code}"),
    ])
    assert [row[0] for row in listings(chat)] == [SITI]
    # DAFTAR PEMBELI leaves the kept JUAL: a buyer does not sell
    chat.play([
        (WATI, "JUAL tomat 3kg 8rb", KEPT),
        (WATI, "DAFTAR PEMBELI Warung Wati, Bandung",
         "Terima kasih, Warung Wati di Bandung. Bapak/Ibu terdaftar sebagai pembeli. Cari barang: CARI "
         "produk. Contoh: CARI cabai"),
        (WATI, "JUAL tomat 3kg 8rb", "Maaf, perintah JUAL belum tersedia untuk nomor ini. Ketik BANTUAN "
                                     "untuk melihat daftar perintah."),
    ])


def test_in_english(chat):
    chat.play([
        (ANI, "BAHASA en", "OK, replies are now in English. Send LANGUAGE id for Bahasa Indonesia."),
        (ANI, "SELL chili 5kg", "SELL is for sellers. Please register first: REGISTER name, village. "
                                "Example: REGISTER Siti, Sukamaju. We keep your SELL until you are "
                                "registered."),
        (ANI, "REGISTER Tono, Cibodas", 'Thank you, Tono from Cibodas. You are registered as a seller. Go '
                                        'on with "SELL chili 5kg"? Reply YES, or NO.'),
        (ANI, "YES", "What is the price of chili per kg? Reply with the price. Example: 12000. Send CANCEL "
                     "if you change your mind."),
        (ANI, "9000", "Thank you! Listed: cabai 5 kg, Rp9.000/kg. Code: {code}. Change stock: STOCK {code} "
                      "quantity. Remove: DELETE {code}"),
    ])


def test_a_village_in_two_provinces_is_asked_about_and_the_jual_still_waits(chat):
    with transaction(chat.db):
        for province in ("Jawa Barat", "Lampung"):
            schedule.set_village_province(chat.db, "Sukamaju", province)
    chat.play([
        (ANI, "JUAL cabai 50kg 12rb", KEPT),
        (ANI, "DAFTAR Ani, Sukamaju", "Desa Sukamaju ada di 2 provinsi. Mohon balas nomor provinsi "
                                      "Bapak/Ibu: 1 Jawa Barat; 2 Lampung"),
        (ANI, "halo", "Desa Sukamaju ada di 2 provinsi. Mohon balas nomor provinsi Bapak/Ibu: 1 Jawa "
                      "Barat; 2 Lampung"),
        (ANI, "2", 'Terima kasih, Ani dari Sukamaju, Lampung. Bapak/Ibu terdaftar sebagai penjual. '
                   'Lanjutkan "JUAL cabai 50kg 12rb"? Balas YA, atau TIDAK.'),
        (ANI, "ya", "Terima kasih! Jualan tercatat: cabai 50 kg, Rp12.000/kg. Kode: {code}. Ubah stok: "
                    "STOK {code} jumlah. Hapus: HAPUS {code}"),
    ])
