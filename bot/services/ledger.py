"""The money ledger: append-only, double-entry, integer rupiah.

Every movement of money is one `ledger_transactions` row with two or more
`ledger_entries` whose amounts sum to zero (positive = debit, negative = credit).
Balances are never stored: they are sums over entries. The database enforces what it
can on its own (see `m003_ledger`): entries are integers and never zero, a transaction
is posted only when its entries balance, nothing is updated or deleted, and no
seller-owned account goes below zero. This module enforces the same rules in Python
first, so a mistake is a clear exception here rather than a trigger's message.

Accounts (one row each; `normal_side` says which sign makes a balance positive):

- per seller, all credit-normal, together they split everything the seller was credited:
  `available` (theirs, withdrawable), `in_transit` (promised to a payout that has not
  arrived yet), `paid_out` (money that left the cooperative to them; it works as the
  seller's slice of cash, which is why a success is in_transit -> paid_out);
- system: `buyer_receivables` (debit: what buyers owe for received orders), `cash`
  (debit: cash and bank clearing, where buyer payments land) and `cooperative_fees`
  (credit: the cooperative's cut). The "payouts in transit" of the whole cooperative is
  the sum of the sellers' `in_transit` accounts (`bot.services.reconciliation.check_ledger` reports it).

Money flows:

| transaction | debit | credit |
|---|---|---|
| order receipt | buyer_receivables (value) | seller available (value - fee), cooperative_fees (fee) |
| buyer payment | cash | buyer_receivables |
| withdrawal | seller available | seller in_transit |
| payout succeeded | seller in_transit | seller paid_out |
| payout failed / cancelled | seller in_transit | seller available |
| payout reversed | seller paid_out | seller available |

So for every seller, available + in_transit + paid_out = everything credited to them by
order receipts: `reconciliation.check_ledger` verifies it against the receipts themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.storage import fetch_all, fetch_one, to_db_time, transaction

#: Accounts every seller has, and accounts the cooperative has once.
SELLER_ACCOUNT_KINDS = ("available", "in_transit", "paid_out")
SYSTEM_ACCOUNT_KINDS = ("buyer_receivables", "cash", "cooperative_fees")
NORMAL_SIDE = {
    "available": "credit",
    "in_transit": "credit",
    "paid_out": "credit",
    "buyer_receivables": "debit",
    "cash": "debit",
    "cooperative_fees": "credit",
}
#: 100% in basis points: a fee can never take more than the order is worth.
MAX_FEE_BPS = 10_000


class LedgerError(ValueError):
    """A posting that would break a ledger rule (unbalanced, not integer, negative balance)."""


class InsufficientFunds(LedgerError):
    """A seller account would go below zero."""


class LedgerConflict(LedgerError):
    """The same idempotency key was posted before with different content (a caller bug)."""


@dataclass(frozen=True)
class Posting:
    """One posted (or already posted) transaction."""

    transaction_id: int
    created: bool  # False: the key was posted before, nothing new happened


@dataclass(frozen=True)
class ReceiptCredit:
    """What an order receipt credited: the seller's share and the cooperative's fee."""

    transaction_id: int
    created: bool
    order_value: int
    seller_amount: int
    fee: int


@dataclass(frozen=True)
class SellerBalance:
    """A seller's money, derived from entries (all in rupiah, never negative)."""

    available: int
    in_transit: int
    paid_out: int
    paid_out_since: int  # paid out since the `since` moment asked for (this month)


# --- accounts --------------------------------------------------------------------------


def _account_code(kind: str, contact_id: int | None) -> str:
    return f"seller:{contact_id}:{kind}" if contact_id is not None else f"system:{kind}"


