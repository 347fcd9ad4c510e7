"""Dialog tables for seeing everything (issue 14), in Indonesian and English: STOK and CARI
continue with LAGI/MORE within the dialog timeout, sold-out listings go last, CARI finds
the kinds of a product and names written with emoji, and JUAL of a product already listed
asks whether to add to it. Generated rows are exact replies; real SQLite, real engine."""

from __future__ import annotations

import pytest

from tests.dialogs import BUDI, SITI, in_english, siti_and_budi, with_chili_reference_price


@pytest.fixture
def chat(tmp_path):
    """Siti and Budi registered; chili has a reference price of Rp12.000/kg."""
    return with_chili_reference_price(siti_and_budi(tmp_path))


@pytest.fixture
def chat_en(chat):
    return in_english(chat)


def test_stock_pages_continue_with_lagi(chat):
    """STOK shows what fits one SMS; LAGI shows the rest, page by page; sold-out listings go last."""
    chat.play([
        (SITI, 'JUAL cabai merah 1.250,5 kg 125rb',
         "Terima kasih! Jualan tercatat: cabai merah 1.250,5 kg, Rp125.000/kg. Kode: C2. Ubah "
         "stok: STOK C2 jumlah. Hapus: HAPUS C2"),
        (SITI, 'JUAL bawang putih 1.250,5 kg 125rb',
         "Terima kasih! Jualan tercatat: bawang putih 1.250,5 kg, Rp125.000/kg. Kode: B2. Ubah "
         "stok: STOK B2 jumlah. Hapus: HAPUS B2"),
        (SITI, 'JUAL kacang panjang 1.250,5 kg 125rb',
         "Terima kasih! Jualan tercatat: kacang panjang 1.250,5 kg, Rp125.000/kg. Kode: K2. Ubah "
         "stok: STOK K2 jumlah. Hapus: HAPUS K2"),
        (SITI, 'JUAL gula aren 1.250,5 kg 125rb',
         "Terima kasih! Jualan tercatat: gula aren 1.250,5 kg, Rp125.000/kg. Kode: G2. Ubah stok: "
         "STOK G2 jumlah. Hapus: HAPUS G2"),
        (SITI, 'JUAL kopi 1.250,5 kg 125rb',
         "Terima kasih! Jualan tercatat: kopi 1.250,5 kg, Rp125.000/kg. Kode: K3. Ubah stok: STOK "
         "K3 jumlah. Hapus: HAPUS K3"),
        (SITI, 'JUAL madu 1.250,5 kg 125rb',
         "Terima kasih! Jualan tercatat: madu 1.250,5 kg, Rp125.000/kg. Kode: M2. Ubah stok: STOK "
         "M2 jumlah. Hapus: HAPUS M2"),
        (SITI, 'STOK M2 habis',
         "Stok M2 madu sekarang 0 kg. Terima kasih."),
        (SITI, 'STOK',
         "Jualan Bapak/Ibu: K3 kopi 1.250,5 kg Rp125.000/kg; G2 gula aren 1.250,5 kg Rp125.000/kg; 4 "
         "lagi, balas LAGI. Ubah stok: STOK kode jumlah"),
        (SITI, 'LAGI',
         "Jualan Bapak/Ibu: K2 kacang panjang 1.250,5 kg Rp125.000/kg; B2 bawang putih 1.250,5 kg "
         "Rp125.000/kg; 2 lagi, balas LAGI. Ubah stok: STOK kode jumlah"),
        (SITI, 'LAGI',
         "Jualan Bapak/Ibu: C2 cabai merah 1.250,5 kg Rp125.000/kg; M2 madu 0 kg Rp125.000/kg. Ubah "
         "stok: STOK kode jumlah"),
        (SITI, 'LAGI',
         "Tidak ada lanjutan daftar. Ketik STOK, atau CARI dengan nama produk, untuk melihat "
         "daftar baru."),
    ])


