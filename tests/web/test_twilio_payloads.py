"""Twilio as it really posts: case tables replaying full payloads (the field sets RapidPro's
courier tests its Twilio handlers with), WhatsApp username users (BSUID), status
callbacks with `read`, unknown statuses and provider opt-outs.

Each row: the raw form in, the exact status code and TwiML out, and the stored state.
"""

from __future__ import annotations

import pytest

from bot.pipeline.delivery import deliver_outbox_message
from bot.pipeline.dispatch import connect_redis, enqueue_deliveries
from bot.services import outbox
from bot.services.broadcasts import create_broadcast, plan_broadcast
from bot.storage import transaction, utcnow
from tests.conftest import TWILIO_SID, gateway_post, run_worker, sms_received, twilio_post

SITI = "+6281234567890"
TINI = "+6281311112222"
BSUID = "ID.1502576394655843"
BSUID_LETTERS = "ID.AbX9kQ2mZt7Lw0"
MADE_UP = "+621502576394655843"  # what an older version turned BSUID into


def full_form(sender, body="DAFTAR PEMBELI Warung Bu Tini, Bandung", sid="SM" + "e2" * 16,
              **extra):
    """Every field Twilio sends for an inbound WhatsApp message (courier's fixture set)."""
    form = {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0",
        "ToCity": "", "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received",
        "FromCity": "", "Body": body, "FromCountry": "ID", "To": "whatsapp:+14155238886",
        "ToZip": "", "NumSegments": "1", "MessageSid": sid, "AccountSid": TWILIO_SID,
        "From": sender, "ApiVersion": "2010-04-01", "ProfileName": "Tini", "MessageType": "text",
    }
    form.update(extra)
    return form


def twiml(text):
    inner = f"<Response><Message>{text}</Message></Response>" if text else "<Response />"
    return f'<?xml version="1.0" encoding="UTF-8"?>{inner}'


BUYER_DONE = ("Terima kasih, Warung Bu Tini di Bandung. Bapak/Ibu terdaftar sebagai pembeli. Cari barang: "
              "CARI produk. Contoh: CARI cabai")

# (name, form, status, TwiML or None, inbound rows (phone, bsuid), contacts (phone, bsuid))
INBOUND = [
    ("whatsapp, full field set",
     full_form(f"whatsapp:{TINI}", WaId=TINI[1:]), 200, None, [(TINI, None)], [(TINI, None)]),
    ("phone with ExternalUserId: linked",
     full_form(f"whatsapp:{TINI}", WaId=TINI[1:], ExternalUserId=f"whatsapp:{BSUID}"),
     200, None, [(TINI, BSUID)], [(TINI, BSUID)]),
    ("BSUID only, digits after the country",
     full_form(f"whatsapp:{BSUID}", ExternalUserId=f"whatsapp:{BSUID}"),
     200, None, [(BSUID, BSUID)], [(BSUID, BSUID)]),
    ("BSUID only, with letters (never keypad digits)",
     full_form(f"whatsapp:{BSUID_LETTERS}"), 200, None,
     [(BSUID_LETTERS, BSUID_LETTERS)], [(BSUID_LETTERS, BSUID_LETTERS)]),
    ("an ExternalUserId that is no BSUID is ignored",
     full_form(f"whatsapp:{TINI}", ExternalUserId="whatsapp:foo_bar"),
     200, None, [(TINI, None)], [(TINI, None)]),
    ("media with relative URLs, empty body",
     full_form(f"whatsapp:{TINI}", body="", NumMedia="1",
               MediaUrl0=f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/MM1/Media/ME1",
               MediaContentType0="image/jpeg", MessageType="image"),
     200, None, [(TINI, None)], [(TINI, None)]),
    ("SMS, full field set",
     {k: v for k, v in full_form("+6281311112222", ProfileName=None, MessageType=None,
                                 To="+14155550100", SmsStatus="received").items() if v is not None},
     200, None, [(TINI, None)], [(TINI, None)]),
    ("empty body, no media",
     full_form(f"whatsapp:{TINI}", body=""), 200,
     twiml("Selamat datang di Jembatan! Penjual: DAFTAR nama, desa. Pembeli: DAFTAR PEMBELI usaha, kota. "
           "Contoh: DAFTAR Siti, Sukamaju. Info: BANTUAN"),
     [(TINI, None)], [(TINI, None)]),
    ("SMS From with letters: not a number, refused",
     full_form("TELKOMSEL"), 400, None, [], []),
]


@pytest.mark.parametrize("name,form,status,body,inbound,contacts", INBOUND,
                         ids=[c[0] for c in INBOUND])
