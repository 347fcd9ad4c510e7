"""`LAPORAN KEUANGAN` / `STATEMENT` (a seller asks for a statement, a coordinator issues it
by text, the seller gets the code and the /verify link), `LAPORAN` / `REPORT` (the last
seven days in one SMS) and `LAPORAN MINGGUAN YA|TIDAK` / `WEEKLY REPORT YES|NO`. Exact
texts, real SQLite, the real engine and the real order path up to the buyer's TERIMA."""

from __future__ import annotations

import pytest

from bot.services import statements
from tests.conversations.test_order_dialogs import STRANGER, TINI
from tests.conversations.test_payment_dialogs import ANI, received_order
from tests.dialogs import SITI, Conversation

BASE = "https://jembatan.example.id"
SECRET = "statement-test-secret"


@pytest.fixture
def chat(tmp_path):
    return Conversation(tmp_path, PUBLIC_BASE_URL=BASE + "/", SECRET_KEY=SECRET)


def test_a_statement_asked_by_text_and_issued_by_text_in_indonesian(chat):
    received_order(chat)
    found = chat.play([
        (TINI, "LAPORAN KEUANGAN", "Maaf, perintah LAPORAN KEUANGAN belum tersedia untuk nomor ini. Ketik "
                                   "BANTUAN untuk melihat daftar perintah.", []),
        (ANI, "LAPORAN KEUANGAN", "Tidak ada permintaan laporan keuangan yang menunggu.", []),
        (SITI, "tolong laporan keuangan", "Terima kasih, permintaan laporan keuangan Bapak/Ibu sudah kami "
                                          "terima. Koordinator akan menerbitkannya; kodenya kami kirim lewat "
                                          "SMS.",
         [(ANI, "Siti Aminah (Sukamaju) minta laporan keuangan. Terbitkan 6 bulan: ketik LAPORAN KEUANGAN "
                "{number}, atau lewat desk.")]),
        # Asked again (a short form, a typo the parser reads): one request, nobody told twice.
        (SITI, "lap keu", "Permintaan laporan keuangan Bapak/Ibu sudah kami terima dan menunggu koordinator. "
                          "Kodenya kami kirim lewat SMS.", []),
        (SITI, "laporan keuangn", "Maaf, perintah tidak dikenal. Maksud Bapak/Ibu LAPORAN KEUANGAN? Ketik "
                                  "BANTUAN LAPORAN KEUANGAN untuk contoh.", []),
        (ANI, "LAPORAN KEUANGAN", "Permintaan laporan (1): {number} Siti Aminah (Sukamaju). Terbitkan: "
                                  "LAPORAN KEUANGAN nomor", []),
        (ANI, "LAPORAN KEUANGAN 99", "Permintaan laporan nomor 99 tidak ada atau sudah diterbitkan. Ketik "
                                     "LAPORAN KEUANGAN untuk melihat yang menunggu.", []),
        (ANI, "laporan keuangan {number}", "Laporan {idpart}-{check} untuk Siti Aminah diterbitkan; kodenya "
                                           "sudah dikirim ke penjual.",
         [(SITI, "Laporan keuangan Bapak/Ibu sudah terbit, kode {idpart}-{check}. Bank/koperasi bisa cek di "
                 f"{BASE}/verify/{{idpart}}-{{check}}")]),
        (ANI, "LAPORAN KEUANGAN {number}", "Permintaan laporan nomor {number} tidak ada atau sudah "
                                           "diterbitkan. "
                                           "Ketik LAPORAN KEUANGAN untuk melihat yang menunggu.", []),
        (ANI, "LAPORAN KEUANGAN", "Tidak ada permintaan laporan keuangan yang menunggu.", []),
    ])
    code = f"{found['idpart']}-{found['check']}"
    verified = statements.verify_statement(chat.db, code, secret=SECRET)
    assert verified is not None
    assert verified.content["seller"] == {"name": "Siti Aminah", "village": "Sukamaju"}
    assert verified.content["totals"]["sales"] == 240_000 and verified.content["totals"]["orders"] == 1
    audit = chat.db.execute("SELECT actor, action FROM coordinator_actions WHERE action = 'statement.issued'"
                            ).fetchall()
    assert audit == [(ANI, "statement.issued")]
    # A new request after the first was issued is a new one.
    assert chat.send(SITI, "LAPORAN KEUANGAN").startswith("Terima kasih, permintaan laporan keuangan")


