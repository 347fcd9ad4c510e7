"""Dialog tables for how sellers really write (issue 14), in Indonesian and English: money
and stock are never guessed (price sanity, per-kg-or-per-ons, bundle prices, number words,
compound amounts, STOK tambah/kurang/habis) and an open question never swallows a new
command or another product. Generated rows are exact replies; real SQLite, real engine."""

from __future__ import annotations

import pytest

from tests.dialogs import SITI, Conversation, in_english, siti_and_budi, with_chili_reference_price


@pytest.fixture
def chat(tmp_path):
    """Siti and Budi registered; chili has a reference price of Rp12.000/kg."""
    return with_chili_reference_price(siti_and_budi(tmp_path))


@pytest.fixture
def chat_en(chat):
    return in_english(chat)


def test_price_far_from_usual_is_asked_before_publishing(chat):
    """Rp1.500.000/kg for chili that usually fetches Rp12.000/kg: asked; YA publishes it."""
    chat.play([
        (SITI, 'JUAL cabai 50kg 1,5jt',
         "Harga Rp1.500.000/kg? Biasanya sekitar Rp12.000/kg. Balas YA bila benar, atau kirim "
         "harga yang benar."),
        (SITI, 'YA',
         "Terima kasih! Jualan tercatat: cabai 50 kg, Rp1.500.000/kg. Kode: C2. Ubah stok: STOK C2 "
         "jumlah. Hapus: HAPUS C2"),
    ])


def test_price_far_from_usual_can_be_corrected(chat):
    """The seller corrects the price instead of confirming it."""
    chat.play([
        (SITI, 'JUAL cabai 50kg 1,5jt',
         "Harga Rp1.500.000/kg? Biasanya sekitar Rp12.000/kg. Balas YA bila benar, atau kirim "
         "harga yang benar."),
        (SITI, '15rb',
         "Terima kasih! Jualan tercatat: cabai 50 kg, Rp15.000/kg. Kode: C2. Ubah stok: STOK C2 "
         "jumlah. Hapus: HAPUS C2"),
    ])


def test_price_far_from_usual_is_asked_in_english(chat_en):
    """The same question in English."""
    chat_en.play([
        (SITI, 'SELL cabai 50kg 1,5jt',
         "Is the price Rp1.500.000/kg? It is usually about Rp12.000/kg. Reply YES if so, or send the right "
         "price."),
        (SITI, 'NO',
         "What is the price of cabai per kg? Reply with the price. Example: 12000. Send CANCEL if you "
         "change your mind."),
        (SITI, '12000',
         "Thank you! Listed: cabai 50 kg, Rp12.000/kg. Code: C2. Change stock: STOCK C2 quantity. "
         "Remove: DELETE C2"),
    ])


def test_price_after_ons_is_asked_per_kg_or_per_ons(chat):
    """"5 ons 8rb": per kg or per ons? Both readings are shown; the answer decides."""
    chat.play([
        (SITI, 'JUAL tomat 5 ons 8rb',
         "Harga tomat per kg Rp8.000 atau Rp80.000? Mohon balas harga per kg. Contoh: 12rb."),
        (SITI, '8rb/ons',
         "Terima kasih! Jualan tercatat: tomat 0,5 kg, Rp80.000/kg. Kode: T2. Ubah stok: STOK T2 "
         "jumlah. Hapus: HAPUS T2"),
    ])


def test_price_after_ons_is_asked_in_english(chat_en):
    """The same in English, answered with the price per kg."""
    chat_en.play([
        (SITI, 'SELL tomat 5 ons 8rb',
         "Is the price of tomat per kg Rp8.000 or Rp80.000? Please reply with the price per kg. Example: "
         "12000."),
        (SITI, '80000',
         "Thank you! Listed: tomat 0,5 kg, Rp80.000/kg. Code: T2. Change stock: STOCK T2 quantity. "
         "Remove: DELETE T2"),
    ])