def account_id(db: sqlite_utils.Database, kind: str, contact_id: int | None = None) -> int:
    """The id of a seller's (`contact_id` given) or the cooperative's account, created on
    first use. Creating an account is harmless: it starts at zero."""
    if kind in SELLER_ACCOUNT_KINDS and contact_id is None:
        raise LedgerError(f"{kind} is a seller account: give contact_id")
    if kind in SYSTEM_ACCOUNT_KINDS and contact_id is not None:
        raise LedgerError(f"{kind} is a system account: no contact_id")
    if kind not in NORMAL_SIDE:
        raise LedgerError(f"unknown account kind {kind!r}")
    code = _account_code(kind, contact_id)
    row = db.execute("SELECT id FROM ledger_accounts WHERE code = ?", [code]).fetchone()
    if row is not None:
        return row[0]
    db.execute(
        "INSERT INTO ledger_accounts (code, kind, contact_id, normal_side) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(code) DO NOTHING",
        [code, kind, contact_id, NORMAL_SIDE[kind]],
    )
    return db.execute("SELECT id FROM ledger_accounts WHERE code = ?", [code]).fetchone()[0]


def account_balance(db: sqlite_utils.Database, kind: str, contact_id: int | None = None,
                    *, since: datetime | None = None) -> int:
    """The account's balance on its normal side (entries since `since`, if given)."""
    sql = ("SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e "
           "JOIN ledger_accounts a ON a.id = e.account_id WHERE a.code = ?")
    params: list = [_account_code(kind, contact_id)]
    if since is not None:
        sql += " AND e.created_at >= ?"
        params.append(to_db_time(since))
    raw = db.execute(sql, params).fetchone()[0]
    return raw if NORMAL_SIDE[kind] == "debit" else -raw


def seller_balance(db: sqlite_utils.Database, contact_id: int,
                   since: datetime | None = None) -> SellerBalance:
    """Available, in transit, paid out (ever, and since `since`) for one seller.

    One statement for the three accounts (SALDO's hot path); each is credit-normal, so a
    balance is minus the raw sum of its entries."""
    codes = [_account_code(kind, contact_id) for kind in ("available", "in_transit", "paid_out")]
    sums = {row[0]: (row[1], row[2]) for row in db.execute(
        "SELECT a.code, COALESCE(SUM(e.amount), 0), COALESCE(SUM(CASE WHEN e.created_at >= ? "
        "THEN e.amount END), 0) FROM ledger_accounts a JOIN ledger_entries e "
        "ON e.account_id = a.id WHERE a.code IN (?, ?, ?) GROUP BY a.code",
        [to_db_time(since) if since else "", *codes])}
    available, in_transit, paid_out = (-sums.get(code, (0, 0))[0] for code in codes)
    return SellerBalance(
        available=available,
        in_transit=in_transit,
        paid_out=paid_out,
        # A reversal this month of an earlier month's payout must not show as a negative
        # "paid out this month": the net since `since` is never below zero.
        paid_out_since=max(-sums.get(codes[2], (0, 0))[1], 0) if since else 0,
    )


# --- posting ---------------------------------------------------------------------------


def post_transaction(
    db: sqlite_utils.Database, *, kind: str, key: str, legs: Iterable[tuple[int, int]],
    now: datetime, order_ref: str | None = None, payout_id: int | None = None,
    seller_contact_id: int | None = None, memo: str | None = None,
) -> Posting:
    """Post one balanced transaction; a repeat of `key` posts nothing and says so.

    `legs` are (account id, amount) with debits positive and credits negative. Raises
    LedgerError if they do not balance, are not whole rupiah, or would push a seller
    account below zero (the triggers in `m003_ledger` refuse the same things).
    """
    legs = [(account, amount) for account, amount in legs if amount != 0]
    for _, amount in legs:
        if type(amount) is not int:  # bool and float are not money
            raise LedgerError(f"ledger amounts are int rupiah, got {amount!r}")
    if len(legs) < 2 or sum(amount for _, amount in legs) != 0:
        raise LedgerError(f"{kind}: entries must be two or more and sum to zero: {legs}")
    with transaction(db):
        existing = db.execute(
            "SELECT id FROM ledger_transactions WHERE idempotency_key = ?", [key]
        ).fetchone()
        if existing is not None:
            return Posting(existing[0], False)
        stamp = to_db_time(now)
        # The header goes in last: its trigger checks that the entries already written
        # balance, and entries can never be added to a header that exists. We hold the
        # write lock (BEGIN IMMEDIATE), so the next id is ours.
        transaction_id = db.execute(
            "SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_transactions").fetchone()[0]
        db.conn.executemany(
            "INSERT INTO ledger_entries (transaction_id, account_id, amount, created_at) "
            "VALUES (?, ?, ?, ?)",
            [(transaction_id, account, amount, stamp) for account, amount in legs],
        )
        _refuse_negative_seller_balances(db, [account for account, _ in legs])
        db.execute(
            "INSERT INTO ledger_transactions (id, kind, idempotency_key, order_ref, payout_id, "
            "seller_contact_id, memo, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [transaction_id, kind, key, order_ref, payout_id, seller_contact_id, memo, stamp],
        )
        return Posting(transaction_id, True)