def test_stock_pages_continue_with_more_in_english(chat_en):
    """The same in English with MORE; another command in between leaves the list."""
    chat_en.play([
        (SITI, 'SELL cabai merah 1.250,5 kg 125rb',
         "Thank you! Listed: cabai merah 1.250,5 kg, Rp125.000/kg. Code: C2. Change stock: STOCK "
         "C2 quantity. Remove: DELETE C2"),
        (SITI, 'SELL bawang putih 1.250,5 kg 125rb',
         "Thank you! Listed: bawang putih 1.250,5 kg, Rp125.000/kg. Code: B2. Change stock: STOCK "
         "B2 quantity. Remove: DELETE B2"),
        (SITI, 'SELL kacang panjang 1.250,5 kg 125rb',
         "Thank you! Listed: kacang panjang 1.250,5 kg, Rp125.000/kg. Code: K2. Change stock: "
         "STOCK K2 quantity. Remove: DELETE K2"),
        (SITI, 'SELL gula aren 1.250,5 kg 125rb',
         "Thank you! Listed: gula aren 1.250,5 kg, Rp125.000/kg. Code: G2. Change stock: STOCK G2 "
         "quantity. Remove: DELETE G2"),
        (SITI, 'SELL kopi 1.250,5 kg 125rb',
         "Thank you! Listed: kopi 1.250,5 kg, Rp125.000/kg. Code: K3. Change stock: STOCK K3 "
         "quantity. Remove: DELETE K3"),
        (SITI, 'SELL madu 1.250,5 kg 125rb',
         "Thank you! Listed: madu 1.250,5 kg, Rp125.000/kg. Code: M2. Change stock: STOCK M2 "
         "quantity. Remove: DELETE M2"),
        (SITI, 'STOCK',
         "Your listings: M2 madu 1.250,5 kg Rp125.000/kg; K3 kopi 1.250,5 kg Rp125.000/kg; 4 more, "
         "reply MORE. Change stock: STOCK code quantity"),
        (SITI, 'MORE',
         "Your listings: G2 gula aren 1.250,5 kg Rp125.000/kg; K2 kacang panjang 1.250,5 kg "
         "Rp125.000/kg; 2 more, reply MORE. Change stock: STOCK code quantity"),
        (SITI, 'BALANCE',
         "Your balance is Rp0. Being transferred: Rp0. Paid out this month: Rp0. Withdraw: WITHDRAW "
         "amount. Example: WITHDRAW 500000"),
        (SITI, 'MORE',
         "There is nothing more to show. Send STOCK, or SEARCH with a product, to see a new list."),
    ])


def test_search_pages_continue_with_lagi(chat):
    """CARI shows the cheapest that fit; LAGI the next ones; the kinds of cabai are found too."""
    chat.play([
        (SITI, 'JUAL cabai 50kg 12rb',
         "Terima kasih! Jualan tercatat: cabai 50 kg, Rp12.000/kg. Kode: C2. Ubah stok: STOK C2 "
         "jumlah. Hapus: HAPUS C2"),
        (SITI, 'JUAL cabai rawit 3kg 45rb',
         "Terima kasih! Jualan tercatat: cabai rawit 3 kg, Rp45.000/kg. Kode: C3. Ubah stok: STOK "
         "C3 jumlah. Hapus: HAPUS C3"),
        (SITI, 'JUAL cabai merah keriting 20kg 30rb',
         "Terima kasih! Jualan tercatat: cabai keriting 20 kg, Rp30.000/kg. Kode: C4. Ubah stok: "
         "STOK C4 jumlah. Hapus: HAPUS C4"),
        (BUDI, 'JUAL cabai 20kg 11500',
         "Terima kasih! Jualan tercatat: cabai 20 kg, Rp11.500/kg. Kode: C5. Ubah stok: STOK C5 "
         "jumlah. Hapus: HAPUS C5"),
        (BUDI, 'JUAL cabe merah 10kg 28rb',
         "Terima kasih! Jualan tercatat: cabai merah 10 kg, Rp28.000/kg. Kode: C6. Ubah stok: STOK "
         "C6 jumlah. Hapus: HAPUS C6"),
        (BUDI, 'JUAL cabai keriting 15kg 29rb',
         "Terima kasih! Jualan tercatat: cabai keriting 15 kg, Rp29.000/kg. Kode: C7. Ubah stok: "
         "STOK C7 jumlah. Hapus: HAPUS C7"),
        (BUDI, 'JUAL lombok rawit 2kg 44rb',
         "Terima kasih! Jualan tercatat: cabai rawit 2 kg, Rp44.000/kg. Kode: C8. Ubah stok: STOK "
         "C8 jumlah. Hapus: HAPUS C8"),
        (BUDI, 'CARI cabai',
         "Jualan cabai termurah: C5 Rp11.500/kg 20 kg Cibodas; C2 Rp12.000/kg 50 kg Sukamaju; 5 "
         "lagi, balas LAGI. Pesan: PESAN kode jumlah"),
        (BUDI, 'LAGI',
         "Jualan cabai termurah: C6 cabai merah Rp28.000/kg 10 kg Cibodas; 4 lagi, balas LAGI. "
         "Pesan: PESAN kode jumlah"),
        (BUDI, 'LAGI',
         "Jualan cabai termurah: C7 cabai keriting Rp29.000/kg 15 kg Cibodas; 3 lagi, balas LAGI. "
         "Pesan: PESAN kode jumlah"),
    ])


