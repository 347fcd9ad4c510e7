"""Maker-checker above PAYOUT_SECOND_APPROVAL_ABOVE, on every path that moves money: the
coordinators' BAYAR by text (id, en), the command line, and the Xendit submission job
(which waits for a coordinator's approval, and the sweep with it). Below the threshold
nothing changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis as redis_lib
from click.testing import CliRunner
from rq import Queue

from bot.cli import main
from bot.services import payout_accounts, payouts
from bot.services.reconciliation import check_ledger
from bot.storage import open_database, to_db_time, utcnow
from tests.conftest import run_worker
from tests.dialogs import BUDI, SITI, Conversation
from tests.money import PIN, balance, make_coordinator, payouts_of, ready
from tests.web.test_xendit_payouts import fake_xendit, seller, withdraw, xendit_settings  # noqa: F401

ANI, EKO = "+6281377778888", "+6281399990000"


@pytest.fixture
def chat(tmp_path):
    return Conversation(tmp_path, PAYOUT_SECOND_APPROVAL_ABOVE=1_000_000)


def coordinators(chat):
    make_coordinator(chat.db, ANI, chat.now)
    make_coordinator(chat.db, EKO, chat.now)


def test_a_large_manual_payout_needs_a_second_coordinator(chat):
    ready(chat, amount=3_000_000)
    coordinators(chat)
    withdrawal = chat.play([
        (SITI, "TARIK 2jt", "Tarik Rp2.000.000 ke DANA 0812...7890? Balas dengan PIN Bapak/Ibu untuk lanjut, "
                            "atau BATAL.", []),
        (SITI, PIN, "Penarikan Rp2.000.000 ke DANA 0812...7890 sedang diproses, kode {code}. Kami kabari "
                    "bila uangnya sudah ditransfer.",
         [(ANI, "Penarikan baru {code}: Rp2.000.000 ke DANA 081234567890 a.n. Siti Aminah. Setelah "
                "dibayar, balas BAYAR {code}"),
          (EKO, "Penarikan baru {code}: Rp2.000.000 ke DANA 081234567890 a.n. Siti Aminah. Setelah "
                "dibayar, balas BAYAR {code}")]),
    ])
    chat.play([
        (ANI, "BAYAR {code}", "Catat {code} Rp2.000.000 ke DANA 081234567890 a.n. Siti Aminah sudah "
                              "dibayar? Balas YA untuk mencatat, atau BATAL.", []),
        (ANI, "YA", "Persetujuan Bapak/Ibu untuk {code} Rp2.000.000 tercatat. Perlu koordinator kedua; "
                    "mereka sudah kami kabari. Dicatat dibayar setelah mereka setuju.",
         [(EKO, "Mohon setujui {code}: Rp2.000.000 ke DANA 081234567890 a.n. Siti Aminah dicatat dibayar. "
                "Balas BAYAR {code}")]),
        # The one who asked cannot be the second word.
        (ANI, "BAYAR {code}", "{code} sudah Bapak/Ibu setujui dan menunggu koordinator lain. Mohon minta "
                              "rekan membalas BAYAR {code}.", []),
    ], code=withdrawal["code"])
    assert balance(chat.db, SITI) == (1_000_000, 2_000_000, 0)  # still in transit, nobody told
    chat.play([
        (EKO, "BAYAR {code}", "Catat {code} Rp2.000.000 ke DANA 081234567890 a.n. Siti Aminah sudah "
                              "dibayar? Balas YA untuk mencatat, atau BATAL.", []),
        (EKO, "ya", "Tercatat: penarikan {code} Rp2.000.000 untuk Siti Aminah sudah dibayar. Penjual sudah "
                    "diberi tahu.",
         [(SITI, "Uang Rp2.000.000 sudah ditransfer ke DANA 0812...7890. Ref {code}")]),
    ], code=withdrawal["code"])
    assert balance(chat.db, SITI) == (1_000_000, 0, 2_000_000)
    assert payouts.approvers(chat.db, payouts_of(chat.db, SITI)[0]["id"]) == [ANI, EKO]
    assert check_ledger(chat.db).ok


def test_the_second_word_in_english(chat):
    ready(chat, amount=3_000_000)
    coordinators(chat)
    chat.send(ANI, "LANGUAGE en")
    chat.send(EKO, "LANGUAGE en")
    chat.send(SITI, "TARIK 2jt")
    chat.send(SITI, PIN)
    code = payouts_of(chat.db, SITI)[0]["code"]
    chat.play([
        (ANI, f"PAY {code}", f"Record {code} Rp2.000.000 to DANA 081234567890 (Siti Aminah) as paid? "
                             f"Reply YES to record it, or CANCEL."),
        (ANI, "YES", f"Your approval of {code} Rp2.000.000 is recorded. A second coordinator is needed; "
                     f"we have asked them. It is recorded as paid once they agree."),
        (ANI, f"PAY {code}", f"You already approved {code}; it is waiting for another coordinator. "
                             f"Please ask a colleague to reply PAY {code}."),
        (EKO, f"PAY {code}", f"Record {code} Rp2.000.000 to DANA 081234567890 (Siti Aminah) as paid? "
                             f"Reply YES to record it, or CANCEL."),
        (EKO, "YES", f"Recorded: withdrawal {code} of Rp2.000.000 for Siti Aminah is paid. The seller "
                     f"has been told."),
    ])


def test_below_the_threshold_one_coordinator_is_enough(chat):
    ready(chat, amount=3_000_000)
    coordinators(chat)
    chat.send(SITI, "TARIK 1jt")  # not above Rp1.000.000
    chat.send(SITI, PIN)
    code = payouts_of(chat.db, SITI)[0]["code"]
    chat.send(ANI, f"BAYAR {code}")
    assert chat.send(ANI, "YA").startswith(f"Tercatat: penarikan {code} Rp1.000.000")
    assert balance(chat.db, SITI) == (2_000_000, 0, 1_000_000)
    assert BUDI not in payouts.approvers(chat.db, payouts_of(chat.db, SITI)[0]["id"])


def test_an_automatic_payout_waits_for_a_coordinator_by_text(tmp_path):
    chat = Conversation(tmp_path, PAYOUT_PROVIDER="xendit", PAYOUT_SECOND_APPROVAL_ABOVE=1_000_000)
    ready(chat, amount=3_000_000)
    make_coordinator(chat.db, ANI, chat.now)
    withdrawal = chat.play([
        (SITI, "TARIK 2jt", "Tarik Rp2.000.000 ke DANA 0812...7890? Balas dengan PIN Bapak/Ibu untuk lanjut, "
                            "atau BATAL.", []),
        (SITI, PIN, "Penarikan Rp2.000.000 ke DANA 0812...7890 sedang diproses, kode {code}. Kami kabari "
                    "bila uangnya sudah ditransfer.",
         [(ANI, "Penarikan {code}: Rp2.000.000 ke DANA 081234567890 a.n. Siti Aminah lewat Xendit perlu "
                "persetujuan. Balas BAYAR {code}")]),
    ])
    payout = payouts_of(chat.db, SITI)[0]
    assert payout["next_submit_at"] is None  # nothing for the job or the sweep to submit
    chat.play([
        (ANI, "BAYAR {code}", "Setujui {code} Rp2.000.000 ke DANA 081234567890 a.n. Siti Aminah lewat "
                              "Xendit? Balas YA untuk menyetujui, atau BATAL.", []),
        (ANI, "YA", "Disetujui: {code} Rp2.000.000 kini dikirim lewat Xendit. Penjual diberi tahu "
                    "begitu uangnya sampai.", []),
        (ANI, "BAYAR {code}", "Penarikan {code} dikirim otomatis lewat Xendit; statusnya diperbarui "
                              "sendiri. Tidak perlu dibayar manual.", []),
    ], code=withdrawal["code"])
    assert payouts_of(chat.db, SITI)[0]["next_submit_at"] is not None


# --- the command line -------------------------------------------------------------------


@pytest.fixture
def large(db, settings, seller, monkeypatch):  # noqa: F811
    """A manual Rp1.000.000 payout above a Rp500.000 threshold, and two coordinators."""
    monkeypatch.setenv("PAYOUT_SECOND_APPROVAL_ABOVE", "500000")
    make_coordinator(db, ANI, utcnow())
    make_coordinator(db, EKO, utcnow())
    return payouts.request_withdrawal(
        db, seller_contact_id=seller, amount=1_000_000, account=payouts_account(db, seller),
        provider="manual", settings=dict(settings, PAYOUT_SECOND_APPROVAL_ABOVE=500_000), now=utcnow(),
        timezone="Asia/Jakarta")


def payouts_account(db, seller):  # noqa: F811
    return payout_accounts.get_account(db, seller)


def test_cli_paid_needs_a_second_coordinator(db, large):
    runner = CliRunner()
    first = runner.invoke(main, ["payout", "paid", large["code"], "--ref", "BRI-1", "--by", ANI])
    assert first.exit_code == 1 and "needs a second coordinator" in first.output
    again = runner.invoke(main, ["payout", "paid", large["code"], "--ref", "BRI-1", "--by", ANI])
    assert again.exit_code == 1 and f"approved so far by {ANI}" in again.output
    assert runner.invoke(main, ["payout", "approve", large["code"], "--by", ANI]).exit_code == 1
    anonymous = runner.invoke(main, ["payout", "paid", large["code"], "--ref", "BRI-1"])
    assert anonymous.exit_code == 2 and "--by PHONE" in anonymous.output  # who is the second word?
    assert payouts.get_payout(db, large["id"])["status"] == "pending"
    second = runner.invoke(main, ["payout", "approve", large["code"], "--by", EKO])
    assert second.exit_code == 0, second.output
    assert payouts.get_payout(db, large["id"])["status"] == "succeeded"
    assert check_ledger(db).ok


def test_cli_refuses_a_stranger_as_coordinator(db, large):
    result = CliRunner().invoke(main, ["payout", "approve", large["code"], "--by", BUDI])
    assert result.exit_code == 2 and "is not a coordinator" in result.output


# --- Xendit: the submission waits for a coordinator's approval ---------------------------------


def test_xendit_submission_waits_for_approval(db, xendit_settings, seller, fake_xendit, redis_url,  # noqa: F811
                                              monkeypatch):
    monkeypatch.setenv("PAYOUT_SECOND_APPROVAL_ABOVE", "100000")
    config = dict(xendit_settings, PAYOUT_SECOND_APPROVAL_ABOVE=100_000)
    make_coordinator(db, ANI, utcnow())
    payout = withdraw(db, config, seller)
    connection = redis_lib.Redis.from_url(redis_url)
    # A job for it (a stale one, or a curious operator) and a sweep long after: nothing goes out.
    Queue("default", connection=connection).enqueue("bot.jobs.submit_payout_job", payout["id"])
    db.execute("UPDATE payouts SET enqueued_at = ? WHERE id = ?",
               [to_db_time(utcnow() - timedelta(hours=1)), payout["id"]])
    Queue("default", connection=connection).enqueue("bot.jobs.sweep_job")
    run_worker(redis_url)
    assert fake_xendit.payouts == []
    assert payouts.get_payout(db, payout["id"])["status"] == "pending"
    result = CliRunner().invoke(main, ["payout", "approve", payout["code"], "--by", ANI])
    assert result.exit_code == 0, result.output
    run_worker(redis_url)
    assert len(fake_xendit.payouts) == 1
    assert payouts.get_payout(open_database(config["DATABASE_PATH"]), payout["id"])["status"] == "submitted"
