"""A newcomer's trial (DECISIONS 450): every command BANTUAN / HELP lists has its own help,
for sellers, buyers and coordinators, in Indonesian and English; a coordinator asking about
HARGA is shown how to publish a price."""

from __future__ import annotations

import re

import pytest

from bot.services.coordinators import grant_coordinator
from conversations.replies import render
from tests.dialogs import BUDI, SITI, Conversation

KOORD = "+6281311112222"
PEMBELI = "+6281355556666"


@pytest.fixture
def chat(tmp_path):
    conversation = Conversation(tmp_path, QUIET_HOURS="off")
    grant_coordinator(conversation.db, KOORD, "Sukamaju", conversation.now)
    conversation.send(SITI, "DAFTAR Siti, Sukamaju")
    conversation.send(BUDI, "DAFTAR Budi, Sukamaju")
    conversation.send(BUDI, "BAHASA en")
    conversation.send(PEMBELI, "DAFTAR PEMBELI Warung Bu Tini, Bandung")
    return conversation


def test_help_for_paging_and_broadcasts(chat):
    chat.play([
        (SITI, "BANTUAN LAGI", render("help.more", "id")),
        (BUDI, "HELP MORE", render("help.more", "en")),
        (KOORD, "BANTUAN SIARAN", render("help.broadcast", "id")),
        (KOORD, "BANTUAN SIARAN STATUS", render("help.broadcast", "id")),
        (SITI, "BANTUAN MULAI", render("help.stop", "id")),
    ])
    assert "SIARAN sukamaju Panen raya Sabtu" in render("help.broadcast", "id")
    assert "balas LAGI" in render("help.more", "id")


def test_a_coordinator_is_shown_how_to_publish_a_price(chat):
    chat.play([
        (KOORD, "BANTUAN HARGA",
         "HARGA produk harga [pasar] - terbitkan harga acuan untuk pelanggan produk itu. "
         "Contoh: HARGA cabai 11500 Pasar Induk. Lihat: HARGA cabai"),
        (SITI, "BANTUAN HARGA", render("help.price", "id")),
    ])


def _listed_keywords(help_text: str) -> list[str]:
    """The commands a help text lists: 'Perintah: JUAL, YA/TIDAK, ... Contoh: ...' ->
    ['JUAL', 'YA', 'TIDAK', ...]; a coordinator's 'HARGA produk harga [pasar]' -> 'HARGA'."""
    listing = help_text.rsplit(". ", 1)[0]
    listing = listing.split(":", 1)[-1]  # 'Perintah:' / 'Commands:', where there is one
    keywords = []
    for item in listing.split(","):
        words = []
        for word in item.split():
            if not re.fullmatch(r"[A-Z/]+", word):
                break
            words.append(word)
        for keyword in " ".join(words).split("/"):
            if keyword:
                keywords.append(keyword.strip())
    return keywords


@pytest.mark.parametrize("locale", ["id", "en"])
@pytest.mark.parametrize("who,help_id", [(SITI, "help.seller"), (PEMBELI, "help.buyer"),
                                         (KOORD, "help.coordinator")])
def test_every_listed_command_has_its_own_help(chat, locale, who, help_id):
    chat.send(who, "BAHASA en" if locale == "en" else "BAHASA id")
    help_word = "HELP" if locale == "en" else "BANTUAN"
    keywords = _listed_keywords(render(help_id, locale))
    assert len(keywords) >= 5, keywords
    unknown = render("help.topic_unknown", locale, topic="XYZ").split("XYZ")[0]
    for keyword in keywords:
        reply = chat.send(who, f"{help_word} {keyword}")
        assert not reply.startswith(unknown), f"{help_word} {keyword}: {reply}"


def test_a_strangers_seller_command_names_itself_in_both_languages(chat):
    stranger = "+6281377778888"
    chat.play([
        (stranger, "JUAL cabai 5kg 10rb",  # kept until DAFTAR (DECISIONS 490)
         "Perintah JUAL untuk penjual. Mohon daftar dulu: DAFTAR nama, desa. Contoh: DAFTAR Siti, "
         "Sukamaju. JUAL Bapak/Ibu kami simpan sampai terdaftar."),
        (stranger, "BAHASA en", render("language.set", "en")),
        (stranger, "SELL chili 5kg 10k",
         "SELL is for sellers. Please register first: REGISTER name, village. Example: REGISTER Siti, "
         "Sukamaju. We keep your SELL until you are registered."),
        (stranger, "BALANCE",
         "BALANCE is for sellers. Please register first: REGISTER name, village. Example: REGISTER Siti, "
         "Sukamaju. Then send your BALANCE again."),
    ])


def test_a_far_off_reference_price_is_asked_about_before_it_reaches_subscribers(chat):
    """The trial's coordinator typed `HARGA cabai 1,5jt` (meaning per kuintal, or a slip):
    it was published at Rp1.500.000/kg and broadcast at once (DECISIONS 456)."""
    chat.send(SITI, "LANGGAN cabai")
    chat.play([
        (KOORD, "HARGA cabai 11500 Pasar Induk",
         "Harga cabai Rp11.500/kg di Pasar Induk tercatat. Dikirim ke 1 pelanggan. Cek: SIARAN STATUS 1"),
        (KOORD, "HARGA cabai 1,5jt",
         "Harga acuan cabai Rp1.500.000/kg? Biasanya sekitar Rp11.500/kg. Balas YA untuk menerbitkan "
         "dan menyiarkannya, atau BATAL."),
        (KOORD, "halo", "Harga acuan cabai Rp1.500.000/kg? Biasanya sekitar Rp11.500/kg. Balas YA untuk "
                        "menerbitkan dan menyiarkannya, atau BATAL."),
        (KOORD, "BATAL", "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah."),
    ])
    assert chat.db.execute("SELECT COUNT(*) FROM reference_prices").fetchone()[0] == 1
    assert chat.db.execute("SELECT COUNT(*) FROM broadcasts").fetchone()[0] == 1
    chat.play([
        (KOORD, "HARGA cabai 12500", "Harga cabai Rp12.500/kg tercatat. Dikirim ke 1 pelanggan. "
                                     "Cek: SIARAN STATUS 2"),  # near the usual: no question
        (KOORD, "HARGA cabai 40rb",
         "Harga acuan cabai Rp40.000/kg? Biasanya sekitar Rp12.000/kg. Balas YA untuk menerbitkan dan "
         "menyiarkannya, atau BATAL."),
        (KOORD, "YA", "Harga cabai Rp40.000/kg tercatat. Dikirim ke 1 pelanggan. Cek: SIARAN STATUS 3"),
    ])
    chat.send(KOORD, "BAHASA en")
    chat.play([(KOORD, "PRICE cabai 2rb",
                "Reference price of cabai Rp2.000/kg? It is usually about Rp12.500/kg. Reply YES to publish "
                "and broadcast it, or CANCEL.")])