def test_bundle_price_is_asked(chat):
    """"15rb 4 ikat": for each ikat, or for the four? Asked."""
    chat.play([
        (SITI, 'JUAL bayam 15rb 4 ikat',
         "Harga bayam per ikat Rp3.750 atau Rp15.000? Mohon balas harga per ikat. Contoh: 12rb."),
        (SITI, '15rb',
         "Terima kasih! Jualan tercatat: bayam 4 ikat, Rp15.000/ikat. Kode: B2. Ubah stok: STOK B2 "
         "jumlah. Hapus: HAPUS B2"),
    ])


def test_bundle_price_is_asked_in_english(chat_en):
    """The same in English."""
    chat_en.play([
        (SITI, 'SELL bayam 15rb 4 ikat',
         "Is the price of bayam per ikat Rp3.750 or Rp15.000? Please reply with the price per ikat. "
         "Example: 12000."),
        (SITI, '3750',
         "Thank you! Listed: bayam 4 ikat, Rp3.750/ikat. Code: B2. Change stock: STOCK B2 "
         "quantity. Remove: DELETE B2"),
    ])


def test_number_words_are_confirmed_in_digits(chat):
    """"dua puluh ribu" is offered back as Rp20.000/kg and used only after YA."""
    chat.play([
        (SITI, 'JUAL tomat 50kg dua puluh ribu',
         "Harga tomat Rp20.000/kg? Balas YA bila benar, atau kirim harganya dengan angka. Contoh: 20rb."),
        (SITI, 'YA',
         "Terima kasih! Jualan tercatat: tomat 50 kg, Rp20.000/kg. Kode: T2. Ubah stok: STOK T2 "
         "jumlah. Hapus: HAPUS T2"),
    ])


def test_number_words_are_confirmed_in_english(chat_en):
    """The same in English; TIDAK/NO asks for the price in digits."""
    chat_en.play([
        (SITI, 'SELL tomat 50kg dua puluh ribu',
         "Is the price of tomat Rp20.000/kg? Reply YES if so, or send the price in digits. Example: 20000."),
        (SITI, 'NO',
         "What is the price of tomat per kg? Reply with the price. Example: 12000. Send CANCEL if you "
         "change your mind."),
        (SITI, '20000',
         "Thank you! Listed: tomat 50 kg, Rp20.000/kg. Code: T2. Change stock: STOCK T2 quantity. "
         "Remove: DELETE T2"),
    ])


def test_ambiguous_thousands_are_offered_back(chat):
    """"15,000" is not read as 15 rupiah nor silently as 15.000: it is offered back."""
    chat.play([
        (SITI, 'JUAL tomat 50kg 15,000',
         "Harga tomat Rp15.000/kg? Balas YA bila benar, atau kirim harganya dengan angka. Contoh: 20rb."),
        (SITI, 'YA',
         "Terima kasih! Jualan tercatat: tomat 50 kg, Rp15.000/kg. Kode: T2. Ubah stok: STOK T2 "
         "jumlah. Hapus: HAPUS T2"),
    ])


def test_ambiguous_thousands_are_offered_back_in_english(chat_en):
    """The same in English: "15,000" is offered back, and NO asks for the price."""
    chat_en.play([
        (SITI, 'SELL tomat 50kg 15,000',
         "Is the price of tomat Rp15.000/kg? Reply YES if so, or send the price in digits. Example: 20000."),
        (SITI, 'NO',
         "What is the price of tomat per kg? Reply with the price. Example: 12000. Send CANCEL if you "
         "change your mind."),
        (SITI, '15000',
         "Thank you! Listed: tomat 50 kg, Rp15.000/kg. Code: T2. Change stock: STOCK T2 quantity. Remove: "
         "DELETE T2"),
    ])


def test_compound_price_is_read_exactly(chat):
    """"3 juta 750 ribu" is one price, read in full and repeated back."""
    chat.play([
        (SITI, 'JUAL sapi 1 ekor 3 juta 750 ribu',
         "Terima kasih! Jualan tercatat: sapi 1 ekor, Rp3.750.000/ekor. Kode: S2. Ubah stok: STOK "
         "S2 jumlah. Hapus: HAPUS S2"),
    ])


def test_compound_price_is_read_exactly_in_english(chat_en):
    """The same in English."""
    chat_en.play([
        (SITI, 'SELL sapi 1 ekor 3jt750',
         "Thank you! Listed: sapi 1 ekor, Rp3.750.000/ekor. Code: S2. Change stock: STOCK S2 "
         "quantity. Remove: DELETE S2"),
    ])


