"""The Android SMS gateway webhook: signatures, idempotency, and status events."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from bot.storage import from_db_time
from tests.conftest import gateway_post, run_worker, sms_received
from tests.openapi import validate_gateway_event, validate_gateway_schema

SITI = "+6281234567890"
REGISTERED = ("Terima kasih, Siti dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL "
              "produk jumlah harga. Contoh: JUAL cabai 50kg 12rb")


def count(db, table):
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_fixture_events_match_the_gateway_schema():
    validate_gateway_event(sms_received("abc", SITI, "hi"))


def test_received_sms_is_stored_answered_through_the_outbox_and_sent(
    client, db, fake_gateway, redis_url
):
    response = gateway_post(client, sms_received("m-1", "6281234567890", "DAFTAR Siti, Sukamaju"))
    assert response.status_code == 200 and response.get_json() == {"status": "stored"}
    reply = next(db.query("SELECT * FROM outbox"))
    assert (reply["channel"], reply["status"], reply["body"]) == ("android_sms", "pending", REGISTERED)
    assert reply["enqueued_at"] is not None

    run_worker(redis_url)

    assert len(fake_gateway.requests) == 1
    sent = fake_gateway.requests[0]
    valid_until = sent["json"].pop("validUntil")  # a reply is worth sending for 30 minutes
    assert sent["json"] == {"id": f"jbt-{reply['id']}", "textMessage": {"text": REGISTERED},
                            "phoneNumbers": [SITI], "withDeliveryReport": True, "simNumber": 1}
    assert valid_until == (from_db_time(reply["created_at"]) + timedelta(minutes=30)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    validate_gateway_schema(sent["json"], "smsgateway.Message")
    assert sent["authorization"].startswith("Basic ")
    row = next(db.query("SELECT * FROM outbox"))
    assert (row["status"], row["provider_id"]) == ("sent", f"jbt-{reply['id']}")


@pytest.mark.parametrize("headers_problem", ["bad_signature", "stale", "future", "missing", "other_key"])
def test_unauthentic_webhooks_are_refused_and_not_stored(client, db, headers_problem):
    event = sms_received("m-2", SITI, "DAFTAR Siti, Sukamaju")
    now = int(time.time())
    if headers_problem == "bad_signature":
        response = gateway_post(client, event, signature="0" * 64)
    elif headers_problem == "stale":
        response = gateway_post(client, event, timestamp=now - 3600)
    elif headers_problem == "future":
        response = gateway_post(client, event, timestamp=now + 3600)
    elif headers_problem == "other_key":
        response = gateway_post(client, event, key="not-our-key")
    else:
        response = client.post("/gateway/android", data=json.dumps(event),
                               content_type="application/json")
    assert response.status_code == 403
    assert count(db, "inbound") == 0 and count(db, "outbox") == 0


def test_reposted_message_has_one_effect(client, db, redis_url, fake_gateway):
    event = sms_received("m-3", SITI, "DAFTAR Siti, Sukamaju")
    answers = [gateway_post(client, event).get_json()["status"] for _ in range(4)]
    assert answers == ["stored", "duplicate", "duplicate", "duplicate"]
    run_worker(redis_url)
    assert count(db, "inbound") == 1 and count(db, "outbox") == 1
    assert fake_gateway.texts_to(SITI) == [REGISTERED]


@pytest.mark.parametrize("body,reason", [
    (b"not json", "body is not JSON"),
    (b"[1, 2]", "expected an object with event and payload"),
    (json.dumps({"event": "sms:received", "payload": {"message": "hi"}}).encode(),
     "sms:received needs messageId, message and sender (or phoneNumber)"),
    (json.dumps({"event": "sms:sent", "payload": {}}).encode(), "sms:sent needs messageId"),
])
def test_malformed_but_signed_gets_400(client, db, body, reason):
    from bot.channels.android_gateway import compute_signature
    from tests.conftest import GATEWAY_KEY

    stamp = str(int(time.time()))
    response = client.post("/gateway/android", data=body, content_type="application/json",
                           headers={"X-Timestamp": stamp,
                                    "X-Signature": compute_signature(GATEWAY_KEY, body, stamp)})
    assert response.status_code == 400
    assert response.get_json() == {"error": reason}
    assert count(db, "inbound") == 0


def test_ping_and_unknown_events_are_acknowledged(client):
    ping = {"id": "e1", "webhookId": "w", "deviceId": "d", "event": "system:ping", "payload": {}}
    assert gateway_post(client, ping).get_json() == {"status": "ok"}
    mms = dict(ping, event="mms:received")
    assert gateway_post(client, mms).get_json() == {"status": "ignored", "event": "mms:received"}


def status_event(kind, message_id, **extra):
    payload = {"messageId": message_id, "phoneNumber": SITI, "simNumber": 1, **extra}
    return {"id": f"e-{kind}-{message_id}", "webhookId": "w", "deviceId": "d", "event": kind,
            "payload": payload}


def test_delivery_events_move_status_forward_only(client, db, redis_url, fake_gateway):
    gateway_post(client, sms_received("m-4", SITI, "DAFTAR Siti, Sukamaju"))
    run_worker(redis_url)
    row = next(db.query("SELECT * FROM outbox"))
    for kind in ["sms:sent", "sms:delivered", "sms:sent"]:
        event = status_event(kind, row["provider_id"], sentAt="2026-11-28T09:42:00.000+07:00")
        validate_gateway_event(event)
        assert gateway_post(client, event).status_code == 200
    row = next(db.query("SELECT * FROM outbox"))
    assert (row["status"], row["provider_status"]) == ("sent", "delivered")


def test_failed_event_marks_the_row_failed_with_reason(client, db, redis_url, fake_gateway):
    gateway_post(client, sms_received("m-5", SITI, "DAFTAR Siti, Sukamaju"))
    run_worker(redis_url)
    row = next(db.query("SELECT * FROM outbox"))
    gateway_post(client, status_event("sms:failed", row["provider_id"], reason="RESULT_ERROR_NO_SERVICE"))
    row = next(db.query("SELECT * FROM outbox"))
    assert (row["status"], row["error_code"]) == ("failed", "RESULT_ERROR_NO_SERVICE")
