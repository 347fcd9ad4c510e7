"""`LUNAS kode jumlah` / `PAID code amount`: a coordinator records a buyer's payment by text,
with a YA confirmation that repeats the order, buyer and amount. Exact texts, real SQLite,
the real engine, the real order path up to the buyer's TERIMA."""

from __future__ import annotations

import pytest

from bot.services import ledger
from bot.services.reconciliation import check_ledger
from tests.conversations.test_order_dialogs import TINI, buyer_registered, market
from tests.dialogs import SITI, Conversation
from tests.money import make_coordinator

ANI = "+6281377778888"  # the cooperative's coordinator


@pytest.fixture
def chat(tmp_path):
    return Conversation(tmp_path)


def received_order(chat: Conversation) -> None:
    """Order P2 (20 kg cabai, Rp240.000) from Warung Bu Tini, received; Ani coordinates."""
    market(chat)
    buyer_registered(chat)
    for phone, text in ((TINI, "PESAN C2 20"), (SITI, "YA"), (SITI, "KIRIM P2"), (TINI, "TERIMA P2")):
        chat.send(phone, text)
    make_coordinator(chat.db, ANI, chat.now)
    chat.notices()


def test_lunas_in_indonesian(chat):
    received_order(chat)
    chat.play([
        (SITI, "LUNAS P2 240rb", "Maaf, perintah LUNAS hanya untuk koordinator.", []),
        (ANI, "LUNAS", "Tulis kode pesanan dan jumlahnya, mis. LUNAS P12 240rb", []),
        (ANI, "LUNAS P99 240rb", "Kode pesanan P99 tidak ditemukan. Periksa kodenya, mis. "
                                 "LUNAS P12 240rb", []),
        (ANI, "LUNAS P2 300rb", "Pembayaran Rp300.000 lebih dari sisa tagihan pesanan P2 "
                                "(Rp240.000). Tidak ada yang dicatat.", []),
        # The amount is missing: asked; an ambiguous one is asked again, never guessed.
        (ANI, "lunas p2", "Berapa yang dibayar pembeli untuk pesanan P2? Sisa tagihan Rp240.000. Balas "
                          "jumlahnya, mis. 240rb, atau BATAL.", []),
        (ANI, "1,000", "Jumlahnya kurang jelas. Tulis satu jumlah, mis. 240rb atau 240.000. Sisa tagihan "
                       "P2: Rp240.000. Atau BATAL.", []),
        (ANI, "100rb", "Catat pembayaran Rp100.000 untuk pesanan P2 dari Warung Bu Tini? Balas YA P2 atau "
                       "BATAL", []),
        (ANI, "sudah", "Balas YA P2 untuk mencatat pembayarannya, atau BATAL.", []),
        (ANI, "YA P2", "Tercatat: pembayaran Rp100.000 dari Warung Bu Tini untuk pesanan P2. Sisa tagihan "
                       "Rp140.000.", []),
        (ANI, "LUNAS P2 140rb", "Catat pembayaran Rp140.000 untuk pesanan P2 dari Warung Bu Tini? Balas YA "
                                "P2 atau BATAL", []),
        (ANI, "BATAL", "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah.", []),
        (ANI, "LUNAS P2 140rb", "Catat pembayaran Rp140.000 untuk pesanan P2 dari Warung Bu Tini? Balas YA "
                                "P2 atau BATAL", []),
        (ANI, "ya", "Tercatat: pembayaran Rp140.000 dari Warung Bu Tini untuk pesanan P2. Pesanan sudah "
                    "lunas.", []),
        (ANI, "LUNAS P2 240rb", "Pesanan P2 sudah lunas. Tidak ada yang diubah.", []),
    ])
    assert ledger.order_receivable(chat.db, "P2") == 0
    assert check_ledger(chat.db).ok
    audit = [a["details"] for a in chat.db.query(
        "SELECT details FROM coordinator_actions WHERE action = 'payment.recorded' ORDER BY id")]
    assert audit == ['{"order": "P2", "amount": 100000}', '{"order": "P2", "amount": 140000}']


def test_lunas_before_the_buyer_received_it(chat):
    market(chat)
    buyer_registered(chat)
    chat.send(TINI, "PESAN C2 20")
    make_coordinator(chat.db, ANI, chat.now)
    chat.play([(ANI, "LUNAS P2 240rb", "Pesanan P2 belum diterima pembeli. Pembayaran dicatat setelah "
                                       "pembeli membalas TERIMA P2.")])


def test_paid_in_english(chat):
    received_order(chat)
    chat.send(ANI, "LANGUAGE en")
    chat.play([
        (ANI, "PAID P2", "How much did the buyer pay for order P2? Still owed: Rp240.000. Reply with the "
                         "amount, e.g. 240rb, or CANCEL.", []),
        (ANI, "240rb", "Record a payment of Rp240.000 for order P2 from Warung Bu Tini? Reply YES P2 or "
                       "CANCEL", []),
        (ANI, "YES P2", "Recorded: payment of Rp240.000 from Warung Bu Tini for order P2. The order is paid "
                        "in full.", []),
        (ANI, "PAID P2 240rb", "Order P2 is already paid in full. Nothing was changed.", []),
        (ANI, "PAID P9 1jt", "Order code P9 was not found. Check the code, e.g. PAID P12 240rb", []),
    ])
    assert ledger.order_receivable(chat.db, "P2") == 0


def test_coordinator_help_lists_lunas(chat):
    make_coordinator(chat.db, ANI, chat.now)
    assert "LUNAS kode jumlah" in chat.send(ANI, "BANTUAN")
    assert chat.send(ANI, "BANTUAN LUNAS").startswith("LUNAS kode jumlah - koordinator mencatat")


def test_lunas_lets_a_held_withdrawal_go_ahead_at_once(tmp_path):
    """With PAYOUT_ADVANCE_LIMIT, a withdrawal beyond it waits for buyers' payments; the
    coordinator's LUNAS is such a payment, so it goes ahead with the YA, not at the next
    sweep (no sweep runs in this test)."""
    chat = Conversation(tmp_path, PAYOUT_ADVANCE_LIMIT=0)
    received_order(chat)
    chat.send(SITI, "REK DANA 0812-3456-7890 a.n. Siti Aminah")
    chat.send(SITI, "PIN 2580")
    chat.send(SITI, "TARIK 200rb")
    assert "menunggu pembayaran dari pembeli" in chat.send(SITI, "2580")
    code = chat.db.execute("SELECT code FROM payouts").fetchone()[0]
    chat.notices()
    chat.play([
        (ANI, "LUNAS P2 240rb", "Catat pembayaran Rp240.000 untuk pesanan P2 dari Warung Bu Tini? Balas YA "
                                "P2 atau BATAL", []),
        (ANI, "YA P2", "Tercatat: pembayaran Rp240.000 dari Warung Bu Tini untuk pesanan P2. Pesanan sudah "
                       "lunas.",
         [(SITI, f"Penarikan {code} Rp200.000 ke DANA kini diproses. Kami kabari bila uangnya sudah "
                 "ditransfer."),
          (ANI, f"Penarikan baru {code}: Rp200.000 ke DANA 081234567890 a.n. Siti Aminah. Setelah dibayar, "
                f"balas BAYAR {code}")]),
    ])
    assert chat.db.execute("SELECT held_for_payments FROM payouts").fetchone()[0] == 0
    assert check_ledger(chat.db).ok
