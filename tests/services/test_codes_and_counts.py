"""Codes from counters (m006) keep the sequence codes already issued; the catalog's
counts kept by triggers always equal counting the listings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.migrations import migrations
from bot.services import contacts, listings, orders, products
from bot.storage import open_database, to_db_time, transaction

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def _seller(db, phone="+6281234567890", village="Sukamaju"):
    contact = contacts.get_or_create_contact(db, phone, NOW)
    return contacts.register_seller(db, contact["id"], "Siti", village, NOW)


def _listing(db, seller, name="cabai", quantity=10, price=12_000):
    with transaction(db):
        product, _ = products.resolve_product(db, name, NOW)
        return listings.create_listing(db, seller_id=seller["id"], product=product,
                                       product_text=name, quantity=Decimal(quantity), unit="kg",
                                       price=price, now=NOW)


def test_codes_issued_before_the_counters_continue_in_sequence(tmp_path):
    db = open_database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m006_scale")
    stamp = to_db_time(NOW)
    # A seller as the schema before m006 holds one (later columns do not exist yet).
    with transaction(db):
        db.execute("INSERT INTO contacts (phone, role, name, village, created_at) "
                   "VALUES ('+6281234567890', 'seller', 'Siti', 'Sukamaju', ?)", [stamp])
    seller = db.execute("SELECT id FROM contacts").fetchone()
    seller = {"id": seller[0]}
    cabai = products.find_product(db, "cabai")
    with transaction(db):
        for n in range(1, 10):  # C2 ... C9, C22: what the counting allocator issued
            db.execute("INSERT INTO listings (code, seller_id, product_id, product_text, "
                       "quantity_milli, unit, price, created_at, updated_at) "
                       "VALUES (?, ?, ?, 'cabai', 1000, 'kg', 5000, ?, ?)",
                       ["C" + listings.code_number(n), seller["id"], cabai["id"], stamp, stamp])
    migrations.apply(db)
    assert _listing(db, seller)["code"] == "C23"
    assert _listing(db, seller, "kentang")["code"] == "K2"
    assert listings.find_listing(db, "c22")["code"] == "C22"  # old codes still found


def test_a_code_inserted_by_hand_is_skipped(migrated_db):
    db = migrated_db
    seller = _seller(db)
    first = _listing(db, seller)
    stamp = to_db_time(NOW)
    with transaction(db):
        db.execute("INSERT INTO listings (code, seller_id, product_id, product_text, quantity_milli, "
                   "unit, price, created_at, updated_at) VALUES ('C3', ?, ?, 'cabai', 1000, 'kg', "
                   "5000, ?, ?)", [seller["id"], first["product_id"], stamp, stamp])
    assert first["code"] == "C2"
    assert _listing(db, seller)["code"] == "C4"


def test_order_codes_count_up_from_the_counter(migrated_db):
    db = migrated_db
    seller = _seller(db)
    listing = _listing(db, seller, quantity=100)
    buyer_contact = contacts.get_or_create_contact(db, "+6281300000001", NOW)
    with transaction(db):
        db.execute("UPDATE contacts SET role = 'buyer' WHERE id = ?", [buyer_contact["id"]])
        db.execute("INSERT INTO buyers (contact_id, name, city, source, created_at, updated_at) "
                   "VALUES (?, 'Warung', 'Bandung', 'sms', ?, ?)",
                   [buyer_contact["id"], to_db_time(NOW), to_db_time(NOW)])
    buyer = db.execute("SELECT * FROM buyers").fetchone()
    codes = [orders.place_order(db, buyer={"id": buyer[0]}, listing_code=listing["code"],
                                quantity=Decimal(1), unit=None, now=NOW, settings={},
                                source="text").order["code"] for _ in range(10)]
    assert codes == ["P" + listings.code_number(n) for n in range(1, 11)]


def _counted(db) -> dict[int, int]:
    return dict(db.execute(f"SELECT product_id, COUNT(*) FROM listings l WHERE {listings.VISIBLE} "
                           "GROUP BY product_id").fetchall())


def _kept(db) -> dict[int, int]:
    return dict(db.execute("SELECT product_id, visible FROM catalog_counts WHERE visible != 0"))


def test_catalog_counts_follow_every_change(migrated_db):
    db = migrated_db
    siti, budi = _seller(db), _seller(db, "+6281234567891", "Cibodas")
    made = [_listing(db, siti), _listing(db, siti, "kentang"), _listing(db, budi),
            _listing(db, budi, "kacang panjang ungu")]
    assert _kept(db) == _counted(db)
    with transaction(db):
        listings.set_quantity(db, made[0]["id"], Decimal(0), NOW)  # sold out: hidden
        listings.withdraw_listing(db, made[1]["id"], NOW)
        listings.withdraw_listing(db, made[1]["id"], NOW)  # twice: no double count
    assert _kept(db) == _counted(db)
    with transaction(db):
        listings.set_quantity(db, made[0]["id"], Decimal(5), NOW)  # back on sale
        listings.set_quantity(db, made[2]["id"], Decimal(7), NOW)  # visible -> visible
    assert _kept(db) == _counted(db)
    # A seller-made product folded into a catalogue one moves its listings' counts.
    products.add_product(db, "kacang panjang", ["kacang panjang ungu"], NOW)
    assert _kept(db) == _counted(db)
    rows, total = listings.search_catalog(db)
    assert total == sum(_counted(db).values()) == len(rows)
    cabai = products.find_product(db, "cabai")["id"]
    assert listings.search_catalog(db, product_id=cabai)[1] == _counted(db)[cabai]
    assert listings.search_catalog(db, product_id=cabai, count=False)[1] is None