def test_inbound_payloads(client, db, fake_twilio, name, form, status, body, inbound, contacts):
    response = twilio_post(client, "/twilio/messages", form)
    assert response.status_code == status
    if body is not None:
        assert response.get_data(as_text=True) == body
    assert [(r["phone"], r["bsuid"]) for r in db.query(
        "SELECT phone, bsuid FROM inbound ORDER BY id")] == inbound
    assert [(r["phone"], r["bsuid"]) for r in db.query(
        "SELECT phone, bsuid FROM contacts ORDER BY id")] == contacts
    # No number was made up from a BSUID, anywhere.
    assert db.execute("SELECT COUNT(*) FROM contacts WHERE phone LIKE '+62150%'").fetchone()[0] == 0
    assert fake_twilio.requests == []


def test_buyer_registration_reply_goes_back_inline_to_the_bsuid(client, db):
    response = twilio_post(client, "/twilio/messages", full_form(f"whatsapp:{BSUID}"))
    assert response.get_data(as_text=True) == twiml(BUYER_DONE)
    reply = next(db.query("SELECT * FROM outbox"))
    assert (reply["phone"], reply["channel"], reply["status"]) == (BSUID, "twilio_whatsapp", "sent")


def test_username_user_later_shows_the_number_and_keeps_their_history(client, db):
    twilio_post(client, "/twilio/messages", full_form(f"whatsapp:{BSUID}", sid="SM" + "1" * 32))
    twilio_post(client, "/twilio/messages", full_form(
        f"whatsapp:{TINI}", body="BANTUAN", sid="SM" + "2" * 32, ExternalUserId=f"whatsapp:{BSUID}"))
    assert [(r["phone"], r["bsuid"], r["role"]) for r in db.query(
        "SELECT phone, bsuid, role FROM contacts")] == [(TINI, BSUID, "buyer")]


def _sent(db, channel, sid, phone, contact_id):
    db.execute(
        "INSERT INTO outbox (contact_id, phone, channel, kind, body, status, provider_id, "
        "provider_status, next_attempt_at, created_at) VALUES (?, ?, ?, 'broadcast', 'x', 'sent', "
        "?, 'queued', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
        [contact_id, phone, channel, sid])
    db.conn.commit()


# (name, channel, form fields, expected code, provider status, row status, contact opted_out,
#  opted_out_reason, blocked channels)
STATUSES = [
    ("read (WhatsApp)", "twilio_whatsapp", {"MessageStatus": "read"}, 204, "read", "sent",
     0, None, None),
    ("unknown status: acknowledged, nothing changes", "twilio_sms", {"MessageStatus": "huh"},
     204, "queued", "sent", 0, None, None),
    ("21610: the number texted STOP to Twilio", "twilio_sms",
     {"MessageStatus": "undelivered", "ErrorCode": "21610"}, 204, "undelivered", "failed",
     1, "provider:21610", "twilio_sms"),
    ("63014: the WhatsApp user blocked us", "twilio_whatsapp",
     {"MessageStatus": "failed", "ErrorCode": "63014"}, 204, "failed", "failed",
     1, "provider:63014", "twilio_whatsapp"),
    ("30003: unreachable is not an opt-out", "twilio_sms",
     {"MessageStatus": "undelivered", "ErrorCode": "30003"}, 204, "undelivered", "failed",
     0, None, None),
]


@pytest.mark.parametrize("name,channel,fields,code,provider_status,status,opted_out,reason,blocked",
                         STATUSES, ids=[c[0] for c in STATUSES])
def test_status_callbacks(client, db, name, channel, fields, code, provider_status, status,
                          opted_out, reason, blocked):
    db.execute("INSERT INTO contacts (phone, created_at) VALUES (?, '2026-01-01')", [SITI])
    db.conn.commit()
    sid = "SM" + "c" * 32
    _sent(db, channel, sid, SITI, 1)
    to = f"whatsapp:{SITI}" if channel == "twilio_whatsapp" else SITI
    form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": TWILIO_SID, "To": to,
            "From": "+14155550100", "ApiVersion": "2010-04-01", **fields}
    assert twilio_post(client, "/twilio/status", form).status_code == code
    row = next(db.query("SELECT * FROM outbox"))
    assert (row["provider_status"], row["status"]) == (provider_status, status)
    contact = next(db.query("SELECT * FROM contacts"))
    assert (contact["opted_out"], contact["opted_out_reason"], contact["blocked_channels"]) == (
        opted_out, reason, blocked)
    # The same callback again changes nothing more.
    assert twilio_post(client, "/twilio/status", form).status_code == code


