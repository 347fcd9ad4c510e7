"""PAYOUT_ADVANCE_LIMIT: how far withdrawals may run ahead of buyers' payments.

Unset, nothing changes (the rest of the suite). Set, a withdrawal beyond it is set aside
for the seller but waits — the seller and coordinators are told, SALDO shows it apart,
BAYAR refuses it — and goes ahead, oldest first, once buyers pay. A stateful property
test drives random receipts, payments, withdrawals, settlements and releases and checks
that nothing is ever paid out beyond the limit; `ledger check --strict` fails beyond it.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from bot.cli import main
from bot.config import load_config
from bot.migrations import apply_migrations
from bot.pipeline.payouts import release_held_payouts
from bot.services import contacts, ledger, payout_accounts, payouts
from bot.services.reconciliation import check_ledger
from bot.storage import open_database, transaction
from tests.conftest import migrated_copy
from tests.dialogs import SITI, Conversation
from tests.money import PIN, balance, credit, make_coordinator, payouts_of, ready

ANI = "+6281377778888"


def test_a_withdrawal_beyond_the_advance_waits_for_the_buyers(tmp_path):
    chat = Conversation(tmp_path, PAYOUT_ADVANCE_LIMIT=300_000)
    ready(chat)  # Rp1.250.000 credited for order P1.. — no buyer has paid anything yet
    make_coordinator(chat.db, ANI, chat.now)
    held = chat.play([
        (SITI, "TARIK 500rb", "Tarik Rp500.000 ke DANA 0812...7890? Balas dengan PIN Bapak/Ibu untuk lanjut, "
                              "atau BATAL.", []),
        (SITI, PIN, "Penarikan Rp500.000 tercatat, kode {code}. Uang Bapak/Ibu aman dan menunggu "
                    "pembayaran dari pembeli; kami kabari begitu dikirim.",
         [(ANI, "Penarikan {code} Rp500.000 menunggu: talangan koperasi sudah di batas Rp300.000. "
                "Diproses sendiri setelah pembeli membayar.")]),
        (SITI, "SALDO", "Saldo Bapak/Ibu Rp750.000. Sedang ditransfer Rp0. Menunggu bayaran pembeli "
                        "Rp500.000. Cair bulan ini Rp0. Tarik: TARIK jumlah", []),
        (ANI, "BAYAR {code}", "Penarikan {code} menunggu pembayaran pembeli (batas talangan koperasi), "
                              "jadi belum bisa dibayar. Kami kabari bila sudah bisa.", []),
        (ANI, "BAYAR", "Tidak ada penarikan yang menunggu dibayar.", []),
    ])
    code = held["code"]
    assert balance(chat.db, SITI) == (750_000, 500_000, 0)  # set aside, not paid
    # Nothing has been paid in: the sweep's release changes nothing.
    assert not release_held_payouts(chat.db, chat.settings, chat.now)
    # The buyer of the credited order pays Rp250.000: room is 300k + 250k = 550k.
    order_ref = chat.db.execute("SELECT order_ref FROM ledger_transactions WHERE kind = 'order_receipt'"
                                ).fetchone()[0]
    ledger.record_buyer_payment(chat.db, order_ref=order_ref, amount=250_000, reference="BCA-1", now=chat.now)
    handover = release_held_payouts(chat.db, chat.settings, chat.now)
    assert len(handover.outbox_ids) == 2
    assert chat.notices() == [
        (SITI, f"Penarikan {code} Rp500.000 ke DANA kini diproses. Kami kabari bila uangnya sudah "
                "ditransfer."),
        (ANI, f"Penarikan baru {code}: Rp500.000 ke DANA 081234567890 a.n. Siti Aminah. Setelah dibayar, "
              f"balas BAYAR {code}")]
    chat.send(ANI, f"BAYAR {code}")
    assert chat.send(ANI, "YA").startswith(f"Tercatat: penarikan {code} Rp500.000")
    assert balance(chat.db, SITI) == (750_000, 0, 500_000)
    assert check_ledger(chat.db).ok


def test_in_english(tmp_path):
    chat = Conversation(tmp_path, PAYOUT_ADVANCE_LIMIT=0)  # no advance at all
    ready(chat, locale="en")
    chat.send(SITI, "WITHDRAW 100000")
    code_reply = chat.send(SITI, PIN)
    code = payouts_of(chat.db, SITI)[0]["code"]
    assert code_reply == (f"Withdrawal of Rp100.000 recorded, code {code}. Your money is safe and is "
                          f"waiting for the buyers' payment; we will tell you when it is sent.")
    assert chat.send(SITI, "BALANCE") == ("Balance Rp1.150.000. Being transferred Rp0. Awaiting buyers' "
                                          "payment Rp100.000. Paid out this month Rp0. Withdraw: WITHDRAW "
                                          "amount")


def test_oldest_first_and_unlimited_when_the_limit_is_lifted(tmp_path):
    chat = Conversation(tmp_path, PAYOUT_ADVANCE_LIMIT=0)
    ready(chat)
    for amount in ("TARIK 300rb", "TARIK 100rb"):
        chat.send(SITI, amount)
        chat.send(SITI, PIN)
    first, second = payouts_of(chat.db, SITI)
    assert first["held_for_payments"] and second["held_for_payments"]  # the small one queues behind
    order_ref = chat.db.execute("SELECT order_ref FROM ledger_transactions WHERE kind = 'order_receipt'"
                                ).fetchone()[0]
    ledger.record_buyer_payment(chat.db, order_ref=order_ref, amount=200_000, reference="BCA-2", now=chat.now)
    assert not release_held_payouts(chat.db, chat.settings, chat.now)  # 300k first: it does not fit yet
    release_held_payouts(chat.db, dict(chat.settings, PAYOUT_ADVANCE_LIMIT=None), chat.now)
    assert [p["held_for_payments"] for p in payouts_of(chat.db, SITI)] == [0, 0]


def test_ledger_check_strict(db, settings, monkeypatch):
    now = datetime.now(UTC)
    with transaction(db):
        contact = contacts.get_or_create_contact(db, SITI, now)
        contacts.register_seller(db, contact["id"], "Siti Aminah", "Sukamaju", now)
        payout_accounts.save_account(db, contact["id"],
                                     payout_accounts.validate_account("DANA", "081234567890", "Siti Aminah"),
                                     now)
    credit(db, contact["id"], 1_000_000, now, order_ref="P7")
    payout = payouts.request_withdrawal(db, seller_contact_id=contact["id"], amount=400_000,
                                        account=payout_accounts.get_account(db, contact["id"]),
                                        provider="manual", settings=settings, now=now,
                                        timezone="Asia/Jakarta")
    payouts.mark_paid(db, payout["id"], "cli", now, source="cli")  # paid before any buyer paid (no limit)
    runner = CliRunner()
    assert runner.invoke(main, ["ledger", "check", "--strict"]).exit_code == 0  # no limit set
    monkeypatch.setenv("PAYOUT_ADVANCE_LIMIT", "300000")
    result = runner.invoke(main, ["ledger", "check", "--strict"])
    assert result.exit_code == 1 and "beyond PAYOUT_ADVANCE_LIMIT" in result.output
    assert runner.invoke(main, ["ledger", "check"]).exit_code == 0  # the invariants themselves hold


class AdvanceMachine(RuleBasedStateMachine):
    """Random receipts, buyer payments, withdrawals, settlements and releases under a limit."""

    def __init__(self):
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="advance-"))
        self.db = open_database(migrated_copy(self.directory / "advance.db"))
        apply_migrations(self.db)  # nothing pending in the copy
        self.now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
        self.orders = itertools.count(1)
        self.references = itertools.count(1)

    @initialize(limit=st.integers(0, 2_000_000))
    def start(self, limit):
        self.settings = load_config({}) | {"PAYOUT_MIN_AMOUNT": 1, "PAYOUT_DAILY_MAX": 0,
                                           "PAYOUT_ADVANCE_LIMIT": limit}
        self.limit = limit
        with transaction(self.db):
            contact = contacts.get_or_create_contact(self.db, SITI, self.now)
            contacts.register_seller(self.db, contact["id"], "Siti", "Sukamaju", self.now)
            payout_accounts.save_account(self.db, contact["id"], payout_accounts.validate_account(
                "DANA", "081234567890", "Siti"), self.now)
        self.seller = contact["id"]

    def tick(self):
        self.now += timedelta(minutes=1)

    @rule(amount=st.integers(1, 1_500_000))
    def order_received(self, amount):
        credit(self.db, self.seller, amount, self.now, order_ref=f"P{next(self.orders)}")
        self.tick()

    @rule(share=st.floats(0.05, 1.0))
    def buyer_pays(self, share):
        receipts = "SELECT DISTINCT order_ref FROM ledger_transactions WHERE kind = 'order_receipt'"
        for row in self.db.query(receipts):
            owed = ledger.order_receivable(self.db, row["order_ref"])
            if owed > 0:
                ledger.record_buyer_payment(self.db, order_ref=row["order_ref"],
                                            amount=max(1, int(owed * share)),
                                            reference=f"R{next(self.references)}", now=self.now)
                break
        self.tick()

    @rule(share=st.floats(0.05, 1.0))
    def withdraw(self, share):
        available = ledger.account_balance(self.db, "available", self.seller)
        if available > 0:
            payouts.request_withdrawal(self.db, seller_contact_id=self.seller,
                                       amount=max(1, int(available * share)),
                                       account=payout_accounts.get_account(self.db, self.seller),
                                       provider="manual", settings=self.settings, now=self.now,
                                       timezone="Asia/Jakarta")
        self.tick()

    @rule(paid=st.booleans())
    def coordinator_settles(self, paid):
        for payout in payouts.list_payouts(self.db, ("pending",)):
            if payout["held_for_payments"]:
                try:
                    payouts.mark_paid(self.db, payout["id"], "ani", self.now, source="cli")
                except payouts.PayoutHeld:
                    continue
                raise AssertionError("a held payout was paid")
            if paid:
                payouts.mark_paid(self.db, payout["id"], "ani", self.now, source="cli")
            else:
                payouts.apply_payout_event(self.db, payout["id"], "failed", self.now, source="cli",
                                           failure_code="account")
            break
        self.tick()

    @rule()
    def sweep_releases(self):
        release_held_payouts(self.db, self.settings, self.now)
        self.tick()

    @invariant()
    def never_paid_out_beyond_the_limit(self):
        cash = ledger.account_balance(self.db, "cash")
        paid_out = ledger.account_balance(self.db, "paid_out", self.seller)
        assert paid_out - cash <= self.limit
        assert payouts.advance_in_use(self.db) <= self.limit
        assert check_ledger(self.db).ok

    def teardown(self):
        self.db.conn.close()
        shutil.rmtree(self.directory, ignore_errors=True)


AdvanceMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=25, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
TestAdvanceLimit = AdvanceMachine.TestCase
