"""`/api/v1/orders`: the whole path for a buyer's system (the seller answering by SMS
through the gateway webhook), idempotent retries, every error code, auth failures."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from bot.services import buyers, ledger, listings, orders
from bot.storage import transaction, utcnow
from bot.web.orders import ERRORS
from tests.conftest import gateway_post, sms_received
from tests.orders import FakeBuyerSystem, api_buyer, listing_quantity, seller_listing

SITI = "+6281234567890"
BODY = {"listing": "C2", "quantity": "20"}


@pytest.fixture
def shop(db, httpserver):
    """Siti's 50 kg of chili (C2) and Resto Sunda, a buyer whose system takes webhooks."""
    now = utcnow()
    seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12000, now)
    system = FakeBuyerSystem()
    buyer, key = api_buyer(db, now, webhook_url=system.install(httpserver))
    return {"buyer": buyer, "key": key, "system": system}


def auth(key: str, **headers) -> dict:
    return {"Authorization": f"Bearer {key}", **headers}


def seller_texts(db) -> list[str]:
    return [row["body"] for row in db.query(
        "SELECT body FROM outbox WHERE phone = ? AND kind = 'notification' ORDER BY id", [SITI])]


def text_from_seller(client, n: int, text: str) -> None:
    response = gateway_post(client, sms_received(f"siti-{n}", SITI, text))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_the_whole_path_through_the_api(client, db, shop):
    key = shop["key"]
    created = client.post("/api/v1/orders", json=BODY, headers=auth(key, **{"Idempotency-Key": "k-1"}))
    assert created.status_code == 201, created.get_json()
    order = created.get_json()["order"]
    assert created.headers["Location"] == "/api/v1/orders/P2"
    assert {k: order[k] for k in ("code", "status", "listing", "product", "quantity", "unit", "unit_price",
                                  "total", "currency", "seller", "buyer")} == {
        "code": "P2", "status": "pending", "listing": "C2", "product": "cabai", "quantity": "20",
        "unit": "kg", "unit_price": 12000, "total": 240000, "currency": "IDR",
        "seller": {"name": "Siti Aminah", "village": "Sukamaju"},
        "buyer": {"name": "Resto Sunda", "city": "Jakarta"}}
    assert order["expires_at"] > order["created_at"] and order["accepted_at"] is None
    assert seller_texts(db) == ["Pesanan P2: 20 kg cabai @Rp12.000 = Rp240.000 dari Resto Sunda, Jakarta. "
                                "Balas YA P2 atau TIDAK P2"]
    assert listing_quantity(db, "C2") == Decimal(30)

    text_from_seller(client, 1, "YA P2")
    assert client.get("/api/v1/orders/P2", headers=auth(key)).get_json()["order"]["status"] == "accepted"
    text_from_seller(client, 2, "KIRIM P2")
    shipped = client.get("/api/v1/orders/p2", headers=auth(key)).get_json()["order"]
    assert shipped["status"] == "shipped" and shipped["shipped_at"] is not None

    received = client.post("/api/v1/orders/P2/received", headers=auth(key))
    assert received.status_code == 200
    assert received.get_json()["order"]["status"] == "received"
    assert seller_texts(db)[-1] == ("Pesanan P2 (20 kg cabai) sudah diterima pembeli. Rp240.000 masuk ke "
                                    "saldo Bapak/Ibu. Cek: SALDO")
    assert ledger.order_receivable(db, "P2") == 240_000
    again = client.post("/api/v1/orders/P2/received", headers=auth(key))
    assert again.status_code == 200 and len(seller_texts(db)) == 2  # nothing twice

    listed = client.get("/api/v1/orders", headers=auth(key)).get_json()
    assert (listed["total"], [o["code"] for o in listed["orders"]]) == (1, ["P2"])
    assert client.get("/api/v1/orders?status=pending,accepted", headers=auth(key)).get_json()["orders"] == []
    # Every change went into the relay outbox for the buyer's system, in order.
    assert [(r["event_type"], r["sequence"]) for r in db.query(
        "SELECT event_type, sequence FROM webhook_deliveries ORDER BY id")] == [
        ("order.created", 1), ("order.accepted", 2), ("order.shipped", 3), ("order.received", 4)]


