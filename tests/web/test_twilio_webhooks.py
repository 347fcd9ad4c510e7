"""Twilio webhooks as tables of cases (RapidPro courier style): each case is the raw form
body exactly as Twilio posts it and how it is signed, the exact answer, the rows stored,
and the requests made to Twilio's REST API (a missing or an unexpected one fails the case:
a webhook's reply goes back inline as TwiML, so there are none)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from twilio.request_validator import RequestValidator

from bot.config import ConfigError
from bot.services import outbox
from bot.storage import utcnow
from bot.web.app import create_app
from tests.conftest import PUBLIC_BASE_URL, TWILIO_SID, TWILIO_TOKEN
from tests.providers import assert_exact_requests

SITI = "+6281234567890"
REGISTERED = ("Terima kasih, Siti dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL "
              "produk jumlah harga. Contoh: JUAL cabai 50kg 12rb")
REGISTERED_SMS = "Jembatan: " + REGISTERED
SID = "SM" + "a" * 32


def inbound_params(sid=SID, sender=SITI, body="DAFTAR Siti, Sukamaju", **extra):
    """An inbound SMS exactly as Twilio posts it (WhatsApp adds ProfileName and WaId)."""
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": TWILIO_SID, "From": sender,
              "To": "+14155550100", "Body": body, "NumMedia": "0", "NumSegments": "1"}
    params.update(extra)
    return params


def twiml(text: str | None) -> str:
    inner = f"<Response><Message>{text}</Message></Response>" if text else "<Response />"
    return f'<?xml version="1.0" encoding="UTF-8"?>{inner}'


def sign(params: dict, token: str = TWILIO_TOKEN, path: str = "/twilio/messages") -> str:
    """X-Twilio-Signature as Twilio computes it: the URL plus the sorted parameters."""
    return RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, params)


# --- inbound messages --------------------------------------------------------------------

SIGNED = "signed with our token"  # the default: a genuine request from Twilio


@dataclass(frozen=True)
class Inbound:
    """One POST to /twilio/messages."""

    name: str
    params: dict  # the form body as Twilio posts it
    signature: str = SIGNED  # or a literal X-Twilio-Signature header ("" sends none)
    signed_params: dict | None = None  # what the signature covers, if not `params` (tampering)
    status: int = 200
    answer: str | None = None  # the exact response body
    inbound: list = field(default_factory=list)  # (channel, provider_id, phone, body, status)
    outbox: list = field(default_factory=list)  # (phone, channel, status, provider_status, body)
    contacts: list = field(default_factory=list)  # (phone, role, has written on WhatsApp)
    requests: list = field(default_factory=list)  # to Twilio's REST API


def registered(channel="twilio_sms"):
    """What a stored DAFTAR leaves: its inbound row, the inline reply (stored without the SMS
    brand prefix, which is added on the way out), a seller."""
    return {"inbound": [(channel, SID, SITI, "DAFTAR Siti, Sukamaju", "processed")],
            "outbox": [(SITI, channel, "sent", "twiml", REGISTERED)],
            "contacts": [(SITI, "seller", channel == "twilio_whatsapp")]}


INBOUND = [
    Inbound("sms", inbound_params(), answer=twiml(REGISTERED_SMS), **registered()),
    # WhatsApp texts carry no "Jembatan: " prefix, and writing opens the 24-hour window.
    Inbound("whatsapp", inbound_params(sender=f"whatsapp:{SITI}", ProfileName="Siti", WaId=SITI[1:]),
            answer=twiml(REGISTERED), **registered("twilio_whatsapp")),
    Inbound("local number format", inbound_params(sender="081234567890"), answer=twiml(REGISTERED_SMS),
            **registered()),
    Inbound("unknown extra parameters are signed too",
            inbound_params(SomeFutureParam="x", ApiVersion="2010-04-01"), answer=twiml(REGISTERED_SMS),
            **registered()),
    Inbound("reply text is escaped in TwiML", inbound_params(body="DAFTAR Siti & Budi, <Sukamaju>"),
            answer=twiml("Jembatan: Terima kasih, Siti &amp; Budi dari &lt;Sukamaju&gt;. Bapak/Ibu "
                         "terdaftar sebagai penjual. Untuk jual: JUAL produk jumlah harga. Contoh: JUAL "
                         "cabai 50kg 12rb"),
            inbound=[("twilio_sms", SID, SITI, "DAFTAR Siti & Budi, <Sukamaju>", "processed")],
            outbox=[(SITI, "twilio_sms", "sent", "twiml",
                     "Terima kasih, Siti & Budi dari <Sukamaju>. Bapak/Ibu terdaftar sebagai penjual. "
                     "Untuk jual: JUAL produk jumlah harga. Contoh: JUAL cabai 50kg 12rb")],
            contacts=[(SITI, "seller", False)]),
    Inbound("missing MessageSid", {k: v for k, v in inbound_params().items()
                                   if k not in ("MessageSid", "SmsSid")}, status=400),
    Inbound("From is not a phone", inbound_params(sender="hello"), status=400),
    Inbound("no signature", inbound_params(), signature="", status=403),
    Inbound("forged signature", inbound_params(), signature="forged", status=403),
    Inbound("signed with somebody else's token", inbound_params(),
            signature=sign(inbound_params(), token="wrong-token"), status=403),
    Inbound("the signature covers the body", dict(inbound_params(), Body="TARIK SEMUA"),
            signed_params=inbound_params(), status=403),
]


@pytest.mark.parametrize("case", INBOUND, ids=[case.name for case in INBOUND])
def test_inbound_message(case, client, db, fake_twilio):
    signature = sign(case.signed_params or case.params) if case.signature == SIGNED else case.signature
    headers = {"X-Twilio-Signature": signature} if signature else {}
    response = client.post("/twilio/messages", data=case.params, headers=headers)

    assert response.status_code == case.status
    if case.answer is not None:
        assert response.content_type.startswith("text/xml")
        assert response.get_data(as_text=True) == case.answer
    rows = list(db.query("SELECT * FROM inbound ORDER BY id"))
    assert [(r["channel"], r["provider_id"], r["phone"], r["body"], r["status"])
            for r in rows] == case.inbound
    assert [json.loads(r["raw"]) for r in rows] == [case.params] * len(rows)  # stored as received
    assert [(r["phone"], r["channel"], r["status"], r["provider_status"], r["body"])
            for r in db.query("SELECT * FROM outbox ORDER BY id")] == case.outbox
    assert [(r["phone"], r["role"], r["last_whatsapp_at"] is not None)
            for r in db.query("SELECT * FROM contacts ORDER BY id")] == case.contacts
    assert_exact_requests(fake_twilio.requests, case.requests, "Twilio's REST API")


def test_same_message_sid_five_times_has_one_effect(client, db, fake_twilio):
    params = inbound_params()
    answers = [client.post("/twilio/messages", data=params, headers={"X-Twilio-Signature": sign(params)})
               for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.get_data(as_text=True) for a in answers] == [twiml(REGISTERED_SMS)] + [twiml(None)] * 4
    assert db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM contacts WHERE role = 'seller'").fetchone()[0] == 1
    assert_exact_requests(fake_twilio.requests, [], "Twilio's REST API")


# --- status callbacks --------------------------------------------------------------------


def status_params(status, sid="SM" + "b" * 32, to=SITI, **extra):
    """A status callback exactly as Twilio posts it."""
    return dict({"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                 "AccountSid": TWILIO_SID, "To": to, "From": "Jembatan", "ApiVersion": "2010-04-01"},
                **extra)


@dataclass(frozen=True)
class Status:
    """Callbacks for one message we sent (SID SMbbb…, recorded as sent, provider status queued)."""

    name: str
    callbacks: list  # form bodies, posted in order
    signed: bool = True
    answers: list = field(default_factory=list)  # HTTP status of each answer
    stored: tuple = ("sent", "queued", None)  # the outbox row's (status, provider_status, error_code)
    events: int = 0  # delivery_events rows (a repeated status is recorded once)


STATUS = [
    Status("delivered", [status_params("sent"), status_params("delivered")], answers=[204, 204],
           stored=("sent", "delivered", None), events=2),
    Status("never moves backwards",
           [status_params(s) for s in ("sent", "delivered", "sent", "queued")], answers=[204] * 4,
           stored=("sent", "delivered", None), events=3),
    Status("undelivered marks it failed with the code, once",
           [status_params("undelivered", ErrorCode="30005")] * 2, answers=[204, 204],
           stored=("failed", "undelivered", "30005"), events=1),
    Status("must be signed", [status_params("delivered")], signed=False, answers=[403]),
    Status("malformed", [{"AccountSid": TWILIO_SID}], answers=[400]),
    # Recorded (it may be a row from before a restore), and nothing else changes.
    Status("for a message we never sent", [status_params("delivered", sid="SM" + "e" * 32)],
           answers=[204], events=1),
]


@pytest.mark.parametrize("case", STATUS, ids=[case.name for case in STATUS])
def test_status_callback(case, client, db, fake_twilio):
    now = utcnow()
    outbox_id = outbox.queue_message(db, phone=SITI, channel="twilio_sms", body="hi", kind="notification",
                                     now=now)
    outbox.record_sent(db, outbox_id, "SM" + "b" * 32, "queued", now)

    answers = []
    for params in case.callbacks:
        headers = {"X-Twilio-Signature": sign(params, path="/twilio/status")} if case.signed else {}
        answers.append(client.post("/twilio/status", data=params, headers=headers).status_code)

    assert answers == case.answers
    row = outbox.get_outbox_row(db, outbox_id)
    assert (row["status"], row["provider_status"], row["error_code"]) == case.stored
    assert db.execute("SELECT COUNT(*) FROM delivery_events").fetchone()[0] == case.events
    assert_exact_requests(fake_twilio.requests, [], "Twilio's REST API")


# --- configuration and signing ---------------------------------------------------------


def test_known_signature_vector():
    """PROVIDERS.md's vector: our validator setup reproduces Twilio's documented signature."""
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


def test_signature_over_the_request_url_without_public_base_url(settings):
    app = create_app(dict(settings, PUBLIC_BASE_URL=None))
    params = inbound_params(sid="SM" + "d" * 32, body="BANTUAN")
    url = "http://localhost/twilio/messages?source=wa"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    response = app.test_client().post("/twilio/messages?source=wa", data=params,
                                      headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert "<Message>Jembatan: Perintah:" in response.get_data(as_text=True)