def test_a_statement_in_english(chat):
    received_order(chat)
    chat.send(SITI, "LANGUAGE en")
    chat.send(ANI, "LANGUAGE en")
    found = chat.play([
        (SITI, "STATEMENT", "Thank you, we have your request for a financial statement. A coordinator will "
                            "issue it; we will text you its code.",
         [(ANI, "Siti Aminah (Sukamaju) asks for a financial statement. Issue 6 months: send STATEMENT "
                "{number}, or use the desk.")]),
        (SITI, "financial statement", "We already have your request for a financial statement; it is waiting "
                                      "for a coordinator. We will text you its code.", []),
        (ANI, "STATEMENT", "Statement requests (1): {number} Siti Aminah (Sukamaju). Issue one: STATEMENT "
                           "number", []),
        (ANI, "STATEMENT {number}", "Statement {idpart}-{check} for Siti Aminah issued; the seller has been "
                                    "sent the code.",
         [(SITI, "Your financial statement is ready, code {idpart}-{check}. A bank or cooperative can check "
                 "it "
                 f"at {BASE}/verify/{{idpart}}-{{check}}")]),
        (ANI, "STATEMENT 4242", "Statement request 4242 does not exist or was already issued. Send STATEMENT "
                                "to see those waiting.", []),
        (ANI, "HELP STATEMENT", "STATEMENT - ask for a 6-month statement of your sales and payments, with a "
                                "code a bank or cooperative can check. A coordinator issues it.", []),
    ])
    assert statements.verify_statement(chat.db, f"{found['idpart']}-{found['check']}", secret=SECRET)


def test_without_a_public_address_the_text_carries_the_code(tmp_path):
    chat = Conversation(tmp_path, SECRET_KEY=SECRET)
    received_order(chat)
    chat.send(SITI, "LAPKEU")
    number = chat.db.execute("SELECT id FROM statement_requests").fetchone()[0]
    chat.notices()
    chat.send(ANI, f"LAPORAN KEUANGAN {number}")
    [(phone, text)] = chat.notices()
    assert phone == SITI and text.startswith("Laporan keuangan Bapak/Ibu sudah terbit, kode ")
    assert text.endswith("Bank/koperasi bisa mengeceknya dengan kode itu di halaman verifikasi koperasi.")


def test_strangers_are_told_how_to_register(chat):
    assert chat.send(STRANGER, "LAPORAN KEUANGAN").startswith("Nomor ini belum terdaftar. Penjual: DAFTAR")