def test_cancel_through_the_api_releases_stock_and_tells_the_seller(client, db, shop):
    key = shop["key"]
    client.post("/api/v1/orders", json=BODY, headers=auth(key))
    cancelled = client.post("/api/v1/orders/P2/cancel", headers=auth(key))
    assert cancelled.status_code == 200 and cancelled.get_json()["order"]["status"] == "cancelled"
    assert cancelled.get_json()["order"]["closed_at"] is not None
    assert listing_quantity(db, "C2") == Decimal(50)
    assert seller_texts(db)[-1] == ("Pesanan P2 (20 kg cabai) dibatalkan oleh Resto Sunda. Stok kembali ke "
                                    "jualan C2. Tidak perlu dibalas.")
    assert client.post("/api/v1/orders/P2/cancel", headers=auth(key)).status_code == 200  # a retry
    assert listing_quantity(db, "C2") == Decimal(50)


def test_idempotent_retries_return_the_same_order_never_a_second(client, db, shop):
    key = shop["key"]
    first = client.post("/api/v1/orders", json=BODY, headers=auth(key, **{"Idempotency-Key": "order-77"}))
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    for body in (BODY, {"listing": "c2", "quantity": 20}, {"listing": "C2", "quantity": "20.0"}):
        retry = client.post("/api/v1/orders", json=body, headers=auth(key, **{"Idempotency-Key": "order-77"}))
        assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
        assert retry.get_json() == first.get_json()
    assert db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 1
    assert listing_quantity(db, "C2") == Decimal(30)  # reserved once
    assert len(seller_texts(db)) == 1  # the seller heard once
    assert db.execute("SELECT COUNT(*) FROM webhook_deliveries").fetchone()[0] == 1

    other_body = client.post("/api/v1/orders", json={"listing": "C2", "quantity": "5"},
                             headers=auth(key, **{"Idempotency-Key": "order-77"}))
    assert other_body.status_code == 422
    assert other_body.get_json()["error"] == "idempotency_key_reused"
    assert db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 1

    ten = {"listing": "C2", "quantity": "10"}
    new_key = client.post("/api/v1/orders", json=ten, headers=auth(key, **{"Idempotency-Key": "order-78"}))
    assert new_key.status_code == 201 and new_key.get_json()["order"]["code"] == "P3"
    # Keys belong to a buyer: another buyer's same key is their own first request.
    with transaction(db):
        _, other = api_buyer(db, utcnow(), name="Toko Lain", phone="+6281377778888")
    theirs = client.post("/api/v1/orders", json=ten, headers=auth(other, **{"Idempotency-Key": "order-77"}))
    assert theirs.status_code == 201 and theirs.get_json()["order"]["code"] == "P4"
    # Without a key every request is a new order.
    for _ in range(2):
        assert client.post("/api/v1/orders", json={"listing": "C2", "quantity": 1},
                           headers=auth(key)).status_code == 201
    assert listing_quantity(db, "C2") == Decimal(8)


