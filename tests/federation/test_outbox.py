"""The hub's event outbox (m024): every listing change writes its event in the same
transaction, whichever path makes it; a standalone deployment writes none. The city
applies each event once, newest state wins, under the hub-prefixed code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.migrations import apply_migrations
from bot.services import contacts, federation, listings, products
from bot.storage import open_database, transaction

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
HUB = {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "A"}
CITY = {"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A,B"}


def database(tmp_path, name, config=None):
    db = open_database(tmp_path / f"{name}.db")
    apply_migrations(db)
    if config:
        federation.sync_identity(db, config, NOW)
    return db


def seller(db, phone="+6281234567890", name="Siti", village="Sukamaju"):
    contact = contacts.get_or_create_contact(db, phone, NOW)
    return contacts.register_seller(db, contact["id"], name, village, NOW)


def listing(db, who, name="cabai", quantity=10, price=12_000):
    with transaction(db):
        product, _ = products.resolve_product(db, name, NOW)
        return listings.create_listing(db, seller_id=who["id"], product=product, product_text=name,
                                       quantity=Decimal(quantity), unit="kg", price=price, now=NOW)


def events(db):
    return [(row["kind"], row["entity_id"], row["entity_seq"], row["epoch"])
            for row in db.query("SELECT * FROM federation_events WHERE entity = 'listing' ORDER BY id")]


def test_standalone_writes_no_events_and_no_identity(tmp_path):
    db = database(tmp_path, "standalone", {"JEMBATAN_ROLE": "standalone"})
    item = listing(db, seller(db))
    with transaction(db):
        listings.withdraw_listing(db, item["id"], NOW)
    assert events(db) == []
    assert federation.identity(db) is None


def test_every_listing_change_is_an_event_in_its_transaction(tmp_path):
    db = database(tmp_path, "hub", HUB)
    item = listing(db, seller(db))
    with transaction(db):
        listings.set_quantity(db, item["id"], Decimal(4), NOW)
    with transaction(db):
        listings.set_quantity(db, item["id"], Decimal(4), NOW)  # no change: no event
    with pytest.raises(RuntimeError), transaction(db):
        listings.set_quantity(db, item["id"], Decimal(1), NOW)
        raise RuntimeError("rolled back with its event")
    with transaction(db):
        listings.withdraw_listing(db, item["id"], NOW)
    assert events(db) == [("listing.created", item["id"], 1, 1), ("listing.updated", item["id"], 2, 1),
                          ("listing.withdrawn", item["id"], 3, 1)]
    first = federation.message_of("A", [row for row in federation.unpublished(db, 10)
                                        if row["entity"] == "listing"][0])
    first_id = db.execute("SELECT MIN(id) FROM federation_events WHERE entity = 'listing'").fetchone()[0]
    assert first["id"] == f"A-1-{first_id}"
    assert first["data"]["code"] == item["code"] and first["data"]["product"] == "cabai"
    assert first["data"]["seller"]["name"] == "Siti" and first["data"]["quantity_milli"] == 10_000
    assert federation.outbox_counts(db) == {"events": 4, "published": 0, "waiting": 4}  # + seller


def test_a_hub_keeps_its_letter(tmp_path):
    db = database(tmp_path, "hub", HUB)
    listing(db, seller(db))
    with pytest.raises(federation.FederationMismatch):
        federation.sync_identity(db, {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "B"}, NOW)


def _ship(hub_db, city_db, hub_id="A"):
    outcomes = []
    rows = federation.unpublished(hub_db, 100)
    for row in rows:
        message = json.loads(json.dumps(federation.message_of(hub_id, row)))
        outcome = federation.apply_event(city_db, message, from_hub=hub_id, now=NOW)
        if row["entity"] == "listing":  # the listings' outcomes (sellers are events too)
            outcomes.append(outcome)
    federation.mark_published(hub_db, [row["id"] for row in rows], NOW)
    return outcomes


def test_the_city_applies_each_event_once_under_the_hub_code(tmp_path):
    hub, city = database(tmp_path, "hub", HUB), database(tmp_path, "city", CITY)
    item = listing(hub, seller(hub))
    messages = [federation.message_of("A", row) for row in federation.unpublished(hub, 10)
                if row["entity"] == "listing"]
    assert _ship(hub, city) == ["applied"]
    rows, total = listings.search_catalog(city)
    assert [(r["code"], r["seller_name"], r["seller_village"], r["quantity_milli"]) for r in rows] == [
        ("A" + item["code"], "Siti", "Sukamaju", 10_000)]
    assert total == 1
    assert listings.find_listing(city, "a-" + item["code"].lower())["origin_id"] == item["id"]
    # The same event again (a redelivery) changes nothing.
    assert federation.apply_event(city, messages[0], from_hub="A", now=NOW) == "duplicate"

    with transaction(hub):
        listings.set_quantity(hub, item["id"], Decimal(3), NOW)
    with transaction(hub):
        listings.withdraw_listing(hub, item["id"], NOW)
    newer = [federation.message_of("A", row) for row in federation.unpublished(hub, 10)]
    # Out of order: the withdrawal first, then the older stock change is stale.
    assert federation.apply_event(city, newer[1], from_hub="A", now=NOW) == "applied"
    assert federation.apply_event(city, newer[0], from_hub="A", now=NOW) == "stale"
    assert listings.search_catalog(city) == ([], 0)
    assert federation.applied_counts(city) == {"A": {"applied": 3, "stale": 1}}  # + the seller
    # The hub's seller is no phone at the city and nobody it can text.
    assert city.execute("SELECT phone, role FROM contacts").fetchall() == [
        (f"hub:A:{item['seller_id']}", "remote_seller")]


def test_a_hub_cannot_speak_for_another(tmp_path):
    hub, city = database(tmp_path, "hub", HUB), database(tmp_path, "city", CITY)
    listing(hub, seller(hub))
    message = federation.message_of("A", federation.unpublished(hub, 1)[0])
    with pytest.raises(federation.InvalidEvent):
        federation.apply_event(city, message, from_hub="B", now=NOW)
    with pytest.raises(federation.InvalidEvent):
        federation.apply_event(city, dict(message, hub="B", id="A" + message["id"][1:]),
                               from_hub="B", now=NOW)
    assert city.execute("SELECT COUNT(*) FROM federation_applied").fetchone()[0] == 0


def test_two_hubs_never_collide_at_the_city(tmp_path):
    city = database(tmp_path, "city", CITY)
    hub_a = database(tmp_path, "a", HUB)
    hub_b = database(tmp_path, "b", {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "B"})
    a, b = listing(hub_a, seller(hub_a)), listing(hub_b, seller(hub_b, name="Budi"))
    assert a["code"] == b["code"] and a["id"] == b["id"]  # each hub's own C2, id 1
    _ship(hub_a, city, "A")
    _ship(hub_b, city, "B")
    rows, _ = listings.search_catalog(city)
    assert sorted((r["code"], r["seller_name"]) for r in rows) == [
        ("A" + a["code"], "Siti"), ("B" + b["code"], "Budi")]


def test_a_restored_hub_outranks_what_the_city_saw(tmp_path):
    hub, city = database(tmp_path, "hub", HUB), database(tmp_path, "city", CITY)
    item = listing(hub, seller(hub))
    backup = tmp_path / "backup.db"
    hub.execute(f"VACUUM INTO '{backup}'")
    for quantity in (8, 6):
        with transaction(hub):
            listings.set_quantity(hub, item["id"], Decimal(quantity), NOW)
    _ship(hub, city)
    assert listings.find_listing(city, "A" + item["code"])["quantity_milli"] == 6_000
    # The hub dies; its backup (seq 1, events unpublished) comes back with a new epoch.
    restored = open_database(backup)
    assert federation.advance_epoch(restored, NOW) == 2
    with transaction(restored):
        listings.set_quantity(restored, item["id"], Decimal(9), NOW)  # seq 2 again, epoch 2
    assert _ship(restored, city) == ["duplicate", "applied"]
    assert listings.find_listing(city, "A" + item["code"])["quantity_milli"] == 9_000


def test_the_app_records_the_configured_role(settings):
    from bot.web.app import create_app

    create_app(dict(settings, **HUB))
    db = open_database(settings["DATABASE_PATH"])
    assert federation.identity(db) == {"role": "hub", "hub_id": "A", "epoch": 1}
    create_app(settings)  # back to standalone: the triggers stop writing
    assert federation.identity(db)["role"] == "standalone"


def test_delivery_status_shows_the_federation_and_a_link_down_is_no_stall(settings):
    from bot.web.app import create_app

    standalone = create_app(settings).test_client().get("/healthz/delivery").get_json()
    assert "federation" not in standalone
    app = create_app(dict(settings, **HUB))
    db = open_database(settings["DATABASE_PATH"])
    federation.record_link(db, "city", up=False, now=NOW)
    answer = app.test_client().get("/healthz/delivery")
    report = answer.get_json()["federation"]
    assert (report["role"], report["hub_id"], report["link"]["link_up"]) == ("hub", "A", 0)
    assert app.test_client().get("/healthz").status_code == 200
