"""Reconciliation: verify every ledger invariant from the raw rows (`jembatan ledger check`).

Kept apart from the ledger's posting code on purpose: it never trusts that code, and it
reads payouts too (their statuses must agree with the postings), which the ledger itself
must not depend on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlite_utils

from bot.services import ledger
from bot.services.payouts import OPEN_STATUSES
from bot.storage import fetch_all


@dataclass
class LedgerReport:
    """What `check_ledger` found: rule violations (empty = healthy) and key figures."""

    violations: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations


def check_ledger(db: sqlite_utils.Database) -> LedgerReport:
    """Verify every ledger invariant from the raw rows; never trusts this module's code.

    All queries read one snapshot (a read transaction; WAL keeps it stable), so a
    withdrawal committed by another process halfway through cannot look like a violation.

    Checks: each transaction has two or more entries summing to zero; entries are
    non-zero integers; no entry lacks its transaction; no seller account is below zero;
    per seller, available + in transit + paid out = what order receipts credited them;
    the append-only triggers exist; each order was credited at most once and no
    receivable is negative; and payouts agree with the ledger (each seller's in-transit
    balance is their open payouts, paid out is their succeeded ones, every payout that
    moved money has exactly the postings its status implies).
    """
    if db.conn.in_transaction:
        return _check_ledger(db)
    db.conn.execute("BEGIN")
    try:
        return _check_ledger(db)
    finally:
        db.conn.execute("ROLLBACK")


def _check_ledger(db: sqlite_utils.Database) -> LedgerReport:
    report = LedgerReport()
    bad = report.violations

    for row in fetch_all(db, """
        SELECT t.id, t.kind, COUNT(e.id) AS n, COALESCE(SUM(e.amount), 0) AS total
          FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id
         GROUP BY t.id HAVING n < 2 OR total <> 0"""):
        bad.append(f"transaction {row['id']} ({row['kind']}) has {row['n']} entries summing "
                   f"to {row['total']}")
    for row in fetch_all(db, "SELECT id, amount FROM ledger_entries "
                             "WHERE typeof(amount) <> 'integer' OR amount = 0"):
        bad.append(f"entry {row['id']} amount {row['amount']!r} is not a non-zero integer")
    for row in fetch_all(db, "SELECT e.id FROM ledger_entries e LEFT JOIN ledger_transactions t "
                             "ON t.id = e.transaction_id WHERE t.id IS NULL"):
        bad.append(f"entry {row['id']} belongs to no transaction")
    triggers = {row["name"] for row in fetch_all(
        db, "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ledger_%'")}
    for name in LEDGER_TRIGGERS:
        if name not in triggers:
            bad.append(f"trigger {name} is missing: the ledger is not protected")

    balances = fetch_all(db, """
        SELECT a.id, a.code, a.kind, a.contact_id, a.normal_side,
               COALESCE(SUM(e.amount), 0) AS raw
          FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
         GROUP BY a.id""")
    per_seller: dict[int, dict[str, int]] = {}
    system: dict[str, int] = dict.fromkeys(ledger.SYSTEM_ACCOUNT_KINDS, 0)
    for account in balances:
        balance = account["raw"] if account["normal_side"] == "debit" else -account["raw"]
        if account["contact_id"] is None:
            system[account["kind"]] = balance
            continue
        per_seller.setdefault(account["contact_id"], dict.fromkeys(ledger.SELLER_ACCOUNT_KINDS, 0))[
            account["kind"]] = balance
        if balance < 0:
            bad.append(f"account {account['code']} is below zero: {balance}")

    credited = {row["contact_id"]: -row["credited"] for row in fetch_all(db, """
        SELECT a.contact_id, SUM(e.amount) AS credited FROM ledger_entries e
          JOIN ledger_transactions t ON t.id = e.transaction_id
          JOIN ledger_accounts a ON a.id = e.account_id
         WHERE t.kind = 'order_receipt' AND a.kind = 'available'
         GROUP BY a.contact_id""")}
    for seller in sorted(set(per_seller) | set(credited)):
        parts = per_seller.get(seller, dict.fromkeys(ledger.SELLER_ACCOUNT_KINDS, 0))
        total = sum(parts.values())
        if total != credited.get(seller, 0):
            bad.append(f"seller {seller}: available {parts['available']} + in transit "
                       f"{parts['in_transit']} + paid out {parts['paid_out']} = {total}, "
                       f"but receipts credited {credited.get(seller, 0)}")

    for row in fetch_all(db, """
        SELECT t.order_ref, COUNT(*) AS n FROM ledger_transactions t
         WHERE t.kind = 'order_receipt' GROUP BY t.order_ref HAVING n > 1"""):
        bad.append(f"order {row['order_ref']} was credited {row['n']} times")
    for row in fetch_all(db, """
        SELECT t.order_ref, SUM(e.amount) AS owed FROM ledger_entries e
          JOIN ledger_transactions t ON t.id = e.transaction_id
          JOIN ledger_accounts a ON a.id = e.account_id
         WHERE a.kind = 'buyer_receivables' GROUP BY t.order_ref HAVING owed < 0"""):
        bad.append(f"order {row['order_ref']}: buyers paid {-row['owed']} more than was owed")

    _check_payouts(db, per_seller, bad)

    report.figures = {
        "transactions": db.execute("SELECT COUNT(*) FROM ledger_transactions").fetchone()[0],
        "sellers": len(per_seller),
        "buyer_receivables": system["buyer_receivables"],
        "cash_received": system["cash"],
        "cooperative_fees": system["cooperative_fees"],
        "sellers_available": sum(p["available"] for p in per_seller.values()),
        "payouts_in_transit": sum(p["in_transit"] for p in per_seller.values()),
        "paid_out": sum(p["paid_out"] for p in per_seller.values()),
    }
    # Cash the cooperative should hold: received from buyers minus paid to sellers. It
    # may be negative (the cooperative advanced money before buyers paid): not a violation.
    report.figures["cash_position"] = report.figures["cash_received"] - report.figures["paid_out"]
    return report


#: The ledger postings each payout status implies (by transaction kind).
_POSTINGS_BY_STATUS = {
    "pending": {"withdrawal"},
    "submitted": {"withdrawal"},
    "processing": {"withdrawal"},
    "succeeded": {"withdrawal", "payout_succeeded"},
    "failed": {"withdrawal", "payout_returned"},
    "cancelled": {"withdrawal", "payout_returned"},
    "reversed": {"withdrawal", "payout_succeeded", "payout_reversed"},
}


def _check_payouts(db: sqlite_utils.Database, per_seller: dict, bad: list[str]) -> None:
    marks = ",".join("?" * len(OPEN_STATUSES))
    in_flight = {row["seller"]: row["total"] for row in fetch_all(
        db, f"SELECT seller_contact_id AS seller, SUM(amount) AS total FROM payouts "
            f"WHERE status IN ({marks}) GROUP BY seller_contact_id", list(OPEN_STATUSES))}
    succeeded = {row["seller"]: row["total"] for row in fetch_all(
        db, "SELECT seller_contact_id AS seller, SUM(amount) AS total FROM payouts "
            "WHERE status = 'succeeded' GROUP BY seller_contact_id")}
    for seller in sorted(set(per_seller) | set(in_flight) | set(succeeded)):
        parts = per_seller.get(seller, dict.fromkeys(ledger.SELLER_ACCOUNT_KINDS, 0))
        if parts["in_transit"] != in_flight.get(seller, 0):
            bad.append(f"seller {seller}: in transit {parts['in_transit']} but open payouts "
                       f"total {in_flight.get(seller, 0)}")
        if parts["paid_out"] != succeeded.get(seller, 0):
            bad.append(f"seller {seller}: paid out {parts['paid_out']} but succeeded payouts "
                       f"total {succeeded.get(seller, 0)}")
    postings: dict[int, list[str]] = {}
    for row in fetch_all(db, "SELECT payout_id, kind FROM ledger_transactions "
                             "WHERE payout_id IS NOT NULL ORDER BY id"):
        postings.setdefault(row["payout_id"], []).append(row["kind"])
    for payout in fetch_all(db, "SELECT id, code, status FROM payouts"):
        kinds = postings.get(payout["id"], [])
        if sorted(kinds) != sorted(_POSTINGS_BY_STATUS[payout["status"]]):
            bad.append(f"payout {payout['code']} is {payout['status']} but its postings are "
                       f"{kinds}")


#: Triggers `m003_ledger` creates; `check_ledger` reports any that went missing.
LEDGER_TRIGGERS = (
    "ledger_entries_only_before_posting",
    "ledger_transactions_balanced",
    "ledger_seller_accounts_not_negative",
    "ledger_entries_no_update",
    "ledger_entries_no_delete",
    "ledger_transactions_no_update",
    "ledger_transactions_no_delete",
    "ledger_accounts_no_update",
    "ledger_accounts_no_delete",
)
