"""Coordinators by text (id and en): publishing a price reaches subscribers only, SIARAN to a
village, SIARAN STATUS, and polite refusals that change nothing for everyone else."""

from __future__ import annotations

import pytest

from bot.services import schedule
from bot.services.broadcasts import latest_broadcast_by, plan_broadcast
from bot.services.coordinators import grant_coordinator
from bot.storage import fetch_all
from tests.dialogs import BUDI, SITI, Conversation

KOORD = "+6281311112222"
ANI = "+6281399990000"  # a seller in another village, not subscribed to cabai
EKO = "+6285655554444"  # subscribed to cabai, then opts out


@pytest.fixture
def chat(tmp_path):
    conversation = Conversation(tmp_path, ANDROID_GATEWAY_URL="http://hub", QUIET_HOURS="off")
    grant_coordinator(conversation.db, KOORD, "Sukamaju", conversation.now)
    conversation.send(SITI, "DAFTAR Siti, Sukamaju")
    conversation.send(SITI, "LANGGAN cabai")
    conversation.send(BUDI, "DAFTAR Budi, Sukamaju")
    conversation.send(BUDI, "BAHASA en")
    conversation.send(BUDI, "SUBSCRIBE cabe")
    conversation.send(ANI, "DAFTAR Ani, Makmur")
    conversation.send(EKO, "DAFTAR Eko, Sukamaju")
    conversation.send(EKO, "LANGGAN cabai")
    conversation.send(EKO, "BERHENTI")
    return conversation


def plan_latest(chat, actor=KOORD):
    broadcast = latest_broadcast_by(chat.db, actor)
    return plan_broadcast(chat.db, chat.settings, broadcast["id"], chat.now)


def broadcast_texts(chat):
    return {row["phone"]: row["body"] for row in fetch_all(
        chat.db, "SELECT phone, body FROM outbox WHERE lane = 'broadcast' ORDER BY id")}


def test_published_price_reaches_subscribers_only(chat):
    # 02:00 UTC = 09.00 WIB.
    chat.play([(KOORD, "HARGA cabai 11500 Pasar Induk",
                "Harga cabai Rp11.500/kg di Pasar Induk tercatat. Dikirim ke 2 pelanggan. "
                "Cek: SIARAN STATUS 1")])
    report = plan_latest(chat)
    assert (report.queued, report.skipped) == (2, 1)
    assert broadcast_texts(chat) == {
        SITI: "Harga cabai di Pasar Induk hari ini Rp11.500/kg (28/11 09.00 WIB). Info: BANTUAN HARGA. "
              "Tidak mau kabar ini: BERHENTI",
        BUDI: "Today's price of cabai at Pasar Induk: Rp11.500/kg (28/11 09.00 WIB). Info: HELP PRICE. "
              "No more of these: STOP",
    }
    # Sellers now read it back.
    chat.play([(SITI, "HARGA cabe",
                "Harga acuan cabai di Pasar Induk: Rp11.500/kg, diperbarui 28/11/2026 09.00 WIB.")])
    chat.play([(KOORD, "SIARAN STATUS",
                "Siaran #1 ke cabai: 3 penerima, 0 terkirim, 0 sampai, 0 gagal, 2 antre, 1 berhenti, "
                "0 kedaluwarsa.")])


def test_price_time_follows_the_recipients_zone(chat):
    schedule.set_village_province(chat.db, "Sukamaju", "Sulawesi Selatan")
    chat.send(KOORD, "HARGA cabai 11500")
    plan_latest(chat)
    assert broadcast_texts(chat)[SITI] == (
        "Harga cabai hari ini Rp11.500/kg (28/11 10.00 WITA). Info: BANTUAN HARGA. Tidak mau kabar "
        "ini: BERHENTI")


def test_opted_out_seller_gets_it_again_after_mulai(chat):
    chat.play([(EKO, "MULAI", "Selamat datang kembali! Bapak/Ibu akan menerima siaran lagi. "
                              "Ketik BERHENTI untuk berhenti.")])
    chat.send(KOORD, "HARGA cabai 12rb")
    assert plan_latest(chat).queued == 3
    assert EKO in broadcast_texts(chat)


