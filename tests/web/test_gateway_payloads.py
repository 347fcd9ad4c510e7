"""The Android gateway as it really is: case tables replaying the app's payload shapes.

Each case posts a sequence of signed webhooks exactly as some version of the app sends
them and pins what we answer (status code and JSON), what is stored in `inbound`, and
which replies go out. Field sets: current (`sender`/`recipient`, no `phoneNumber`, as the
app's own docs show), older (`phoneNumber` only), and both.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import gateway_post, run_worker
from tests.openapi import validate_gateway_event

SITI = "+6281234567890"
BUDI = "+6285711112222"
HUB_SIM = "+6281100000001"
AT = "2026-11-28T09:41:31.000+07:00"


def current(sender, text, *, at=AT, message_id="1907472123", event="evt-1", sim=1, **extra):
    """`sms:received` with the current field set: `sender` and `recipient`."""
    payload = {"messageId": message_id, "message": text, "sender": sender,
               "recipient": HUB_SIM, "simNumber": sim, **extra}
    if at is not None:
        payload["receivedAt"] = at
    return {"id": event, "webhookId": "jembatan", "deviceId": "hub-phone-1",
            "event": "sms:received", "payload": payload}


def older(phone, text, *, at=AT, message_id="1907472123", event="evt-1", sim=1):
    """`sms:received` as older app versions send it: `phoneNumber` only."""
    payload = {"messageId": message_id, "message": text, "phoneNumber": phone, "simNumber": sim}
    if at is not None:
        payload["receivedAt"] = at
    return {"id": event, "webhookId": "jembatan", "deviceId": "hub-phone-1",
            "event": "sms:received", "payload": payload}


def both(phone, text, **kw):
    event = current(phone, text, **kw)
    event["payload"]["phoneNumber"] = phone
    return event


def other(kind, payload, event="evt-9"):
    return {"id": event, "webhookId": "jembatan", "deviceId": "hub-phone-1", "event": kind,
            "payload": payload}


STORED = (200, {"status": "stored"})
DUPLICATE = (200, {"status": "duplicate"})
IGNORED_SENDER = (200, {"status": "stored", "reply": False})
DAFTAR = "DAFTAR Siti, Sukamaju"
LONG = ("JUAL cabai 50kg 12rb " + "cabai merah keriting segar dari kebun sendiri, dipetik pagi "
        "ini, bisa diambil di balai desa atau diantar ke pasar induk hari Sabtu pagi ya pak")

# (name, events posted in order, expected (status, json) per post,
#  expected inbound rows (phone, body, status), expected replies (phone, reply id))
CASES = [
    ("current fields, no phoneNumber",
     [current("+6281234567890", DAFTAR)], [STORED],
     [(SITI, DAFTAR, "processed")], [(SITI, "register.done")]),
    ("older fields: phoneNumber only",
     [older("6281234567890", DAFTAR)], [STORED],
     [(SITI, DAFTAR, "processed")], [(SITI, "register.done")]),
    ("both fields: sender wins",
     [dict(both("+6281234567890", DAFTAR), payload=dict(
         both("+6281234567890", DAFTAR)["payload"], phoneNumber="+6285711112222"))], [STORED],
     [(SITI, DAFTAR, "processed")], [(SITI, "register.done")]),
    ("SIM 2, national format",
     [current("081234567890", DAFTAR, sim=2)], [STORED],
     [(SITI, DAFTAR, "processed")], [(SITI, "register.done")]),
    ("receivedAt without milliseconds",
     [current(SITI, DAFTAR, at="2026-11-28T09:41:31+07:00")], [STORED],
     [(SITI, DAFTAR, "processed")], [(SITI, "register.done")]),
    ("no receivedAt (old versions): a repost of the event is still one message",
     [current(SITI, DAFTAR, at=None), current(SITI, DAFTAR, at=None)], [STORED, DUPLICATE],
     [(SITI, DAFTAR, "processed")], [(SITI, "register.done")]),
    ("multipart SMS arrives joined",
     [current(SITI, LONG)], [STORED],
     [(SITI, LONG, "processed")], [(SITI, "not_registered.sell_kept")]),
    ("emoji in the text: stored as sent, answered in GSM-7",
     [current(SITI, "Halo pak \U0001f44b\U0001f33e")], [STORED],
     [(SITI, "Halo pak \U0001f44b\U0001f33e", "processed")], [(SITI, "welcome")]),
    ("retries re-post the same event id",
     [current(SITI, DAFTAR)] * 4, [STORED, DUPLICATE, DUPLICATE, DUPLICATE],
     [(SITI, DAFTAR, "processed")], [(SITI, "register.done")]),
    ("the same SMS again under a new event id (and another offset for the same instant)",
     [current(SITI, DAFTAR, event="evt-1"),
      current(SITI, DAFTAR, event="evt-2", at="2026-11-28T02:41:31Z"),
      current(SITI, DAFTAR, event="evt-3", at="2026-11-28T02:41:31.000Z")],
     [STORED, DUPLICATE, DUPLICATE],
     [(SITI, DAFTAR, "processed")], [(SITI, "register.done")]),
    ("the same text a day later, same messageId: a new message",
     [current(SITI, "BANTUAN", event="evt-1"),
      current(SITI, "BANTUAN", event="evt-2", at="2026-11-29T09:41:31.000+07:00")],
     [STORED, STORED],
     [(SITI, "BANTUAN", "processed"), (SITI, "BANTUAN", "processed")],
     [(SITI, "help.unregistered"), (SITI, "help.unregistered")]),
    ("two people's SMS share a messageId (a 32-bit hash collides)",
     [current(SITI, DAFTAR, message_id="42", event="evt-1"),
      current(BUDI, DAFTAR, message_id="42", event="evt-2")],
     [STORED, STORED],
     [(SITI, DAFTAR, "processed"), (BUDI, DAFTAR, "processed")],
     [(SITI, "register.done"), (BUDI, "register.done")]),
    ("an operator's alphanumeric sender: stored, 2xx, no reply, a repost is a duplicate",
     [current("TELKOMSEL", "Sisa pulsa Anda Rp1.250. Isi ulang di *888#"),
      current("TELKOMSEL", "Sisa pulsa Anda Rp1.250. Isi ulang di *888#", event="evt-2")],
     [IGNORED_SENDER, (200, {"status": "duplicate", "reply": False})],
     [("TELKOMSEL", "Sisa pulsa Anda Rp1.250. Isi ulang di *888#", "ignored")], []),
    ("a short-code sender",
     [older("3636", "Paket internet 2GB aktif")], [IGNORED_SENDER],
     [("3636", "Paket internet 2GB aktif", "ignored")], []),
    ("ping, data SMS and MMS events: acknowledged, nothing stored",
     [other("system:ping", {}),
      other("sms:data-received", {"messageId": "d1", "sender": SITI, "simNumber": 1,
                                  "data": "SGVsbG8=", "receivedAt": AT}),
      other("mms:received", {"messageId": "m1", "sender": SITI, "transactionId": "t1",
                             "subject": None, "size": 20480, "contentClass": "IMAGE_BASIC",
                             "receivedAt": AT}),
      other("mms:downloaded", {"messageId": "m1", "sender": SITI, "attachments": [],
                               "body": "foto", "receivedAt": AT})],
     [(200, {"status": "ok"}), (200, {"status": "ignored", "event": "sms:data-received"}),
      (200, {"status": "ignored", "event": "mms:received"}),
      (200, {"status": "ignored", "event": "mms:downloaded"})],
     [], []),
]


@pytest.mark.parametrize("name,events,answers,stored,replies", CASES, ids=[c[0] for c in CASES])
def test_gateway_payloads(client, db, redis_url, fake_gateway, name, events, answers, stored,
                          replies):
    got = []
    for event in events:
        if event["event"] in ("sms:received", "system:ping"):
            validate_gateway_event(event)
        response = gateway_post(client, event)
        got.append((response.status_code, response.get_json()))
    assert got == answers
    rows = [(r["phone"], r["body"], r["status"])
            for r in db.query("SELECT phone, body, status FROM inbound ORDER BY id")]
    assert rows == stored
    sent = [(r["phone"], r["reply_id"])
            for r in db.query("SELECT phone, reply_id FROM outbox ORDER BY id")]
    assert sent == replies
    run_worker(redis_url)
    assert len(fake_gateway.accepted) == len(replies)
    for message in fake_gateway.accepted.values():
        message["textMessage"]["text"].encode("gsm03.38")


def test_the_inbound_row_keeps_the_payload_as_sent(client, db):
    event = current(SITI, DAFTAR)
    gateway_post(client, event)
    row = next(db.query("SELECT * FROM inbound"))
    assert json.loads(row["raw"]) == event
    assert row["provider_id"].startswith("sms-")


def test_ping_marks_the_hub_phone_seen(client, db):
    assert gateway_post(client, other("system:ping", {})).status_code == 200
    device = next(db.query("SELECT * FROM hub_devices"))
    assert device["device_id"] == "hub-phone-1" and device["last_seen_at"]


@pytest.mark.parametrize("sim", [1, 2])
def test_the_reply_leaves_from_the_sim_the_person_wrote_to(client, redis_url, fake_gateway, sim):
    gateway_post(client, current(SITI, DAFTAR, sim=sim))
    run_worker(redis_url)
    [sent] = fake_gateway.accepted.values()
    assert sent["simNumber"] == sim