def _require_positive_rupiah(amount: object, what: str) -> None:
    """Raise LedgerError unless `amount` (called `what` in the message) is an int above 0
    (bool and float are not money)."""
    if type(amount) is not int or amount <= 0:
        raise LedgerError(f"{what} must be a positive int of rupiah, got {amount!r}")


def _refuse_negative_seller_balances(db: sqlite_utils.Database, account_ids: list[int]) -> None:
    marks = ",".join("?" * len(account_ids))
    below = fetch_all(
        db,
        f"""
        SELECT a.code, SUM(e.amount) AS raw FROM ledger_accounts a
          JOIN ledger_entries e ON e.account_id = a.id
         WHERE a.id IN ({marks}) AND a.contact_id IS NOT NULL
         GROUP BY a.id HAVING raw > 0
        """,
        account_ids,
    )
    if below:
        # Seller accounts are credit-normal: a positive raw sum is a negative balance.
        raise InsufficientFunds(f"would go below zero: {[row['code'] for row in below]}")


# --- what the rest of the system calls --------------------------------------------------


def fee_for(amount: int, fee_bps: int) -> int:
    """The cooperative's fee on `amount`: `fee_bps` basis points, rounded down (in the
    seller's favour), so the seller's share is always a whole rupiah."""
    if not 0 <= fee_bps <= MAX_FEE_BPS:
        raise LedgerError(f"fee must be 0-{MAX_FEE_BPS} basis points, got {fee_bps}")
    return amount * fee_bps // MAX_FEE_BPS


def credit_order_receipt(
    db: sqlite_utils.Database, *, seller_contact_id: int, order_ref: str, amount: int,
    now: datetime, fee_bps: int,
) -> ReceiptCredit:
    """Credit a seller for an order the buyer has received: the whole order value becomes
    a buyer receivable; the seller gets it minus the cooperative's fee.

    This is the one call the orders side makes when an order becomes `received`.
    Idempotent per `order_ref`: calling it again returns the first credit and posts
    nothing; calling it again with a different seller or amount raises LedgerConflict.
    """
    _require_positive_rupiah(amount, "order value")
    if not order_ref:
        raise LedgerError("order_ref is required")
    key = f"order_receipt:{order_ref}"
    with transaction(db):
        previous = _receipt(db, key)
        if previous is not None:
            if (previous["seller"], previous["order_value"]) != (seller_contact_id, amount):
                raise LedgerConflict(
                    f"order {order_ref} was credited before to seller {previous['seller']} "
                    f"for {previous['order_value']}, not {seller_contact_id} for {amount}")
            return ReceiptCredit(previous["id"], False, amount, amount - previous["fee"],
                                 previous["fee"])
        fee = fee_for(amount, fee_bps)
        posting = post_transaction(
            db, kind="order_receipt", key=key, now=now, order_ref=order_ref,
            seller_contact_id=seller_contact_id, legs=[
                (account_id(db, "buyer_receivables"), amount),
                (account_id(db, "available", seller_contact_id), -(amount - fee)),
                (account_id(db, "cooperative_fees"), -fee),
            ],
        )
        return ReceiptCredit(posting.transaction_id, True, amount, amount - fee, fee)


