"""Outbox delivery against local provider servers: retries, permanent errors, order, templates."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis as redis_lib

from bot.pipeline.delivery import deliver_outbox_message
from bot.pipeline.dispatch import enqueue_deliveries
from bot.services import contacts, outbox
from bot.storage import to_db_time, transaction, utcnow
from tests.conftest import run_worker

SITI = "+6281234567890"


def queue(db, body="Pesanan P12 sudah diterima.", channel="twilio_sms", phone=SITI, **extra):
    now = utcnow()
    with transaction(db):
        contact = contacts.get_or_create_contact(db, phone, now)
        return outbox.queue_message(db, phone=phone, channel=channel, body=body, kind="notification",
                                    now=now, contact_id=contact["id"], **extra)


def row(db, outbox_id):
    return outbox.get_outbox_row(db, outbox_id)


def deliver_all(db, redis_url, ids):
    connection = redis_lib.Redis.from_url(redis_url)
    enqueue_deliveries(connection, db, [row(db, i) for i in ids], utcnow())
    run_worker(redis_url)


def test_twilio_sms_request_is_exact(db, settings, redis_url, fake_twilio):
    outbox_id = queue(db)
    deliver_all(db, redis_url, [outbox_id])
    assert fake_twilio.requests == [{
        "To": SITI, "Body": "Jembatan: Pesanan P12 sudah diterima.",
        "MessagingServiceSid": settings["TWILIO_MESSAGING_SERVICE_SID"],
        "StatusCallback": "https://jembatan.example.org/twilio/status",
    }]
    sent = row(db, outbox_id)
    assert sent["status"] == "sent" and sent["provider_id"].startswith("SM")
    assert sent["provider_status"] == "queued"


def test_500_twice_then_accepted_is_delivered_once(db, settings, redis_url, fake_twilio):
    fake_twilio.script = [500, 500]
    outbox_id = queue(db)
    deliver_all(db, redis_url, [outbox_id])
    assert len(fake_twilio.requests) == 3
    final = row(db, outbox_id)
    assert (final["status"], final["attempts"]) == ("sent", 3)
    # Running the job again (a duplicate in Redis) sends nothing more.
    deliver_all(db, redis_url, [outbox_id])
    assert len(fake_twilio.requests) == 3


@pytest.mark.parametrize("code", [21211, 21610, 21614, 30005, 30006])
def test_permanent_twilio_error_fails_with_its_code(db, settings, redis_url, fake_twilio, code):
    fake_twilio.script = [(400, code)]
    outbox_id = queue(db)
    deliver_all(db, redis_url, [outbox_id])
    failed = row(db, outbox_id)
    assert (failed["status"], failed["error_code"], failed["attempts"]) == ("failed", str(code), 1)
    assert len(fake_twilio.requests) == 1


@pytest.mark.parametrize("answer", [(429, 20429), (400, 30001), (400, 30008), 503, 429])
def test_retryable_errors_are_retried(db, settings, redis_url, fake_twilio, answer):
    fake_twilio.script = [answer]
    outbox_id = queue(db)
    deliver_all(db, redis_url, [outbox_id])
    assert row(db, outbox_id)["status"] == "sent"
    assert len(fake_twilio.requests) == 2


def test_unreachable_handset_gets_limited_tries(db, settings, redis_url, fake_twilio):
    fake_twilio.script = [(400, 30003)] * 5
    outbox_id = queue(db)
    deliver_all(db, redis_url, [outbox_id])
    failed = row(db, outbox_id)
    assert (failed["status"], failed["error_code"], failed["attempts"]) == ("failed", "30003", 3)
    assert len(fake_twilio.requests) == 3


def test_retries_run_out(db, settings, redis_url, fake_twilio, monkeypatch):
    monkeypatch.setenv("OUTBOX_MAX_ATTEMPTS", "4")
    fake_twilio.script = [500] * 10
    outbox_id = queue(db)
    deliver_all(db, redis_url, [outbox_id])
    failed = row(db, outbox_id)
    assert (failed["status"], failed["attempts"]) == ("failed", 4)
    assert "gave up after 4 tries" in failed["error_message"]


def test_backoff_grows_and_waits(db, settings, fake_twilio):
    config = dict(settings, OUTBOX_MAX_ATTEMPTS=10, OUTBOX_RETRY_BASE_SECONDS=15)
    fake_twilio.script = [500, 500]
    outbox_id = queue(db)
    start = utcnow()
    first = deliver_outbox_message(db, config, outbox_id, now=start)
    assert first.status == "retry"
    assert timedelta(seconds=14) < first.retry_at - start < timedelta(seconds=17)
    # Not due yet: nothing is sent.
    assert deliver_outbox_message(db, config, outbox_id, now=start + timedelta(seconds=5)).status == "skipped"
    second = deliver_outbox_message(db, config, outbox_id, now=first.retry_at + timedelta(seconds=1))
    assert second.retry_at - first.retry_at > timedelta(seconds=29)
    assert len(fake_twilio.requests) == 2


def test_row_with_provider_id_is_never_sent_again(db, settings, fake_twilio):
    outbox_id = queue(db)
    assert deliver_outbox_message(db, settings | {"OUTBOX_MAX_ATTEMPTS": 10}, outbox_id).status == "sent"
    with transaction(db):  # even if something wrongly put it back to pending
        db.execute("UPDATE outbox SET status = 'pending' WHERE id = ?", [outbox_id])
    assert deliver_outbox_message(db, settings | {"OUTBOX_MAX_ATTEMPTS": 10}, outbox_id).status == "skipped"
    assert len(fake_twilio.requests) == 1


def test_order_per_recipient_is_kept_across_a_retry(db, settings, redis_url, fake_gateway):
    fake_gateway.script = [500]
    ids = [queue(db, body=f"pesan {n}", channel="android_sms") for n in range(1, 4)]
    other = queue(db, body="untuk Budi", channel="android_sms", phone="+6285711112222")
    deliver_all(db, redis_url, ids + [other])
    assert fake_gateway.texts_to(SITI) == ["pesan 1", "pesan 2", "pesan 3"]
    assert fake_gateway.texts_to("+6285711112222") == ["untuk Budi"]
    assert {row(db, i)["status"] for i in ids + [other]} == {"sent"}


def test_gateway_timeout_then_retry_sends_once(db, settings, redis_url, fake_gateway, monkeypatch):
    """The phone accepted the SMS but answered too late: the retry reuses the id -> 409 -> sent."""
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "1")
    fake_gateway.script = [1.5]
    outbox_id = queue(db, channel="android_sms")
    connection = redis_lib.Redis.from_url(redis_url)
    enqueue_deliveries(connection, db, [row(db, outbox_id)], utcnow())
    run_worker(redis_url)
    assert row(db, outbox_id)["status"] == "sent"
    assert len(fake_gateway.requests) == 2
    assert len(fake_gateway.accepted) == 1


def test_expired_row_is_not_sent(db, settings, fake_twilio):
    outbox_id = queue(db, expires_at=utcnow() - timedelta(minutes=1))
    assert deliver_outbox_message(db, settings, outbox_id).status == "expired"
    assert row(db, outbox_id)["status"] == "expired"
    assert fake_twilio.requests == []


def _whatsapp_contact(db, last_seen):
    with transaction(db):
        contact = contacts.get_or_create_contact(db, SITI, utcnow())
        db.execute("UPDATE contacts SET last_whatsapp_at = ? WHERE id = ?",
                   [to_db_time(last_seen), contact["id"]])


def test_whatsapp_inside_24h_sends_free_text(db, settings, fake_twilio):
    _whatsapp_contact(db, utcnow() - timedelta(hours=23))
    outbox_id = queue(db, channel="twilio_whatsapp", body="Pesanan P12 diterima")
    assert deliver_outbox_message(db, settings, outbox_id).status == "sent"
    assert fake_twilio.requests == [{
        "To": f"whatsapp:{SITI}", "From": "whatsapp:+14155238886", "Body": "Pesanan P12 diterima",
        "StatusCallback": "https://jembatan.example.org/twilio/status"}]


def test_whatsapp_outside_24h_sends_the_template(db, settings, fake_twilio):
    _whatsapp_contact(db, utcnow() - timedelta(hours=25))
    outbox_id = queue(db, channel="twilio_whatsapp", body="Pesanan P12 diterima")
    assert deliver_outbox_message(db, settings, outbox_id).status == "sent"
    assert fake_twilio.requests == [{
        "To": f"whatsapp:{SITI}", "MessagingServiceSid": settings["TWILIO_MESSAGING_SERVICE_SID"],
        "ContentSid": settings["TWILIO_WHATSAPP_TEMPLATE_SID"],
        "ContentVariables": json.dumps({"1": "Pesanan P12 diterima"}),
        "StatusCallback": "https://jembatan.example.org/twilio/status"}]
    assert row(db, outbox_id)["template_sid"] == settings["TWILIO_WHATSAPP_TEMPLATE_SID"]


def test_whatsapp_outside_24h_without_template_fails_clearly(db, settings, fake_twilio):
    _whatsapp_contact(db, utcnow() - timedelta(days=3))
    outbox_id = queue(db, channel="twilio_whatsapp")
    config = dict(settings, TWILIO_WHATSAPP_TEMPLATE_SID=None)
    assert deliver_outbox_message(db, config, outbox_id).status == "failed"
    assert row(db, outbox_id)["error_code"] == "63016"
    assert fake_twilio.requests == []
