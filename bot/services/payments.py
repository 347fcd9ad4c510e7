"""Buyers' payments for their orders, from whichever path reports them: a coordinator
(`jembatan payment record`, later `LUNAS` by text and the desk) or the buyer's own system
through the orders API.

A payment settles what the buyer owes for a *received* order (the receipt is when the
ledger books the receivable; see DECISIONS 64). It is idempotent by reference: the
same reference again changes nothing, the same reference with another order or amount
is refused. References from a buyer's system are kept in that buyer's own namespace, so
two buyers (or a buyer and a coordinator) can never collide on "TRF-1".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.services import ledger, orders
from bot.storage import fetch_one, to_db_time, transaction

MAX_REFERENCE = 100


class PaymentRefused(ValueError):
    """A payment that cannot be recorded: `reason` says why (for the API's error code)."""

    def __init__(self, reason: str, message: str, **values):
        super().__init__(message)
        self.reason, self.message, self.values = reason, message, values


@dataclass(frozen=True)
class RecordedPayment:
    """A payment as recorded (now, or before under the same reference)."""

    order_code: str
    amount: int
    reference: str
    created: bool
    amount_due: int
    #: A hub's order at a city: the payment went down to the hub's ledger (DECISIONS 420);
    #: `status` is `forwarded` until the hub answers `recorded` or `refused`.
    status: str = "recorded"
    reason: str | None = None


def buyer_reference(buyer_id: int, reference: str) -> str:
    """A buyer system's reference, in that buyer's namespace."""
    return f"api-{buyer_id}-{reference}"


def record_order_payment(db: sqlite_utils.Database, order: dict, *, amount: int, reference: str,
                         now: datetime, note: str | None = None) -> RecordedPayment:
    """Record that the buyer paid `amount` for `order` (a row of bot.services.orders)."""
    if type(amount) is not int or amount <= 0:
        raise PaymentRefused("invalid_amount", "The amount must be whole rupiah above 0.")
    if not reference or len(reference) > MAX_REFERENCE + 20:
        raise PaymentRefused("invalid_reference", f"A reference of 1-{MAX_REFERENCE} characters is needed.")
    if order["status"] != "received":
        raise PaymentRefused("not_received", f"Order {order['code']} is {order['status']}: payments are "
                                             "recorded once the buyer has received it.",
                             status=order["status"])
    if order.get("origin_hub"):
        return _forward_to_hub(db, order, amount=amount, reference=reference, now=now, note=note)
    try:
        posting = ledger.record_buyer_payment(db, order_ref=order["code"], amount=amount,
                                              reference=reference, now=now, note=note)
    except ledger.LedgerConflict:
        raise PaymentRefused("payment_reference_reused", "This reference was used for another payment; "
                                                         "use a new reference.") from None
    except ledger.LedgerError:
        owed = ledger.order_receivable(db, order["code"])
        raise PaymentRefused("overpayment", f"Order {order['code']} has {owed} still owed.",
                             amount_due=owed) from None
    return RecordedPayment(order["code"], amount, reference, posting.created,
                           ledger.order_receivable(db, order["code"]))


# --- a hub's order at a city: the payment goes down to the hub's ledger (DECISIONS 420) ---


def amount_due(db: sqlite_utils.Database, order: dict) -> int:
    """What the buyer still owes for a received order: the ledger's receivable, or for a
    hub's order at a city (whose ledger is the hub's) its total less the payments sent
    down that the hub has not refused."""
    if not order.get("origin_hub"):
        return ledger.order_receivable(db, order["code"])
    paid = db.execute("SELECT COALESCE(SUM(amount), 0) FROM federation_payments WHERE order_id = ? "
                      "AND status <> 'refused'", [order["id"]]).fetchone()[0]
    return max(order["total"] - paid, 0)


def _forward_to_hub(db: sqlite_utils.Database, order: dict, *, amount: int, reference: str,
                    now: datetime, note: str | None) -> RecordedPayment:
    """Record the payment at the city as `forwarded` and write its request to the hub in the
    same transaction; the same reference again is the same payment (or a conflict)."""
    with transaction(db):
        earlier = fetch_one(db, "SELECT * FROM federation_payments WHERE reference = ?", [reference])
        if earlier is not None:
            if (earlier["order_id"], earlier["amount"]) != (order["id"], amount):
                raise PaymentRefused("payment_reference_reused", "This reference was used for another "
                                                                 "payment; use a new reference.")
            return _forwarded(db, order, earlier, created=False)
        if db.execute("SELECT 1 FROM ledger_transactions WHERE idempotency_key = ?",
                      [f"buyer_payment:{reference}"]).fetchone():
            raise PaymentRefused("payment_reference_reused", "This reference was used for another "
                                                             "payment; use a new reference.")
        owed = amount_due(db, order)
        if amount > owed:
            raise PaymentRefused("overpayment", f"Order {order['code']} has {owed} still owed.",
                                 amount_due=owed)
        payment_id = db.execute(
            "INSERT INTO federation_payments (order_id, reference, amount, note, created_at) "
            "VALUES (?, ?, ?, ?, ?)", [order["id"], reference, amount, note, to_db_time(now)]).lastrowid
        orders.request_hub(db, order["id"], order["origin_hub"], "order.payment",
                           {"payment": payment_id, "reference": reference, "amount": amount,
                            "note": note}, now)
        return _forwarded(db, order, fetch_one(db, "SELECT * FROM federation_payments WHERE id = ?",
                                               [payment_id]), created=True)


def _forwarded(db: sqlite_utils.Database, order: dict, row: dict, *, created: bool) -> RecordedPayment:
    return RecordedPayment(order["code"], row["amount"], row["reference"], created,
                           amount_due(db, order), status=row["status"], reason=row["reason"])
