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

from bot.services import ledger

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