def test_every_error_code(client, db, shop):
    key = shop["key"]
    with transaction(db):
        gone = seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "tomat", "10", "kg", 8000, utcnow())
        listings.withdraw_listing(db, gone["id"], utcnow())
        key_row, revoked = buyers.create_api_key(db, shop["buyer"]["id"], utcnow(), "old till")
        buyers.revoke_api_key(db, key_row["id"], utcnow())
        _, stranger_key = api_buyer(db, utcnow(), name="Toko Lain", phone="+6281377778888")
    seen = set()

    def check(response, http_status: int, code: str, **fields):
        body = response.get_json()
        assert response.status_code == http_status, body
        assert body["error"] == code and body["message"], body
        for name, value in fields.items():
            assert body[name] == value, body
        seen.add(code)
        return body

    post = client.post
    check(post("/api/v1/orders", json=BODY), 401, "missing_api_key")
    check(post("/api/v1/orders", json=BODY, headers={"Authorization": "Bearer jbk_not-a-key"}), 401,
          "invalid_api_key")
    check(post("/api/v1/orders", json=BODY, headers={"Authorization": f"Basic {key}"}), 401,
          "invalid_api_key")
    check(post("/api/v1/orders", json=BODY, headers=auth(revoked)), 401, "invalid_api_key")
    check(post("/api/v1/orders", data="listing=C2", headers=auth(key)), 400, "invalid_json")
    check(post("/api/v1/orders", json=["C2", 20], headers=auth(key)), 400, "invalid_json")
    body = check(post("/api/v1/orders", json={}, headers=auth(key)), 422, "validation_error")
    assert [f["field"] for f in body["fields"]] == ["listing", "quantity"]
    body = check(post("/api/v1/orders", json={"listing": "C2", "quantity": True, "unit": 5},
                      headers=auth(key)), 422, "validation_error")
    assert [f["field"] for f in body["fields"]] == ["quantity", "unit"]
    check(post("/api/v1/orders", json={"listing": "C2", "quantity": "NaN"}, headers=auth(key)), 422,
          "validation_error")
    check(post("/api/v1/orders", json=BODY, headers=auth(key, **{"Idempotency-Key": "x" * 256})), 400,
          "invalid_idempotency_key")
    check(post("/api/v1/orders", json=BODY, headers=auth(key, **{"Idempotency-Key": "  "})), 400,
          "invalid_idempotency_key")
    check(post("/api/v1/orders", json={"listing": "C9", "quantity": 1}, headers=auth(key)), 404,
          "listing_not_found")
    check(post("/api/v1/orders", json={"listing": gone["code"], "quantity": 1}, headers=auth(key)), 409,
          "listing_unavailable")
    check(post("/api/v1/orders", json={"listing": "C2", "quantity": 5, "unit": "ikat"}, headers=auth(key)),
          422, "unit_mismatch", unit="kg")
    for quantity in ("0", "-1", "0.0001", "1.00000000000000000000000000000001"):
        check(post("/api/v1/orders", json={"listing": "C2", "quantity": quantity}, headers=auth(key)), 422,
              "invalid_quantity")
    check(post("/api/v1/orders", json={"listing": "C2", "quantity": "50.5"}, headers=auth(key)), 409,
          "out_of_stock", available="50", unit="kg")
    assert db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0
    assert listing_quantity(db, "C2") == Decimal(50)

    assert post("/api/v1/orders", json=BODY, headers=auth(key, **{"Idempotency-Key": "a"})).status_code == 201
    check(post("/api/v1/orders", json={"listing": "C2", "quantity": 2}, headers=auth(key, **{
        "Idempotency-Key": "a"})), 422, "idempotency_key_reused")
    check(client.get("/api/v1/orders/P99", headers=auth(key)), 404, "order_not_found")
    check(client.get("/api/v1/orders/P2", headers=auth(stranger_key)), 404, "order_not_found")
    check(post("/api/v1/orders/P2/cancel", headers=auth(stranger_key)), 404, "order_not_found")
    check(post("/api/v1/orders/P2/received", headers=auth(key)), 409, "invalid_transition", status="pending")
    text_from_seller(client, 1, "YA P2")
    check(post("/api/v1/orders/P2/cancel", headers=auth(key)), 409, "invalid_transition", status="accepted")
    check(client.get("/api/v1/orders?status=lost", headers=auth(key)), 400, "invalid_parameter")
    check(client.get("/api/v1/orders?limit=0", headers=auth(key)), 400, "invalid_parameter")
    check(client.get("/api/v1/orders?offset=x", headers=auth(key)), 400, "invalid_parameter")
    guesser = {"REMOTE_ADDR": "198.51.100.7"}
    for _ in range(client.application.config["API_KEY_MAX_FAILURES"]):
        client.get("/api/v1/orders", headers=auth("jbk_guess"), environ_base=guesser)
    check(client.get("/api/v1/orders", headers=auth(key), environ_base=guesser), 429, "too_many_attempts")
    # The payment codes have their own table (tests/web/test_order_payments.py).
    payment_codes = {"invalid_amount", "invalid_reference", "payment_reference_reused", "overpayment",
                     "not_received"}
    assert seen == set(ERRORS) - payment_codes, f"untested: {set(ERRORS) - payment_codes - seen}"


@pytest.mark.parametrize("method,path", [("get", "/api/v1/orders"), ("get", "/api/v1/orders/P2"),
                                         ("post", "/api/v1/orders/P2/cancel"),
                                         ("post", "/api/v1/orders/P2/received")])
def test_every_endpoint_needs_a_valid_key(client, db, shop, method, path):
    client.post("/api/v1/orders", json=BODY, headers=auth(shop["key"]))
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer jbk_x"},
                    {"Authorization": shop["key"]}):
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 401, (headers, response.get_json())
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert orders.find_order(db, "P2")["status"] == "pending"


def test_api_keys_are_stored_hashed_only(db, shop):
    key = shop["key"]
    (row,) = db.query("SELECT * FROM buyer_api_keys")
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(list(db.query("SELECT * FROM buyer_api_keys")))
    assert key.startswith("jbk_") and len(key) >= 40


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/api/v1/orders/P2/cancel", 405, "method_not_allowed"),
    ("DELETE", "/api/v1/orders", 405, "method_not_allowed"),
    ("POST", "/api/v1/orders/", 404, "not_found"),
])
def test_wrong_paths_and_methods_answer_json(client, method, path, status, code):
    response = client.open(path, method=method)
    assert response.status_code == status and response.content_type == "application/json"
    assert response.get_json()["error"] == code
