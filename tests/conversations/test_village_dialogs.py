"""Same-named villages in different provinces at registration (issue 17, DECISIONS 336),
id and en: a village name recorded in more than one province is asked about by number
(or a province's name), never guessed; a name with one province needs no question."""

from __future__ import annotations

import pytest

from bot.services import schedule
from bot.services.contacts import find_contact_by_phone
from bot.storage import transaction
from conversations.replies import render
from tests.dialogs import BUDI, SITI, Conversation

ASK_ID = ("Desa Sukamaju ada di 3 provinsi. Mohon balas nomor provinsi Bapak/Ibu: 1 Jawa Barat; "
          "2 Jawa Tengah; 3 Lampung")
ASK_EN = ("There is a Sukamaju in 3 provinces. Please reply with the number of yours: 1 Jawa Barat; "
          "2 Jawa Tengah; 3 Lampung")
DONE_ID = ("Terima kasih, Siti dari Sukamaju, {province}. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: "
           "JUAL produk jumlah harga. Contoh: JUAL cabai 50kg 12rb")
DONE_EN = ("Thank you, Siti from Sukamaju, {province}. You are registered as a seller. To sell: SELL product "
           "quantity price. Example: SELL chili 50kg 12000")


@pytest.fixture
def chat(tmp_path):
    conversation = Conversation(tmp_path)
    with transaction(conversation.db):
        for province in ("Jawa Tengah", "Lampung", "Jawa Barat"):
            schedule.set_village_province(conversation.db, "Sukamaju", province)
        schedule.set_village_province(conversation.db, "Cibodas", "Jawa Barat")
    return conversation


def province_of(chat, phone=SITI) -> str | None:
    return find_contact_by_phone(chat.db, phone)["province"]


def test_a_village_in_three_provinces_is_asked_about_by_number(chat):
    chat.play([(SITI, "DAFTAR Siti, Sukamaju", ASK_ID),
               (SITI, "2", DONE_ID.format(province="Jawa Tengah"))])
    contact = find_contact_by_phone(chat.db, SITI)
    assert (contact["role"], contact["village"], contact["province"]) == ("seller", "Sukamaju", "Jawa Tengah")


def test_the_question_comes_after_the_village_is_asked_too(chat):
    chat.play([
        (SITI, "DAFTAR Siti", "Terima kasih, Siti. Dari desa mana? Balas dengan nama desa. Contoh: Sukamaju. "
                              "Ketik BATAL bila tidak jadi."),
        (SITI, "sukamaju", ASK_ID),
        (SITI, "nomor 3.", DONE_ID.format(province="Lampung")),
    ])
    assert province_of(chat) == "Lampung"


def test_a_wrong_answer_asks_again_and_a_province_name_answers(chat):
    chat.play([
        (SITI, "DAFTAR Siti, Sukamaju", ASK_ID),
        (SITI, "7", ASK_ID),
        (SITI, "Sukabumi", ASK_ID),
        (SITI, "jawa  barat", DONE_ID.format(province="Jawa Barat")),
    ])
    assert province_of(chat) == "Jawa Barat"


def test_a_province_the_list_lacks_is_taken_by_name(chat):
    """A Sukamaju nobody recorded in Bali yet: the seller's own answer is not guessed away."""
    chat.play([(SITI, "DAFTAR Siti, Sukamaju", ASK_ID), (SITI, "Bali", DONE_ID.format(province="Bali"))])
    assert province_of(chat) == "Bali"


def test_cancel_while_asked_registers_nobody(chat):
    chat.play([(SITI, "DAFTAR Siti, Sukamaju", ASK_ID),
               (SITI, "BATAL", "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah.")])
    assert find_contact_by_phone(chat.db, SITI)["role"] is None


def test_a_village_with_one_province_is_not_asked_and_gets_it(chat):
    chat.play([(BUDI, "DAFTAR Budi, Cibodas",
                "Terima kasih, Budi dari Cibodas. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL "
                "produk jumlah harga. Contoh: JUAL cabai 50kg 12rb")])
    assert province_of(chat, BUDI) == "Jawa Barat"


def test_a_village_nobody_recorded_has_no_province(chat):
    chat.play([(BUDI, "DAFTAR Budi, Sindangsari",
                "Terima kasih, Budi dari Sindangsari. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL "
                "produk jumlah harga. Contoh: JUAL cabai 50kg 12rb")])
    assert province_of(chat, BUDI) is None


def test_in_english(chat):
    chat.play([
        (SITI, "LANGUAGE en", "OK, replies are now in English. Send LANGUAGE id for Bahasa Indonesia."),
        (SITI, "REGISTER Siti, Sukamaju", ASK_EN),
        (SITI, "four", ASK_EN),
        (SITI, "1", DONE_EN.format(province="Jawa Barat")),
    ])
    assert province_of(chat) == "Jawa Barat"


def test_many_provinces_still_fit_one_sms_and_any_may_be_named(tmp_path):
    chat = Conversation(tmp_path)
    many = ["Aceh", "Bali", "Banten", "Bengkulu", "Gorontalo", "Jambi", "Jawa Barat", "Jawa Tengah",
            "Jawa Timur", "Kalimantan Barat", "Lampung", "Maluku", "Papua", "Riau"]
    with transaction(chat.db):
        for province in many:
            schedule.set_village_province(chat.db, "Sukamaju", province)
    asked = chat.send(SITI, "DAFTAR Siti, Sukamaju")
    assert asked.startswith("Desa Sukamaju ada di 14 provinsi. Mohon balas nomornya: 1 Aceh; 2 Bali; ")
    assert asked.endswith("; atau balas nama provinsi Bapak/Ibu") and "14 Riau" not in asked
    assert asked == render("register.ask_province_more", "id", village="Sukamaju", count=14,
                           items=asked.split("nomornya: ")[1].split("; atau")[0], more=0)
    assert chat.send(SITI, "Riau") == DONE_ID.format(province="Riau")
    with transaction(chat.db):  # the sellers already in a village keep theirs
        schedule.set_village_province(chat.db, "Sukamaju", "Sulawesi Barat")
    assert province_of(chat) == "Riau"
