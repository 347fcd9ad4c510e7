"""Orders: a city buyer takes part of a listing; the seller accepts and ships; the buyer
confirms receipt, which credits the seller.

The lifecycle is the table TRANSITIONS, (status, event) -> status:

    pending --accept--> accepted --ship--> shipped --receive--> received
    pending --decline--> declined | --cancel--> cancelled | --expire--> expired
    accepted --receive--> received   (the goods came although the seller never sent KIRIM)

At a city (issue 18) an order for a hub's listing starts `requested`: the hub alone
reserves its stock and asks its seller, and the city order follows the hub's answers
(`HUB_ANSWERS`, applied by `bot.services.federation`), never deciding for the hub:

    requested --the hub took it--> pending --> (as above, each step the hub's)
    requested --the hub refused it (out of stock, withdrawn)--> declined
    requested | pending --the hub cancelled it for the buyer--> cancelled

The city buyer's BATAL is asked of the hub (`forwarded`), their TERIMA applies at once
(legal at the hub whenever the city saw it accepted or shipped) and goes down too.

Anything else raises IllegalOrderTransition and changes nothing: a second YA, a BATAL
after the seller accepted, a TERIMA before the seller accepted.

Placing an order reserves its quantity: one conditional UPDATE takes it off the
listing's available quantity inside the write transaction (`BEGIN IMMEDIATE`), so two
buyers can never both get the last 10 kg, and a trigger refuses a negative quantity
whatever the code path. Declined, cancelled and expired orders give it back (to the
listing even if it was withdrawn meanwhile; `STOK` sets what is available besides the
reservations). Receipt posts `ledger.credit_order_receipt` in the same transaction.

Every change is recorded in `order_events`, and for buyers whose channel is a webhook
it also writes a relay row (`bot.services.webhooks`) in that same transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlite_utils

from bot.services import ledger, listings, webhooks
from bot.storage import fetch_all, fetch_one, in_clause, to_db_time, transaction, where_in

STATUSES = ("pending", "accepted", "shipped", "received", "declined", "cancelled", "expired")
#: A city's order for a hub's listing, until the hub answers (issue 18): never standalone.
REQUESTED = "requested"
ALL_STATUSES = (*STATUSES, REQUESTED)
EVENTS = ("accept", "decline", "cancel", "expire", "ship", "receive")
#: Orders still under way (STATUS lists these).
OPEN_STATUSES = ("pending", "accepted", "shipped")
#: Also under way, at a city: sent to a hub that has not answered yet.
WAITING_STATUSES = ("requested", *OPEN_STATUSES)
FINAL_STATUSES = ("received", "declined", "cancelled", "expired")

#: The order lifecycle: (current status, event) -> new status.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending", "accept"): "accepted",
    ("pending", "decline"): "declined",
    ("pending", "cancel"): "cancelled",
    ("pending", "expire"): "expired",
    ("accepted", "ship"): "shipped",
    ("accepted", "receive"): "received",
    ("shipped", "receive"): "received",
}
#: At a city, what a hub's answer may move an order to from each status (the hub decided;
#: a city order only ever follows). A final status stays: the buyer's TERIMA applied at
#: the city is not undone by the hub's `shipped` that crossed it.
HUB_ANSWERS: dict[str, frozenset[str]] = {
    "requested": frozenset({"pending", "accepted", "shipped", "received", "declined", "cancelled",
                            "expired"}),
    "pending": frozenset({"accepted", "shipped", "received", "declined", "cancelled", "expired"}),
    "accepted": frozenset({"shipped", "received"}),
    "shipped": frozenset({"received"}),
}
#: A hub's status -> the event it is for the city's buyer (their news, the webhook's type).
HUB_EVENTS = {"pending": "take", "accepted": "accept", "declined": "decline", "shipped": "ship",
              "received": "receive", "cancelled": "cancel", "expired": "expire"}
#: Reaching these gives the reserved quantity back to the listing.
RELEASES_RESERVATION = frozenset({"declined", "cancelled", "expired"})
_TIME_COLUMN = {"accepted": "accepted_at", "shipped": "shipped_at", "received": "received_at"}
ORDER_CODE_LETTER = "P"
#: Where an order came from, kept on every order for the desk's figures: a storefront
#: page's order link, a text typed by the buyer, or a buyer's system through the API.
SOURCES = ("page", "text", "api")
#: What the storefront's order links add to `PESAN <code> <n>`: such a text is an order
#: from a page (lower case; matched anywhere in the text).
PAGE_TAG = "(web)"


class IllegalOrderTransition(RuntimeError):
    """An event the order's status does not allow (nothing was changed)."""

    def __init__(self, order: dict, event: str):
        super().__init__(f"order {order['code']} is {order['status']}: cannot {event}")
        self.order = order
        self.event = event


