"""A hub's sellers carry their province to the city (issue 18 after issue 17, DECISIONS
434-435): seller events name it, the city keeps it on the remote seller (events from a hub
without it change nothing of what the city knows), and the city's village pages and
sitemaps list hub sellers' listings like its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.services import contacts, federation, schedule
from bot.storage import open_database, transaction
from bot.web.app import create_app
from tests.federation.test_outbox import CITY, HUB, NOW, database, listing
from tests.storefront.test_pages import Page, get
from tests.storefront.test_sitemap_index import locs
from tests.storefront.test_villages import codes_on

SITI = "+6281234567890"


def ship(hub_db, city_db, *, without_province: bool = False) -> list[tuple[str, str]]:
    """Every waiting hub event to the city, as the relay would (through JSON); (kind,
    outcome) of each. `without_province`: as a hub before m029 wrote seller events."""
    outcomes = []
    rows = federation.unpublished(hub_db, 100)
    for row in rows:
        message = json.loads(json.dumps(federation.message_of("A", row)))
        if without_province and row["entity"] == "seller":
            del message["data"]["province"]
        outcomes.append((row["kind"], federation.apply_event(city_db, message, from_hub="A", now=NOW)))
    federation.mark_published(hub_db, [row["id"] for row in rows], NOW)
    return outcomes


def hub_seller(db, province: str | None = "Jawa Barat"):
    with transaction(db):
        contact = contacts.get_or_create_contact(db, SITI, NOW)
        return contacts.register_seller(db, contact["id"], "Siti Aminah", "Sukamaju", NOW, province=province)


def city_province(city_db) -> str | None:
    return city_db.execute("SELECT province FROM contacts WHERE origin_hub = 'A'").fetchone()[0]


def test_seller_events_carry_the_province_and_the_city_keeps_it(tmp_path):
    hub, city = database(tmp_path, "hub", HUB), database(tmp_path, "city", CITY)
    siti = hub_seller(hub, province=None)  # Sukamaju's province not recorded yet
    listing(hub, siti)
    assert ship(hub, city) == [("seller.updated", "applied"), ("listing.created", "applied")]
    assert city_province(city) is None
    schedule.set_village_province(hub, "Sukamaju", "Jawa Barat")  # a change of province alone
    seller_events = [row for row in federation.unpublished(hub, 10) if row["entity"] == "seller"]
    assert [(row["kind"], json.loads(row["payload"])["province"]) for row in seller_events] == [
        ("seller.updated", "Jawa Barat")]
    assert ship(hub, city) == [("seller.updated", "applied")]
    assert city_province(city) == "Jawa Barat"
    listing(hub, siti, name="tomat")  # a listing event names the seller without a province
    assert ship(hub, city) == [("listing.created", "applied")]
    assert city_province(city) == "Jawa Barat"


def test_a_hub_whose_events_lack_the_province_is_still_applied(tmp_path):
    hub, city = database(tmp_path, "hub", HUB), database(tmp_path, "city", CITY)
    listing(hub, hub_seller(hub))
    assert ship(hub, city, without_province=True) == [("seller.updated", "applied"),
                                                      ("listing.created", "applied")]
    assert city_province(city) is None  # nobody told the city: `/desa/indonesia/...`
    with transaction(hub):
        hub.execute("UPDATE contacts SET name = 'Siti' WHERE phone = ?", [SITI])
    assert ship(hub, city) == [("seller.updated", "applied")]  # a hub that names it
    assert city_province(city) == "Jawa Barat"
    with transaction(hub):
        hub.execute("UPDATE contacts SET name = 'Siti A.' WHERE phone = ?", [SITI])
    assert ship(hub, city, without_province=True) == [("seller.updated", "applied")]
    assert city_province(city) == "Jawa Barat"  # an event without it keeps what the city knew


def test_the_snapshot_carries_the_province(tmp_path):
    hub = database(tmp_path, "hub", None)
    hub_seller(hub)
    federation.sync_identity(hub, HUB, NOW)  # a standalone database becomes a hub: snapshot
    sellers = [json.loads(row["payload"]) for row in federation.unpublished(hub, 10)
               if row["entity"] == "seller"]
    assert [(seller["name"], seller["province"]) for seller in sellers] == [("Siti Aminah", "Jawa Barat")]


def city_with_hub_seller(settings) -> tuple[object, str]:
    """The city's app, its database holding hub A's seller Siti of Sukamaju, Jawa Barat, and
    her listing, shipped from a hub's database as the relay would; (app, city code)."""
    app = create_app(dict(settings, **CITY))
    city = open_database(settings["DATABASE_PATH"])
    hub = database(Path(settings["DATABASE_PATH"]).parent, "hub", HUB)
    try:
        item = listing(hub, hub_seller(hub))
        ship(hub, city)
    finally:
        city.conn.close()
        hub.conn.close()
    return app, "A" + item["code"]


@pytest.fixture
def city_client(settings):
    app, code = city_with_hub_seller(settings)
    return app.test_client(), code


def test_the_citys_village_page_and_sitemaps_list_hub_sellers(city_client):
    client, code = city_client
    assert codes_on(client, "/desa/jawa-barat/sukamaju") == {code}
    assert "Desa Sukamaju, Jawa Barat" in get(client, "/desa/jawa-barat/sukamaju").get_data(as_text=True)
    assert "/desa/jawa-barat/sukamaju" in codes_and_pages(client)
    assert f"/l/{code}" in codes_and_pages(client)
    assert "/desa/jawa-barat/sukamaju" in {link for link in Page(
        get(client, "/").get_data(as_text=True)).links}


def codes_and_pages(client) -> set[str]:
    """Every path the city's sitemap lists (one file, or the files of its index)."""
    sitemap = get(client, "/sitemap.xml")
    files = locs(sitemap, "sitemap")
    return set(locs(sitemap, "url")).union(*(locs(get(client, path), "url") for path in files))
