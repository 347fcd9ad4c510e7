"""Stateful property test: random sequences of order receipts (some repeated), buyer
payments, withdrawals, payout events from every source (coordinator, Xendit callbacks,
repeated callbacks) keep every ledger invariant after every step.

A plain-Python model tracks what each seller should have; after each step the real
ledger must agree with it, each transaction must sum to zero, no seller balance may be
below zero, available + in transit + paid out must equal what receipts credited, and
`check_ledger` (what `jembatan ledger check` runs) must pass. At the end of each run the
real `jembatan ledger check` command must exit 0.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import event as tally
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bot.cli import main
from bot.config import load_config
from bot.migrations import apply_migrations
from bot.pipeline.payouts import handle_xendit_callback, report_payout_event
from bot.services import contacts, ledger, payout_accounts, payouts
from bot.services.reconciliation import check_ledger
from bot.storage import WORKER_SYNCHRONOUS, fetch_all, open_database, transaction
from tests.conftest import migrated_copy

XENDIT_STATUS = {"accepted": "ACCEPTED", "requested": "REQUESTED", "succeeded": "SUCCEEDED",
                 "failed": "FAILED", "cancelled": "CANCELLED", "reversed": "REVERSED"}
MINIMUM = 10_000


class LedgerMachine(RuleBasedStateMachine):
    sellers = Bundle("sellers")
    orders = Bundle("orders")

    def __init__(self):
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="ledger-props-"))
        self.path = self.directory / "ledger.db"
        # NORMAL, as RQ jobs open it: the invariants are this test's subject, durability
        # is tests/test_group_commit.py's; FULL cost an fsync per step (6,000 a run).
        self.db = open_database(migrated_copy(self.path), WORKER_SYNCHRONOUS)
        apply_migrations(self.db)  # nothing pending in the copy
        self.settings = load_config({}) | {"PAYOUT_MIN_AMOUNT": MINIMUM, "PAYOUT_DAILY_MAX": 0}
        self.now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
        self.phones = itertools.count(81200000001)
        self.order_numbers = itertools.count(1)
        # The model: what each seller should have, what buyers owe, where payouts stand.
        self.credited: dict[int, int] = {}
        self.available: dict[int, int] = {}
        self.in_transit: dict[int, int] = {}
        self.paid_out: dict[int, int] = {}
        self.orders_info: dict[str, tuple[int, int, int]] = {}  # ref -> seller, value, fee bps
        self.owed: dict[str, int] = {}
        self.payout_status: dict[int, str] = {}
        self.payout_amount: dict[int, tuple[int, int]] = {}  # id -> seller, amount
        self.applied_events: list[tuple[int, str]] = []

    def teardown(self):
        result = CliRunner().invoke(
            main, ["ledger", "check"],
            env={"DATABASE_PATH": str(self.path), "REDIS_URL": "", "PAYOUT_PROVIDER": "manual"})
        self.db.conn.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        assert result.exit_code == 0, result.output

    # --- steps ---------------------------------------------------------------------------

    @initialize(target=sellers)
    def first_seller(self):
        """Every run starts with a seller who has sold something, so money can move."""
        seller = self.new_seller()
        ref = f"P{next(self.order_numbers)}"
        credit = ledger.credit_order_receipt(self.db, seller_contact_id=seller, order_ref=ref,
                                             amount=1_000_000, now=self.now, fee_bps=0)
        self.credited[seller] = self.available[seller] = credit.seller_amount
        self.orders_info[ref] = (seller, 1_000_000, 0)
        self.owed[ref] = 1_000_000
        return seller

    @rule(target=sellers)
    def new_seller(self):
        with transaction(self.db):
            contact = contacts.get_or_create_contact(self.db, f"+62{next(self.phones)}", self.now)
            contacts.register_seller(self.db, contact["id"], "Siti", "Sukamaju", self.now)
        seller = contact["id"]
        for book in (self.credited, self.available, self.in_transit, self.paid_out):
            book[seller] = 0
        return seller

    @rule(target=orders, seller=sellers,
          value=st.one_of(st.integers(1, 20_000), st.integers(20_000, 3_000_000)),
          fee_bps=st.sampled_from([0, 0, 150, 250, 1_000, 10_000]))
    def order_received(self, seller, value, fee_bps):
        ref = f"P{next(self.order_numbers)}"
        credit = ledger.credit_order_receipt(self.db, seller_contact_id=seller, order_ref=ref,
                                             amount=value, now=self.now, fee_bps=fee_bps)
        assert credit.created and credit.seller_amount + credit.fee == value
        assert credit.fee == value * fee_bps // 10_000
        self.credited[seller] += credit.seller_amount
        self.available[seller] += credit.seller_amount
        self.orders_info[ref] = (seller, value, fee_bps)
        self.owed[ref] = value
        return ref

    @rule(ref=orders)
    def order_received_again(self, ref):
        """The orders side retries (a job ran twice): nothing is credited twice."""
        seller, value, fee_bps = self.orders_info[ref]
        credit = ledger.credit_order_receipt(self.db, seller_contact_id=seller, order_ref=ref,
                                             amount=value, now=self.now, fee_bps=fee_bps)
        assert not credit.created

    @rule(ref=orders, share=st.floats(0.01, 1.2), data=st.data())
    def buyer_pays(self, ref, share, data):
        owed = self.owed[ref]
        amount = max(1, int(self.orders_info[ref][1] * share))
        reference = f"BANK-{next(self.order_numbers)}"
        try:
            ledger.record_buyer_payment(self.db, order_ref=ref, amount=amount, reference=reference,
                                        now=self.now)
        except ledger.LedgerError:
            assert amount > owed
            return
        assert amount <= owed
        self.owed[ref] -= amount
        if data.draw(st.booleans()):  # the coordinator records the same transfer twice
            again = ledger.record_buyer_payment(self.db, order_ref=ref, amount=amount,
                                                reference=reference, now=self.now)
            assert not again.created

    @precondition(lambda self: any(v >= MINIMUM for v in self.available.values()))
    @rule(data=st.data(), provider=st.sampled_from(["manual", "xendit"]),
          amount=st.one_of(st.just("all"), st.sampled_from([0.05, 0.3, 0.5, 0.99, 1.01, 2.0])))
    def withdraw_some(self, data, amount, provider):
        """A seller with money sends TARIK SEMUA or asks for a share (some above the balance)."""
        seller = data.draw(st.sampled_from(sorted(s for s, v in self.available.items()
                                                  if v >= MINIMUM)))
        self.withdraw(seller, amount, provider)

    @rule(seller=sellers, provider=st.sampled_from(["manual", "xendit"]),
          amount=st.one_of(st.just("all"), st.integers(1, 2_000_000)))
    def withdraw(self, seller, amount, provider):
        """Any seller asks for any amount, or for everything."""
        available = self.available[seller]
        if amount == "all":
            wanted = available
        elif isinstance(amount, float):
            wanted = int(available * amount)
        else:
            wanted = amount
        account = payout_accounts.validate_account("DANA", "081234567890", "Siti")
        try:
            payout = payouts.request_withdrawal(
                self.db, seller_contact_id=seller, amount=wanted, account=account,
                provider=provider, settings=self.settings, now=self.now, timezone="Asia/Jakarta")
        except payouts.WithdrawalRefused:
            assert wanted > available or wanted < MINIMUM or available < MINIMUM
            tally("withdrawal refused")
            return
        tally("withdrawal created")
        assert MINIMUM <= wanted <= available
        self.available[seller] -= wanted
        self.in_transit[seller] += wanted
        self.payout_status[payout["id"]] = "pending"
        self.payout_amount[payout["id"]] = (seller, wanted)

    @precondition(lambda self: self.payout_status)
    @rule(data=st.data(), event=st.sampled_from(payouts.EVENTS),
          via=st.sampled_from(["coordinator", "callback"]))
    def payout_event(self, data, event, via):
        payout_id = data.draw(st.sampled_from(sorted(self.payout_status)))
        status = self.payout_status[payout_id]
        target = payouts.TRANSITIONS.get((status, event))
        repeat = (status, event) in payouts.REPEATS
        if via == "callback":
            result = self._callback(payout_id, event)
            if target is None and not repeat:
                assert result.http_status == 409
                tally("payout event: out of order (409)")
                return
            assert result.http_status == 200
        else:
            try:
                report_payout_event(self.db, self.settings, payout_id, event, self.now,
                                    source="test", failure_code="INVALID_DESTINATION")
            except payouts.IllegalPayoutTransition:
                assert target is None and not repeat
                tally("payout event: illegal")
                return
        if target is None:
            tally("payout event: repeat")
            return  # nothing changes
        tally(f"payout event: {status} -> {target}")
        self._move(payout_id, status, target)
        self.applied_events.append((payout_id, event))

    @precondition(lambda self: self.applied_events)
    @rule(data=st.data())
    def callback_repeated(self, data):
        """Xendit delivers an old callback again (retries for 24 h): no effect at all."""
        payout_id, event = data.draw(st.sampled_from(self.applied_events))
        before = self._snapshot()
        result = self._callback(payout_id, event)
        assert (result.http_status, result.result) == (200, "repeated")
        assert self._snapshot() == before
        tally("callback repeated")

    @rule(hours=st.integers(1, 24 * 40))
    def time_passes(self, hours):
        self.now += timedelta(hours=hours)

    # --- helpers -----------------------------------------------------------------------

    def _callback(self, payout_id, event):
        payout = payouts.get_payout(self.db, payout_id)
        body = {"event": f"payout.{event}", "business_id": "biz", "created": "2026-11-28T02:00:00Z",
                "data": {"id": f"disb-{payout_id:025d}", "reference_id": payout["reference"],
                         "amount": payout["amount"], "currency": "IDR", "channel_code": "ID_DANA",
                         "status": XENDIT_STATUS[event],
                         **({"failure_code": "REJECTED_BY_CHANNEL"} if event == "failed" else {})}}
        return handle_xendit_callback(self.db, self.settings, body, self.now)

    def _move(self, payout_id, status, target):
        seller, amount = self.payout_amount[payout_id]
        books = {"available": self.available, "in_transit": self.in_transit, "paid_out": self.paid_out}
        where = {"pending": "in_transit", "submitted": "in_transit", "processing": "in_transit",
                 "succeeded": "paid_out", "failed": "available", "cancelled": "available",
                 "reversed": "available"}
        books[where[status]][seller] -= amount
        books[where[target]][seller] += amount
        self.payout_status[payout_id] = target

    def _snapshot(self):
        return (fetch_all(self.db, "SELECT COUNT(*) AS n FROM ledger_entries"),
                fetch_all(self.db, "SELECT id, status FROM payouts ORDER BY id"),
                fetch_all(self.db, "SELECT COUNT(*) AS n FROM outbox"))

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def every_transaction_sums_to_zero(self):
        assert not fetch_all(self.db, "SELECT transaction_id FROM ledger_entries "
                                      "GROUP BY transaction_id HAVING SUM(amount) <> 0")

    @invariant()
    def sellers_match_the_model(self):
        for seller, credited in self.credited.items():
            balance = ledger.seller_balance(self.db, seller)
            assert min(balance.available, balance.in_transit, balance.paid_out) >= 0
            assert balance.available + balance.in_transit + balance.paid_out == credited
            assert (balance.available, balance.in_transit, balance.paid_out) == (
                self.available[seller], self.in_transit[seller], self.paid_out[seller])

    @invariant()
    def receivables_match_the_model(self):
        for ref, owed in self.owed.items():
            assert ledger.order_receivable(self.db, ref) == owed
        assert ledger.account_balance(self.db, "buyer_receivables") == sum(self.owed.values())

    @invariant()
    def ledger_check_passes(self):
        report = check_ledger(self.db)
        assert report.ok, report.violations


LedgerMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestLedgerProperties = LedgerMachine.TestCase
