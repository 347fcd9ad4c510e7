"""The desk's overview in the hub and city roles (DECISIONS 325): the link, what waits,
the delay and the last event sent, server-rendered in Indonesian and English; a link
down is said plainly and is not a failure (`/healthz` stays 200)."""

from __future__ import annotations

from decimal import Decimal

from bot.services import contacts, federation, listings, products
from bot.storage import open_database, transaction, utcnow
from bot.web.app import create_app
from tests.desk.conftest import ADMIN, sign_in

HUB = {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "A"}
CITY = {"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A,B"}


def _desk(settings, role: dict):
    app = create_app(dict(settings, **role))
    db = open_database(settings["DATABASE_PATH"])
    return app, db, sign_in(app.test_client(), db, ADMIN, "admin")


def test_a_hub_offline_is_shown_as_normal_and_healthz_is_unaffected(settings):
    app, db, client = _desk(settings, HUB)
    now = utcnow()
    contact = contacts.get_or_create_contact(db, "+6281234567890", now)
    siti = contacts.register_seller(db, contact["id"], "Siti", "Sukamaju", now)
    with transaction(db):
        product, _ = products.resolve_product(db, "cabai", now)
        listings.create_listing(db, seller_id=siti["id"], product=product, product_text="cabai",
                                quantity=Decimal(5), unit="kg", price=12_000, now=now)
    first = federation.unpublished(db, 1)[0]
    federation.mark_published(db, [first["id"]], now)
    federation.record_link(db, "city", up=True, now=now)
    federation.record_link(db, "city", up=False, now=now)

    page = client.get("/dashboard/").get_data(as_text=True)
    card = page[page.index('id="federation"'):]
    card = card[:card.index("</section>")]
    assert 'data-role="hub"' in card and "Sambungan ke kota" in card
    assert 'data-up="0"' in card and "Tidak tersambung" in card and "Wajar bila internet desa putus" in card
    assert '<dd data-figure="waiting">1</dd>' in card
    assert f"A-1-{first['id']}" in card and 'class="bad"' not in card
    assert client.get("/healthz").status_code == 200
    report = client.get("/healthz/delivery").get_json()["federation"]
    assert (report["waiting"], report["link"]["link_up"], report["last_published"]) == (
        1, 0, f"A-1-{first['id']}")

    client.get("/dashboard/bahasa/en")
    english = client.get("/dashboard/").get_data(as_text=True)
    assert "Link to the city" in english and "Not connected" in english and "Events waiting" in english


def test_the_city_shows_each_hub(settings):
    app, db, client = _desk(settings, CITY)
    now = utcnow()
    federation.record_link(db, "A", up=True, now=now, lag=3)
    federation.record_link(db, "B", up=False, now=now, lag=None)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-role="city"' in page and "Hub desa" in page
    row_a = page[page.index('<div data-hub="A">'):]
    row_a = row_a[:row_a.index("</div>")]
    assert 'data-up="1"' in row_a and "Tersambung" in row_a and '<dd data-figure="lag">3</dd>' in row_a
    row_b = page[page.index('<div data-hub="B">'):]
    assert 'data-up="0"' in row_b[:row_b.index("</div>")]
    assert client.get("/healthz").status_code == 200


def test_standalone_shows_no_federation(admin):
    assert 'id="federation"' not in admin.get("/dashboard/").get_data(as_text=True)