def test_stock_add_remove_and_sold_out(chat):
    """STOK tambah/kurang change the stock by that much and echo the new total; habis is 0."""
    chat.play([
        (SITI, 'JUAL kangkung 30 ikat 3rb',
         "Terima kasih! Jualan tercatat: kangkung 30 ikat, Rp3.000/ikat. Kode: K2. Ubah stok: STOK "
         "K2 jumlah. Hapus: HAPUS K2"),
        (SITI, 'STOK K2 tambah 20',
         "Stok K2 kangkung ditambah 20 ikat, sekarang 50 ikat. Terima kasih."),
        (SITI, 'STOK K2 kurang 5',
         "Stok K2 kangkung dikurangi 5 ikat, sekarang 45 ikat. Terima kasih."),
        (SITI, 'STOK K2 kurang 100',
         "Maaf, stok K2 hanya 45 ikat, jadi tidak bisa dikurangi sebanyak itu. Ketik STOK K2 habis "
         "bila sudah habis."),
        (SITI, 'STOK K2 habis',
         "Stok K2 kangkung sekarang 0 ikat. Terima kasih."),
    ])


def test_stock_add_remove_and_sold_out_in_english(chat_en):
    """The same in English."""
    chat_en.play([
        (SITI, 'SELL kangkung 30 ikat 3rb',
         "Thank you! Listed: kangkung 30 ikat, Rp3.000/ikat. Code: K2. Change stock: STOCK K2 "
         "quantity. Remove: DELETE K2"),
        (SITI, 'STOCK K2 add 20',
         "Stock of K2 kangkung up by 20 ikat, now 50 ikat. Thank you."),
        (SITI, 'STOCK K2 minus 5',
         "Stock of K2 kangkung down by 5 ikat, now 45 ikat. Thank you."),
        (SITI, 'STOCK K2 minus 100',
         "Sorry, K2 has only 45 ikat in stock, so it cannot go down that much. Send STOCK K2 0 if "
         "none is left."),
        (SITI, 'STOCK K2 sold out',
         "Stock of K2 kangkung is now 0 ikat. Thank you."),
    ])


def test_mistyped_command_during_a_question_is_asked_about(chat):
    """"jaul tomat 3kg 9rb" while the chili price is asked: not taken as the answer."""
    chat.play([
        (SITI, 'JUAL cabai 50kg',
         "Berapa harga cabai per kg? Balas harganya. Contoh: 12rb. Ketik BATAL bila tidak jadi."),
        (SITI, 'jaul tomat 3kg 9rb',
         "Maksud Bapak/Ibu JUAL? Bila ya, mohon ketik ulang diawali JUAL. Pertanyaan sebelumnya masih "
         "menunggu jawaban."),
        (SITI, '12rb',
         "Terima kasih! Jualan tercatat: cabai 50 kg, Rp12.000/kg. Kode: C2. Ubah stok: STOK C2 "
         "jumlah. Hapus: HAPUS C2"),
    ])


def test_mistyped_command_during_a_question_in_english(chat_en):
    """The same in English, with a keyword too short to suggest: the other product is noticed."""
    chat_en.play([
        (SITI, 'SELL cabai 50kg',
         "What is the price of cabai per kg? Reply with the price. Example: 12000. Send CANCEL if you "
         "change your mind."),
        (SITI, 'sel tomat 3kg 9rb',
         "The question was about cabai, not tomat. Please answer for cabai, or send SELL tomat "
         "with its quantity and price."),
        (SITI, '12000',
         "Thank you! Listed: cabai 50 kg, Rp12.000/kg. Code: C2. Change stock: STOCK C2 quantity. "
         "Remove: DELETE C2"),
    ])


