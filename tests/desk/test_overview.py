"""The overview's figures are the database's: hourly order counters agree with the orders."""

from __future__ import annotations

from datetime import timedelta

from bot.services import desk, hub
from bot.storage import to_db_time, transaction, utcnow
from tests.orders import seller_listing


def _place(db, listing_id: int, seller_id: int, created, status: str) -> int:
    stamp = to_db_time(created)
    cursor = db.execute(
        "INSERT INTO orders (code, buyer_id, listing_id, seller_id, product_id, quantity_milli, unit, "
        "unit_price, total, status, source, remind_at, expires_at, created_at, updated_at) "
        "SELECT ?, b.id, l.id, l.seller_id, l.product_id, 1000, 'kg', 100, 100, ?, 'text', ?, ?, ?, ? "
        "FROM listings l, buyers b WHERE l.id = ? LIMIT 1",
        [f"P{created.timestamp():.0f}{status}", status, stamp, stamp, stamp, stamp, listing_id])
    return cursor.lastrowid


def test_orders_by_state_today_and_this_week_match_the_orders(migrated_db):
    db, now = migrated_db, utcnow()
    listing = seller_listing(db, "+6281234567890", "Siti", "Sukamaju", "cabai", "50", "kg", 100, now)
    with transaction(db):
        db.execute("INSERT INTO contacts (phone, role, created_at) VALUES ('+6285700000000', 'buyer', ?)",
                   [to_db_time(now)])
        db.execute("INSERT INTO buyers (contact_id, name, city, source, created_at, updated_at) "
                   "SELECT id, 'Warung', 'Bandung', 'cli', created_at, created_at FROM contacts "
                   "WHERE phone = '+6285700000000'")
        ids = [_place(db, listing["id"], listing["seller_id"], now - timedelta(days=days, minutes=i), status)
               for i, (days, status) in enumerate([(0, "pending"), (0, "pending"), (2, "accepted"),
                                                   (40, "received")])]
        db.execute("UPDATE orders SET status = 'declined' WHERE id = ?", [ids[1]])
    figures = desk.overview(db, now, "Asia/Jakarta", gateway_configured=False)
    for name, start in desk.period_starts(now, "Asia/Jakarta").items():
        expected = dict(db.execute("SELECT status, COUNT(*) FROM orders WHERE created_at >= ? "
                                   "GROUP BY status", [to_db_time(start)]).fetchall())
        shown = {status: n for status, n in figures["periods"][name]["orders"].items() if n}
        assert shown == expected, name


def test_the_message_log_answers_for_every_status_filter(migrated_db):
    for status in desk.MESSAGE_STATUSES:
        assert desk.message_log(migrated_db, status=status) == []
    assert desk.message_log(migrated_db, status="bogus", phone="0812") == []


def test_the_hub_phone_card_uses_what_the_hub_watch_heard(migrated_db):
    db, now = migrated_db, utcnow()
    figures = desk.overview(db, now, "Asia/Jakarta", gateway_configured=True)
    assert figures["phone"]["silent"] and figures["phone"]["devices"] == []  # never heard from
    with transaction(db):
        hub.record_seen(db, "hub", now - timedelta(minutes=2), polled=True,
                        health={"status": "warn", "battery_level": 14, "charging": 0,
                                "connection": "WIFI", "failed_count": 3})
    figures = desk.overview(db, now, "Asia/Jakarta", gateway_configured=True)
    # A health answer two minutes ago: heard from, though it passed no SMS.
    assert not figures["phone"]["silent"]
    (device,) = figures["phone"]["devices"]
    assert (device["battery_level"], device["connection"], device["failed_count"]) == (14, "WIFI", 3)
