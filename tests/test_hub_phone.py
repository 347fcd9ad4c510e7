"""The hub phone watched: health polled, one alert per incident over another channel,
a per-SIM daily cap with overflow, TTLs by kind, and messages the phone dropped at their
TTL marked expired. Real Redis, real SQLite, the phone and Twilio as local HTTP servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.pipeline.delivery import deliver_outbox_message
from bot.pipeline.dispatch import connect_redis
from bot.pipeline.sweep import sweep
from bot.services import outbox
from bot.services.coordinators import grant_coordinator
from bot.storage import to_db_time, transaction, utcnow
from tests.conftest import gateway_post, run_worker, twilio_post
from tests.providers import health_body

KOORD = "+6281311112222"
SITI = "+6281234567890"
T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # 10.00 WIB


@pytest.fixture
def coordinator(client, db):
    # The coordinator wrote on WhatsApp once: alerts reach them there, not via the hub.
    twilio_post(client, "/twilio/messages", {"MessageSid": "SM" + "9" * 32, "From": f"whatsapp:{KOORD}",
                                             "To": "whatsapp:+14155238886", "Body": "BANTUAN"})
    grant_coordinator(db, KOORD, "Sukamaju", T0)
    with transaction(db):
        db.execute("UPDATE contacts SET last_whatsapp_at = ? WHERE phone = ?", [to_db_time(T0), KOORD])
    return KOORD


def alerts(db):
    return [(r["phone"], r["channel"], r["reply_id"]) for r in db.query(
        "SELECT * FROM outbox WHERE reply_id LIKE 'hub.%' ORDER BY id")]


def test_silent_hub_phone_gives_one_alert_per_incident(app, db, redis_url, fake_gateway, closed_port,
                                                       fake_twilio, coordinator):
    config = dict(app.config)
    redis = connect_redis(redis_url)
    dead = dict(config, ANDROID_GATEWAY_URL=f"http://127.0.0.1:{closed_port}")
    sweep(db, config, redis, now=T0)
    assert fake_gateway.health_checks == 1
    device = next(db.query("SELECT * FROM hub_devices"))
    assert (device["status"], device["battery_level"], device["charging"], device["connection"],
            device["failed_count"]) == ("pass", 80, 1, "pass", 0)
    for minutes in (6, 12, 18, 24, 30):  # polled every 5 minutes, no answer
        sweep(db, dead, redis, now=T0 + timedelta(minutes=minutes))
    assert alerts(db) == [(KOORD, "twilio_whatsapp", "hub.silent")]
    body = next(db.query("SELECT body FROM outbox WHERE reply_id = 'hub.silent'"))["body"]
    assert body == ("Ponsel gateway hub tidak terdengar sejak 28/11 10.00 WIB. SMS petani tertahan. Mohon "
                    "periksa daya, pulsa dan Wi-Fi ponsel itu.")
    run_worker(redis_url)
    assert [r["To"] for r in fake_twilio.requests] == [f"whatsapp:{KOORD}"]
    # It comes back (the incident closes), then goes silent again: a second alert.
    sweep(db, config, redis, now=T0 + timedelta(minutes=36))
    for minutes in (42, 48, 54):
        sweep(db, dead, redis, now=T0 + timedelta(minutes=minutes))
    assert len(alerts(db)) == 2


def test_low_battery_is_told_once(app, db, redis_url, fake_gateway, coordinator):
    fake_gateway.health = (200, health_body(battery=12, charging=False, status="warn"))
    redis = connect_redis(redis_url)
    for minutes in (0, 6, 12):
        sweep(db, app.config, redis, now=T0 + timedelta(minutes=minutes))
    assert alerts(db) == [(KOORD, "twilio_whatsapp", "hub.battery_low")]
    assert fake_gateway.health_checks == 3


def test_ping_keeps_the_phone_counted_as_alive(client, app, db, redis_url, coordinator, closed_port):
    redis = connect_redis(redis_url)
    dead = dict(app.config, ANDROID_GATEWAY_URL=f"http://127.0.0.1:{closed_port}")
    ping = {"id": "p1", "webhookId": "w", "deviceId": "hub-phone-1", "event": "system:ping",
            "payload": {}}
    gateway_post(client, ping)
    sweep(db, dead, redis)  # a minute later the poll fails, but the ping was just now
    assert alerts(db) == []


def queue(db, phone=SITI, kind="notification", reply_id="order.accepted", **extra):
    with transaction(db):
        return outbox.queue_message(db, phone=phone, channel="android_sms", body="Pesanan P2 diterima.",
                                    kind=kind, now=T0, reply_id=reply_id, **extra)


def fill_sim(db, sim, count):
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO outbox (phone, channel, kind, body, status, provider_id, sim_number, "
            "next_attempt_at, claimed_at, created_at) VALUES (?, 'android_sms', 'broadcast', 'x', "
            "'sent', ?, ?, ?, ?, ?)",
            [(f"+62812000{i:05d}", f"jbt-x{sim}-{i}", sim, to_db_time(T0), to_db_time(T0),
              to_db_time(T0)) for i in range(count)])


@pytest.mark.parametrize("overflow,full,expected", [
    ("sim2", [], ("android_sms", 1)),
    ("sim2", [1], ("android_sms", 2)),
    ("twilio", [1], ("twilio_sms", None)),
    ("sim2,twilio", [1, 2], ("twilio_sms", None)),
])
def test_the_101st_sms_on_a_sim_capped_at_100_goes_out_the_other_way(
        app, db, fake_gateway, fake_twilio, overflow, full, expected):
    config = dict(app.config, ANDROID_GATEWAY_DAILY_LIMIT=100, ANDROID_GATEWAY_OVERFLOW=overflow)
    for sim in full:
        fill_sim(db, sim, 100)
    row_id = queue(db)
    assert deliver_outbox_message(db, config, row_id, now=T0 + timedelta(seconds=1)).status == "sent"
    row = outbox.get_outbox_row(db, row_id)
    assert (row["channel"], row["sim_number"]) == expected
    if expected[0] == "android_sms":
        assert fake_gateway.requests[-1]["json"]["simNumber"] == expected[1]
        assert fake_twilio.requests == []
    else:
        assert fake_gateway.requests == [] and fake_twilio.requests[-1]["To"] == SITI


def test_all_sims_full_waits_for_the_next_day_never_dropped(app, db, fake_gateway):
    config = dict(app.config, ANDROID_GATEWAY_DAILY_LIMIT=100, ANDROID_GATEWAY_OVERFLOW="sim2")
    fill_sim(db, 1, 100)
    fill_sim(db, 2, 100)
    row_id = queue(db)
    outcome = deliver_outbox_message(db, config, row_id, now=T0 + timedelta(seconds=1))
    assert outcome.status == "retry"
    assert outcome.retry_at == datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # 00.00 WIB
    assert outbox.get_outbox_row(db, row_id)["status"] == "pending" and fake_gateway.requests == []


@pytest.mark.parametrize("kind,reply_id,expires,lifetime", [
    ("reply", "help.seller", None, {"validUntil": "2026-11-28T03:30:00Z"}),
    ("notification", "order.accepted", None, {}),
    ("notification", "order.reminder", T0 + timedelta(hours=2), {"validUntil": "2026-11-28T05:00:00Z"}),
    ("broadcast", None, T0 + timedelta(hours=3), {"validUntil": "2026-11-28T06:00:00Z"}),
    ("broadcast", None, None, {"validUntil": "2026-11-28T15:00:00Z"}),
    ("notification", "payout.succeeded", None, {}),
])
def test_gateway_messages_carry_a_validity_suited_to_their_kind(app, db, fake_gateway, kind,
                                                                reply_id, expires, lifetime):
    row_id = queue(db, kind=kind, reply_id=reply_id, expires_at=expires)
    deliver_outbox_message(db, app.config, row_id, now=T0)
    sent = fake_gateway.requests[-1]["json"]
    assert {k: v for k, v in sent.items() if k in ("ttl", "validUntil")} == lifetime


def test_a_reply_that_waited_hours_for_the_phone_is_expired_not_sent_late(app, db, fake_gateway):
    reply_id = queue(db, kind="reply", reply_id="help.seller")
    payout_id = queue(db, kind="notification", reply_id="payout.succeeded")
    late = T0 + timedelta(hours=3)  # the phone was off; now it is back
    assert deliver_outbox_message(db, app.config, reply_id, now=late).status == "expired"
    assert deliver_outbox_message(db, app.config, payout_id, now=late).status == "sent"
    assert [m["id"] for m in fake_gateway.accepted.values()] == [f"jbt-{payout_id}"]


def test_a_message_the_phone_dropped_at_its_ttl_is_marked_expired(client, app, db, fake_gateway):
    row_id = queue(db, kind="broadcast", reply_id=None, expires_at=T0 + timedelta(hours=6))
    deliver_outbox_message(db, app.config, row_id, now=T0)
    event = {"id": "f1", "webhookId": "w", "deviceId": "hub-phone-1", "event": "sms:failed",
             "payload": {"messageId": f"jbt-{row_id}", "sender": None, "recipient": SITI,
                         "simNumber": 1, "failedAt": "2026-11-28T16:00:00.000+07:00",
                         "reason": "TTL expired"}}
    assert gateway_post(client, event).status_code == 200
    row = outbox.get_outbox_row(db, row_id)
    assert (row["status"], row["provider_status"]) == ("expired", "expired")


def test_the_delivery_status_shows_the_hub_phone(client, app, db, redis_url, fake_gateway,
                                                 coordinator, closed_port):
    redis = connect_redis(redis_url)
    sweep(db, app.config, redis)
    report = client.get("/healthz/delivery").get_json()
    assert report["hub"]["devices"][0]["battery_level"] == 80 and report["hub"]["incidents"] == []
    dead = dict(app.config, ANDROID_GATEWAY_URL=f"http://127.0.0.1:{closed_port}")
    sweep(db, dead, redis, now=utcnow() + timedelta(minutes=20))
    with transaction(db):  # the silence is real now: shift the heartbeat with the clock
        db.execute("UPDATE heartbeats SET at = ?", [to_db_time(utcnow())])
    answer = client.get("/healthz/delivery")
    assert answer.status_code == 503 and answer.get_json()["hub"]["incidents"] == ["hub_silent"]
    assert any("hub phone" in reason for reason in answer.get_json()["reasons"])