def test_answer_about_another_product_is_asked_about(chat):
    """"jagung 3kg 9rb" to "how much cabai?" is not cabai."""
    chat.play([
        (SITI, 'JUAL cabai',
         "Berapa banyak cabai yang dijual? Balas jumlah dan satuan. Contoh: 50 kg. Ketik BATAL bila tidak "
         "jadi."),
        (SITI, 'jagung 3kg 9rb',
         "Pertanyaan tadi tentang cabai, bukan jagung. Mohon jawab untuk cabai, atau ketik JUAL "
         "jagung dengan jumlah dan harganya."),
        (SITI, '50kg 12rb',
         "Terima kasih! Jualan tercatat: cabai 50 kg, Rp12.000/kg. Kode: C2. Ubah stok: STOK C2 "
         "jumlah. Hapus: HAPUS C2"),
    ])


def test_answer_about_another_product_in_english(chat_en):
    """The same in English."""
    chat_en.play([
        (SITI, 'SELL cabai',
         "How much cabai are you selling? Reply with quantity and unit. Example: 50 kg. Send CANCEL if you "
         "change your mind."),
        (SITI, 'jagung 3kg 9rb',
         "The question was about cabai, not jagung. Please answer for cabai, or send SELL jagung "
         "with its quantity and price."),
        (SITI, '50kg 12000',
         "Thank you! Listed: cabai 50 kg, Rp12.000/kg. Code: C2. Change stock: STOCK C2 quantity. "
         "Remove: DELETE C2"),
    ])


def test_new_command_during_a_question_runs(chat):
    """A real command during a question is that command: the question is left."""
    chat.play([
        (SITI, 'JUAL cabai 50kg',
         "Berapa harga cabai per kg? Balas harganya. Contoh: 12rb. Ketik BATAL bila tidak jadi."),
        (SITI, 'JUAL tomat 3kg 9rb',
         "Terima kasih! Jualan tercatat: tomat 3 kg, Rp9.000/kg. Kode: T2. Ubah stok: STOK T2 "
         "jumlah. Hapus: HAPUS T2"),
        (SITI, '12rb',
         "Maaf, pesan Bapak/Ibu tidak dimengerti. Ketik BANTUAN untuk melihat daftar perintah."),
    ])


def test_new_command_during_a_question_runs_in_english(chat_en):
    """The same in English: SELL during the price question is a new listing."""
    chat_en.play([
        (SITI, 'SELL cabai 50kg',
         "What is the price of cabai per kg? Reply with the price. Example: 12000. Send CANCEL if you "
         "change your mind."),
        (SITI, 'SELL tomat 3kg 9000',
         "Thank you! Listed: tomat 3 kg, Rp9.000/kg. Code: T2. Change stock: STOCK T2 quantity. Remove: "
         "DELETE T2"),
        (SITI, '12000',
         "Sorry, we did not understand your message. Send HELP to see the list of commands."),
    ])



def test_regional_yes_answers_our_own_question(chat):
    """"nggih" alone only gets a suggestion elsewhere, but it answers the price question."""
    chat.play([
        (SITI, 'JUAL cabai 50kg 1,5jt',
         "Harga Rp1.500.000/kg? Biasanya sekitar Rp12.000/kg. Balas YA bila benar, atau kirim "
         "harga yang benar."),
        (SITI, 'nggih',
         "Terima kasih! Jualan tercatat: cabai 50 kg, Rp1.500.000/kg. Kode: C2. Ubah stok: STOK C2 "
         "jumlah. Hapus: HAPUS C2"),
        (SITI, 'nggih',
         "Maaf, perintah tidak dikenal. Maksud Bapak/Ibu YA? Ketik BANTUAN YA untuk contoh."),
    ])



TINI = "+6281311112222"  # a city buyer


@pytest.mark.parametrize("language, yes, which, accepted", [
    ("id", "YA", "Ada 1 pesanan menunggu jawaban: P2 20 kg cabai. Balas YA kode atau TIDAK kode.",
     "Pesanan P2 Bapak/Ibu setujui. Mohon siapkan 20 kg cabai untuk Warung Bu Tini, Bandung. Setelah "
     "dikirim, balas KIRIM P2"),
    ("en", "YES", "Orders waiting for your answer (1): P2 20 kg cabai. Reply YES code or NO code.",
     "You accepted order P2. Prepare 20 kg cabai for Warung Bu Tini, Bandung. Once it is sent, "
     "reply SHIP P2"),
])
def test_a_number_that_is_no_code_never_accepts_the_waiting_order(tmp_path, language, yes, which,
                                                                  accepted):
    """`YA 2` (no letter) lists the waiting orders instead of accepting the only one;
    `ya p 2` (a spaced code) is P2."""
    chat = Conversation(tmp_path)
    chat.send(SITI, "DAFTAR Siti Aminah, Sukamaju")
    chat.send(SITI, f"BAHASA {language}")
    chat.send(SITI, "JUAL cabai 50kg 12rb")
    chat.send(TINI, "DAFTAR PEMBELI Warung Bu Tini, Bandung")
    chat.send(TINI, "PESAN C2 20")
    chat.play([
        (SITI, f"{yes} 2", which),
        (SITI, f"{yes.lower()} p 2", accepted),
    ])