def test_report_and_weekly_opt_in_in_indonesian(chat):
    received_order(chat)
    chat.send(TINI, "PESAN C2 5")  # one order waits for Siti's answer
    chat.notices()
    chat.play([
        (SITI, "LAPORAN", "7 hari terakhir: terjual Rp240.000 (1 pesanan). Pesanan menunggu: 1. Saldo "
                          "Rp240.000. Tiap Senin: ketik LAPORAN MINGGUAN YA", []),
        (SITI, "laporan mingguan", "Laporan mingguan belum aktif. Ketik LAPORAN MINGGUAN YA untuk "
                                   "menerimanya tiap Senin pagi.", []),
        (SITI, "LAPORAN MINGGUAN YA", "Baik, ringkasan penjualan Bapak/Ibu kami kirim tiap Senin pagi. Untuk "
                                      "berhenti, ketik LAPORAN MINGGUAN TIDAK", []),
        (SITI, "Laporan", "7 hari terakhir: terjual Rp240.000 (1 pesanan). Pesanan menunggu: 1. Saldo "
                          "Rp240.000. Ketik STOK untuk daftar jualan.", []),
        (SITI, "laporan mingguan", "Laporan mingguan Bapak/Ibu aktif, dikirim tiap Senin pagi. Untuk "
                                   "berhenti, ketik LAPORAN MINGGUAN TIDAK", []),
        (SITI, "laporan mingguan tidak", "Baik, laporan mingguan tidak dikirim lagi. Ketik LAPORAN kapan "
                                         "saja untuk melihat ringkasan.", []),
        (SITI, "BANTUAN LAPORAN", "LAPORAN - penjualan 7 hari, pesanan menunggu dan saldo. LAPORAN MINGGUAN "
                                  "YA "
                                  "- dikirim tiap Senin pagi. LAPORAN KEUANGAN - untuk bank/koperasi.", []),
        (TINI, "LAPORAN", "Maaf, perintah LAPORAN belum tersedia untuk nomor ini. Ketik BANTUAN untuk "
                          "melihat daftar perintah.", []),
    ])
    # A week later the sale is no longer "this week".
    chat.advance(days=8)
    assert chat.send(SITI, "LAPORAN").startswith("7 hari terakhir: terjual Rp0 (0 pesanan).")


def test_report_and_weekly_opt_in_in_english(chat):
    received_order(chat)
    chat.send(SITI, "LANGUAGE en")
    chat.play([
        (SITI, "REPORT", "Last 7 days: sales Rp240.000 (orders: 1). Orders waiting: 0. Balance Rp240.000. "
                         "Every Monday: send WEEKLY REPORT YES", []),
        (SITI, "WEEKLY REPORT", "Your weekly report is off. Send WEEKLY REPORT YES to get it every Monday "
                                "morning.", []),
        (SITI, "weekly report yes", "Done: we will text you a summary of your sales every Monday morning. To "
                                    "stop, send WEEKLY REPORT NO", []),
        (SITI, "REPORT", "Last 7 days: sales Rp240.000 (orders: 1). Orders waiting: 0. Balance Rp240.000. "
                         "Send STOCK for your listings.", []),
        (SITI, "report weekly no", "Done: no more weekly reports. Send REPORT any time to see your "
                                   "summary.", []),
        (SITI, "HELP WEEKLY REPORT", "WEEKLY REPORT YES - your sales, orders and balance every Monday "
                                     "morning. WEEKLY REPORT NO - stop it.", []),
    ])


def test_the_summary_sets_the_price_beside_the_reference_price(chat):
    received_order(chat)  # Siti still has 30 kg of cabai at Rp12.000/kg on C2
    assert chat.send(ANI, "HARGA cabai 11rb").startswith("Harga cabai Rp11.000/kg tercatat.")
    chat.notices()
    chat.play([
        (SITI, "LAPORAN", "7 hari: laku Rp240.000 (1 pesanan). Pesanan menunggu: 0. Saldo Rp240.000. Harga "
                          "cabai Rp12.000/kg, acuan Rp11.000/kg", []),
        (SITI, "LANGUAGE en", "OK, replies are now in English. Send LANGUAGE id for Bahasa Indonesia.", []),
        (SITI, "REPORT", "7 days: sales Rp240.000 (orders: 1). Orders waiting: 0. Balance Rp240.000. Your "
                         "cabai Rp12.000/kg, reference Rp11.000/kg", []),
    ])


def test_a_coordinator_number_that_is_no_request(chat):
    received_order(chat)
    # A number too long for a code is no number at all: the list of requests that wait.
    assert chat.send(ANI, "LAPORAN KEUANGAN 99999999999999999999999") == (
        "Tidak ada permintaan laporan keuangan yang menunggu.")
    for number in ("0", "9999999999", "P12"):
        assert chat.send(ANI, f"LAPORAN KEUANGAN {number}") == (
            f"Permintaan laporan nomor {number} tidak ada atau sudah diterbitkan. Ketik LAPORAN KEUANGAN "
            "untuk melihat yang menunggu.")
