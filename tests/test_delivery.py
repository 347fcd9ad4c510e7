"""Outbox delivery against local provider servers, as a table of cases (RapidPro courier
style): each case is one outbox row, the provider's answers in order, the exact requests
the provider must receive (a missing or an unexpected one fails the case) and the row as
stored at the end. Every case runs through the real RQ job, then runs it again to show a
repeated job sends nothing more. Retries, order and backoff follow as plain tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import redis as redis_lib
from rq import Queue

from bot.pipeline.delivery import deliver_outbox_message
from bot.pipeline.dispatch import enqueue_deliveries
from bot.services import contacts, outbox
from bot.storage import to_db_time, transaction, utcnow
from tests.conftest import run_worker
from tests.providers import assert_exact_requests

SITI = "+6281234567890"
BUDI = "+6285711112222"
BODY = "Pesanan P12 sudah diterima."
STATUS_CALLBACK = "https://jembatan.example.org/twilio/status"
MESSAGING_SERVICE = "MG" + "1" * 32
TEMPLATE = "HX" + "2" * 32
GATEWAY_AUTH = "Basic c21zOnNlY3JldA=="  # sms:secret, the test gateway's credentials
ANSWERED = "the id the provider answered with"  # stored provider_id: the SID, or our gateway id

SMS = {"To": SITI, "Body": f"Jembatan: {BODY}", "MessagingServiceSid": MESSAGING_SERVICE,
       "StatusCallback": STATUS_CALLBACK}
WHATSAPP_TEXT = {"To": f"whatsapp:{SITI}", "From": "whatsapp:+14155238886", "Body": BODY,
                 "StatusCallback": STATUS_CALLBACK}
WHATSAPP_TEMPLATE = {"To": f"whatsapp:{SITI}", "MessagingServiceSid": MESSAGING_SERVICE,
                     "ContentSid": TEMPLATE, "ContentVariables": json.dumps({"1": BODY}),
                     "StatusCallback": STATUS_CALLBACK}
GATEWAY = {"json": {"id": "jbt-1", "textMessage": {"text": BODY}, "phoneNumbers": [SITI],
                    "withDeliveryReport": True},
           "authorization": GATEWAY_AUTH}


@dataclass(frozen=True)
class Case:
    """One outbox row through one provider."""

    name: str
    channel: str = "twilio_sms"
    answers: list = field(default_factory=list)  # provider's answers in order; then it accepts
    env: dict = field(default_factory=dict)  # settings for the worker; None unsets one
    whatsapp_seen: timedelta | None = None  # when the recipient last wrote on WhatsApp
    expired: bool = False  # the row's expires_at has passed
    requests: list = field(default_factory=list)  # exactly what the provider receives
    stored: dict = field(default_factory=dict)  # outbox columns at the end


def sent(attempts=1, provider_status="queued", **more) -> dict:
    return {"status": "sent", "attempts": attempts, "provider_id": ANSWERED,
            "provider_status": provider_status, "error_code": None, **more}


def failed(code, attempts=1, **more) -> dict:
    return {"status": "failed", "attempts": attempts, "provider_id": None, "error_code": code, **more}


CASES = [
    # --- Twilio SMS -----------------------------------------------------------------------
    Case("sms through the messaging service", requests=[SMS], stored=sent()),
    Case("sms from the alphanumeric sender", env={"TWILIO_MESSAGING_SERVICE_SID": None},
         requests=[{"To": SITI, "Body": f"Jembatan: {BODY}", "From": "Jembatan",
                    "StatusCallback": STATUS_CALLBACK}], stored=sent()),
    Case("sms with no sender configured is not attempted",
         env={"TWILIO_MESSAGING_SERVICE_SID": None, "TWILIO_SMS_FROM": None},
         requests=[], stored=failed("not_configured")),
    Case("500 twice then accepted: delivered once", answers=[500, 500], requests=[SMS] * 3,
         stored=sent(attempts=3)),
    *[Case(f"permanent twilio error {code}", answers=[(400, code)], requests=[SMS],
           stored=failed(str(code))) for code in (21211, 21610, 21614, 30005, 30006)],
    *[Case(f"retryable answer {answer}", answers=[answer], requests=[SMS] * 2, stored=sent(attempts=2))
      for answer in [(429, 20429), (400, 30001), (400, 30008), 503, 429]],
    Case("unreachable handset gets three tries", answers=[(400, 30003)] * 5, requests=[SMS] * 3,
         stored=failed("30003", attempts=3)),
    Case("retries run out", env={"OUTBOX_MAX_ATTEMPTS": "4"}, answers=[500] * 10, requests=[SMS] * 4,
         stored={"status": "failed", "attempts": 4, "provider_id": None,
                 "error_message": "gave up after 4 tries: Unable to create record: boom"}),
    Case("expired row is not sent", expired=True, requests=[],
         stored={"status": "expired", "attempts": 1, "provider_id": None}),
    # --- Twilio WhatsApp ------------------------------------------------------------------
    Case("whatsapp inside 24 hours: free text", channel="twilio_whatsapp",
         whatsapp_seen=timedelta(hours=23), requests=[WHATSAPP_TEXT], stored=sent(template_sid=None)),
    Case("whatsapp outside 24 hours: the template", channel="twilio_whatsapp",
         whatsapp_seen=timedelta(hours=25), requests=[WHATSAPP_TEMPLATE],
         stored=sent(template_sid=TEMPLATE)),
    Case("whatsapp outside 24 hours without a template fails clearly", channel="twilio_whatsapp",
         whatsapp_seen=timedelta(days=3), env={"TWILIO_WHATSAPP_TEMPLATE_SID": None}, requests=[],
         stored=failed("63016")),
    # --- Android gateway ------------------------------------------------------------------
    Case("gateway request is exact", channel="android_sms", requests=[GATEWAY],
         stored=sent(provider_status="pending")),
    Case("gateway 500 then accepted", channel="android_sms", answers=[500], requests=[GATEWAY] * 2,
         stored=sent(attempts=2, provider_status="pending")),
    Case("gateway 503 (its queue is full) is retried", channel="android_sms", answers=[503],
         requests=[GATEWAY] * 2, stored=sent(attempts=2, provider_status="pending")),
    Case("gateway 409: already accepted under our id", channel="android_sms", answers=[409],
         requests=[GATEWAY], stored=sent(provider_status="accepted")),
    Case("gateway 400 is permanent", channel="android_sms", answers=[400], requests=[GATEWAY],
         stored=failed("http_400")),
    # The phone accepted the SMS but answered too late: the retry reuses the id -> 409.
    Case("gateway timeout then retry sends once", channel="android_sms",
         env={"PROVIDER_TIMEOUT_SECONDS": "1"}, answers=[1.5], requests=[GATEWAY] * 2,
         stored=sent(attempts=2, provider_status="accepted")),
]


def queue(db, body=BODY, channel="twilio_sms", phone=SITI, **extra):
    now = utcnow()
    with transaction(db):
        contact = contacts.get_or_create_contact(db, phone, now)
        return outbox.queue_message(db, phone=phone, channel=channel, body=body, kind="notification",
                                    now=now, contact_id=contact["id"], **extra)


def row(db, outbox_id):
    return outbox.get_outbox_row(db, outbox_id)


def deliver_all(redis_url, ids):
    """Queue `deliver_outbox_job` for each row (its name in Redis) and run a worker dry."""
    replies = Queue("replies", connection=redis_lib.Redis.from_url(redis_url))
    for outbox_id in ids:
        replies.enqueue("bot.jobs.deliver_outbox_job", outbox_id)
    run_worker(redis_url)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_delivery(case, db, settings, redis_url, fake_twilio, fake_gateway, monkeypatch):
    for key, value in case.env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    provider, other = ((fake_gateway, fake_twilio) if case.channel == "android_sms"
                       else (fake_twilio, fake_gateway))
    provider.script = list(case.answers)
    if case.whatsapp_seen is not None:
        with transaction(db):
            contact = contacts.get_or_create_contact(db, SITI, utcnow())
            db.execute("UPDATE contacts SET last_whatsapp_at = ? WHERE id = ?",
                       [to_db_time(utcnow() - case.whatsapp_seen), contact["id"]])
    extra = {"expires_at": utcnow() - timedelta(minutes=1)} if case.expired else {}
    outbox_id = queue(db, channel=case.channel, **extra)
    assert outbox_id == 1  # the gateway id in GATEWAY is jbt-1

    deliver_all(redis_url, [outbox_id])
    assert_exact_requests(provider.requests, case.requests, case.channel)
    assert_exact_requests(other.requests, [], "the other provider")
    answered = (fake_twilio.messages[-1]["sid"] if provider is fake_twilio and fake_twilio.messages
                else "jbt-1")
    expected = {key: answered if value is ANSWERED else value for key, value in case.stored.items()}
    final = row(db, outbox_id)
    assert {key: final[key] for key in expected} == expected

    # The same job again (a duplicate in Redis, a sweep) sends nothing more.
    deliver_all(redis_url, [outbox_id])
    assert_exact_requests(provider.requests, case.requests, case.channel)
    assert row(db, outbox_id) == final


# --- beyond one row ----------------------------------------------------------------------


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
    assert_exact_requests(fake_twilio.requests, [SMS] * 2)


def test_row_with_provider_id_is_never_sent_again(db, settings, fake_twilio):
    outbox_id = queue(db)
    assert deliver_outbox_message(db, settings | {"OUTBOX_MAX_ATTEMPTS": 10}, outbox_id).status == "sent"
    with transaction(db):  # even if something wrongly put it back to pending
        db.execute("UPDATE outbox SET status = 'pending' WHERE id = ?", [outbox_id])
    assert deliver_outbox_message(db, settings | {"OUTBOX_MAX_ATTEMPTS": 10}, outbox_id).status == "skipped"
    assert_exact_requests(fake_twilio.requests, [SMS])


def test_order_per_recipient_is_kept_across_a_retry(db, settings, redis_url, fake_gateway):
    fake_gateway.script = [500]
    ids = [queue(db, body=f"pesan {n}", channel="android_sms") for n in range(1, 4)]
    other = queue(db, body="untuk Budi", channel="android_sms", phone=BUDI)
    # As the app hands rows over: the dispatch queues each recipient's first row only.
    enqueue_deliveries(redis_lib.Redis.from_url(redis_url), db, [row(db, i) for i in ids + [other]],
                       utcnow())
    run_worker(redis_url)
    assert fake_gateway.texts_to(SITI) == ["pesan 1", "pesan 2", "pesan 3"]
    assert fake_gateway.texts_to(BUDI) == ["untuk Budi"]
    assert {row(db, i)["status"] for i in ids + [other]} == {"sent"}
