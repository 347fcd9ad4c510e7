"""The ledger's rules, in Python and in the database itself: balanced, integer, append-only,
no seller below zero; order receipts (with the cooperative fee) idempotent per order;
buyer payments reconciling receivables; `check_ledger` finding what breaks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from bot.services import contacts, ledger, payout_accounts, payouts
from bot.services.reconciliation import check_ledger
from bot.storage import transaction

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


@pytest.fixture
def db(migrated_db):
    return migrated_db


@pytest.fixture
def seller(db):
    with transaction(db):
        contact = contacts.get_or_create_contact(db, "+6281234567890", NOW)
        contacts.register_seller(db, contact["id"], "Siti", "Sukamaju", NOW)
    return contact["id"]


def receipt(db, seller, ref="P12", amount=100_000, fee_bps=0):
    with transaction(db):
        return ledger.credit_order_receipt(db, seller_contact_id=seller, order_ref=ref, amount=amount,
                                           now=NOW, fee_bps=fee_bps)


def test_receipt_credits_seller_minus_fee_and_is_idempotent(db, seller):
    first = receipt(db, seller, amount=12_345, fee_bps=250)
    assert (first.created, first.seller_amount, first.fee) == (True, 12_037, 308)  # fee rounded down
    again = receipt(db, seller, amount=12_345, fee_bps=250)
    assert (again.created, again.transaction_id, again.seller_amount) == (False, first.transaction_id,
                                                                          12_037)
    assert ledger.seller_balance(db, seller).available == 12_037
    assert ledger.account_balance(db, "cooperative_fees") == 308
    assert ledger.account_balance(db, "buyer_receivables") == 12_345
    assert ledger.order_receivable(db, "P12") == 12_345
    assert db.execute("SELECT COUNT(*) FROM ledger_transactions").fetchone()[0] == 1


def test_receipt_repeated_with_other_terms_is_a_conflict(db, seller):
    receipt(db, seller, amount=50_000)
    with pytest.raises(ledger.LedgerConflict):
        receipt(db, seller, amount=60_000)


@pytest.mark.parametrize("amount", [0, -5, 1.5, 100.0, True, "100"])
def test_receipt_amount_must_be_positive_int_rupiah(db, seller, amount):
    with pytest.raises(ledger.LedgerError):
        receipt(db, seller, amount=amount)


def test_fee_limits():
    assert ledger.fee_for(100_000, 0) == 0
    assert ledger.fee_for(100_000, 10_000) == 100_000
    assert ledger.fee_for(99, 250) == 2  # 2.475 rounds down: the seller keeps the fraction
    with pytest.raises(ledger.LedgerError):
        ledger.fee_for(100, 10_001)


def test_buyer_payments_reconcile_receivables(db, seller):
    receipt(db, seller, amount=100_000)
    with transaction(db):
        first = ledger.record_buyer_payment(db, order_ref="P12", amount=60_000, reference="BCA-1",
                                            now=NOW)
        repeat = ledger.record_buyer_payment(db, order_ref="P12", amount=60_000, reference="BCA-1",
                                             now=NOW)
    assert first.created and not repeat.created
    assert ledger.order_receivable(db, "P12") == 40_000
    assert ledger.account_balance(db, "cash") == 60_000
    with pytest.raises(ledger.LedgerError, match="only 40000 is still owed"):
        ledger.record_buyer_payment(db, order_ref="P12", amount=50_000, reference="BCA-2", now=NOW)
    with pytest.raises(ledger.LedgerError, match="has not been credited"):
        ledger.record_buyer_payment(db, order_ref="P99", amount=1, reference="BCA-3", now=NOW)
    with pytest.raises(ledger.LedgerConflict):
        ledger.record_buyer_payment(db, order_ref="P12", amount=10_000, reference="BCA-1", now=NOW)
    assert check_ledger(db).ok


def test_post_transaction_refuses_unbalanced_and_non_integer(db, seller):
    cash, fees = ledger.account_id(db, "cash"), ledger.account_id(db, "cooperative_fees")
    with pytest.raises(ledger.LedgerError):
        ledger.post_transaction(db, kind="x", key="a", legs=[(cash, 100), (fees, -99)], now=NOW)
    with pytest.raises(ledger.LedgerError):
        ledger.post_transaction(db, kind="x", key="b", legs=[(cash, 1.5), (fees, -1.5)], now=NOW)
    with pytest.raises(ledger.LedgerError):
        ledger.post_transaction(db, kind="x", key="c", legs=[(cash, 0), (fees, 0)], now=NOW)
    assert db.execute("SELECT COUNT(*) FROM ledger_entries").fetchone()[0] == 0


def test_seller_balance_never_goes_below_zero(db, seller):
    receipt(db, seller, amount=10_000)
    with pytest.raises(ledger.InsufficientFunds):
        ledger.move_seller_money(db, kind="withdrawal", key="w1", seller_contact_id=seller,
                                 amount=10_001, source="available", target="in_transit", now=NOW)
    assert ledger.seller_balance(db, seller).available == 10_000


def raw_transaction(db, legs, tx_id=99):
    """Write a transaction by hand, as a bug or a careless operator might."""
    with transaction(db):
        for account, amount in legs:
            db.execute("INSERT INTO ledger_entries (transaction_id, account_id, amount, created_at) "
                       "VALUES (?, ?, ?, 'x')", [tx_id, account, amount])
        db.execute("INSERT INTO ledger_transactions (id, kind, idempotency_key, created_at) "
                   "VALUES (?, 'manual', ?, 'x')", [tx_id, f"raw-{tx_id}"])


def test_database_refuses_what_the_code_refuses(db, seller):
    """The triggers hold even when our Python is bypassed."""
    receipt(db, seller, amount=10_000)
    available = ledger.account_id(db, "available", seller)
    cash = ledger.account_id(db, "cash")
    with pytest.raises(sqlite3.IntegrityError, match="summing to zero"):
        raw_transaction(db, [(cash, 100), (available, -99)])
    with pytest.raises(sqlite3.IntegrityError, match="below zero"):
        raw_transaction(db, [(available, 20_000), (cash, -20_000)])
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        raw_transaction(db, [(cash, 1.5), (available, -1.5)])
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), transaction(db):
        # entries without a header cannot commit
        db.execute("INSERT INTO ledger_entries (transaction_id, account_id, amount, created_at) "
                   "VALUES (77, ?, 5, 'x')", [cash])
    with pytest.raises(sqlite3.IntegrityError, match="posted transaction"):
        db.execute("INSERT INTO ledger_entries (transaction_id, account_id, amount, created_at) "
                   "VALUES (1, ?, 5, 'x')", [cash])
    for statement in ("UPDATE ledger_entries SET amount = 1", "DELETE FROM ledger_entries",
                      "UPDATE ledger_transactions SET kind = 'x'", "DELETE FROM ledger_transactions",
                      "UPDATE ledger_accounts SET normal_side = 'debit'", "DELETE FROM ledger_accounts"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement)
    assert not db.conn.in_transaction
    assert check_ledger(db).ok
    assert ledger.seller_balance(db, seller).available == 10_000


def test_check_ledger_finds_a_tampered_ledger(db, seller):
    receipt(db, seller, amount=10_000)
    assert check_ledger(db).ok
    # Someone with the database file drops the guards and rewrites history.
    db.execute("DROP TRIGGER ledger_entries_no_update")
    db.execute("UPDATE ledger_entries SET amount = amount * 2 WHERE amount < 0")
    report = check_ledger(db)
    assert not report.ok
    text = "\n".join(report.violations)
    assert "trigger ledger_entries_no_update is missing" in text
    assert "summing to" in text


def test_check_ledger_matches_payouts_with_postings(db, seller):
    receipt(db, seller, amount=100_000)
    account = payout_accounts.validate_account("DANA", "081234567890", "Siti")
    settings = {"PAYOUT_MIN_AMOUNT": 10_000, "PAYOUT_DAILY_MAX": 0}
    payout = payouts.request_withdrawal(db, seller_contact_id=seller, amount=40_000, account=account,
                                        provider="manual", settings=settings, now=NOW,
                                        timezone="Asia/Jakarta")
    assert check_ledger(db).ok
    assert check_ledger(db).figures["payouts_in_transit"] == 40_000
    # A status changed behind the lifecycle's back (no posting) is caught.
    db.execute("UPDATE payouts SET status = 'succeeded' WHERE id = ?", [payout["id"]])
    violations = "\n".join(check_ledger(db).violations)
    assert f"payout {payout['code']} is succeeded but its postings are ['withdrawal']" in violations
    assert "in transit 40000 but open payouts total 0" in violations


def test_payout_lifecycle_table():
    """Every transition leads to a known status; repeats and transitions never overlap;
    final statuses only move on by a reversal of a success."""
    for (status, event), target in payouts.TRANSITIONS.items():
        assert status in payouts.STATUSES and event in payouts.EVENTS and target in payouts.STATUSES
    assert not set(payouts.TRANSITIONS) & payouts.REPEATS
    leaving_final = {key for key in payouts.TRANSITIONS if key[0] in payouts.FINAL_STATUSES}
    assert leaving_final == {("succeeded", "reversed")}


def test_illegal_transition_raises_and_changes_nothing(db, seller):
    receipt(db, seller, amount=100_000)
    account = payout_accounts.validate_account("BCA", "1234567890", "Siti")
    settings = {"PAYOUT_MIN_AMOUNT": 10_000}
    payout = payouts.request_withdrawal(db, seller_contact_id=seller, amount=50_000, account=account,
                                        provider="manual", settings=settings, now=NOW,
                                        timezone="Asia/Jakarta")
    payouts.apply_payout_event(db, payout["id"], "failed", NOW, source="test", failure_code="account")
    before = ledger.seller_balance(db, seller)
    for event in ("succeeded", "reversed", "cancelled"):
        with pytest.raises(payouts.IllegalPayoutTransition):
            payouts.apply_payout_event(db, payout["id"], event, NOW, source="test")
    assert ledger.seller_balance(db, seller) == before == ledger.SellerBalance(100_000, 0, 0, 0)
    repeat = payouts.apply_payout_event(db, payout["id"], "failed", NOW, source="test")
    assert not repeat.applied and repeat.to_status == "failed"
    assert check_ledger(db).ok
