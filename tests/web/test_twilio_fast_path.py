"""The inbound webhook's fast path (`bot.web.twilio.InboundFastPath`, DECISIONS 350): a
plain signed `POST /twilio/messages` is answered without Flask's request machinery, with
the same answer, headers and effects as the Flask view; anything unusual goes to Flask,
which answers it as before. Whether Flask saw a request is read from its
`request_started` signal."""

from __future__ import annotations

import pytest
from flask import request, request_started
from twilio.request_validator import RequestValidator
from werkzeug.test import Client, TestResponse

from bot.web.app import create_app
from bot.web.guards import BODY_LIMITS, EMPTY_TWIML
from tests.conftest import PUBLIC_BASE_URL, TWILIO_TOKEN
from tests.web.test_twilio_webhooks import inbound_params, sign

PATH = "/twilio/messages"


@pytest.fixture
def seen_by_flask(app):
    """The paths of the requests Flask itself handled."""
    seen = []

    def record(sender, **extra):
        seen.append(request.path)

    request_started.connect(record, app)
    yield seen
    request_started.disconnect(record, app)


def post(client, params, headers=None, **kwargs):
    headers = {"X-Twilio-Signature": sign(params), **(headers or {})}
    return client.post(PATH, data=params, headers=headers, **kwargs)


def test_a_plain_signed_message_is_answered_without_flask_as_flask_would(app, client, db, seen_by_flask):
    fast = post(client, inbound_params(sid="SM" + "1" * 32, sender="+6281200000001", body="BANTUAN"))
    assert seen_by_flask == []
    # The same kind of message through the Flask view alone.
    flask_client = Client(app.wsgi_app.flask, TestResponse)
    slow = post(flask_client, inbound_params(sid="SM" + "2" * 32, sender="+6281200000002", body="BANTUAN"))
    assert seen_by_flask == [PATH]
    assert fast.status_code == slow.status_code == 200
    assert fast.get_data() == slow.get_data()
    assert "<Message>Jembatan: Perintah:" in fast.get_data(as_text=True)
    assert sorted(fast.headers.items()) == sorted(slow.headers.items())
    rows = db.execute("SELECT provider_id, status FROM inbound ORDER BY id").fetchall()
    assert rows == [("SM" + "1" * 32, "processed"), ("SM" + "2" * 32, "processed")]
    replies = db.execute("SELECT phone, status, provider_status FROM outbox ORDER BY id").fetchall()
    assert replies == [("+6281200000001", "sent", "twiml"), ("+6281200000002", "sent", "twiml")]


def test_a_repeat_gets_the_empty_answer_on_the_fast_path(client, db, seen_by_flask):
    params = inbound_params(sid="SM" + "3" * 32, body="BANTUAN")
    assert post(client, params).status_code == 200
    again = post(client, params)
    assert (again.status_code, again.get_data(as_text=True)) == (200, EMPTY_TWIML)
    assert seen_by_flask == []
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1


def test_the_signed_query_string_counts(settings):
    app = create_app(dict(settings, PUBLIC_BASE_URL=None))
    params = inbound_params(sid="SM" + "4" * 32, body="BANTUAN")
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        "http://localhost/twilio/messages?source=wa", params)
    answer = app.test_client().post(PATH + "?source=wa", data=params,
                                    headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200 and "<Message>" in answer.get_data(as_text=True)


UNUSUAL = {
    # name: (how the request differs, the answer Flask gives)
    "forged signature": (dict(headers={"X-Twilio-Signature": "forged"}), 403),
    "signature over other parameters": (dict(signed=inbound_params(body="lain")), 403),
    "no signature": (dict(headers={"X-Twilio-Signature": ""}), 403),
    "From is not a phone number": (dict(params=inbound_params(sender="hello")), 400),
    "no MessageSid": (dict(params={"From": "+6281234567890", "Body": "BANTUAN"}), 400),
    "a body over the limit": (dict(params=inbound_params(Body="x" * BODY_LIMITS["twilio.inbound_message"])),
                              413),
    "a shared-key signature (HMAC-SHA256 settings header)": (
        dict(headers={"X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_SHA1"}), 200),
    "multipart form": (dict(content_type="multipart/form-data"), 200),
}


@pytest.mark.parametrize("name", list(UNUSUAL))
def test_unusual_requests_go_to_flask_and_get_its_answer(client, seen_by_flask, name):
    change, status = UNUSUAL[name]
    params = change.get("params", inbound_params(sid="SM" + "5" * 32, body="BANTUAN"))
    headers = {"X-Twilio-Signature": sign(change.get("signed", params)), **change.get("headers", {})}
    kwargs = {"content_type": change["content_type"]} if "content_type" in change else {}
    answer = client.post(PATH, data=params, headers=headers, **kwargs)
    assert answer.status_code == status
    assert seen_by_flask == [PATH]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    if status != 200:
        assert answer.get_data(as_text=True) == EMPTY_TWIML


def test_a_host_not_trusted_goes_to_flask(settings):
    app = create_app(dict(settings, TRUSTED_HOSTS="jembatan.example.org"))
    params = inbound_params(sid="SM" + "6" * 32, body="BANTUAN")
    client = app.test_client()
    refused = client.post(PATH, data=params, headers={"X-Twilio-Signature": sign(params)},
                          base_url="http://elsewhere.example.com")
    assert refused.status_code == 400
    trusted = client.post(PATH, data=params, headers={"X-Twilio-Signature": sign(params)},
                          base_url=PUBLIC_BASE_URL)
    assert trusted.status_code == 200 and "<Message>" in trusted.get_data(as_text=True)


def test_a_failure_answers_as_flask_does(settings, db):
    """The store itself failing (its table gone): a 500 with the empty TwiML, logged, on
    the fast path as through Flask."""
    app = create_app(settings)
    db.execute("DROP TABLE inbound")
    fast = post(app.test_client(), inbound_params(sid="SM" + "7" * 32, body="BANTUAN"))
    slow = post(Client(app.wsgi_app.flask, TestResponse), inbound_params(sid="SM" + "8" * 32, body="BANTUAN"))
    assert fast.status_code == slow.status_code == 500
    assert fast.get_data(as_text=True) == slow.get_data(as_text=True) == EMPTY_TWIML
    assert sorted(fast.headers.items()) == sorted(slow.headers.items())
