"""Dialog tables for registration, the global commands and the stranger's welcome (id, en)."""

from __future__ import annotations

import pytest

from bot.services.contacts import find_contact_by_phone
from tests.dialogs import BUDI, SITI, Conversation

WELCOME_ID = ("Selamat datang di Jembatan! Penjual: DAFTAR nama, desa. Pembeli: DAFTAR PEMBELI usaha, kota. "
              "Contoh: DAFTAR Siti, Sukamaju. Info: BANTUAN")
WELCOME_EN = ("Welcome to Jembatan! Sellers: REGISTER name, village. Buyers: REGISTER BUYER business, city. "
              "Example: REGISTER Siti, Sukamaju. Info: HELP")
ASK_NAME_ID = "Siapa nama Bapak/Ibu? Balas dengan nama saja. Contoh: Siti. Ketik BATAL bila tidak jadi."
DONE_SITI_ID = ("Terima kasih, Siti dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL "
                "produk jumlah harga. Contoh: JUAL cabai 50kg 12rb")
ASK_VILLAGE_SITI_ID = ("Terima kasih, Siti. Dari desa mana? Balas dengan nama desa. Contoh: Sukamaju. Ketik "
                       "BATAL bila tidak jadi.")


@pytest.fixture
def chat(tmp_path):
    return Conversation(tmp_path)


def test_register_in_one_message(chat):
    chat.play([
        (SITI, "DAFTAR Siti Aminah, Sukamaju",
         "Terima kasih, Siti Aminah dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL "
         "produk jumlah harga. Contoh: JUAL cabai 50kg 12rb"),
        (SITI, "daftar siti, sukamaju",
         "Nomor ini sudah terdaftar atas nama Siti Aminah, Sukamaju. Ketik BANTUAN untuk melihat "
         "daftar perintah."),
    ])
    contact = find_contact_by_phone(chat.db, SITI)
    assert (contact["role"], contact["name"], contact["village"]) == ("seller", "Siti Aminah", "Sukamaju")


def test_register_asks_for_what_is_missing(chat):
    chat.play([
        (SITI, "DAFTAR", ASK_NAME_ID),
        (SITI, "siti aminah",
         "Terima kasih, Siti Aminah. Dari desa mana? Balas dengan nama desa. Contoh: Sukamaju. Ketik BATAL "
         "bila tidak jadi."),
        (SITI, "Sukamaju",
         "Terima kasih, Siti Aminah dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL "
         "produk jumlah harga. Contoh: JUAL cabai 50kg 12rb"),
    ])


def test_invalid_answer_reasks_and_cancel_leaves(chat):
    chat.play([
        (SITI, "DAFTAR Siti", ASK_VILLAGE_SITI_ID),
        (SITI, "?",
         "Maaf, nama desa harus 2-40 huruf. Balas dengan nama desa. Contoh: Sukamaju. Ketik BATAL bila "
         "tidak jadi."),
        (SITI, "BATAL", "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah."),
        (SITI, "Sukamaju", WELCOME_ID),
    ])
    assert find_contact_by_phone(chat.db, SITI)["role"] is None


def test_name_answer_can_carry_the_village(chat):
    chat.play([(SITI, "DAFTAR", ASK_NAME_ID), (SITI, "Siti, Sukamaju", DONE_SITI_ID)])


def test_a_new_register_command_restarts_the_dialog(chat):
    chat.play([(SITI, "DAFTAR", ASK_NAME_ID), (SITI, "DAFTAR Siti, Sukamaju", DONE_SITI_ID)])


def test_dialog_expires(chat):
    chat.play([(SITI, "DAFTAR Siti", ASK_VILLAGE_SITI_ID)])
    chat.advance(minutes=31)
    chat.play([(SITI, "Sukamaju",
                "Pertanyaan sebelumnya sudah kedaluwarsa. Silakan ketik perintahnya lagi dari awal.")])
    assert find_contact_by_phone(chat.db, SITI)["role"] is None


def test_dialog_survives_within_its_timeout(chat):
    chat.play([(SITI, "DAFTAR Siti", ASK_VILLAGE_SITI_ID)])
    chat.advance(minutes=29)
    chat.play([(SITI, "Sukamaju", DONE_SITI_ID)])


def test_global_commands_beat_an_open_dialog(chat):
    chat.play([
        (SITI, "DAFTAR", ASK_NAME_ID),
        (SITI, "BANTUAN DAFTAR",
         "DAFTAR nama, desa - daftar sebagai penjual. Contoh: DAFTAR Siti, Sukamaju"),
        (SITI, "Siti", ASK_VILLAGE_SITI_ID),
        (SITI, "BERHENTI", "Bapak/Ibu tidak akan menerima siaran lagi. Balasan perintah tetap dikirim. "
                           "Ketik MULAI untuk menerima siaran lagi."),
        (SITI, "Sukamaju", WELCOME_ID),
        (SITI, "MULAI", "Selamat datang kembali! Bapak/Ibu akan menerima siaran lagi. "
                        "Ketik BERHENTI untuk berhenti."),
    ])
    assert find_contact_by_phone(chat.db, SITI)["opted_out"] == 0


