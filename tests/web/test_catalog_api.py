"""`GET /api/v1/listings`: filters, pagination, and never a phone number."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.services import contacts, listings, products
from bot.storage import transaction

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
SELLERS = {"+6281234567890": ("Siti Aminah", "Sukamaju"), "+6285711112222": ("Budi", "Cibodas"),
           "+6281399998888": ("Ani", "sukamaju")}


def seller(db, phone):
    contact = contacts.get_or_create_contact(db, phone, NOW)
    return contacts.register_seller(db, contact["id"], *SELLERS[phone], NOW)


def sell(db, who, product_text, quantity, unit, price, minutes=0):
    product, _ = products.resolve_product(db, product_text, NOW)
    return listings.create_listing(db, seller_id=who["id"], product=product,
                                   product_text=product_text, quantity=Decimal(quantity), unit=unit,
                                   price=price, now=NOW + timedelta(minutes=minutes))


@pytest.fixture
def catalog(db):
    with transaction(db):
        siti, budi, ani = (seller(db, phone) for phone in SELLERS)
        made = [
            sell(db, siti, "cabe", "50", "kg", 12000, 1),
            sell(db, budi, "cabai", "2.5", "kg", 40000, 2),
            sell(db, ani, "brambang", "300", "kg", 25000, 3),
            sell(db, siti, "kangkung", "30", "ikat", 3000, 4),
            sell(db, budi, "tas anyaman", "5", "buah", 150000, 5),
        ]
        gone = sell(db, siti, "tomat", "10", "kg", 8000, 6)
        listings.withdraw_listing(db, gone["id"], NOW)
        sold_out = sell(db, ani, "cabai rawit", "1", "kg", 60000, 7)
        listings.set_quantity(db, sold_out["id"], Decimal(0), NOW)
    return {row["product_text"]: row["code"] for row in made}


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["code"] for item in response.get_json()["listings"]]


def test_lists_active_listings_with_stock_most_recent_first(client, catalog):
    response = client.get("/api/v1/listings")
    body = response.get_json()
    assert codes(response) == [catalog[p] for p in ("tas anyaman", "kangkung", "brambang", "cabai",
                                                    "cabe")]
    assert (body["total"], body["limit"], body["offset"], body["next"]) == (5, 20, 0, None)
    assert body["listings"][-1] == {
        "code": catalog["cabe"], "product": "cabai", "product_as_written": "cabe",
        "quantity": "50", "unit": "kg", "price": 12000, "currency": "IDR",
        "price_text": "Rp12.000/kg", "seller": {"name": "Siti Aminah", "village": "Sukamaju"},
        "photo_url": None, "photos": [], "listed_at": "2026-11-28T02:01:00.000000Z",
        "updated_at": "2026-11-28T02:01:00.000000Z",
    }
    assert body["listings"][-2]["quantity"] == "2.5"


@pytest.mark.parametrize("query,expected", [
    ("product=cabai", ["cabai", "cabe"]),
    ("product=CABE", ["cabai", "cabe"]),                 # a synonym resolves to the product
    ("product=chili", ["cabai", "cabe"]),
    ("product=bawang+merah", ["brambang"]),
    ("product=durian", []),                              # nobody sells it
    ("product=kopi+luwak+liar", []),                     # no such product at all
    ("village=sukamaju", ["kangkung", "brambang", "cabe"]),
    ("village=SUKAMAJU&product=cabe", ["cabe"]),
    ("q=cab", ["cabai", "cabe"]),
    ("q=shallot", ["brambang"]),                         # matches any name of the product
    ("q=ciBODas", ["tas anyaman", "cabai"]),             # and the seller's village
    ("q=anyaman&village=Cibodas", ["tas anyaman"]),
    ("q=%25", []),                                       # LIKE wildcards are taken literally
])
def test_filters(client, catalog, query, expected):
    assert codes(client.get(f"/api/v1/listings?{query}")) == [catalog[p] for p in expected]


def test_pagination_walks_every_listing_once(client, catalog):
    seen, url = [], "/api/v1/listings?limit=2&village=sukamaju"
    pages = 0
    while url:
        body = client.get(url.removeprefix("https://jembatan.example.org")).get_json()
        assert body["total"] == 3 and body["limit"] == 2
        seen += [item["code"] for item in body["listings"]]
        url, pages = body["next"], pages + 1
    assert pages == 2
    assert seen == [catalog[p] for p in ("kangkung", "brambang", "cabe")]
    first = client.get("/api/v1/listings?limit=2&village=sukamaju").get_json()
    assert first["next"] == ("https://jembatan.example.org/api/v1/listings?limit=2&village=sukamaju"
                             "&offset=2")
    assert client.get("/api/v1/listings?offset=50").get_json() == {
        "listings": [], "total": 5, "limit": 20, "offset": 50, "next": None}


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "offset=-1", "offset=1.5",
                                   "limit=\u00b2", "offset=99999999999999999999999"])
def test_bad_paging_is_a_400_with_a_reason(client, catalog, query):
    response = client.get(f"/api/v1/listings?{query}")
    assert response.status_code == 400
    assert "must be a whole number" in response.get_json()["error"]


def test_no_phone_number_ever_appears(client, catalog, db):
    text = client.get("/api/v1/listings?limit=100").get_data(as_text=True)
    for phone in SELLERS:
        for form in (phone, phone[1:], "0" + phone[3:], phone[3:]):
            assert form not in text
    fields = {key for item in json.loads(text)["listings"] for key in item} | {
        key for item in json.loads(text)["listings"] for key in item["seller"]}
    assert not fields & {"phone", "seller_id", "contact_id", "id"}


def test_unknown_photo_is_a_404(client, catalog):
    assert client.get(f"/media/{catalog['cabe']}").status_code == 404
    assert client.get("/media/999").status_code == 404
    assert client.get("/media/\u00b2").status_code == 404
    assert client.get("/media/99999999999999999999999").status_code == 404