class OrderRefused(ValueError):
    """An order that cannot be placed: `reason` says why, `values` what to tell.

    Reasons: listing_not_found, listing_unavailable, unit_mismatch, invalid_quantity,
    out_of_stock, new_buyer_pending, new_buyer_share (DECISIONS 363).
    """

    def __init__(self, reason: str, **values):
        super().__init__(reason)
        self.reason = reason
        self.values = values


class IdempotencyConflict(ValueError):
    """An Idempotency-Key reused for a different request."""


@dataclass(frozen=True)
class OrderChange:
    """What placing or moving an order did. `applied` is False for a replayed request
    (the same Idempotency-Key): nothing changed, `order` is the first request's."""

    order: dict  # the row after the change (see get_order for the joined columns)
    event: str  # place, accept, decline, cancel, expire, ship, receive
    from_status: str | None
    to_status: str
    applied: bool = True
    webhook_ids: list[int] = field(default_factory=list)  # relays to enqueue after the commit
    credit: ledger.ReceiptCredit | None = None  # the seller's credit, on receipt
    forwarded: bool = False  # a city order's action asked of its hub (nothing moved yet)


# --- reading -----------------------------------------------------------------------------

_SELECT = """
    SELECT o.*, l.code AS listing_code, p.name AS product_name,
           s.name AS seller_name, s.village AS seller_village,
           b.name AS buyer_name, b.city AS buyer_city, b.channel AS buyer_channel,
           b.contact_id AS buyer_contact_id
      FROM orders o JOIN listings l ON l.id = o.listing_id JOIN products p ON p.id = o.product_id
      JOIN contacts s ON s.id = o.seller_id JOIN buyers b ON b.id = o.buyer_id
"""


def get_order(db: sqlite_utils.Database, order_id: int) -> dict:
    """The order with its listing code, product, seller and buyer names; KeyError if absent."""
    row = fetch_one(db, _SELECT + " WHERE o.id = ?", [order_id])
    if row is None:
        raise KeyError(order_id)
    return row


def find_order(db: sqlite_utils.Database, code: str) -> dict | None:
    """The order with this code (any case, `#`/`-` ignored), or None."""
    return fetch_one(db, _SELECT + " WHERE o.code = ?", [listings.normalize_code(code)])


def _status_filter(statuses: tuple[str, ...]) -> tuple[str, list]:
    """`o.status IN (...)`: the open statuses as literal text, which is what the partial
    indexes `orders_seller_open` and `orders_buyer_open` (m006) say, so SQLite uses them;
    any other set as parameters."""
    if tuple(statuses) == OPEN_STATUSES:
        return OPEN_CONDITION, []
    return in_clause("o.status", statuses)


#: The condition the open-order partial indexes are written with (m006).
OPEN_CONDITION = "o.status IN ('pending', 'accepted', 'shipped')"


def seller_orders(db: sqlite_utils.Database, seller_id: int,
                  statuses: tuple[str, ...] = OPEN_STATUSES) -> list[dict]:
    """The seller's orders in `statuses`, oldest first (the order to answer them in)."""
    condition, values = _status_filter(statuses)
    return fetch_all(db, _SELECT + f" WHERE o.seller_id = ? AND {condition} ORDER BY o.id",
                     [seller_id, *values])