def test_siaran_to_a_village(chat):
    chat.play([
        (KOORD, "SIARAN sukamaju Panen raya hari Sabtu",
         "Siaran #1 ke sukamaju sedang dikirim ke 2 penerima. Cek hasilnya: SIARAN STATUS 1"),
    ])
    assert plan_latest(chat).queued == 2
    assert broadcast_texts(chat) == {SITI: "Panen raya hari Sabtu", BUDI: "Panen raya hari Sabtu"}
    chat.play([
        (KOORD, "SIARAN STATUS 1",
         "Siaran #1 ke sukamaju: 3 penerima, 0 terkirim, 0 sampai, 0 gagal, 2 antre, 1 berhenti, "
         "0 kedaluwarsa."),
        (KOORD, "SIARAN STATUS 9",
         "Siaran #9 tidak ditemukan. Ketik SIARAN STATUS untuk siaran terakhir Bapak/Ibu."),
        (KOORD, "SIARAN atlantis halo",
         "Grup atlantis tidak ditemukan. Pakai nama desa, nama produk, PENJUAL, PEMBELI atau SEMUA."),
        (KOORD, "SIARAN sukamaju",
         "Format: SIARAN grup pesan. Grup: nama desa, produk, PENJUAL, PEMBELI atau SEMUA. "
         "Contoh: SIARAN sukamaju Panen raya Sabtu"),
        (KOORD, "SIARAN semua " + "panen " * 30,
         "Pesan siaran terlalu panjang: 2 SMS. Maksimal 1 SMS, sekitar 150 huruf. "
         "Silakan dipersingkat."),
    ])


def test_coordinator_in_english(chat):
    chat.send(KOORD, "LANGUAGE en")
    chat.play([
        (KOORD, "BROADCAST STATUS", "No broadcasts from this number yet. Example: BROADCAST "
                                    "sukamaju Harvest on Saturday"),
        (KOORD, "PRICE chili 11500", "Price of cabai Rp11.500/kg recorded. Going out to 2 "
                                     "subscribers. Check: BROADCAST STATUS 1"),
        (KOORD, "BROADCAST all Meeting on Monday",
         "Broadcast #2 to all is going out to 3 recipients. Check it: BROADCAST STATUS 2"),
        (KOORD, "BROADCAST nowhere hello",
         "There is no group nowhere. Use a village, a product, SELLERS, BUYERS or ALL."),
    ])


@pytest.mark.parametrize("who,text,reply", [
    (SITI, "HARGA cabai 5000", "Maaf, perintah HARGA hanya untuk koordinator."),
    (SITI, "SIARAN semua Harga naik", "Maaf, perintah SIARAN hanya untuk koordinator."),
    (BUDI, "BROADCAST all hi", "Sorry, the BROADCAST command is for coordinators only."),
    (BUDI, "PRICE chili 5000", "Sorry, the PRICE command is for coordinators only."),
    ("+6287700000000", "SIARAN STATUS", "Maaf, perintah SIARAN STATUS hanya untuk koordinator."),
])
def test_others_are_refused_and_nothing_changes(chat, who, text, reply):
    chat.play([(who, text, reply)])
    assert fetch_all(chat.db, "SELECT * FROM broadcasts") == []
    assert fetch_all(chat.db, "SELECT * FROM reference_prices") == []


def test_refusal_does_not_abandon_an_open_question(chat):
    chat.play([
        (ANI, "JUAL tomat 10kg", "Berapa harga tomat per kg? Balas harganya, misalnya: 12rb. "
                                 "Ketik BATAL bila tidak jadi."),
        (ANI, "SIARAN semua halo", "Maaf, perintah SIARAN hanya untuk koordinator."),
    ])
    assert chat.send(ANI, "8rb").startswith("Terima kasih")


def test_coordinator_help_lists_the_coordinator_commands(chat):
    """A coordinator's BANTUAN names HARGA, SIARAN, SIARAN STATUS and BAYAR (issue 14, item 5)."""
    chat.play([
        (KOORD, "BANTUAN", "Koordinator: HARGA produk harga [pasar], SIARAN grup pesan, SIARAN STATUS, "
                           "BAYAR kode, LUNAS kode jumlah, LAPORAN KEUANGAN. Cth: BANTUAN LUNAS"),
        (KOORD, "BAHASA en", "OK, replies are now in English. Send LANGUAGE id for Bahasa Indonesia."),
        (KOORD, "HELP", "Coordinators: PRICE product price [market], BROADCAST group text, BROADCAST "
                        "STATUS, PAY code, PAID code amount, STATEMENT. E.g. HELP PAID"),
    ])


def test_a_strangers_help_shows_the_seller_and_the_buyer_path(chat):
    assert chat.send("+6281255556666", "BANTUAN") == (
        "Perintah: DAFTAR nama, desa (penjual); DAFTAR PEMBELI usaha, kota (pembeli); BAHASA en; "
        "BERHENTI (tanpa siaran). Contoh: BANTUAN DAFTAR")
