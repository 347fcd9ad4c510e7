"""`POST /api/v1/orders/<code>/payments`: a buyer's system reports a payment for a
received order. Idempotent by reference in the buyer's own namespace; every refusal a
4xx with a stable code; the ledger reconciles the receivable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.services import ledger, orders
from bot.services.reconciliation import check_ledger
from bot.storage import transaction, utcnow
from tests.orders import api_buyer, seller_listing

SITI = "+6281234567890"
TIMERS = {"ORDER_EXPIRY_MINUTES": 360, "ORDER_REMINDER_MINUTES": 60}


@pytest.fixture
def received(db):
    """Order P2 (20 kg at Rp12.000 = Rp240.000) placed by Resto Sunda and received; and a
    second buyer with an order of their own."""
    now = utcnow()
    seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12000, now)
    buyer, key = api_buyer(db, now, phone="+6281300001111")
    other, other_key = api_buyer(db, now, name="Warung Bu Tini", city="Bandung",
                                 phone="+6281300002222")
    with transaction(db):
        change = orders.place_order(db, buyer=buyer, listing_code="C2", quantity=Decimal(20), unit=None,
                                    now=now, settings=TIMERS, source="api")
        for event in ("accept", "receive"):
            orders.apply_order_event(db, change.order["id"], event, now,
                                     settings={"COOPERATIVE_FEE_BPS": 0}, source="api")
    return {"code": change.order["code"], "key": key, "other_key": other_key, "buyer": buyer, "other": other}


def pay(client, key, code, **body):
    return client.post(f"/api/v1/orders/{code}/payments", json=body,
                       headers={"Authorization": f"Bearer {key}"})


def test_a_payment_settles_the_receivable_once(client, db, received):
    code, key = received["code"], received["key"]
    first = pay(client, key, code, amount=200_000, reference="TRF-0042")
    assert first.status_code == 201, first.get_json()
    assert first.get_json() == {"payment": {"order": code, "amount": 200_000, "reference": "TRF-0042",
                                            "currency": "IDR"}, "amount_due": 40_000}
    again = pay(client, key, code, amount="200000", reference="TRF-0042")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["amount_due"] == 40_000
    rest = pay(client, key, code, amount=40_000, reference="TRF-0043")
    assert rest.status_code == 201 and rest.get_json()["amount_due"] == 0
    assert ledger.order_receivable(db, code) == 0
    assert check_ledger(db).ok


@pytest.mark.parametrize("body, status, error", [
    ({"amount": 0, "reference": "R1"}, 422, "invalid_amount"),
    ({"amount": -5, "reference": "R1"}, 422, "invalid_amount"),
    ({"amount": 1.5, "reference": "R1"}, 422, "invalid_amount"),
    ({"amount": "1e9", "reference": "R1"}, 422, "invalid_amount"),
    ({"amount": "1_000", "reference": "R1"}, 422, "invalid_amount"),
    ({"amount": True, "reference": "R1"}, 422, "invalid_amount"),
    ({"amount": 10**20, "reference": "R1"}, 422, "invalid_amount"),
    ({"amount": 1000}, 422, "invalid_reference"),
    ({"amount": 1000, "reference": ""}, 422, "invalid_reference"),
    ({"amount": 1000, "reference": "x" * 101}, 422, "invalid_reference"),
    ({"amount": 1000, "reference": ["R1"]}, 422, "invalid_reference"),
    ({"amount": 240_001, "reference": "R1"}, 422, "overpayment"),
])
def test_malformed_payments_are_refused(client, db, received, body, status, error):
    response = pay(client, received["key"], received["code"], **body)
    assert (response.status_code, response.get_json()["error"]) == (status, error)
    assert ledger.order_receivable(db, received["code"]) == 240_000


def test_a_reference_reused_for_another_amount_is_refused(client, received):
    assert pay(client, received["key"], received["code"], amount=1000, reference="R9").status_code == 201
    reused = pay(client, received["key"], received["code"], amount=2000, reference="R9")
    assert (reused.status_code, reused.get_json()["error"]) == (422, "payment_reference_reused")


def test_another_buyers_order_is_not_found_and_references_do_not_collide(client, db, received):
    stranger = pay(client, received["other_key"], received["code"], amount=1000, reference="R1")
    assert (stranger.status_code, stranger.get_json()["error"]) == (404, "order_not_found")
    assert pay(client, received["key"], received["code"], amount=1000, reference="R1").status_code == 201
    # The same words from a coordinator's bank slip are another reference.
    ledger.record_buyer_payment(db, order_ref=received["code"], amount=500, reference="R1",
                                now=utcnow())
    assert ledger.order_receivable(db, received["code"]) == 240_000 - 1500


def test_an_order_not_yet_received_cannot_be_paid_here(client, db):
    now = utcnow()
    seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12000, now)
    buyer, key = api_buyer(db, now, phone="+6281300001111")
    with transaction(db):
        change = orders.place_order(db, buyer=buyer, listing_code="C2", quantity=Decimal(5), unit=None,
                                    now=now, settings=TIMERS, source="api")
    response = pay(client, key, change.order["code"], amount=1000, reference="R1")
    assert (response.status_code, response.get_json()["error"]) == (409, "not_received")
    assert response.get_json()["status"] == "pending"


def test_payments_need_a_key_and_a_json_object(client, received):
    code = received["code"]
    anonymous = client.post(f"/api/v1/orders/{code}/payments", json={"amount": 1, "reference": "x"})
    assert anonymous.status_code == 401
    bad = client.post(f"/api/v1/orders/{code}/payments", data="[1]", content_type="application/json",
                      headers={"Authorization": f"Bearer {received['key']}"})
    assert (bad.status_code, bad.get_json()["error"]) == (400, "invalid_json")