def seller_order_lines(db: sqlite_utils.Database, seller_id: int,
                       statuses: tuple[str, ...] = OPEN_STATUSES) -> list[dict]:
    """The seller's orders in `statuses` as `STATUS` lists them (code, quantity, unit,
    status, product), oldest first. Nothing else is read: with two web workers each of
    these is read from disk again per message, and the listing and the buyer of every
    order were two more B-tree lookups each (DECISIONS 483)."""
    condition, values = _status_filter(statuses)
    return fetch_all(db, "SELECT o.id, o.code, o.quantity_milli, o.unit, o.status, "
                         "p.name AS product_name FROM orders o JOIN products p ON p.id = o.product_id "
                         f"WHERE o.seller_id = ? AND {condition} ORDER BY o.id", [seller_id, *values])


def buyer_orders(db: sqlite_utils.Database, buyer_id: int, statuses: tuple[str, ...] | None = None,
                 limit: int = 20, offset: int = 0) -> tuple[list[dict], int]:
    """The buyer's orders (all, or in `statuses`), newest first: (page, total)."""
    where, params = "o.buyer_id = ?", [buyer_id]
    if statuses:
        condition, values = _status_filter(statuses)
        where += f" AND {condition}"
        params += values
    total = db.execute(f"SELECT COUNT(*) FROM orders o WHERE {where}", params).fetchone()[0]
    rows = fetch_all(db, _SELECT + f" WHERE {where} ORDER BY o.id DESC LIMIT ? OFFSET ?",
                     [*params, limit, offset])
    return rows, total


def list_orders(db: sqlite_utils.Database, statuses: tuple[str, ...] | None = None,
                limit: int = 200, offset: int = 0) -> list[dict]:
    """Orders newest first, for coordinators (`jembatan order list`, the desk's Pesanan)."""
    where, params = where_in("o.status", statuses)
    return fetch_all(db, f"{_SELECT} {where} ORDER BY o.id DESC LIMIT ? OFFSET ?",
                     [*params, limit, offset])


def order_document(order: dict) -> dict:
    """The order as buyers' systems see it: the API's answer and the webhooks' `order`.
    Quantities are decimal strings, money whole rupiah, times UTC; no phone numbers."""
    return {
        "code": order["code"],
        "status": order["status"],
        "listing": order["listing_code"],
        "product": order["product_name"],
        "quantity": str(listings.from_milli(order["quantity_milli"])),
        "unit": order["unit"],
        "unit_price": order["unit_price"],
        "total": order["total"],
        "currency": "IDR",
        "seller": {"name": order["seller_name"], "village": order["seller_village"]},
        "buyer": {"name": order["buyer_name"], "city": order["buyer_city"]},
        "created_at": order["created_at"],
        "updated_at": order["updated_at"],
        "expires_at": order["expires_at"] if order["status"] == "pending" else None,
        "accepted_at": order["accepted_at"],
        "shipped_at": order["shipped_at"],
        "received_at": order["received_at"],
        "closed_at": order["closed_at"],
    }


# --- placing -----------------------------------------------------------------------------


def order_total(unit_price: int, quantity_milli: int) -> int:
    """Whole rupiah for `quantity_milli` thousandths at `unit_price`, rounded half up
    (2,5 kg at Rp12.345 is Rp30.863)."""
    return (unit_price * quantity_milli + 500) // 1000


def request_fingerprint(listing_code: str, quantity: Decimal, unit: str | None) -> str:
    """What an order request asked for, to tell a retry from a different request that
    reuses an Idempotency-Key (`20` and `20.0` kg are the same request)."""
    canonical = json.dumps([listings.normalize_code(listing_code), str(quantity.normalize()), unit])
    return hashlib.sha256(canonical.encode()).hexdigest()


#: A buyer who registered by text (`source = 'sms'`: anyone with a SIM) and has had no
#: order received yet may have at most this many orders waiting for sellers at once, and
#: one of their orders may take at most half of what a listing has left (whole units, at
#: least one): an unknown number cannot hold a seller's whole stock (DECISIONS 363).
NEW_BUYER_PENDING_ORDERS = 2
NEW_BUYER_SHARE = 2  # one order takes at most 1/NEW_BUYER_SHARE of what is left