def test_search_pages_continue_with_more_in_english(chat_en):
    """The same in English."""
    chat_en.play([
        (SITI, 'SELL cabai 50kg 12rb',
         "Thank you! Listed: cabai 50 kg, Rp12.000/kg. Code: C2. Change stock: STOCK C2 quantity. "
         "Remove: DELETE C2"),
        (SITI, 'SELL cabai rawit 3kg 45rb',
         "Thank you! Listed: cabai rawit 3 kg, Rp45.000/kg. Code: C3. Change stock: STOCK C3 "
         "quantity. Remove: DELETE C3"),
        (SITI, 'SELL cabai merah keriting 20kg 30rb',
         "Thank you! Listed: cabai keriting 20 kg, Rp30.000/kg. Code: C4. Change stock: STOCK C4 "
         "quantity. Remove: DELETE C4"),
        (BUDI, 'SELL cabai 20kg 11500',
         "Thank you! Listed: cabai 20 kg, Rp11.500/kg. Code: C5. Change stock: STOCK C5 quantity. "
         "Remove: DELETE C5"),
        (BUDI, 'SELL cabe merah 10kg 28rb',
         "Thank you! Listed: cabai merah 10 kg, Rp28.000/kg. Code: C6. Change stock: STOCK C6 "
         "quantity. Remove: DELETE C6"),
        (BUDI, 'SELL cabai keriting 15kg 29rb',
         "Thank you! Listed: cabai keriting 15 kg, Rp29.000/kg. Code: C7. Change stock: STOCK C7 "
         "quantity. Remove: DELETE C7"),
        (BUDI, 'SELL lombok rawit 2kg 44rb',
         "Thank you! Listed: cabai rawit 2 kg, Rp44.000/kg. Code: C8. Change stock: STOCK C8 "
         "quantity. Remove: DELETE C8"),
        (BUDI, 'SEARCH chili',
         "Cheapest cabai: C5 Rp11.500/kg 20 kg Cibodas; C2 Rp12.000/kg 50 kg Sukamaju; 5 more, "
         "reply MORE. To order: ORDER code quantity"),
        (BUDI, 'MORE',
         "Cheapest cabai: C6 cabai merah Rp28.000/kg 10 kg Cibodas; 4 more, reply MORE. To order: "
         "ORDER code quantity"),
        (BUDI, 'MORE',
         "Cheapest cabai: C7 cabai keriting Rp29.000/kg 15 kg Cibodas; 3 more, reply MORE. To "
         "order: ORDER code quantity"),
    ])