def test_ways_of_writing_are_understood(chat):
    """Lead-ins, inflected keywords, regional words, markup and units as people write them."""
    chat.play([
        (TINI, 'daftar sbg pembeli Warung Bu Tini, Bandung',
         "Terima kasih, Warung Bu Tini di Bandung. Bapak/Ibu terdaftar sebagai pembeli. Cari barang: CARI "
         "produk. Contoh: CARI cabai"),
        (SITI, 'saya mau jual kangkung 30 ikat 3rb makasih',
         "Terima kasih! Jualan tercatat: kangkung 30 ikat, Rp3.000/ikat. Kode: K2. Ubah stok: STOK "
         "K2 jumlah. Hapus: HAPUS K2"),
        (SITI, '_STOK_ K2 kurang 5',
         "Stok K2 kangkung dikurangi 5 ikat, sekarang 25 ikat. Terima kasih."),
        (SITI, 'tolong cek saldo',
         "Saldo Bapak/Ibu Rp0. Sedang ditransfer Rp0. Sudah cair bulan ini Rp0. Untuk tarik: TARIK jumlah. "
         "Contoh: TARIK 500rb"),
        (SITI, 'cara jual',
         "JUAL produk jumlah harga - pasang jualan. Contoh: JUAL cabai 50kg 12rb. Harga ditulis per satuan "
         "(per kg, per ikat). Foto bisa dikirim lewat WhatsApp."),
        (SITI, 'langganan cabai',
         "Baik, Bapak/Ibu akan menerima kabar harga cabai. Ketik BERHENTI untuk berhenti menerima "
         "siaran."),
        (SITI, 'JUAL beras 3 sak 300rb',
         "Terima kasih! Jualan tercatat: beras 3 karung, Rp300.000/karung. Kode: B2. Ubah stok: "
         "STOK B2 jumlah. Hapus: HAPUS B2"),
        (SITI, 'gak jadi',
         "Tidak ada yang perlu dibatalkan. Ketik BANTUAN untuk melihat daftar perintah."),
        (TINI, 'cari kangkung🥬',
         "Jualan kangkung termurah: K2 Rp3.000/ikat 25 ikat Sukamaju. Pesan: PESAN kode jumlah"),
    ])


def test_ways_of_writing_in_english(chat_en):
    """The same kinds of writing in English."""
    chat_en.play([
        (TINI, 'register as a buyer Warung Bu Tini, Bandung',
         "Terima kasih, Warung Bu Tini di Bandung. Bapak/Ibu terdaftar sebagai pembeli. Cari barang: CARI "
         "produk. Contoh: CARI cabai"),
        (SITI, 'I want to sell kangkung 30 ikat 3000 thanks',
         "Thank you! Listed: kangkung 30 ikat, Rp3.000/ikat. Code: K2. Change stock: STOCK K2 "
         "quantity. Remove: DELETE K2"),
        (SITI, 'please check balance',
         "Your balance is Rp0. Being transferred: Rp0. Paid out this month: Rp0. Withdraw: WITHDRAW "
         "amount. Example: WITHDRAW 500000"),
        (SITI, 'how sell',
         "SELL product quantity price - list your produce. Example: SELL chili 50kg 12000. The price is "
         "per unit (per kg, per ikat). Photos via WhatsApp."),
        (SITI, 'STOCK K2 add 5',
         "Stock of K2 kangkung up by 5 ikat, now 35 ikat. Thank you."),
    ])

