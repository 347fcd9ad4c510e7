"""Broadcasts from the desk: the exact count, kept emoji, and scheduling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import load_config
from bot.services import broadcasts, contacts
from bot.storage import from_db_time, transaction
from bot.web.dashboard.pages import segment_count
from tests.desk.conftest import post

NOON_WIB = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


def test_segment_count_with_and_without_the_twilio_prefix():
    fits_alone = "a" * 155
    assert segment_count(fits_alone)["plain"] == {"length": 155, "encoding": "GSM-7", "segments": 1}
    assert segment_count(fits_alone)["prefixed"] == {"length": 165, "encoding": "GSM-7", "segments": 2}
    assert segment_count("{}" * 10)["plain"]["length"] == 40  # escaped characters count two
    emoji = segment_count("Cabai 🌶 murah")
    assert emoji["plain"]["encoding"] == "UCS-2" and emoji["plain"]["length"] == 14


def test_a_scheduled_broadcast_waits_for_its_time(migrated_db):
    with transaction(migrated_db):
        siti = contacts.get_or_create_contact(migrated_db, "+6281234567890", NOON_WIB)
        contacts.register_seller(migrated_db, siti["id"], "Siti", "Sukamaju", NOON_WIB)
    later = NOON_WIB + timedelta(hours=3)
    broadcast_id = broadcasts.create_broadcast(
        migrated_db, group="semua", text="Panen raya 🌶", created_by="cli", now=NOON_WIB,
        keep_unicode=True, send_at=later)
    broadcasts.plan_broadcast(migrated_db, load_config({}), broadcast_id, NOON_WIB)
    (row,) = migrated_db.query("SELECT * FROM outbox")
    assert from_db_time(row["next_attempt_at"]) == later and row["body"] == "Panen raya 🌶"


def test_the_desk_creates_a_broadcast_with_its_schedule(app, db, admin):
    with transaction(db):
        siti = contacts.get_or_create_contact(db, "+6281234567890", NOON_WIB)
        contacts.register_seller(db, siti["id"], "Siti", "Sukamaju", NOON_WIB)
    answer = post(admin, "/dashboard/siaran", {"group": "semua", "text": "Panen raya\r\nSabtu",
                                               "send_at": "2030-01-02T07:30"}, page="/dashboard/siaran")
    assert answer.status_code == 302
    (row,) = db.query("SELECT * FROM broadcasts")
    assert row["text"] == "Panen raya\nSabtu" and row["send_at"] == "2030-01-02T00:30:00.000000Z"
    preview = post(admin, "/dashboard/siaran/hitung",
                   {"group": "semua", "text": "x", "send_at": "2030-01-02T07:30"}, page="/dashboard/siaran")
    page = preview.get_data(as_text=True)
    assert "Sampai ke 1 orang" in page and "02/01 07.30 WIB" in page