def _receipt(db: sqlite_utils.Database, key: str) -> dict | None:
    """An earlier receipt posting: its seller, order value and fee."""
    header = fetch_one(db, "SELECT id, seller_contact_id FROM ledger_transactions "
                           "WHERE idempotency_key = ?", [key])
    if header is None:
        return None
    legs = fetch_all(
        db,
        "SELECT a.kind, a.contact_id, e.amount FROM ledger_entries e "
        "JOIN ledger_accounts a ON a.id = e.account_id WHERE e.transaction_id = ?",
        [header["id"]],
    )
    # The seller is on the header: with a 100% fee there is no seller leg at all.
    result = {"id": header["id"], "seller": header["seller_contact_id"], "order_value": 0, "fee": 0}
    for leg in legs:
        if leg["kind"] == "buyer_receivables":
            result["order_value"] = leg["amount"]
        elif leg["kind"] == "cooperative_fees":
            result["fee"] = -leg["amount"]
    return result


def order_receivable(db: sqlite_utils.Database, order_ref: str) -> int:
    """What the buyer still owes for an order (0 when paid, or never credited)."""
    return db.execute(
        "SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e "
        "JOIN ledger_transactions t ON t.id = e.transaction_id "
        "JOIN ledger_accounts a ON a.id = e.account_id "
        "WHERE t.order_ref = ? AND a.kind = 'buyer_receivables'",
        [order_ref],
    ).fetchone()[0]


def record_buyer_payment(
    db: sqlite_utils.Database, *, order_ref: str, amount: int, reference: str, now: datetime,
    note: str | None = None,
) -> Posting:
    """A coordinator saw the buyer's money arrive (cash, transfer): cash up, receivable down.

    `reference` (the bank or receipt reference) makes it idempotent: recording the same
    payment twice has no second effect. Refuses payments for orders that were never
    credited and payments above what is still owed (prepayments and overpayments are
    settled outside the ledger: see docs/DECISIONS.md).
    """
    _require_positive_rupiah(amount, "payment")
    if not reference:
        raise LedgerError("a payment needs its reference (bank or receipt number)")
    key = f"buyer_payment:{reference}"
    with transaction(db):
        previous = fetch_one(
            db, "SELECT id, order_ref FROM ledger_transactions WHERE idempotency_key = ?", [key])
        if previous is not None:
            paid = db.execute(
                "SELECT e.amount FROM ledger_entries e JOIN ledger_accounts a "
                "ON a.id = e.account_id WHERE e.transaction_id = ? AND a.kind = 'cash'",
                [previous["id"]],
            ).fetchone()[0]
            if (previous["order_ref"], paid) != (order_ref, amount):
                raise LedgerConflict(
                    f"payment {reference} was recorded for order {previous['order_ref']} "
                    f"({paid}), not {order_ref} ({amount})")
            return Posting(previous["id"], False)
        outstanding = order_receivable(db, order_ref)
        if _receipt(db, f"order_receipt:{order_ref}") is None:
            raise LedgerError(f"order {order_ref} has not been credited: nothing is owed for it")
        if amount > outstanding:
            raise LedgerError(f"order {order_ref}: only {outstanding} is still owed, not {amount}")
        return post_transaction(
            db, kind="buyer_payment", key=key, now=now, order_ref=order_ref, memo=note,
            legs=[(account_id(db, "cash"), amount), (account_id(db, "buyer_receivables"), -amount)],
        )


def move_seller_money(
    db: sqlite_utils.Database, *, kind: str, key: str, seller_contact_id: int, amount: int,
    source: str, target: str, now: datetime, payout_id: int | None = None,
) -> Posting:
    """Move `amount` between two of one seller's accounts (withdrawal, payout outcome).
    Raises InsufficientFunds if `source` holds less."""
    _require_positive_rupiah(amount, "amount")
    with transaction(db):
        return post_transaction(
            db, kind=kind, key=key, now=now, payout_id=payout_id,
            seller_contact_id=seller_contact_id, legs=[(account_id(db, source, seller_contact_id), amount),
                  (account_id(db, target, seller_contact_id), -amount)],
        )
