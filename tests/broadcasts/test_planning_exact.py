"""Set-based planning writes exactly the right set: every contact of the group once, nobody
else, each with what a contact-by-contact reading of the rules gives (status, channel,
text, send time, validity), and faults caused on purpose (the planning job dying between
a batch's commit and its enqueue, Redis going away mid-plan, contacts changing between
batches) leave nothing planned twice and nothing missing.

Real SQLite files and a real Redis; the reference is the per-contact rules themselves
(`channel_for_contact`, `contact_timezone`, `next_send_time`), not a copy of the SQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
from rq import Queue

from bot.config import load_config
from bot.pipeline.dispatch import enqueue_deliveries
from bot.services import outbox, schedule
from bot.services.broadcasts import create_broadcast, plan_broadcast
from bot.services.groups import resolve_group
from bot.storage import fetch_all, from_db_time, to_db_time, transaction

EVENING = datetime(2026, 11, 28, 14, 30, tzinfo=UTC)  # 21:30 WIB, 22:30 WITA, 23:30 WIT
DAYTIME = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # 10:00 WIB
BSUID = "ID.1502576394655843"


def settings(**extra):
    return load_config({}) | {"ANDROID_GATEWAY_URL": "http://hub", "QUIET_HOURS": "21:00-06:00"} | extra


def add_contacts(db, rows: list[dict]) -> None:
    """Contacts straight into SQLite (test set-up), every planning-relevant column given."""
    columns = ("phone", "role", "name", "village", "opted_out", "timezone", "locale",
               "last_whatsapp_at", "sms_channel", "blocked_channels", "created_at")
    with transaction(db):
        db.conn.executemany(
            f"INSERT INTO contacts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [tuple(row.get(c) for c in columns) for row in rows])


def varied_population(db, count: int = 120) -> None:
    """Sellers of every kind planning tells apart, interleaved so each batch mixes them."""
    schedule.set_village_province(db, "Barru", "Sulawesi Selatan")
    schedule.set_village_province(db, "Wamena", "Papua Pegunungan")
    rows = []
    for n in range(count):
        rows.append({
            "phone": BSUID if n == 17 else f"+62812{n:07d}",
            "role": "buyer" if n % 23 == 5 else "seller",  # buyers are not in the group
            "name": "Penjual",
            "village": ("Sukamaju", "Barru", "Wamena", "BARRU")[n % 4],
            "opted_out": int(n % 11 == 3),
            "timezone": "Asia/Jayapura" if n % 13 == 7 else None,
            "locale": (None, "en", "id")[n % 3],
            "last_whatsapp_at": to_db_time(DAYTIME) if n % 5 == 1 else None,
            "sms_channel": (None, "twilio_sms", "android_sms")[n % 3 if n % 7 else 0],
            "blocked_channels": ("twilio_whatsapp", "twilio_sms", "twilio_sms,twilio_whatsapp", None)[n % 4]
            if n % 6 == 0 else None,
            "created_at": to_db_time(DAYTIME),
        })
    add_contacts(db, rows)


def expected_plan(db, config, broadcast_id, now) -> dict[int, tuple]:
    """Contact id -> (status, channel, body, next attempt, expires), contact by contact."""
    broadcast = fetch_all(db, "SELECT * FROM broadcasts WHERE id = ?", [broadcast_id])[0]
    audience = resolve_group(db, broadcast["group_name"])
    zones = schedule.village_timezones(db)
    quiet = schedule.parse_quiet_hours(config["QUIET_HOURS"])
    created = from_db_time(broadcast["created_at"])
    expires = from_db_time(broadcast["expires_at"])
    texts = json.loads(broadcast["texts"]) if broadcast["texts"] else {}
    plan = {}
    for contact in fetch_all(db, f"SELECT * FROM contacts c WHERE {audience.where}", list(audience.params)):
        if contact["opted_out"]:
            plan[contact["id"]] = ("skipped", None, None, None, None)
            continue
        zone = schedule.contact_timezone(contact, zones, config.get("DEFAULT_TIMEZONE") or "Asia/Jakarta")
        send_at = schedule.next_send_time(now, zone, quiet)
        row_expires = send_at + (expires - created) if expires else None
        if row_expires is not None and row_expires <= now:
            plan[contact["id"]] = ("expired", None, None, None, None)
            continue
        locale = contact["locale"] or "id"
        body = texts.get(f"{locale}|{zone}") or texts.get(locale) or broadcast["text"]
        plan[contact["id"]] = ("queued", outbox.channel_for_contact(contact, config), body,
                               to_db_time(send_at), to_db_time(row_expires))
    return plan


def planned(db, broadcast_id) -> dict[int, tuple]:
    """What planning wrote, per contact; fails on a contact planned twice."""
    rows = fetch_all(
        db, "SELECT r.contact_id, r.status, o.channel, o.body, o.next_attempt_at, o.expires_at, "
        "o.contact_id AS outbox_contact, o.phone, c.phone AS contact_phone FROM broadcast_recipients r "
        "JOIN contacts c ON c.id = r.contact_id LEFT JOIN outbox o ON o.id = r.outbox_id "
        "WHERE r.broadcast_id = ?", [broadcast_id])
    result = {}
    for row in rows:
        assert row["contact_id"] not in result
        if row["status"] == "queued":
            assert (row["outbox_contact"], row["phone"]) == (row["contact_id"], row["contact_phone"])
        result[row["contact_id"]] = (row["status"], row["channel"], row["body"], row["next_attempt_at"],
                                     row["expires_at"])
    outbox_rows = db.execute("SELECT COUNT(*), COUNT(DISTINCT contact_id) FROM outbox WHERE broadcast_id = ?",
                             [broadcast_id]).fetchone()
    queued = sum(1 for r in result.values() if r[0] == "queued")
    assert tuple(outbox_rows) == (queued, queued), "an outbox row without its recipient, or twice"
    return result


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_the_planned_set_is_what_the_rules_say_contact_by_contact(migrated_db, batch_size):
    db = migrated_db
    varied_population(db)
    config = settings()
    broadcast_id = create_broadcast(
        db, group="semua", text="Harga cabai Rp11.500/kg", kind="price", created_by="cli", now=EVENING,
        expires_at=EVENING + timedelta(hours=6),
        texts={"id": "Harga cabai Rp11.500/kg", "en": "Chili price Rp11.500/kg",
               "id|Asia/Makassar": "Harga cabai Rp11.500/kg (WITA)"})
    report = plan_broadcast(db, config, broadcast_id, EVENING, batch_size=batch_size)
    expected = expected_plan(db, config, broadcast_id, EVENING)
    assert planned(db, broadcast_id) == expected
    statuses = [plan[0] for plan in expected.values()]
    assert (report.queued, report.skipped, report.expired) == (
        statuses.count("queued"), statuses.count("skipped"), statuses.count("expired"))
    # The population covers what it is meant to: every channel, zone-specific texts, a BSUID.
    assert {plan[1] for plan in expected.values()} >= {"twilio_whatsapp", "twilio_sms", "android_sms"}
    assert "Harga cabai Rp11.500/kg (WITA)" in {plan[2] for plan in expected.values()}
    assert BSUID in {r["phone"] for r in fetch_all(db, "SELECT phone FROM outbox")}
    # Nothing is due at 21:30 anywhere: nothing was stored as handed over.
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE enqueued_at IS NOT NULL").fetchone()[0] == 0


def test_a_price_already_past_its_validity_is_recorded_expired_for_everyone(migrated_db):
    db = migrated_db
    varied_population(db, 40)
    config = settings()
    broadcast_id = create_broadcast(db, group="semua", text="Harga cabai Rp11.500/kg", kind="price",
                                    created_by="cli", now=DAYTIME, expires_at=DAYTIME)
    report = plan_broadcast(db, config, broadcast_id, DAYTIME, batch_size=9)
    assert planned(db, broadcast_id) == expected_plan(db, config, broadcast_id, DAYTIME)
    assert report.queued == 0 and report.expired > 0 and report.skipped > 0


def test_the_job_dying_between_commit_and_enqueue_plans_nobody_twice(migrated_db, redis_url):
    """The planning job dies after a batch's commit, before its enqueue; the retried job
    plans the rest, and the sweep hands over what the dead job never enqueued."""
    db = migrated_db
    varied_population(db, 60)
    config = settings(QUIET_HOURS="off")
    connection = redis_lib.Redis.from_url(redis_url)
    broadcast_id = create_broadcast(db, group="semua", text="Panen raya Sabtu", created_by="cli", now=DAYTIME)
    handed: list[int] = []

    def enqueue_then_die(rows):
        if handed:
            raise KeyboardInterrupt("the worker was killed")  # the second batch never reaches Redis
        enqueue_deliveries(connection, db, rows, DAYTIME)
        handed.extend(row["id"] for row in rows)

    with pytest.raises(KeyboardInterrupt):
        plan_broadcast(db, config, broadcast_id, DAYTIME, batch_size=10, on_batch=enqueue_then_die)
    lost = [r["id"] for r in fetch_all(db, "SELECT id FROM outbox WHERE broadcast_id = ? AND id > ?",
                                       [broadcast_id, max(handed)])]
    assert len(handed) > 0 and len(lost) > 0
    # The retried job.
    again: list[int] = []
    plan_broadcast(db, config, broadcast_id, DAYTIME, batch_size=10,
                   on_batch=lambda rows: (enqueue_deliveries(connection, db, rows, DAYTIME),
                                          again.extend(row["id"] for row in rows)))
    assert planned(db, broadcast_id) == expected_plan(db, config, broadcast_id, DAYTIME)
    assert not set(again) & set(handed + lost)
    # Within the enqueue grace the sweep leaves them be; after it, it takes exactly the lost batch.
    assert outbox.due_unqueued(db, DAYTIME) == []
    jobs = Queue("broadcasts", connection=connection).jobs
    in_redis = {outbox_id for job in jobs for outbox_id in job.args[0]}
    assert in_redis == set(handed + again)
    later = DAYTIME + outbox.ENQUEUE_GRACE + timedelta(seconds=1)
    assert {r["id"] for r in outbox.due_unqueued(db, later)} - in_redis == set(lost)


def test_redis_going_away_mid_plan_leaves_the_rest_for_the_sweep_at_once(migrated_db, own_redis):
    db = migrated_db
    varied_population(db, 60)
    config = settings(QUIET_HOURS="off")
    connection = redis_lib.Redis.from_url(own_redis.url, socket_connect_timeout=0.5, socket_timeout=0.5)
    broadcast_id = create_broadcast(db, group="semua", text="Panen raya Sabtu", created_by="cli", now=DAYTIME)
    results: list[bool] = []
    taken: list[int] = []

    def enqueue(rows):
        results.append(enqueue_deliveries(connection, db, rows, DAYTIME))
        if len(results) <= 2:
            taken.extend(row["id"] for row in rows)
        if len(results) == 2:
            own_redis.stop()

    report = plan_broadcast(db, config, broadcast_id, DAYTIME, batch_size=10, on_batch=enqueue)
    assert results[:2] == [True, True] and not any(results[2:]) and len(results) > 2
    assert planned(db, broadcast_id) == expected_plan(db, config, broadcast_id, DAYTIME)
    rows = fetch_all(db, "SELECT id, enqueued_at FROM outbox WHERE broadcast_id = ? ORDER BY id",
                     [broadcast_id])
    assert len(rows) == report.queued
    handed = [r["id"] for r in rows if r["enqueued_at"]]
    assert handed == taken  # the two batches Redis took
    # Everything Redis did not take is the sweep's at once (no grace to wait out).
    assert {r["id"] for r in outbox.due_unqueued(db, DAYTIME)} == {r["id"] for r in rows} - set(handed)


def test_contacts_changing_between_batches_are_planned_as_they_are_at_their_batch(migrated_db):
    db = migrated_db
    add_contacts(db, [{"phone": f"+62813{n:07d}", "role": "seller", "name": "P", "village": "Sukamaju",
                       "opted_out": 0, "created_at": to_db_time(DAYTIME)} for n in range(30)])
    config = settings(QUIET_HOURS="off")
    broadcast_id = create_broadcast(db, group="sukamaju", text="Panen raya Sabtu", created_by="cli",
                                    now=DAYTIME)
    last = db.execute("SELECT MAX(id) FROM contacts").fetchone()[0]

    def change_the_rest(rows):
        if len(rows) and db.execute("SELECT COUNT(*) FROM broadcast_recipients").fetchone()[0] == 10:
            with transaction(db):
                db.execute("UPDATE contacts SET opted_out = 1 WHERE id = ?", [last])
                db.execute("UPDATE contacts SET last_whatsapp_at = ?, locale = 'en' WHERE id = ?",
                           [to_db_time(DAYTIME), last - 1])
            add_contacts(db, [{"phone": "+6281399999999", "role": "seller", "name": "Baru",
                               "village": "sukamaju", "opted_out": 0, "created_at": to_db_time(DAYTIME)}])

    report = plan_broadcast(db, config, broadcast_id, DAYTIME, batch_size=10, on_batch=change_the_rest)
    result = planned(db, broadcast_id)
    assert result == expected_plan(db, config, broadcast_id, DAYTIME)
    assert result[last][0] == "skipped" and result[last - 1][1] == "twilio_whatsapp"
    assert (report.queued, report.skipped) == (30, 1)  # 29 of the first 30 and the newcomer


def test_planning_without_redis_leaves_every_row_for_the_sweep_at_once(migrated_db):
    """`jembatan broadcast plan` on a hub whose Redis is not configured: nothing is
    recorded as handed over, so the sweep takes every row as soon as it runs."""
    db = migrated_db
    varied_population(db, 30)
    config = settings(QUIET_HOURS="off")
    broadcast_id = create_broadcast(db, group="semua", text="Panen raya Sabtu", created_by="cli", now=DAYTIME)
    report = plan_broadcast(db, config, broadcast_id, DAYTIME, batch_size=10,
                            on_batch=lambda rows: enqueue_deliveries(None, db, rows, DAYTIME))
    assert report.queued > 0
    assert len(outbox.due_unqueued(db, DAYTIME)) == report.queued
