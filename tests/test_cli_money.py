"""`jembatan payment record`, `jembatan ledger check`, `jembatan payout list|paid|failed`,
driven with click's CliRunner against the test's real SQLite file."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.services import payout_accounts, payouts
from bot.storage import open_database, utcnow
from tests.money import balance, make_seller_with_money

SITI = "+6281234567890"


@pytest.fixture
def runner(settings):
    return CliRunner()


@pytest.fixture
def db(app):
    database = open_database(app.config["DATABASE_PATH"])
    yield database
    database.conn.close()


@pytest.fixture
def seller(db):
    return make_seller_with_money(db, SITI, "BRI", "123456789012345", 1_250_000, utcnow(), order_ref="P12")


def manual_payout(db, seller, settings, amount=500_000):
    return payouts.request_withdrawal(
        db, seller_contact_id=seller, amount=amount, account=payout_accounts.get_account(db, seller),
        provider="manual", settings=settings, now=utcnow(), timezone="Asia/Jakarta")


def test_payment_record_reconciles_the_receivable(runner, db, seller):
    result = runner.invoke(main, ["payment", "record", "P12", "Rp1.000.000", "--ref", "BCA-7781",
                                  "--note", "transfer from Warung Bu Tini"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(
        "recorded: Rp1.000.000 for order P12 (ref BCA-7781); still owed Rp250.000")
    again = runner.invoke(main, ["payment", "record", "P12", "1000000", "--ref", "BCA-7781"])
    assert again.exit_code == 0
    assert "already recorded, nothing changed" in again.output and "still owed Rp250.000" in again.output
    too_much = runner.invoke(main, ["payment", "record", "P12", "300rb", "--ref", "BCA-7782"])
    assert too_much.exit_code == 1 and "only 250000 is still owed" in too_much.output
    unknown = runner.invoke(main, ["payment", "record", "P99", "1000", "--ref", "BCA-7783"])
    assert unknown.exit_code == 1 and "has not been credited" in unknown.output
    bad = runner.invoke(main, ["payment", "record", "P12", "banyak", "--ref", "BCA-7784"])
    assert bad.exit_code == 2 and "not an amount of rupiah" in bad.output


def test_ledger_check_passes_on_a_sound_ledger(runner, db, seller, settings):
    manual_payout(db, seller, settings)
    result = runner.invoke(main, ["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert "ledger OK" in result.output and "payouts_in_transit: 500000" in result.output
    as_json = runner.invoke(main, ["ledger", "check", "--json"])
    report = json.loads(as_json.output.strip().splitlines()[-1])
    assert report["ok"] is True and report["figures"]["sellers_available"] == 750_000


def test_ledger_check_exits_non_zero_on_any_violation(runner, db, seller):
    db.execute("DROP TRIGGER ledger_entries_no_update")  # someone edits the file by hand
    db.execute("UPDATE ledger_entries SET amount = amount - 1 WHERE amount < 0")
    result = runner.invoke(main, ["ledger", "check"])
    assert result.exit_code == 1
    assert "ledger BROKEN" in result.output
    assert "VIOLATION: transaction 1 (order_receipt) has 2 entries summing to -1" in result.output
    assert "VIOLATION: trigger ledger_entries_no_update is missing" in result.output


def test_payout_list_and_paid(runner, db, seller, settings):
    payout = manual_payout(db, seller, settings)
    listed = runner.invoke(main, ["payout", "list"])
    assert listed.exit_code == 0, listed.output
    line = listed.output.strip().splitlines()[-1].split("\t")
    assert line[:6] == [payout["code"], "pending", "manual", "Rp500.000", f"Siti Aminah ({SITI})",
                        "BRI 123456789012345 a.n. Siti Aminah"]

    paid = runner.invoke(main, ["payout", "paid", payout["code"].lower(), "--ref", "BRI-TRF-0042"])
    assert paid.exit_code == 0, paid.output
    assert f"{payout['code']} paid: Rp500.000; the seller has been told" in paid.output
    assert balance(db, SITI) == (750_000, 0, 500_000)
    (news,) = db.query("SELECT * FROM outbox WHERE phone = ?", [SITI])
    assert news["body"] == "Uang Rp500.000 sudah ditransfer ke BRI 1234...2345. Ref BRI-TRF-0042"
    again = runner.invoke(main, ["payout", "paid", payout["code"], "--ref", "BRI-TRF-0042"])
    assert again.exit_code == 0 and "already paid; nothing changed" in again.output
    assert len(list(db.query("SELECT * FROM outbox WHERE phone = ?", [SITI]))) == 1
    assert "no pending payouts" in runner.invoke(main, ["payout", "list"]).output
    assert payout["code"] in runner.invoke(main, ["payout", "list", "--status", "all"]).output
    audit = [(a["actor"], a["action"]) for a in db.query("SELECT * FROM coordinator_actions")]
    assert audit == [("cli", "payout.paid")]


def test_payout_failed_returns_the_money_and_tells_why(runner, db, seller, settings):
    payout = manual_payout(db, seller, settings)
    result = runner.invoke(main, ["payout", "failed", payout["code"], "--reason", "account",
                                  "--note", "BRI says the name differs"])
    assert result.exit_code == 0, result.output
    assert "Rp500.000 is back in the seller's balance" in result.output
    assert balance(db, SITI) == (1_250_000, 0, 0)
    (news,) = db.query("SELECT * FROM outbox WHERE phone = ?", [SITI])
    assert news["body"] == (f"Maaf, penarikan {payout['code']} Rp500.000 gagal: nomor atau nama "
                            "rekening tidak cocok. Uangnya kembali ke saldo. Mohon periksa REK lalu TARIK "
                            "lagi.")
    late = runner.invoke(main, ["payout", "paid", payout["code"], "--ref", "X"])
    assert late.exit_code == 1 and "is failed: cannot apply succeeded" in late.output
    bad_reason = runner.invoke(main, ["payout", "failed", payout["code"], "--reason", "bored"])
    assert bad_reason.exit_code == 2


def test_payout_commands_refuse_unknown_and_xendit_payouts(runner, db, seller, settings):
    assert runner.invoke(main, ["payout", "paid", "T999", "--ref", "x"]).exit_code == 1
    xendit = payouts.request_withdrawal(
        db, seller_contact_id=seller, amount=100_000, account=payout_accounts.get_account(db, seller),
        provider="xendit", settings=settings, now=utcnow(), timezone="Asia/Jakarta")
    result = runner.invoke(main, ["payout", "paid", xendit["code"], "--ref", "x"])
    assert result.exit_code == 1 and "goes through xendit: its callbacks settle it" in result.output
