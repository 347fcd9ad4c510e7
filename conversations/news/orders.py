"""Who is told what when an order changes: one place decides, whether the change came
from a text (a dialog), the JSON API, or the timers that remind and expire.

Each side hears what concerns them and did not cause: the seller hears of a new order,
a reminder, a cancellation, an expiry and the receipt (with the money credited); the
buyer hears that the seller accepted, declined or shipped, or that the order expired.
What people did themselves is answered by their reply (or the API's response).
A buyer whose channel is a webhook gets no text: their system gets every change as a
signed relay, written by `bot.services.orders` in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.services import buyers, contacts, coordinators, listings
from bot.services.federation import REMOTE_ROLES
from bot.services.orders import OrderChange
from bot.services.schedule import timezone_of
from bot.sms import gsm_safe
from bot.storage import from_db_time
from conversations.dialog import Turn
from conversations.i18n import format_local_time, format_money, format_quantity
from conversations.news.notify import queue_notification, recipient_locale
from conversations.replies import REPLIES, render

#: event -> (who, reply id) told about it.
_NOTICES: dict[str, tuple[tuple[str, str], ...]] = {
    "place": (("seller", "order.new_seller"),),
    "accept": (("buyer", "order.accepted_buyer"),),
    "decline": (("buyer", "order.declined_buyer"),),
    "ship": (("buyer", "order.shipped_buyer"),),
    "expire": (("seller", "order.expired_seller"), ("buyer", "order.expired_buyer")),
    "cancel": (("seller", "order.cancelled_seller"),),
    "receive": (("seller", "order.received_seller"),),
}
#: At a city, a hub's answer -> what its buyer hears (DECISIONS 303). Taking the order
#: (`take`) and the buyer's own receipt need no news; a cancel the hub confirmed does.
_HUB_NOTICES: dict[str, str] = {
    "accept": "order.accepted_buyer",
    "decline": "order.declined_buyer",
    "ship": "order.shipped_buyer",
    "expire": "order.expired_buyer",
    "cancel": "order.cancelled_by_hub",
}
#: A request the hub could not take at all (out of stock, withdrawn) is its own news.
_REFUSED_BY_HUB = "order.unavailable_at_hub"


@dataclass(frozen=True)
class Notice:
    """One message to one person: (contact, reply id, values in their language)."""

    contact: dict
    reply_id: str
    values: dict


def order_values(order: dict, locale: str) -> dict:
    """An order's values as texts show them, in `locale` (`20 kg`, `Rp240.000`)."""
    return {
        "code": order["code"],
        "listing": order["listing_code"],
        "product": order["product_name"],
        "quantity": format_quantity(listings.from_milli(order["quantity_milli"]), order["unit"], locale),
        "price": format_money(order["unit_price"], locale),
        "total": format_money(order["total"], locale),
        "buyer": order["buyer_name"],
        "city": order["buyer_city"],
        "seller": order["seller_name"],
        "village": order["seller_village"],
    }


def order_notices(db: sqlite_utils.Database, settings: dict, change: OrderChange) -> list[Notice]:
    """The messages `change` causes (none for a replayed API request). Nobody who lives
    at another site (a hub's seller at the city, a city buyer at the hub) is texted."""
    if not change.applied:
        return []
    return _notices(db, settings, change.order, _NOTICES.get(change.event, ()), change)


def hub_answer_notices(db: sqlite_utils.Database, settings: dict, change: OrderChange,
                       data: dict | None = None) -> list[Notice]:
    """At a city: what the buyer hears of a hub's answer about their order."""
    if not change.applied:
        return []
    reply_id = _HUB_NOTICES.get(change.event)
    if change.event == "decline" and (data or {}).get("reason"):
        reply_id = _REFUSED_BY_HUB
    return _notices(db, settings, change.order, (("buyer", reply_id),) if reply_id else (), change)


