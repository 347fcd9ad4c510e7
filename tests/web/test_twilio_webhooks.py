"""Twilio webhooks, table-driven: raw provider request in, exact answer and stored state out."""

from __future__ import annotations

import pytest

from bot.config import ConfigError
from bot.web.app import create_app
from tests.conftest import TWILIO_SID, twilio_post

SITI = "+6281234567890"
REGISTERED_SMS = ("Jembatan: Terima kasih, Siti dari Sukamaju. Anda sudah terdaftar sebagai "
                  "penjual. Untuk jual: JUAL produk jumlah harga, mis. JUAL cabai 50kg 12rb")


def inbound_params(sid="SM" + "a" * 32, sender=SITI, body="DAFTAR Siti, Sukamaju", **extra):
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": TWILIO_SID, "From": sender,
              "To": "+14155550100", "Body": body, "NumMedia": "0", "NumSegments": "1"}
    params.update(extra)
    return params


def twiml(text: str | None) -> str:
    inner = f"<Response><Message>{text}</Message></Response>" if text else "<Response />"
    return f'<?xml version="1.0" encoding="UTF-8"?>{inner}'


CASES = [
    # (name, params, expected status, expected body, stored inbound rows)
    ("sms", inbound_params(), 200, twiml(REGISTERED_SMS), 1),
    ("whatsapp", inbound_params(sender=f"whatsapp:{SITI}", ProfileName="Siti", WaId=SITI[1:]),
     200, twiml(REGISTERED_SMS.removeprefix("Jembatan: ")), 1),
    ("local number format", inbound_params(sender="081234567890"), 200, twiml(REGISTERED_SMS), 1),
    ("unknown extra parameters are signed too",
     inbound_params(SomeFutureParam="x", ApiVersion="2010-04-01"), 200, twiml(REGISTERED_SMS), 1),
    ("missing MessageSid", {k: v for k, v in inbound_params().items()
                            if k not in ("MessageSid", "SmsSid")}, 400, None, 0),
    ("From is not a phone", inbound_params(sender="hello"), 400, None, 0),
]


@pytest.mark.parametrize("name,params,status,body,stored", CASES, ids=[c[0] for c in CASES])
def test_inbound_message(client, db, fake_twilio, name, params, status, body, stored):
    response = twilio_post(client, "/twilio/messages", params)
    assert response.status_code == status
    if body is not None:
        assert response.content_type.startswith("text/xml")
        assert response.get_data(as_text=True) == body
    assert db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == stored
    # The reply went back inline: nothing was sent through the REST API.
    assert fake_twilio.requests == []


def test_whatsapp_inbound_opens_the_24h_window(client, db):
    twilio_post(client, "/twilio/messages", inbound_params(sender=f"whatsapp:{SITI}"))
    contact = next(db.query("SELECT * FROM contacts"))
    assert contact["last_whatsapp_at"] is not None
    reply = next(db.query("SELECT * FROM outbox"))
    assert (reply["channel"], reply["status"], reply["provider_status"]) == (
        "twilio_whatsapp", "sent", "twiml")


@pytest.mark.parametrize("signature", ["", "forged", None])
def test_unsigned_or_forged_is_refused_and_not_stored(client, db, signature):
    params = inbound_params()
    if signature is None:  # signed with somebody else's token
        response = twilio_post(client, "/twilio/messages", params, token="wrong-token")
    else:
        response = client.post("/twilio/messages", data=params,
                               headers={"X-Twilio-Signature": signature} if signature else {})
    assert response.status_code == 403
    assert db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM contacts").fetchone()[0] == 0


