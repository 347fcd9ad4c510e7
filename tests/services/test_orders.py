"""The order lifecycle as a table: every (status, event) pair either moves as TRANSITIONS
says or raises and changes nothing; reservations are taken and given back exactly; the
database itself refuses a negative stock; codes avoid look-alikes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.config import load_config
from bot.migrations import apply_migrations
from bot.services import ledger, listings, orders
from bot.services.orders import IllegalOrderTransition, OrderRefused
from bot.services.reconciliation import check_ledger
from bot.storage import open_database, transaction
from tests.orders import api_buyer, listing_quantity, seller_listing

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
SETTINGS = load_config({})
#: Legal ways to reach each status from pending.
PATHS = {
    "pending": [], "accepted": ["accept"], "shipped": ["accept", "ship"],
    "received": ["accept", "ship", "receive"], "declined": ["decline"], "cancelled": ["cancel"],
    "expired": ["expire"],
}


@pytest.fixture
def db(migrated_db):
    return migrated_db


@pytest.fixture
def shop(db):
    with transaction(db):
        listing = seller_listing(db, "+6281234567890", "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12345,
                                 NOW)
        buyer, _ = api_buyer(db, NOW, phone="+6281311112222", name="Warung Bu Tini", city="Bandung")
    return listing, buyer


def place(db, buyer, quantity="2.5", code="C2", **extra):
    return orders.place_order(db, buyer=buyer, listing_code=code, quantity=Decimal(quantity), unit=None,
                              now=NOW, settings=SETTINGS, source="text", **extra)


def snapshot(db) -> tuple:
    return (list(db.query("SELECT * FROM orders")), list(db.query("SELECT * FROM listings")),
            db.execute("SELECT COUNT(*) FROM order_events").fetchone()[0],
            db.execute("SELECT COUNT(*) FROM ledger_transactions").fetchone()[0])


@pytest.mark.parametrize("status", orders.STATUSES)
@pytest.mark.parametrize("event", orders.EVENTS)
def test_every_status_and_event(db, shop, status, event):
    _, buyer = shop
    order = place(db, buyer).order
    for step in PATHS[status]:
        orders.apply_order_event(db, order["id"], step, NOW, settings=SETTINGS, source="text")
    assert orders.get_order(db, order["id"])["status"] == status
    target = orders.TRANSITIONS.get((status, event))
    before = snapshot(db)
    if target is None:
        with pytest.raises(IllegalOrderTransition):
            orders.apply_order_event(db, order["id"], event, NOW, settings=SETTINGS, source="text")
        assert snapshot(db) == before  # not a silent no-op, and no half change either
        return
    change = orders.apply_order_event(db, order["id"], event, NOW, settings=SETTINGS, source="text")
    assert (change.from_status, change.to_status, change.order["status"]) == (status, target, target)
    released = target in orders.RELEASES_RESERVATION
    assert listing_quantity(db, "C2") == (Decimal(50) if released else Decimal("47.5"))
    assert (ledger.order_receivable(db, order["code"]) > 0) == (target == "received")


def test_placing_reserves_and_prices_exactly(db, shop):
    _, buyer = shop
    change = place(db, buyer, "2.5")
    order = change.order
    # Rp12.345 x 2,5 kg = Rp30.862,5, rounded half up to whole rupiah.
    assert (order["code"], order["total"], order["quantity_milli"]) == ("P2", 30863, 2500)
    assert listing_quantity(db, "C2") == Decimal("47.5")
    assert order["expires_at"] == "2026-11-28T08:00:00.000000Z"
    assert order["remind_at"] == "2026-11-28T04:00:00.000000Z"
    with pytest.raises(OrderRefused) as refused:
        place(db, buyer, "47.501")
    assert (refused.value.reason, refused.value.values["available"]) == ("out_of_stock", Decimal("47.5"))
    assert place(db, buyer, "47.5").order["code"] == "P3"
    assert listing_quantity(db, "C2") == 0


@pytest.mark.parametrize("quantity,reason", [("0", "invalid_quantity"), ("-1", "invalid_quantity"),
                                             ("0.0001", "invalid_quantity"), ("0.001", "out_of_stock")])
def test_refusals_change_nothing(db, shop, quantity, reason):
    listing, buyer = shop
    with transaction(db):
        listings.set_quantity(db, listing["id"], Decimal(0), NOW)
    before = snapshot(db)
    with pytest.raises(OrderRefused) as refused:
        place(db, buyer, quantity)
    assert refused.value.reason == reason
    assert snapshot(db) == before


def test_released_stock_goes_back_even_to_a_withdrawn_listing(db, shop):
    listing, buyer = shop
    order = place(db, buyer, "10").order
    with transaction(db):
        listings.withdraw_listing(db, listing["id"], NOW)
    with pytest.raises(OrderRefused) as refused:
        place(db, buyer, "1")
    assert refused.value.reason == "listing_unavailable"
    orders.apply_order_event(db, order["id"], "decline", NOW, settings=SETTINGS, source="text")
    assert listing_quantity(db, "C2") == Decimal(50)
    assert listings.find_listing(db, "C2")["status"] == "withdrawn"


def test_the_database_refuses_negative_stock_whatever_the_code_path(db, shop):
    with pytest.raises(sqlite3.IntegrityError, match="below zero"), transaction(db):
        db.execute("UPDATE listings SET quantity_milli = quantity_milli - 50001")
    assert listing_quantity(db, "C2") == Decimal(50)


def test_order_codes_are_p_and_digits_without_look_alikes(db, shop):
    _, buyer = shop
    codes = [place(db, buyer, "1").order["code"] for _ in range(10)]
    assert codes == ["P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P22", "P23"]
    assert orders.find_order(db, "#p-22")["code"] == "P22"


def test_receipt_credits_the_seller_once_minus_the_fee(db, shop):
    _, buyer = shop
    settings = dict(SETTINGS, COOPERATIVE_FEE_BPS=250)
    order = place(db, buyer, "10").order  # Rp123.450
    for step in ("accept", "ship"):
        orders.apply_order_event(db, order["id"], step, NOW, settings=settings, source="text")
    change = orders.apply_order_event(db, order["id"], "receive", NOW, settings=settings, source="api")
    credit = change.credit
    assert (credit.order_value, credit.fee, credit.seller_amount) == (123450, 3086, 120364)
    with pytest.raises(IllegalOrderTransition):
        orders.apply_order_event(db, order["id"], "receive", NOW, settings=settings, source="api")
    assert ledger.seller_balance(db, order["seller_id"]).available == 120364
    assert check_ledger(db).ok


def test_idempotency_key_returns_the_first_order(db, shop):
    _, buyer = shop
    first = place(db, buyer, "20", idempotency_key="k1")
    again = place(db, buyer, "20.000", idempotency_key="k1")
    assert (again.applied, again.order["id"]) == (False, first.order["id"])
    with pytest.raises(orders.IdempotencyConflict):
        place(db, buyer, "21", idempotency_key="k1")
    assert listing_quantity(db, "C2") == Decimal(30)


def test_migration_gives_buyers_marked_by_hand_their_row(tmp_path):
    from bot.migrations import migrations

    database = open_database(tmp_path / "old.db")
    migrations.apply(database, stop_before="m005_orders")
    database.execute("INSERT INTO contacts (phone, role, name, city, created_at) "
                     "VALUES ('+6281311112222', 'buyer', 'Warung Bu Tini', 'Bandung', '2026-01-01')")
    apply_migrations(database)
    (buyer,) = database.query("SELECT name, city, channel, contact_id FROM buyers")
    assert buyer == {"name": "Warung Bu Tini", "city": "Bandung", "channel": None, "contact_id": 1}
    database.conn.close()
