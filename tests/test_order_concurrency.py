"""Fifty orders for the last 10 kg at the same moment, over real HTTP: a threaded server
(each request its own thread and SQLite connection, as gunicorn threads have), fifty
client threads each on its own connection, released together by a barrier. Exactly ten
succeed, the rest are told `out_of_stock`, and the listing ends at 0, never below."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter

from werkzeug.serving import make_server

from bot.services import listings
from bot.storage import transaction, utcnow
from tests.orders import api_buyer, seller_listing
from tests.waiting import join_all

ORDERS = 50
STOCK_KG = 10


def test_fifty_parallel_orders_never_oversell(app, db):
    now = utcnow()
    with transaction(db):
        listing = seller_listing(db, "+6281234567890", "Siti Aminah", "Sukamaju", "cabai", str(STOCK_KG),
                                 "kg", 12000, now)
        keys = [api_buyer(db, now, name=f"Resto {n}", phone=f"+62813000000{n:02d}")[1] for n in range(5)]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    barrier = threading.Barrier(ORDERS)
    results: list = [None] * ORDERS

    def place(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=60)
        body = json.dumps({"listing": listing["code"], "quantity": "1"})
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {keys[n % len(keys)]}",
                   "Idempotency-Key": f"rush-{n}"}
        try:
            barrier.wait(timeout=30)
            connection.request("POST", "/api/v1/orders", body, headers)
            response = connection.getresponse()
            results[n] = (response.status, json.loads(response.read()))
        finally:
            connection.close()

    clients = [threading.Thread(target=place, args=(n,)) for n in range(ORDERS)]
    try:
        for thread in clients:
            thread.start()
        join_all(clients, timeout=180, what="every buyer's order request to be answered")
    finally:
        server.shutdown()
        serving.join(timeout=10)

    assert all(result is not None for result in results), results
    assert Counter(status for status, _ in results) == {201: STOCK_KG, 409: ORDERS - STOCK_KG}
    refused = [body for status, body in results if status == 409]
    assert {body["error"] for body in refused} == {"out_of_stock"}
    codes = [body["order"]["code"] for status, body in results if status == 201]
    assert len(set(codes)) == STOCK_KG

    left = listings.find_listing(db, listing["code"])["quantity_milli"]
    reserved = db.execute("SELECT COALESCE(SUM(quantity_milli), 0), COUNT(*) FROM orders").fetchone()
    assert left == 0
    assert tuple(reserved) == (STOCK_KG * 1000, STOCK_KG)
    # The seller heard about each order that exists, once.
    told = db.execute("SELECT COUNT(*) FROM outbox WHERE reply_id = 'order.new_seller'").fetchone()[0]
    assert told == STOCK_KG
