"""Helpers for the money tests: sellers with money, accounts and PINs, made through the
same calls the product uses (the order side's `credit_order_receipt`, the real REK and
PIN dialogs), never by writing balances."""

from __future__ import annotations

import itertools
from datetime import datetime

from bot.services import contacts, ledger, payout_accounts
from bot.storage import transaction
from tests.dialogs import SITI

_orders = itertools.count(1)

PIN = "2580"  # the PIN `ready` gives Siti


def credit(db, seller_id: int, amount: int, now: datetime, *, fee_bps: int = 0,
           order_ref: str | None = None) -> ledger.ReceiptCredit:
    """Credit the seller as a received order would (what the orders issue will call)."""
    with transaction(db):
        return ledger.credit_order_receipt(
            db, seller_contact_id=seller_id, order_ref=order_ref or f"P{next(_orders)}",
            amount=amount, now=now, fee_bps=fee_bps)


def make_seller_with_money(db, phone: str, bank: str, account_number: str, amount: int,
                           now: datetime, *, order_ref: str | None = None) -> int:
    """Register Siti Aminah of Sukamaju at `phone` with a payout account (`bank`,
    `account_number`) and `amount` credited from a received order; her contact id."""
    with transaction(db):
        contact = contacts.get_or_create_contact(db, phone, now)
        contacts.register_seller(db, contact["id"], "Siti Aminah", "Sukamaju", now)
        payout_accounts.save_account(
            db, contact["id"], payout_accounts.validate_account(bank, account_number, "Siti Aminah"), now)
    credit(db, contact["id"], amount, now, order_ref=order_ref)
    return contact["id"]


def make_coordinator(db, phone: str, now: datetime) -> dict:
    """Mark `phone` as a coordinator (the coordinators issue's CLI does this for real)."""
    with transaction(db):
        contact = contacts.get_or_create_contact(db, phone, now)
        db.execute("UPDATE contacts SET is_coordinator = 1 WHERE id = ?", [contact["id"]])
    return contacts.get_contact(db, contact["id"])


def seller_id(db, phone: str) -> int:
    return contacts.find_contact_by_phone(db, phone)["id"]


def payouts_of(db, phone: str) -> list[dict]:
    return list(db.query(
        "SELECT p.* FROM payouts p JOIN contacts c ON c.id = p.seller_contact_id "
        "WHERE c.phone = ? ORDER BY p.id", [phone]))


def balance(db, phone: str) -> tuple[int, int, int]:
    """(available, in transit, paid out) of the seller with `phone`."""
    b = ledger.seller_balance(db, seller_id(db, phone))
    return b.available, b.in_transit, b.paid_out


def registered(chat, locale="id", amount=1_250_000):
    """Siti, registered in `locale` in the `chat` conversation, credited `amount` by a received order."""
    chat.send(SITI, "DAFTAR Siti Aminah, Sukamaju")
    if locale == "en":
        chat.send(SITI, "LANGUAGE en")
    if amount:
        credit(chat.db, seller_id(chat.db, SITI), amount, chat.now)
    return chat


def ready(chat, locale="id", amount=1_250_000):
    """Registered, credited, with a DANA account and the PIN `PIN`, all by SMS."""
    registered(chat, locale, amount)
    chat.send(SITI, "REK DANA 0812-3456-7890 a.n. Siti Aminah")
    chat.send(SITI, f"PIN {PIN}")
    return chat