def test_signature_covers_the_body(client, db):
    from twilio.request_validator import RequestValidator

    from tests.conftest import PUBLIC_BASE_URL, TWILIO_TOKEN

    params = inbound_params()
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        PUBLIC_BASE_URL + "/twilio/messages", params)
    tampered = dict(params, Body="TARIK SEMUA")
    response = client.post("/twilio/messages", data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_same_message_sid_five_times_has_one_effect(client, db):
    answers = [twilio_post(client, "/twilio/messages", inbound_params()) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert answers[0].get_data(as_text=True) == twiml(REGISTERED_SMS)
    assert {a.get_data(as_text=True) for a in answers[1:]} == {twiml(None)}
    assert db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM contacts WHERE role = 'seller'").fetchone()[0] == 1


def test_known_signature_vector():
    """PROVIDERS.md's vector: our validator setup reproduces Twilio's documented signature."""
    from twilio.request_validator import RequestValidator

    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert RequestValidator("12345").compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_webhook_is_not_served_without_a_token(settings):
    app = create_app(dict(settings, TWILIO_AUTH_TOKEN=None, TWILIO_ACCOUNT_SID=None))
    response = app.test_client().post("/twilio/messages", data=inbound_params())
    assert response.status_code == 404


def test_sid_without_token_refuses_to_start(settings):
    with pytest.raises(ConfigError):
        create_app(dict(settings, TWILIO_AUTH_TOKEN=None))


def _sent_row(db, channel="twilio_sms", sid="SM" + "b" * 32):
    from bot.services import outbox
    from bot.storage import utcnow

    outbox_id = outbox.queue_message(db, phone=SITI, channel=channel, body="hi", kind="notification",
                                     now=utcnow())
    outbox.record_sent(db, outbox_id, sid, "queued", utcnow())
    return outbox_id, sid


def status_params(sid, status, to=SITI, **extra):
    return dict({"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                 "AccountSid": TWILIO_SID, "To": to, "From": "Jembatan", "ApiVersion": "2010-04-01"},
                **extra)


def test_status_never_moves_backwards(client, db):
    outbox_id, sid = _sent_row(db)
    for status in ["sent", "delivered", "sent", "queued"]:
        assert twilio_post(client, "/twilio/status", status_params(sid, status)).status_code == 204
    row = next(db.query("SELECT * FROM outbox WHERE id = ?", [outbox_id]))
    assert (row["status"], row["provider_status"]) == ("sent", "delivered")


def test_undelivered_status_marks_failed_with_code(client, db):
    outbox_id, sid = _sent_row(db)
    twilio_post(client, "/twilio/status", status_params(sid, "undelivered", ErrorCode="30005"))
    twilio_post(client, "/twilio/status", status_params(sid, "undelivered", ErrorCode="30005"))
    row = next(db.query("SELECT * FROM outbox WHERE id = ?", [outbox_id]))
    assert (row["status"], row["provider_status"], row["error_code"]) == ("failed", "undelivered", "30005")
    assert db.execute("SELECT COUNT(*) FROM delivery_events").fetchone()[0] == 1


def test_status_callback_must_be_signed(client, db):
    outbox_id, sid = _sent_row(db)
    response = client.post("/twilio/status", data=status_params(sid, "delivered"))
    assert response.status_code == 403
    assert db.execute("SELECT COUNT(*) FROM delivery_events").fetchone()[0] == 0


def test_status_callback_malformed(client):
    assert twilio_post(client, "/twilio/status", {"AccountSid": TWILIO_SID}).status_code == 400


def test_signature_over_the_request_url_without_public_base_url(settings):
    from twilio.request_validator import RequestValidator

    from tests.conftest import TWILIO_TOKEN

    app = create_app(dict(settings, PUBLIC_BASE_URL=None))
    params = inbound_params(sid="SM" + "d" * 32, body="BANTUAN")
    url = "http://localhost/twilio/messages?source=wa"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    response = app.test_client().post("/twilio/messages?source=wa", data=params,
                                      headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert "<Message>Jembatan: Perintah:" in response.get_data(as_text=True)


def test_reply_text_is_escaped_in_twiml(client):
    response = twilio_post(client, "/twilio/messages",
                           inbound_params(body="DAFTAR Siti & Budi, <Sukamaju>"))
    assert "Siti &amp; Budi dari &lt;Sukamaju&gt;" in response.get_data(as_text=True)
