"""The product catalogue, listing codes, reference prices and subscriptions, on a real
SQLite file."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.services import contacts, listings, prices, products, subscriptions

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


@pytest.fixture
def db(migrated_db):
    return migrated_db


@pytest.fixture
def siti(db):
    contact = contacts.get_or_create_contact(db, "+6281234567890", NOW)
    return contacts.register_seller(db, contact["id"], "Siti", "Sukamaju", NOW)


@pytest.mark.parametrize("typed,product", [
    ("cabe", "cabai"), ("Cabai", "cabai"), ("  CABE  ", "cabai"), ("chili", "cabai"),
    ("cabe merah", "cabai merah"), ("brambang", "bawang merah"), ("Bawang Merah", "bawang merah"),
    ("shallot", "bawang merah"), ("cabe rawit", "cabai rawit"), ("kedele", "kedelai"),
    ("ketela pohon", "singkong"), ("telor", "telur ayam"), ("gula jawa", "gula aren"),
])
def test_synonyms_land_on_one_product(db, typed, product):
    assert products.find_product(db, typed)["name"] == product


def test_catalogue_file_is_consistent():
    """Every name in bot/data/products.csv is a valid name and means one product only."""
    seen: dict[str, str] = {}
    with products.CATALOGUE_CSV.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for name in [row["name"], *row["synonyms"].split("|")]:
                key = products.normalize_product_name(name)
                assert products.valid_product_name(key), name
                assert seen.setdefault(key, row["name"]) == row["name"], f"{key} in two rows"


def test_seed_is_idempotent_and_the_migration_ran_it(db):
    count = db.execute("SELECT COUNT(*) FROM product_names").fetchone()[0]
    assert count > 200
    assert products.seed_catalogue(db, NOW) == 0
    assert db.execute("SELECT COUNT(*) FROM product_names").fetchone()[0] == count


def test_seed_adds_what_the_file_gained(db, tmp_path):
    grown = tmp_path / "products.csv"
    grown.write_text(products.CATALOGUE_CSV.read_text() + "jamur tiram,oyster mushroom\n"
                     "cabai,cabe ijo\n")
    assert products.seed_catalogue(db, NOW, grown) == 3
    assert products.find_product(db, "oyster mushroom")["name"] == "jamur tiram"
    assert products.find_product(db, "cabe ijo")["name"] == "cabai"


def test_unknown_products_are_recorded_as_new(db, siti):
    product, created = products.resolve_product(db, "Gula Semut", NOW, contact_id=siti["id"])
    assert created and (product["name"], product["source"], product["created_by"]) == (
        "gula semut", "seller", siti["id"])
    again, created_again = products.resolve_product(db, "gula  semut", NOW)
    assert not created_again and again["id"] == product["id"]
    assert [p["name"] for p in products.list_products(db, source="seller")] == ["gula semut"]


def test_adding_a_synonym_folds_a_seller_recorded_product_in(db, siti):
    new, _ = products.resolve_product(db, "cabe keriting ijo", NOW, contact_id=siti["id"])
    listing = listings.create_listing(db, seller_id=siti["id"], product=new,
                                      product_text="cabe keriting ijo", quantity=Decimal(5),
                                      unit="kg", price=30000, now=NOW)
    subscriptions.subscribe(db, siti["id"], new["id"], NOW)
    prices.record_reference_price(db, product_id=new["id"], price=29000, unit="kg", now=NOW)
    target = products.add_product(db, "cabai keriting", ["cabe keriting ijo"], NOW)
    assert products.find_product(db, "cabe keriting ijo")["id"] == target["id"]
    assert listings.get_listing(db, listing["id"])["product_id"] == target["id"]
    assert subscriptions.is_subscribed(db, siti["id"], target["id"])
    assert prices.latest_reference_price(db, target["id"])["price"] == 29000
    assert db.execute("SELECT COUNT(*) FROM products WHERE id = ?", [new["id"]]).fetchone()[0] == 0


def test_an_established_product_is_never_merged_silently(db):
    with pytest.raises(products.ProductNameTaken):
        products.add_product(db, "cabai", ["tomat"], NOW)
    assert products.find_product(db, "tomat")["name"] == "tomat"


def test_add_product_extends_and_promotes(db):
    product = products.add_product(db, "Jamur Tiram", ["jamur", "oyster mushroom"], NOW)
    assert product["source"] == "coordinator"
    assert products.product_names(db, product["id"]) == ["jamur tiram", "jamur", "oyster mushroom"]
    products.resolve_product(db, "porang", NOW)
    assert products.add_product(db, "porang", ["iles-iles"], NOW)["source"] == "coordinator"
    with pytest.raises(ValueError):
        products.add_product(db, "7", [], NOW)


# --- listing codes ----------------------------------------------------------------------


def test_code_numbers_skip_look_alike_digits():
    numbers = [listings.code_number(n) for n in range(1, 200)]
    assert numbers[:10] == ["2", "3", "4", "5", "6", "7", "8", "9", "22", "23"]
    assert len(set(numbers)) == len(numbers)
    assert not any(set(n) & set("01") for n in numbers)


@pytest.mark.parametrize("name,letter", [("cabai", "C"), ("ikan lele", "K"), ("labu siam", "A"),
                                         ("pisang", "S"), ("oyong", "Y"), ("ubi", "U"),
                                         ("ilo", "J"), ("123", "J")])
def test_code_letter_has_no_look_alikes_and_leaves_p_to_orders(name, letter):
    assert listings.code_letter(name) == letter


def test_codes_are_unique_short_and_case_insensitive(db, siti):
    cabai = products.find_product(db, "cabai")
    codes = [listings.create_listing(db, seller_id=siti["id"], product=cabai, product_text="cabai",
                                     quantity=Decimal(1), unit="kg", price=1000, now=NOW)["code"]
             for _ in range(80)]
    assert len(set(codes)) == 80 and max(map(len, codes)) == 4
    assert all(not set(code) & set("0O1IL") for code in codes)
    assert listings.find_listing(db, codes[-1].lower())["code"] == codes[-1]
    assert listings.find_listing(db, "#" + codes[0][0] + "-" + codes[0][1:])["code"] == codes[0]


def test_quantities_are_checked_and_exact(db, siti):
    cabai = products.find_product(db, "cabai")
    for quantity, price in [(Decimal(0), 1000), (Decimal("0.0001"), 1000),
                            (Decimal(1_000_001), 1000), (Decimal(1), 0)]:
        with pytest.raises(listings.InvalidListing):
            listings.create_listing(db, seller_id=siti["id"], product=cabai, product_text="cabai",
                                    quantity=quantity, unit="kg", price=price, now=NOW)
    listing = listings.create_listing(db, seller_id=siti["id"], product=cabai, product_text="cabai",
                                      quantity=Decimal("2.505"), unit="kg", price=12000, now=NOW)
    assert listing["quantity_milli"] == 2505
    assert listings.quantity_of(listing) == Decimal("2.505")
    assert str(listings.from_milli(50_000)) == "50"


# --- reference prices and subscriptions -----------------------------------------------


def test_reference_prices_are_append_only_and_latest_wins(db):
    cabai = products.find_product(db, "cabai")
    assert prices.latest_reference_price(db, cabai["id"]) is None
    for hours, price, market in [(0, 11000, "Pasar Induk"), (2, 11500, "pasar induk"),
                                 (1, 13000, "Pasar Caringin")]:
        prices.record_reference_price(db, product_id=cabai["id"], price=price, unit="kg",
                                      market=market, now=NOW + timedelta(hours=hours))
    assert prices.latest_reference_price(db, cabai["id"])["price"] == 11500
    assert prices.latest_reference_price(db, cabai["id"], "PASAR CARINGIN")["price"] == 13000
    assert prices.latest_reference_price(db, cabai["id"], "Pasar Minggu") is None
    assert [row["price"] for row in prices.price_history(db, cabai["id"])] == [11500, 13000, 11000]
    for bad in (0, -5, 12.5, True):
        with pytest.raises(ValueError):
            prices.record_reference_price(db, product_id=cabai["id"], price=bad, unit="kg", now=NOW)


def test_subscriptions(db, siti):
    cabai = products.find_product(db, "cabe")
    assert subscriptions.subscribe(db, siti["id"], cabai["id"], NOW)
    assert not subscriptions.subscribe(db, siti["id"], cabai["id"], NOW, source="listing")
    assert [p["name"] for p in subscriptions.subscribed_products(db, siti["id"])] == ["cabai"]
    contacts.set_opted_out(db, siti["id"], True)
    assert subscriptions.subscribers(db, cabai["id"]) == []
    assert len(subscriptions.subscribers(db, cabai["id"], include_opted_out=True)) == 1
    assert subscriptions.unsubscribe(db, siti["id"], cabai["id"])
    assert not subscriptions.is_subscribed(db, siti["id"], cabai["id"])