def _notices(db: sqlite_utils.Database, settings: dict, order: dict,
             parties: tuple[tuple[str, str], ...], change: OrderChange) -> list[Notice]:
    notices = []
    for party, reply_id in parties:
        if party == "seller":
            contact = contacts.get_contact(db, order["seller_id"])
        else:
            contact = buyers.message_contact(db, buyers.get_buyer(db, order["buyer_id"]))
        if contact is None or contact.get("role") in REMOTE_ROLES:
            continue  # a webhook buyer (their relay is written), or someone at another site
        locale = recipient_locale(contact, settings)
        values = order_values(order, locale)
        if change.credit is not None:
            values["amount"] = format_money(change.credit.seller_amount, locale)
        notices.append(Notice(contact, reply_id, values))
        if reply_id == "order.accepted_buyer" and settings.get("PAYMENT_INSTRUCTIONS"):
            # How to pay goes with the acceptance, as its own SMS (the cooperative's words).
            notices.append(Notice(contact, "order.how_to_pay",
                                  {**values, "instructions": gsm_safe(settings["PAYMENT_INSTRUCTIONS"])}))
    return notices


def reminder_notice(db: sqlite_utils.Database, settings: dict, order: dict) -> Notice:
    """The seller's one reminder of a pending order, with when it expires in their zone."""
    seller = contacts.get_contact(db, order["seller_id"])
    zone = timezone_of(db, seller, settings.get("DEFAULT_TIMEZONE") or "Asia/Jakarta")
    values = order_values(order, recipient_locale(seller, settings))
    values["time"] = format_local_time(from_db_time(order["expires_at"]), zone)
    return Notice(seller, "order.reminder_seller", values)


def unanswered_notices(db: sqlite_utils.Database, settings: dict, order: dict) -> list[Notice]:
    """At a city: a requested order's buyer hears once that its village has not answered
    in time (DECISIONS 422); a webhook buyer's system sees `status: requested` instead."""
    contact = buyers.message_contact(db, buyers.get_buyer(db, order["buyer_id"]))
    if contact is None or contact.get("role") in REMOTE_ROLES:
        return []
    return [Notice(contact, "order.hub_silent", order_values(order, recipient_locale(contact, settings)))]


def tell(turn: Turn, change: OrderChange) -> None:
    """From a dialog: notify the people `change` concerns (in the message's transaction)
    and have its webhook relays posted after the commit."""
    for notice in order_notices(turn.db, turn.settings, change):
        turn.notify(notice.contact, notice.reply_id, **notice.values)
    turn.handover.relay_ids.extend(change.webhook_ids)


def queue_notices(db: sqlite_utils.Database, settings: dict, notices: list[Notice],
                  now: datetime) -> list[int]:
    """Outside a dialog (API, timers): write the notices to the outbox, in the caller's
    transaction; return the outbox ids to hand to the workers after the commit."""
    return [queue_notification(db, settings, n.contact, n.reply_id, now, **n.values) for n in notices]


def refused_payment_notices(db: sqlite_utils.Database, settings: dict, payment_id: int) -> list[Notice]:
    """At a city: every coordinator hears once that a hub refused a payment sent down. The
    money is in no ledger, and only a person can refund it or record it again (DECISIONS 393)."""
    payment = db.execute(
        "SELECT p.amount, p.reference, p.reason, o.code FROM federation_payments p "
        "JOIN orders o ON o.id = p.order_id WHERE p.id = ?", [payment_id]).fetchone()
    if payment is None:
        return []
    amount, reference, reason, code = payment
    # The hub's reason in words: each one it gives (DECISIONS 420) is declared in REPLIES.
    why = f"payment.refusal.{reason}"
    why = why if why in REPLIES else "payment.refusal.other"
    notices = []
    for coordinator in coordinators.list_coordinators(db):
        locale = recipient_locale(coordinator, settings)
        notices.append(Notice(coordinator, "payment.refused_by_hub", {
            "amount": format_money(amount, locale), "code": code,
            # As the ledger would key it (the desk and the API show it so); cut for one SMS.
            "reference": gsm_safe(reference)[:16],
            "why": render(why, locale)}))
    return notices
