"""Broadcast creation and planning against a real SQLite file: groups, opt-outs, quiet hours,
TTL, idempotent re-planning and the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import load_config
from bot.services import contacts, coordinators, groups, schedule
from bot.services.broadcasts import (
    BroadcastTooLong,
    broadcast_report,
    create_broadcast,
    plan_broadcast,
)
from bot.storage import fetch_all, from_db_time, transaction

DAYTIME = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # 10:00 WIB
EVENING = datetime(2026, 11, 28, 14, 30, tzinfo=UTC)  # 21:30 WIB, 22:30 WITA, 23:30 WIT


@pytest.fixture
def db(migrated_db):
    return migrated_db


def seller(db, phone, village, *, opted_out=False, locale=None):
    with transaction(db):
        contact = contacts.get_or_create_contact(db, phone, DAYTIME)
        contacts.register_seller(db, contact["id"], "Penjual", village, DAYTIME)
        contacts.set_opted_out(db, contact["id"], opted_out)
        if locale:
            contacts.set_locale(db, contact["id"], locale)
    return contact["id"]


def settings(**extra):
    return load_config({}) | {"ANDROID_GATEWAY_URL": "http://hub"} | extra


def test_groups_resolve_in_order(db):
    seller(db, "+6281200000001", "Sukamaju")
    assert groups.resolve_group(db, "semua").kind == "sellers"
    assert groups.resolve_group(db, "PEMBELI").kind == "buyers"
    assert groups.resolve_group(db, "sukamaju").kind == "village"
    groups.add_to_group(db, "Sukamaju", ["+6281200000009"], DAYTIME)
    assert groups.resolve_group(db, "sukamaju").kind == "group"  # a named group wins
    with pytest.raises(groups.UnknownGroup):
        groups.resolve_group(db, "atlantis")
    with pytest.raises(ValueError):
        groups.create_group(db, "semua", DAYTIME)


def test_too_long_text_is_refused_with_segment_count(db):
    seller(db, "+6281200000001", "Sukamaju")
    with pytest.raises(BroadcastTooLong) as refused:
        create_broadcast(db, group="sukamaju", text="x" * 200, created_by="cli", now=DAYTIME)
    assert refused.value.segments == 2
    assert create_broadcast(db, group="sukamaju", text="x" * 200, created_by="cli", now=DAYTIME,
                            allow_long=True)


def test_plan_skips_opted_out_and_never_plans_twice(db):
    for n in range(5):
        seller(db, f"+628120000001{n}", "Sukamaju", opted_out=(n == 0))
    seller(db, "+6281200000099", "Lain")
    broadcast_id = create_broadcast(db, group="Sukamaju", text="Panen raya Sabtu \u201cbesar\u201d",
                                    created_by="+6281111111111", now=DAYTIME)
    batches = []
    first = plan_broadcast(db, settings(), broadcast_id, DAYTIME, batch_size=2, on_batch=batches.append)
    again = plan_broadcast(db, settings(), broadcast_id, DAYTIME)
    assert (first.queued, first.skipped, first.expired) == (4, 1, 0)
    assert (again.queued, again.skipped, again.expired) == (0, 0, 0)
    assert [len(b) for b in batches] == [1, 2, 1]
    rows = fetch_all(db, "SELECT * FROM outbox WHERE broadcast_id = ?", [broadcast_id])
    assert len(rows) == 4 and len({r["phone"] for r in rows}) == 4
    assert {(r["lane"], r["kind"], r["channel"], r["body"]) for r in rows} == {
        ("broadcast", "broadcast", "android_sms", 'Panen raya Sabtu "besar"')}
    assert broadcast_report(db, broadcast_id) == {
        "skipped": 1, "expired": 0, "queued": 4, "sent": 0, "delivered": 0, "failed": 0,
        "recipients": 5}
    (audit,) = coordinators.recent_actions(db)
    assert (audit["actor"], audit["action"]) == ("+6281111111111", "broadcast.create")


def test_evening_broadcast_waits_for_each_zones_morning(db):
    schedule.set_village_province(db, "Barru", "Sulawesi Selatan")
    schedule.set_village_province(db, "Wamena", "Papua Pegunungan")
    ids = {v: seller(db, f"+62812000002{n}", v) for n, v in enumerate(["Sukamaju", "Barru", "Wamena"])}
    broadcast_id = create_broadcast(db, group="semua", text="Info pupuk", created_by="cli", now=EVENING)
    batches = []
    plan_broadcast(db, settings(), broadcast_id, EVENING, on_batch=batches.append)
    assert batches == []  # nothing is due tonight
    due = {r["contact_id"]: r["next_attempt_at"] for r in fetch_all(db, "SELECT * FROM outbox")}
    assert due == {ids["Sukamaju"]: "2026-11-28T23:00:00.000000Z",
                   ids["Barru"]: "2026-11-28T22:00:00.000000Z",
                   ids["Wamena"]: "2026-11-28T21:00:00.000000Z"}


def test_price_update_held_for_the_morning_keeps_its_full_validity(db):
    # Issue 12 (supersedes DECISIONS.md 40): validity starts when the price may first
    # reach the recipient, so an evening price held for the morning still goes out.
    seller(db, "+6281200000031", "Sukamaju")
    seller(db, "+6281200000032", "Sukamaju", locale="en")
    broadcast_id = create_broadcast(
        db, group="semua", text="Harga cabai Rp11.500/kg", kind="price", created_by="cli",
        now=EVENING, expires_at=EVENING + timedelta(hours=6),
        texts={"id": "Harga cabai Rp11.500/kg", "en": "Chili price Rp11.500/kg"})
    report = plan_broadcast(db, settings(), broadcast_id, EVENING)
    assert (report.queued, report.expired) == (2, 0)  # morning is 8.5 h away
    rows = fetch_all(db, "SELECT next_attempt_at, expires_at FROM outbox WHERE broadcast_id = ?",
                     [broadcast_id])
    for row in rows:
        assert from_db_time(row["expires_at"]) - from_db_time(row["next_attempt_at"]) == timedelta(hours=6)
    daytime_id = create_broadcast(
        db, group="semua", text="Harga cabai Rp11.500/kg", kind="price", created_by="cli",
        now=DAYTIME, expires_at=DAYTIME + timedelta(hours=6),
        texts={"id": "Harga cabai Rp11.500/kg", "en": "Chili price Rp11.500/kg"})
    plan_broadcast(db, settings(), daytime_id, DAYTIME)
    bodies = sorted(r["body"] for r in fetch_all(db, "SELECT body FROM outbox WHERE broadcast_id = ?",
                                                  [daytime_id]))
    assert bodies == ["Chili price Rp11.500/kg", "Harga cabai Rp11.500/kg"]
    assert broadcast_report(db, broadcast_id)["expired"] == 0