def test_search_finds_a_name_written_with_emoji(chat):
    """A product written with an emoji is the catalogue product, and search finds it."""
    chat.play([
        (SITI, 'JUAL cabai🌶️ 5kg 10rb',
         "Terima kasih! Jualan tercatat: cabai 5 kg, Rp10.000/kg. Kode: C2. Ubah stok: STOK C2 "
         "jumlah. Hapus: HAPUS C2"),
        (BUDI, 'CARI cabai 🌶️',
         "Jualan cabai termurah: C2 Rp10.000/kg 5 kg Sukamaju. Pesan: PESAN kode jumlah"),
    ])


def test_search_finds_a_name_written_with_emoji_in_english(chat_en):
    """The same in English."""
    chat_en.play([
        (SITI, 'SELL cabai🌶️ 5kg 10000',
         "Thank you! Listed: cabai 5 kg, Rp10.000/kg. Code: C2. Change stock: STOCK C2 quantity. Remove: "
         "DELETE C2"),
        (BUDI, 'SEARCH chili 🌶️',
         "Cheapest cabai: C2 Rp10.000/kg 5 kg Sukamaju. To order: ORDER code quantity"),
    ])


def test_selling_the_same_product_again_asks_add_or_new(chat):
    """JUAL of a product already listed in the same unit: TAMBAH adds to it, BARU lists anew."""
    chat.play([
        (SITI, 'JUAL cabai 50kg 12rb',
         "Terima kasih! Jualan tercatat: cabai 50 kg, Rp12.000/kg. Kode: C2. Ubah stok: STOK C2 "
         "jumlah. Hapus: HAPUS C2"),
        (SITI, 'JUAL cabe 20kg 13rb',
         "Bapak/Ibu sudah menjual cabai (C2, 50 kg). Balas TAMBAH untuk menambah 20 kg ke C2, atau BARU "
         "untuk jualan baru."),
        (SITI, 'TAMBAH',
         "Terima kasih! 20 kg ditambah ke C2 cabai, sekarang 70 kg, Rp13.000/kg. Ubah stok: STOK "
         "C2 jumlah"),
        (SITI, 'JUAL cabai 10kg 12rb',
         "Bapak/Ibu sudah menjual cabai (C2, 70 kg). Balas TAMBAH untuk menambah 10 kg ke C2, atau BARU "
         "untuk jualan baru."),
        (SITI, 'BARU',
         "Terima kasih! Jualan tercatat: cabai 10 kg, Rp12.000/kg. Kode: C3. Ubah stok: STOK C3 "
         "jumlah. Hapus: HAPUS C3"),
        (SITI, 'JUAL cabai 5 ikat 3rb',
         "Terima kasih! Jualan tercatat: cabai 5 ikat, Rp3.000/ikat. Kode: C4. Ubah stok: STOK C4 "
         "jumlah. Hapus: HAPUS C4"),
        (SITI, 'STOK',
         "Jualan Bapak/Ibu: C4 cabai 5 ikat Rp3.000/ikat; C3 cabai 10 kg Rp12.000/kg; C2 cabai 70 kg "
         "Rp13.000/kg. Ubah stok: STOK kode jumlah"),
    ])


def test_selling_the_same_product_again_in_english(chat_en):
    """The same in English; an unclear answer asks again."""
    chat_en.play([
        (SITI, 'SELL cabai 50kg 12rb',
         "Thank you! Listed: cabai 50 kg, Rp12.000/kg. Code: C2. Change stock: STOCK C2 quantity. "
         "Remove: DELETE C2"),
        (SITI, 'SELL chili 20kg 13000',
         "You already sell cabai (C2, 50 kg). Reply ADD to add 20 kg to C2, or NEW for a new "
         "listing."),
        (SITI, 'maybe',
         "Please reply ADD to add to C2, or NEW for a new listing. Send CANCEL if you change your mind."),
        (SITI, 'ADD',
         "Thank you! 20 kg added to C2 cabai, now 70 kg, Rp13.000/kg. Change stock: STOCK C2 "
         "quantity"),
    ])