def test_stop_and_start_flip_the_opt_out(chat):
    chat.send(BUDI, "STOP")
    assert find_contact_by_phone(chat.db, BUDI)["opted_out"] == 1
    chat.send(BUDI, "start")
    assert find_contact_by_phone(chat.db, BUDI)["opted_out"] == 0


def test_cancel_with_nothing_open(chat):
    chat.play([(SITI, "batal",
                "Tidak ada yang perlu dibatalkan. Ketik BANTUAN untuk melihat daftar perintah.")])


def test_stranger_gets_the_welcome_for_anything_else(chat):
    chat.play([
        (BUDI, "halo pak", WELCOME_ID),
        (BUDI, "", WELCOME_ID),
        (BUDI, "SALDO", "Perintah SALDO untuk penjual. Mohon daftar dulu: DAFTAR nama, desa. Contoh: "
                        "DAFTAR Siti, Sukamaju. Lalu kirim lagi SALDO Bapak/Ibu."),
        (BUDI, "BANTUAN", "Perintah: DAFTAR nama, desa (penjual); DAFTAR PEMBELI usaha, kota "
                          "(pembeli); BAHASA en; BERHENTI (tanpa siaran). Contoh: BANTUAN DAFTAR"),
    ])


def test_near_miss_gets_a_suggestion_not_an_action(chat):
    chat.play([
        (SITI, "DAFTR Siti, Sukamaju",
         "Maaf, perintah tidak dikenal. Maksud Bapak/Ibu DAFTAR? Ketik BANTUAN DAFTAR untuk contoh."),
    ])
    assert find_contact_by_phone(chat.db, SITI)["role"] is None


def test_english_dialog_and_language_switch(chat):
    chat.play([
        (SITI, "BAHASA en", "OK, replies are now in English. Send LANGUAGE id for Bahasa Indonesia."),
        (SITI, "hello", WELCOME_EN),
        (SITI, "REGISTER",
         "What is your name? Reply with just your name. Example: Siti. Send CANCEL if you change your mind."),
        (SITI, "Siti", "Thank you, Siti. Which village are you from? Reply with the village. Example: "
                       "Sukamaju. Send CANCEL if you change your mind."),
        (SITI, "CANCEL", "OK, cancelled. Send HELP to see the list of commands."),
        (SITI, "CANCEL", "There is nothing to cancel. Send HELP to see the list of commands."),
        (SITI, "REGISTER Siti, Sukamaju",
         "Thank you, Siti from Sukamaju. You are registered as a seller. To sell: SELL product quantity "
         "price. Example: SELL chili 50kg 12000"),
        (SITI, "REGISTER Siti, Sukamaju",
         "This number is already registered to Siti, Sukamaju. Send HELP to see the list of "
         "commands."),
        (SITI, "HELP", "SELL, STOCK, DELETE, PRICE, SUBSCRIBE, YES/NO, SHIP, BALANCE, WITHDRAW, "
                       "ACCOUNT, PIN, MORE, REPORT, LANGUAGE, STOP, CANCEL. Example: HELP SELL"),
        (SITI, "HELP REGISTER",
         "REGISTER name, village - sign up as a seller. Example: REGISTER Siti, Sukamaju"),
        (SITI, "hello", "Sorry, we did not understand your message. Send HELP to see the list of "
                        "commands."),
        (SITI, "DAFTR", "Sorry, unknown command. Did you mean REGISTER? Send HELP REGISTER for an "
                        "example."),
        (SITI, "STOP", "You will not receive broadcasts any more. Replies to your commands still "
                       "come. Send START to receive them again."),
        (SITI, "START", "Welcome back! You will receive broadcasts again. Send STOP to stop them."),
        (SITI, "LANGUAGE", "Choose a language: LANGUAGE id (Indonesian) or LANGUAGE en (English)."),
        (SITI, "BAHASA id", "Baik, balasan sekarang dalam Bahasa Indonesia. Ketik BAHASA en untuk "
                            "English."),
    ])


def test_registered_seller_unknown_and_empty_text(chat):
    chat.send(SITI, "DAFTAR Siti, Sukamaju")
    chat.play([
        (SITI, "apa kabar",
         "Maaf, pesan Bapak/Ibu tidak dimengerti. Ketik BANTUAN untuk melihat daftar perintah."),
        (SITI, "   ", "Pesan Bapak/Ibu kosong. Ketik BANTUAN untuk melihat daftar perintah."),
    ])
