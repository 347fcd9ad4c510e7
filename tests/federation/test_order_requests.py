"""Orders flow down, message by message (issue 18), with no NATS: the city's API answers
`202 requested`, the hub takes a request once however often it is delivered, the city
applies the hub's answers once and in order, and the relay waits out a locked database.
The messages are handed across by the test exactly as the relay publishes them."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from bot.migrations import apply_migrations
from bot.pipeline.federation import apply_hub_event, take_city_request
from bot.relay import Relay
from bot.services import contacts, desk, federation, orders
from bot.storage import open_database, transaction, utcnow
from tests.federation.test_outbox import HUB, NOW, listing, seller
from tests.orders import api_buyer

CITY = {"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A"}


@pytest.fixture
def settings(settings):
    return settings | CITY


@pytest.fixture
def hub(tmp_path):
    db = open_database(tmp_path / "hub.db")
    apply_migrations(db)
    federation.sync_identity(db, HUB, NOW)
    listing(db, seller(db), quantity=50)  # C2, 50 kg
    return db


def publish_events(hub_db, city_db, settings) -> list[str]:
    """What the hub's relay publishes and the city's applies, in order: the outcomes."""
    outcomes = []
    rows = federation.unpublished(hub_db, 1000)
    for row in rows:
        outcomes.append(apply_hub_event(city_db, settings, federation.message_of("A", row),
                                        from_hub="A", now=utcnow())[0])
    federation.mark_published(hub_db, [row["id"] for row in rows], utcnow())
    return outcomes


def requests(city_db) -> list[dict]:
    rows = federation.unpublished_requests(city_db, 1000)
    federation.mark_requests_published(city_db, [row["id"] for row in rows], utcnow())
    return [json.loads(json.dumps(federation.request_message_of(row))) for row in rows]


def take(hub_db, message, settings) -> str:
    return take_city_request(hub_db, settings, message, hub_id="A", now=utcnow())[0]


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def webhook_types(db) -> list[str]:
    return [row[0] for row in db.execute("SELECT event_type FROM webhook_deliveries ORDER BY id")]


def test_api_order_for_a_hub_listing_is_requested_then_follows_the_hub(client, db, hub, settings):
    assert publish_events(hub, db, settings) == ["applied", "applied"]  # Siti, then AC2 at the city
    buyer, key = api_buyer(db, NOW, webhook_url="http://127.0.0.1:9/hook")
    created = client.post("/api/v1/orders", json={"listing": "AC2", "quantity": "20"},
                          headers=auth(key) | {"Idempotency-Key": "k-1"})
    assert created.status_code == 202, created.get_json()
    order = created.get_json()["order"]
    assert (order["code"], order["status"], order["listing"], order["expires_at"]) == (
        "AP2", "requested", "AC2", None)
    assert created.headers["Location"] == "/api/v1/orders/AP2"
    replay = client.post("/api/v1/orders", json={"listing": "AC2", "quantity": "20"},
                         headers=auth(key) | {"Idempotency-Key": "k-1"})
    assert replay.status_code == 200 and replay.get_json()["order"]["code"] == "AP2"
    assert webhook_types(db) == ["order.requested"]
    listed = client.get("/api/v1/orders?status=requested", headers=auth(key)).get_json()
    assert [o["code"] for o in listed["orders"]] == ["AP2"]
    # The desk counts it: among today's orders and the open ones (waiting for its hub).
    assert desk.open_order_counts(db) == {"requested": 1}
    today = desk.overview(db, utcnow(), "Asia/Jakarta", False)["periods"]["today"]["orders"]
    assert today["requested"] == 1

    [request] = requests(db)
    data = request["data"]
    assert (request["kind"], request["hub"], data["listing"], data["quantity_milli"]) == (
        "order.request", "A", "C2", 20_000)
    assert take(hub, request, settings) == "placed"
    assert take(hub, request, settings) == "duplicate"  # redelivered: still one hub order
    [hub_order] = hub.query("SELECT * FROM orders")
    assert (hub_order["status"], hub_order["city_request"], hub_order["quantity_milli"]) == (
        "pending", request["id"], 20_000)
    # The hub's seller is asked; the city buyer the hub holds is never texted.
    told = [row["phone"] for row in hub.query("SELECT phone FROM outbox")]
    assert told == ["+6281234567890"]
    contact_id = hub.execute("SELECT contact_id FROM buyers WHERE id = ?",
                             [hub_order["buyer_id"]]).fetchone()[0]
    remote = contacts.get_contact(hub, contact_id)
    assert (remote["role"], remote["phone"]) == (federation.REMOTE_BUYER, f"city:{buyer['id']}")

    events = federation.unpublished(hub, 1000)
    assert publish_events(hub, db, settings) == ["applied", "applied"]  # the stock, the order
    after = client.get("/api/v1/orders/AP2", headers=auth(key)).get_json()["order"]
    assert after["status"] == "pending" and after["expires_at"] == hub_order["expires_at"]
    assert webhook_types(db) == ["order.requested", "order.created"]
    # The same events again (a redelivery past JetStream's window): nothing changes.
    for row in events:
        assert apply_hub_event(db, settings, federation.message_of("A", row), from_hub="A",
                               now=utcnow())[0] == "duplicate"

    # The buyer's cancel is asked of the hub: 202, nothing moved at the city yet.
    cancel = client.post("/api/v1/orders/AP2/cancel", headers=auth(key))
    assert cancel.status_code == 202 and cancel.get_json()["order"]["status"] == "pending"
    with transaction(hub):
        orders.apply_order_event(hub, hub_order["id"], "accept", NOW, settings=settings, source="text")
    [cancel_request] = requests(db)
    assert take(hub, cancel_request, settings) == "refused"  # the seller answered first
    publish_events(hub, db, settings)
    assert client.get("/api/v1/orders/AP2", headers=auth(key)).get_json()["order"]["status"] == "accepted"
    assert webhook_types(db)[-1] == "order.accepted"


def test_an_older_hub_answer_arriving_late_is_stale(client, db, hub, settings):
    publish_events(hub, db, settings)
    _, key = api_buyer(db, NOW, webhook_url="http://127.0.0.1:9/hook")
    client.post("/api/v1/orders", json={"listing": "AC2", "quantity": "5"}, headers=auth(key))
    take(hub, requests(db)[0], settings)
    [hub_order] = hub.query("SELECT * FROM orders")
    with transaction(hub):
        orders.apply_order_event(hub, hub_order["id"], "accept", NOW, settings=settings, source="text")
    rows = [row for row in federation.unpublished(hub, 1000) if row["entity"] == "order"]
    newest, older = rows[-1], rows[0]
    for row in (newest, older):
        apply_hub_event(db, settings, federation.message_of("A", row), from_hub="A", now=utcnow())
    assert orders.find_order(db, "AP2")["status"] == "accepted"
    outcome = db.execute("SELECT outcome FROM federation_applied WHERE event_id = ?",
                         [federation.message_of("A", older)["id"]]).fetchone()[0]
    assert outcome == "stale"


def test_a_hub_cannot_answer_for_another_hubs_order(client, db, hub, settings):
    publish_events(hub, db, settings)
    _, key = api_buyer(db, NOW, webhook_url="http://127.0.0.1:9/hook")
    client.post("/api/v1/orders", json={"listing": "AC2", "quantity": "5"}, headers=auth(key))
    forged = {"id": "B-1-9", "hub": "B", "epoch": 1, "entity": "order", "entity_id": 1, "seq": 9,
              "kind": "order.accepted", "at": "x", "data": {"status": "accepted", "city_order": 1}}
    with pytest.raises(federation.InvalidEvent):
        apply_hub_event(db, settings, forged, from_hub="B", now=utcnow())
    assert orders.find_order(db, "AP2")["status"] == "requested"


def test_the_relay_waits_out_a_locked_database(tmp_path):
    path = tmp_path / "hub.db"
    db = open_database(path)
    apply_migrations(db)
    said: list[str] = []
    locked = threading.Event()
    relay = Relay({"DATABASE_PATH": str(path), **HUB}, echo=lambda text: (said.append(text), locked.set()))
    relay.db = open_database(path)
    relay.db.conn.execute("PRAGMA busy_timeout = 0")  # "database is locked" at once, not in 30 s
    holder = open_database(path)
    holder.conn.execute("BEGIN IMMEDIATE")  # another process's long write

    def release() -> None:
        locked.wait(30)
        holder.conn.execute("COMMIT")

    threading.Thread(target=release).start()
    asyncio.run(relay._db(federation.sync_identity, relay.db, HUB, NOW))
    assert federation.identity(db)["hub_id"] == "A"
    assert said and "locked" in said[0]


def test_the_hubs_price_wins(client, db, hub, settings):
    publish_events(hub, db, settings)
    _, key = api_buyer(db, NOW, webhook_url="http://127.0.0.1:9/hook")
    placed = client.post("/api/v1/orders", json={"listing": "AC2", "quantity": "5"}, headers=auth(key))
    assert placed.get_json()["order"]["total"] == 60_000  # 5 kg at the city's Rp12.000
    hub.execute("UPDATE listings SET price = 13000")  # the seller's new price, not yet heard of
    take(hub, requests(db)[0], settings)
    publish_events(hub, db, settings)
    order = client.get("/api/v1/orders/AP2", headers=auth(key)).get_json()["order"]
    assert (order["status"], order["unit_price"], order["total"]) == ("pending", 13_000, 65_000)


def test_a_first_time_buyer_texting_the_city_is_told_the_village_decides(tmp_path, hub):
    from tests.dialogs import Conversation

    city = Conversation(tmp_path / "city")
    federation.sync_identity(city.db, CITY, NOW)
    publish_events(hub, city.db, city.settings)
    city.db.execute("UPDATE listings SET quantity_milli = 0")  # the city's copy may be old
    phone = "+6281399990000"
    assert "nama usaha" in city.send(phone, "PESAN AC2 10").lower()
    reply = city.send(phone, "Warung Ani, Bandung")
    assert reply == ("Pesanan AP2: 10 kg cabai @Rp12.000 = Rp120.000, penjual Siti, Sukamaju. Kami "
                     "teruskan ke desa, mohon tunggu jawabannya. Batal: BATAL AP2")
    assert "AP2 10 kg cabai (menunggu desa)" in city.send(phone, "STATUS")
    assert city.notices() == []  # Siti lives at the hub: the city never texts her