def new_buyer_cap(listing: dict) -> int:
    """The most (milli-units) one order of a new buyer may take from `listing` now."""
    left = listing["quantity_milli"]
    return max(left // NEW_BUYER_SHARE // 1000 * 1000, min(1000, left))


def is_new_buyer(db: sqlite_utils.Database, buyer: dict) -> bool:
    """Registered by text and nothing received yet: their orders are limited."""
    return buyer.get("source") == "sms" and fetch_one(
        db, "SELECT 1 FROM orders WHERE buyer_id = ? AND status = 'received' LIMIT 1",
        [buyer["id"]]) is None


def check_new_buyer(db: sqlite_utils.Database, buyer: dict | None, listing: dict, milli: int) -> None:
    """Raise OrderRefused if a new buyer (or a newcomer, `buyer` None) may not take `milli`
    of `listing` now; stock itself is checked by the caller first.

    A hub's listing at a city (`origin_hub`) has no share limit here: the city's copy of
    its stock may be old and only the hub reserves (DECISIONS 391); the limit on waiting
    orders, `requested` ones included, holds everywhere."""
    if buyer is not None:
        if not is_new_buyer(db, buyer):
            return
        waiting = db.execute("SELECT COUNT(*) FROM orders WHERE buyer_id = ? "
                             "AND status IN ('pending', 'requested')", [buyer["id"]]).fetchone()[0]
        if waiting >= NEW_BUYER_PENDING_ORDERS:
            raise OrderRefused("new_buyer_pending", count=NEW_BUYER_PENDING_ORDERS)
    if listing.get("origin_hub"):
        return
    cap = new_buyer_cap(listing)
    if milli > cap:
        raise OrderRefused("new_buyer_share", code=listing["code"], unit=listing["unit"],
                           limit=listings.from_milli(cap))


def place_order(
    db: sqlite_utils.Database, *, buyer: dict, listing_code: str, quantity: Decimal,
    unit: str | None, now: datetime, settings: dict, source: str,
    idempotency_key: str | None = None, city_request: tuple[str, int] | None = None,
) -> OrderChange:
    """Reserve `quantity` of the listing for `buyer` and create a pending order.

    At a city, a hub's listing (`origin_hub`) is not reserved here: the order is
    `requested`, coded with the hub's letter (`AP7`), and its request to the hub is
    written to `federation_requests` in this transaction. At a hub, `city_request`
    (request id, the city's order id) marks an order taken from the city.

    Raises OrderRefused (nothing changed) or, for a key reused with another request,
    IdempotencyConflict. With an `idempotency_key` seen before for the same request,
    returns the first order with `applied=False` and changes nothing.
    """
    fingerprint = request_fingerprint(listing_code, quantity, unit) if idempotency_key else None
    with transaction(db):
        if idempotency_key is not None:
            earlier = fetch_one(db, "SELECT id, request_fingerprint FROM orders WHERE buyer_id = ? "
                                    "AND idempotency_key = ?", [buyer["id"], idempotency_key])
            if earlier is not None:
                if earlier["request_fingerprint"] != fingerprint:
                    raise IdempotencyConflict(idempotency_key)
                order = get_order(db, earlier["id"])
                return OrderChange(order, "place", None, order["status"], applied=False)
        listing = listings.find_listing(db, listing_code)
        code = listings.normalize_code(listing_code)
        if listing is None:
            raise OrderRefused("listing_not_found", code=code)
        if listing["status"] != "active":
            raise OrderRefused("listing_unavailable", code=listing["code"])
        if unit and unit != listing["unit"]:
            raise OrderRefused("unit_mismatch", code=listing["code"], unit=listing["unit"])
        if not quantity.is_finite() or not listings.valid_quantity(quantity):
            raise OrderRefused("invalid_quantity", code=listing["code"], unit=listing["unit"])
        milli = listings.to_milli(quantity)
        total = order_total(listing["price"], milli)
        if total <= 0:
            raise OrderRefused("invalid_quantity", code=listing["code"], unit=listing["unit"])
        if milli > listing["quantity_milli"] and not listing.get("origin_hub"):
            # A hub's listing: the city's copy of its stock may be old; the hub decides.
            raise OrderRefused("out_of_stock", code=listing["code"], unit=listing["unit"],
                               available=listings.quantity_of(listing))
        if source != "api":  # an API key is given by a coordinator: that buyer is known
            check_new_buyer(db, buyer, listing, milli)
        stamp = to_db_time(now)
        if listing.get("origin_hub"):
            return _request_from_hub(db, settings, buyer, listing, milli, total, now, source,
                                     idempotency_key, fingerprint)
        # The reservation: only succeeds while enough is available, under the write lock.
        reserved = db.execute(
            "UPDATE listings SET quantity_milli = quantity_milli - ?, updated_at = ? "
            "WHERE id = ? AND status = 'active' AND quantity_milli >= ?",
            [milli, stamp, listing["id"], milli]).rowcount
        if not reserved:
            raise OrderRefused("out_of_stock", code=listing["code"], unit=listing["unit"],
                               available=listings.quantity_of(listing))
        expires_at = now + timedelta(minutes=int(settings.get("ORDER_EXPIRY_MINUTES") or 360))
        reminder = int(settings.get("ORDER_REMINDER_MINUTES") or 0)
        remind_at = now + timedelta(minutes=reminder) if reminder else expires_at
        cursor = db.execute(
            """
            INSERT INTO orders (code, buyer_id, listing_id, seller_id, product_id, quantity_milli,
                unit, unit_price, total, status, source, idempotency_key, request_fingerprint,
                remind_at, expires_at, created_at, updated_at, city_request, city_order_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [listings.sequential_code(db, "orders", ORDER_CODE_LETTER), buyer["id"], listing["id"],
             listing["seller_id"], listing["product_id"], milli, listing["unit"], listing["price"],
             total, source, idempotency_key, fingerprint, to_db_time(remind_at),
             to_db_time(expires_at), stamp, stamp, *(city_request or (None, None))],
        )
        return _changed(db, settings, cursor.lastrowid, "place", None, "pending", source, now)


# --- orders for a hub's listings (at a city) ---------------------------------------------


def _request_from_hub(db, settings: dict, buyer: dict, listing: dict, milli: int, total: int,
                      now: datetime, source: str, idempotency_key: str | None,
                      fingerprint: str | None) -> OrderChange:
    """A city order for hub `listing["origin_hub"]`'s listing: `requested`, nothing
    reserved (the hub's stock is the hub's), its request in the city's outbox."""
    hub_id, stamp = listing["origin_hub"], to_db_time(now)
    # Not the order's clock (the hub starts it when it receives the request): the time
    # the hub must take it by, or refuse it as too late (DECISIONS 422). At that time the
    # city tells its buyer the village has not answered yet (`due_unanswered`).
    expires_at = to_db_time(request_deadline(now, settings))
    cursor = db.execute(
        """
        INSERT INTO orders (code, buyer_id, listing_id, seller_id, product_id, quantity_milli,
            unit, unit_price, total, status, source, idempotency_key, request_fingerprint,
            remind_at, expires_at, created_at, updated_at, origin_hub)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [listings.sequential_code(db, "orders", ORDER_CODE_LETTER, prefix=hub_id), buyer["id"],
         listing["id"], listing["seller_id"], listing["product_id"], milli, listing["unit"],
         listing["price"], total, source, idempotency_key, fingerprint, expires_at, expires_at,
         stamp, stamp, hub_id],
    )
    order_id = cursor.lastrowid
    code = get_order(db, order_id)["code"]
    request_hub(db, order_id, hub_id, "order.request", {
        "listing_id": listing["origin_id"], "listing": listing["code"][len(hub_id):],
        "quantity_milli": milli, "unit": listing["unit"], "unit_price": listing["price"],
        "total": total, "code": code, "source": source, "take_by": expires_at,
        "buyer": {"id": buyer["id"], "name": buyer["name"], "city": buyer["city"]},
    }, now)
    return _changed(db, settings, order_id, "place", None, "requested", source, now)


def request_deadline(now: datetime, settings: dict) -> datetime:
    """When a city order placed `now` must have been taken by its hub (DECISIONS 422)."""
    return now + timedelta(hours=int(settings.get("JEMBATAN_REQUEST_WAIT_HOURS") or 24))


def request_hub(db: sqlite_utils.Database, order_id: int, hub_id: str, kind: str, data: dict,
                now: datetime) -> int:
    """Write a request for hub `hub_id` to the city's outbox (`federation_requests`), in
    the caller's transaction; the relay publishes it. Returns its row id."""
    return db.execute(
        "INSERT INTO federation_requests (epoch, hub_id, order_id, kind, payload, created_at) "
        "VALUES (COALESCE((SELECT epoch FROM federation_identity WHERE id = 1), 1), ?, ?, ?, ?, ?)",
        [hub_id, order_id, kind, json.dumps({"city_order": order_id, **data}, ensure_ascii=False),
         to_db_time(now)]).lastrowid


def apply_hub_answer(db: sqlite_utils.Database, order_id: int, data: dict, version: tuple[int, int],
                     now: datetime, *, settings: dict) -> OrderChange | None:
    """At a city, in the caller's transaction: move order `order_id` to the hub's state
    `data` (its order event, or its refusal). None when `version` (epoch, sequence) is not
    newer than what the city applied; a change with `applied=False` when the status stays
    (a final one, or the same) and only the hub's details were taken."""
    order = get_order(db, order_id)
    if (order["origin_epoch"] or 0, order["origin_seq"] or 0) >= version:
        return None
    current, target = order["status"], data["status"]
    # A hub restored from a backup (a newer epoch) decided again what the city replayed
    # to it (DECISIONS 423): its word wins over what the lost copy had said, until final.
    redecided = current in OPEN_STATUSES and version[0] > (order["origin_epoch"] or 0)
    moves = target != current and (target in HUB_ANSWERS.get(current, ())
                                   or (redecided and target in HUB_EVENTS))
    stamp = to_db_time(now)
    values = {"origin_epoch": version[0], "origin_seq": version[1], "updated_at": stamp}
    if data.get("id") is not None:  # the hub's order: its code, and its price (the hub's)
        values.update(origin_id=data["id"], origin_code=data.get("code"),
                      unit_price=data["unit_price"], total=data["total"])
    if moves:
        values["status"] = target
        for column in ("expires_at", "accepted_at", "shipped_at", "received_at", "closed_at"):
            if data.get(column):
                values[column] = data[column]
        if target in FINAL_STATUSES and not data.get("closed_at"):
            values["closed_at"] = stamp
    db.execute(f"UPDATE orders SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
               [*values.values(), order_id])
    if not moves:
        return OrderChange(get_order(db, order_id), "hub", current, current, applied=False)
    return _changed(db, settings, order_id, HUB_EVENTS[target], current, target, "hub", now)


# --- the lifecycle -----------------------------------------------------------------------


def apply_order_event(
    db: sqlite_utils.Database, order_id: int, event: str, now: datetime, *, settings: dict,
    source: str,
) -> OrderChange:
    """Move the order per TRANSITIONS, with what that means for stock (a released
    reservation) and money (the seller's credit on receipt), atomically. Raises
    IllegalOrderTransition (nothing changed) for an event its status does not allow."""
    with transaction(db):
        order = get_order(db, order_id)
        current = order["status"]
        remote = order["origin_hub"]
        if remote and event == "cancel" and current in ("requested", "pending"):
            # Only the hub knows whether its seller answered meanwhile: asked, not done.
            request_hub(db, order_id, remote, "order.cancel", {}, now)
            return OrderChange(order, event, current, current, forwarded=True)
        target = TRANSITIONS.get((current, event))
        if target is None or (remote and event != "receive"):
            raise IllegalOrderTransition(order, event)
        stamp = to_db_time(now)
        columns = ["status = ?", "updated_at = ?"]
        values: list = [target, stamp]
        if target in _TIME_COLUMN:
            columns.append(f"{_TIME_COLUMN[target]} = ?")
            values.append(stamp)
        if target in FINAL_STATUSES:
            columns.append("closed_at = ?")
            values.append(stamp)
        db.execute(f"UPDATE orders SET {', '.join(columns)} WHERE id = ? AND status = ?",
                   [*values, order_id, current])
        if target in RELEASES_RESERVATION and not remote:
            db.execute("UPDATE listings SET quantity_milli = quantity_milli + ?, updated_at = ? "
                       "WHERE id = ?", [order["quantity_milli"], stamp, order["listing_id"]])
        credit = None
        if remote:  # the buyer's receipt goes down; the hub credits its seller
            request_hub(db, order_id, remote, "order.receive", {}, now)
        elif target == "received":
            credit = ledger.credit_order_receipt(
                db, seller_contact_id=order["seller_id"], order_ref=order["code"],
                amount=order["total"], now=now, fee_bps=int(settings.get("COOPERATIVE_FEE_BPS") or 0))
        change = _changed(db, settings, order_id, event, current, target, source, now)
        return OrderChange(change.order, event, current, target, True, change.webhook_ids, credit)


def _changed(db, settings: dict, order_id: int, event: str, from_status: str | None,
             to_status: str, source: str, now: datetime) -> OrderChange:
    """Record the event and, for a webhook buyer, its relay; return the change."""
    db.execute("INSERT INTO order_events (order_id, event, from_status, to_status, source, created_at) "
               "VALUES (?, ?, ?, ?, ?, ?)", [order_id, event, from_status, to_status, source,
                                             to_db_time(now)])
    order = get_order(db, order_id)
    webhook_ids = []
    if order["buyer_channel"] == "webhook":
        if event == "place":
            event_type = "order.requested" if to_status == "requested" else "order.created"
        else:  # a hub taking a requested order is when it is created for the seller
            event_type = "order.created" if event == "take" else f"order.{to_status}"
        webhook_ids.append(webhooks.queue_event(
            db, buyer_id=order["buyer_id"], order_id=order_id, event_type=event_type,
            order=order_document(order), now=now,
            retry_hours=int(settings.get("WEBHOOK_RETRY_HOURS") or 24)))
    return OrderChange(order, event, from_status, to_status, True, webhook_ids)


# --- timers ------------------------------------------------------------------------------


def holding_orders(db: sqlite_utils.Database, listing_id: int) -> list[dict]:
    """Orders that hold some of the listing's stock: pending or accepted, not yet shipped."""
    return fetch_all(db, "SELECT code, quantity_milli FROM orders WHERE listing_id = ? "
                     "AND status IN ('pending', 'accepted') ORDER BY id", [listing_id])


def due_reminders(db: sqlite_utils.Database, now: datetime) -> list[int]:
    """Pending orders whose seller should get their one reminder now."""
    stamp = to_db_time(now)
    return [row["id"] for row in fetch_all(
        db, "SELECT id FROM orders WHERE status = 'pending' AND reminded_at IS NULL "
            "AND remind_at <= ? AND expires_at > ? AND origin_hub IS NULL ORDER BY id",
        [stamp, stamp])]


def mark_reminded(db: sqlite_utils.Database, order_id: int, now: datetime) -> bool:
    """Note the reminder (inside the transaction that queues it); False if it was already
    sent or the order is no longer pending."""
    return bool(db.execute(
        "UPDATE orders SET reminded_at = ? WHERE id = ? AND status = 'pending' AND reminded_at IS NULL",
        [to_db_time(now), order_id]).rowcount)


def due_unanswered(db: sqlite_utils.Database, now: datetime) -> list[int]:
    """At a city: requested orders past the time their hub had to take them by, whose
    buyer has not been told yet that the village has not answered (DECISIONS 422)."""
    return [row["id"] for row in fetch_all(
        db, "SELECT id FROM orders WHERE status = 'requested' AND reminded_at IS NULL "
            "AND expires_at <= ? ORDER BY id", [to_db_time(now)])]


def mark_told_unanswered(db: sqlite_utils.Database, order_id: int, now: datetime) -> bool:
    """Note that the buyer was told (in the transaction that queues it); False if the
    hub answered meanwhile or the buyer was told already."""
    return bool(db.execute(
        "UPDATE orders SET reminded_at = ? WHERE id = ? AND status = 'requested' AND reminded_at IS NULL",
        [to_db_time(now), order_id]).rowcount)


def due_expiries(db: sqlite_utils.Database, now: datetime) -> list[int]:
    """Pending orders whose time to be answered has run out."""
    return [row["id"] for row in fetch_all(
        db, "SELECT id FROM orders WHERE status = 'pending' AND expires_at <= ? "
            "AND origin_hub IS NULL ORDER BY id",
        [to_db_time(now)])]