def test_username_buyer_orders_and_hears_the_seller_at_the_bsuid(client, db, redis_url,
                                                                 fake_twilio, fake_gateway):
    for i, text in enumerate(["DAFTAR Siti, Sukamaju", "JUAL cabai 50kg 12rb"]):
        gateway_post(client, sms_received(f"s{i}", SITI, text)
                     | {"id": f"e{i}"})
    twilio_post(client, "/twilio/messages", full_form(f"whatsapp:{BSUID}", sid="SM" + "1" * 32))
    order = twilio_post(client, "/twilio/messages", full_form(
        f"whatsapp:{BSUID}", body="PESAN C2 5", sid="SM" + "2" * 32)).get_data(as_text=True)
    assert "P2" in order
    gateway_post(client, sms_received("s9", SITI, "YA P2") | {"id": "e9"})
    run_worker(redis_url)
    to_buyer = [r for r in fake_twilio.requests if r.get("To") == f"whatsapp:{BSUID}"]
    assert len(to_buyer) == 1 and "P2" in to_buyer[0]["Body"]
    # Nothing ever went to a number, made up or not, for the buyer.
    assert not any(BSUID[3:] in (r.get("To") or "") and r.get("To") != f"whatsapp:{BSUID}"
                   for r in fake_twilio.requests)
    assert all(BSUID not in m["phoneNumbers"] for m in fake_gateway.accepted.values())


def test_21610_opts_out_then_mulai_sends_over_the_gateway(client, db, redis_url, fake_twilio,
                                                         fake_gateway):
    # Siti writes over Twilio SMS, so Twilio SMS is how she is reached.
    twilio_post(client, "/twilio/messages", {
        "MessageSid": "SM" + "3" * 32, "AccountSid": TWILIO_SID, "From": SITI,
        "To": "+14155550100", "Body": "DAFTAR Siti, Sukamaju", "NumMedia": "0"})
    settings = dict(client.application.config, QUIET_HOURS="off")
    redis = connect_redis(redis_url)

    def broadcast(text):
        now = utcnow()
        broadcast_id = create_broadcast(db, group="semua", text=text, created_by="cli", now=now)
        plan_broadcast(db, settings, broadcast_id, now,
                       on_batch=lambda rows: enqueue_deliveries(redis, db, rows, now))
        return list(db.query("SELECT * FROM outbox WHERE broadcast_id = ?", [broadcast_id]))

    first = broadcast("Panen raya Sabtu")
    assert [r["channel"] for r in first] == ["twilio_sms"]
    run_worker(redis_url)
    sid = next(db.query("SELECT provider_id FROM outbox WHERE id = ?", [first[0]["id"]]))["provider_id"]
    twilio_post(client, "/twilio/status", {"MessageSid": sid, "MessageStatus": "undelivered",
                                           "ErrorCode": "21610", "To": SITI,
                                           "AccountSid": TWILIO_SID})
    contact = next(db.query("SELECT * FROM contacts"))
    assert (contact["opted_out"], contact["opted_out_reason"]) == (1, "provider:21610")
    assert broadcast("Harga naik") == []
    assert db.execute("SELECT status FROM broadcast_recipients ORDER BY broadcast_id DESC "
                      "LIMIT 1").fetchone()[0] == "skipped"

    # MULAI (ours, not Twilio's START) lifts our flag; Twilio still blocks SMS to her, so
    # the next broadcast goes through the hub's gateway instead.
    twilio_post(client, "/twilio/messages", {
        "MessageSid": "SM" + "4" * 32, "AccountSid": TWILIO_SID, "From": SITI,
        "To": "+14155550100", "Body": "MULAI", "NumMedia": "0"})
    third = broadcast("Pasar murah Minggu")
    assert [(r["channel"], r["phone"]) for r in third] == [("android_sms", SITI)]
    run_worker(redis_url)
    assert fake_gateway.texts_to(SITI) == ["Pasar murah Minggu"]


def test_21610_on_send_opts_out_too(app, db, fake_twilio):
    with transaction(db):
        db.execute("INSERT INTO contacts (phone, sms_channel, created_at) VALUES (?, 'twilio_sms', "
                   "'2026-01-01')", [SITI])
        row_id = outbox.queue_message(db, phone=SITI, channel="twilio_sms", body="Harga naik",
                                      kind="broadcast", now=utcnow(), contact_id=1, lane="broadcast")
    fake_twilio.script = [(400, 21610)]
    assert deliver_outbox_message(db, app.config, row_id).status == "failed"
    contact = next(db.query("SELECT * FROM contacts"))
    assert (contact["opted_out"], contact["opted_out_reason"], contact["blocked_channels"]) == (
        1, "provider:21610", "twilio_sms")
