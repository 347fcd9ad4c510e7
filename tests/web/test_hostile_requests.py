"""Hostile and malformed requests over every endpoint, table-driven: the request in, its
status and the rows it stored out. Never a 5xx, nothing stored from a request that is not
authentic, no traceback in the log, and the guards' headers on every answer.

Requests marked `sign=` are made authentic at send time (Twilio signature, gateway HMAC
with a fresh timestamp, Xendit token, a buyer's API key): those test what an authentic
but malformed request gets (400/422, never a 500). The raw-socket cases no test client
can send (bytes in headers, framing) are in test_hostile_server.py, on a real gunicorn.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from bot.channels.android_gateway import compute_signature
from bot.storage import open_database, utcnow
from bot.web.app import create_app
from tests.conftest import GATEWAY_KEY, PUBLIC_BASE_URL, TWILIO_SID, TWILIO_TOKEN, make_settings
from tests.orders import api_buyer, seller_listing

XENDIT_TOKEN = "xendit-callback-token"
SITI = "+6281234567890"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
OURS, THEIRS = "P2", "P3"  # orders of the buyer whose key the table uses, and another's
LISTING = "C2"  # the first listing's code (codes skip what reads like a word)
HUGE = {"CONTENT_LENGTH": str(200 * 1024 * 1024)}  # declared only: never sent, never read


@dataclass
class Case:
    name: str
    method: str
    path: str
    status: int
    body: object = None  # bytes as sent; a dict or list of pairs is a form (Twilio) or JSON
    headers: dict = field(default_factory=dict)
    sign: str | None = None  # "twilio", "gateway", "xendit" or "key": made authentic when sent
    content_type: str | None = None
    environ: dict = field(default_factory=dict)
    stored: int | None = 0  # rows it adds, all tables together (None: some, an accepted message)


CASES: list[Case] = []


def case(*args, **kwargs) -> None:
    CASES.append(Case(*args, **kwargs))


# --- Twilio: /twilio/messages and /twilio/status --------------------------------------

SERIAL = iter(range(10**6))


def inbound(**extra) -> dict:
    params = {"MessageSid": f"SM{next(SERIAL):032d}", "AccountSid": TWILIO_SID, "From": SITI,
              "To": "+14155550100", "Body": "HARGA cabai", "NumMedia": "0", "NumSegments": "1"}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def status_params(**extra) -> dict:
    params = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered", "To": SITI,
              "AccountSid": TWILIO_SID}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def twilio_signature(path: str, params, token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, MultiDict(params))


for path, params in (("/twilio/messages", inbound()), ("/twilio/status", status_params())):
    form = urlencode(params).encode()
    good = twilio_signature(path, params)
    unsigned = [
        ("no signature", {}),
        ("empty signature", {"X-Twilio-Signature": ""}),
        ("wrong signature", {"X-Twilio-Signature": "abc="}),
        ("signature with é", {"X-Twilio-Signature": good[:-1] + "é"}),
        ("signature in CJK", {"X-Twilio-Signature": "签名签名"}),
        ("signature with NUL", {"X-Twilio-Signature": good + "\x00"}),
        ("signature of 10 kB", {"X-Twilio-Signature": "A" * 10_000}),
        ("signature with another token", {"X-Twilio-Signature": twilio_signature(path, params, "other")}),
        ("signature for another path", {"X-Twilio-Signature": twilio_signature("/twilio/x", params)}),
        ("signature lower-cased", {"X-Twilio-Signature": good.lower()}),
        ("unknown algorithm", {"X-Twilio-Signature": good,
                               "X-Twilio-Webhooks-Signature-Settings": "algorithm=MD5"}),
        ("algorithm in non-ASCII", {"X-Twilio-Signature": good,
                                    "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_SHA1é"}),
        ("SHA-256 claimed for a SHA-1 signature",
         {"X-Twilio-Signature": good, "X-Twilio-Webhooks-Signature-Settings": "algorithm=HMAC_SHA256"}),
        ("settings header of 10 kB", {"X-Twilio-Signature": good,
                                      "X-Twilio-Webhooks-Signature-Settings": "k=" + "v" * 10_000}),
    ]
    for name, headers in unsigned:
        case(f"{path} {name}", "POST", path, 403, form, headers, content_type=FORM)
    case(f"{path} signed, then a parameter changed", "POST", path, 403,
         urlencode(dict(params, To="+14155550199")).encode(), {"X-Twilio-Signature": good}, content_type=FORM)
    case(f"{path} signed, then a parameter added", "POST", path, 403,
         urlencode(dict(params, Extra="1")).encode(), {"X-Twilio-Signature": good}, content_type=FORM)
    case(f"{path} signed, then a query string added", "POST", path + "?x=1", 403, form,
         {"X-Twilio-Signature": good}, content_type=FORM)
    case(f"{path} JSON instead of a form", "POST", path, 403, json.dumps(params).encode(),
         {"X-Twilio-Signature": good}, content_type=JSON)
    case(f"{path} invalid UTF-8 form", "POST", path, 403, b"From=%ff%fe&Body=\xff\xfe\xfd",
         {"X-Twilio-Signature": good}, content_type=FORM)
    case(f"{path} multipart with a file", "POST", path, 403,
         b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.sh\"\r\n\r\nrm -rf /\r\n--b--\r\n",
         {"X-Twilio-Signature": good}, content_type="multipart/form-data; boundary=b")
    case(f"{path} 5,000 form fields", "POST", path, 403 if path == "/twilio/messages" else 413,
         "&".join(f"f{i}=1" for i in range(5000)).encode(), {"X-Twilio-Signature": good}, content_type=FORM)
    case(f"{path} body over the limit", "POST", path, 413, b"Body=" + b"x" * 70_000,
         {"X-Twilio-Signature": good}, content_type=FORM)
    case(f"{path} 200 MB declared", "POST", path, 413, form, {"X-Twilio-Signature": good},
         content_type=FORM, environ=HUGE)
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        case(f"{path} {method}", method, path, 405, headers={"X-Twilio-Signature": good})

# Authentic but malformed (or merely odd) Twilio messages.
for name, params, status, stored in [
    ("no MessageSid", inbound(MessageSid=None), 400, 0),
    ("no From", inbound(From=None), 400, 0),
    ("From is a word", inbound(From="hello"), 400, 0),
    ("From is 500 digits", inbound(From="+" + "6" * 500), 400, 0),
    ("From is whatsapp: alone", inbound(From="whatsapp:"), 400, 0),
    ("From with a NUL", inbound(From=SITI + "\x00"), 200, None),  # phonenumbers reads past it
    ("From with markup", inbound(From="<script>alert(1)</script>"), 400, 0),
    ("empty MessageSid", inbound(MessageSid=""), 400, 0),
    ("Body of 20,000 characters", inbound(Body="JUAL cabai " * 1820), 200, None),
    ("NumMedia not a number", inbound(NumMedia="many", MediaUrl0="javascript:alert(1)"), 200, None),
    ("NumMedia of 30 digits", inbound(NumMedia="9" * 30), 200, None),
    ("a media URL to a file path", inbound(NumMedia="1", MediaUrl0="file:///etc/passwd",
                                           MediaContentType0="image/jpeg"), 200, None),
]:
    case(f"/twilio/messages signed: {name}", "POST", "/twilio/messages", status, params, sign="twilio",
         stored=stored)
for name, params, status in [
    ("no MessageStatus", status_params(MessageStatus=None), 400),
    ("no MessageSid", status_params(MessageSid=None), 400),
    ("empty MessageStatus", status_params(MessageStatus=""), 400),
]:
    case(f"/twilio/status signed: {name}", "POST", "/twilio/status", status, params, sign="twilio")


# --- Android gateway: /gateway/android ------------------------------------------------

def gw_event(kind: str = "sms:received", **payload) -> dict:
    body = {"messageId": f"gw-{next(SERIAL)}", "message": "HARGA cabai", "phoneNumber": SITI, "simNumber": 1,
            "receivedAt": "2026-11-28T09:41:31.000+07:00"}
    body.update(payload)
    return {"id": "evt-1", "webhookId": "jembatan", "deviceId": "hub", "event": kind,
            "payload": {k: v for k, v in body.items() if v is not None}}


GW_BODY = json.dumps(gw_event()).encode()


def gw_headers(stamp: str, signature: str | None = None, body: bytes = GW_BODY) -> dict:
    return {"X-Timestamp": stamp, "X-Signature": signature or compute_signature(GATEWAY_KEY, body, stamp)}


NOW = str(int(time.time()))
for name, headers in [
    ("no headers", {}),
    ("timestamp only", {"X-Timestamp": NOW}),
    ("signature only", {"X-Signature": "0" * 64}),
    ("wrong signature", {"X-Timestamp": NOW, "X-Signature": "0" * 64}),
    ("signature of 64 non-hex characters", {"X-Timestamp": NOW, "X-Signature": "z" * 64}),
    ("signature with é", {"X-Timestamp": NOW, "X-Signature": "é" * 64}),
    ("signature in CJK", {"X-Timestamp": NOW, "X-Signature": "签" * 64}),
    ("signature of 10 kB", {"X-Timestamp": NOW, "X-Signature": "a" * 10_000}),
    ("signature with another key", {"X-Timestamp": NOW,
                                    "X-Signature": compute_signature("other", GW_BODY, NOW)}),
    ("400-digit timestamp", {"X-Timestamp": "9" * 400, "X-Signature": "0" * 64}),
    ("negative timestamp", {"X-Timestamp": "-1", "X-Signature": "0" * 64}),
    ("timestamp with underscores", {"X-Timestamp": "1_700_000_000", "X-Signature": "0" * 64}),
    ("timestamp with spaces", {"X-Timestamp": f" {NOW} ", "X-Signature": "0" * 64}),
    ("timestamp in exponent form", {"X-Timestamp": "1.7e9", "X-Signature": "0" * 64}),
    ("timestamp in Arabic-Indic digits", {"X-Timestamp": "١٧٠٠٠٠٠٠٠٠", "X-Signature": "0" * 64}),
    ("timestamp non-ASCII", {"X-Timestamp": "é", "X-Signature": "0" * 64}),
    ("timestamp empty", {"X-Timestamp": "", "X-Signature": "0" * 64}),
    ("signed, but stale", gw_headers(str(int(time.time()) - 3600))),
    ("signed, but from the future", gw_headers(str(int(time.time()) + 3600))),
    ("signed at time 0", gw_headers("0")),
    ("signed with a 12-digit timestamp", gw_headers("9" * 12)),
]:
    case(f"/gateway/android {name}", "POST", "/gateway/android", 403, GW_BODY, headers, content_type=JSON)
case("/gateway/android signed, then the body changed", "POST", "/gateway/android", 403,
     GW_BODY.replace(b"HARGA", b"JUAL!"), gw_headers(NOW), content_type=JSON)
case("/gateway/android body over the limit", "POST", "/gateway/android", 413, b" " * 70_000,
     {"X-Timestamp": NOW, "X-Signature": "0" * 64}, content_type=JSON)
case("/gateway/android 200 MB declared", "POST", "/gateway/android", 413, GW_BODY,
     {"X-Timestamp": NOW, "X-Signature": "0" * 64}, content_type=JSON, environ=HUGE)
for method in ("GET", "PUT", "DELETE"):
    case(f"/gateway/android {method}", method, "/gateway/android", 405)


def nested(depth: int, leaf: str = "1") -> bytes:
    return ("[" * depth + leaf + "]" * depth).encode()


def in_event(value: str) -> bytes:
    """An sms:received event with `value` (JSON text) as its message."""
    return json.dumps(gw_event(message="@@")).encode().replace(b'"@@"', value.encode())


for name, body, status, stored in [
    ("not JSON", b"not json", 400, 0),
    ("empty body", b"", 400, 0),
    ("invalid UTF-8", b'{"event": "\xff\xfe"}', 400, 0),
    ("UTF-16 JSON", json.dumps(gw_event()).encode("utf-16"), 400, 0),
    ("JSON nested 30,000 deep", nested(30_000), 400, 0),
    ("JSON nested 100,000 deep", nested(100_000), 413, 0),
    ("objects nested 10,000 deep", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400, 0),
    ("nested 21 deep in the payload", in_event(nested(21).decode()), 400, 0),
    ("brackets inside strings do not count", in_event(json.dumps("[" * 5000)), 200, None),
    ("NaN", in_event("NaN"), 400, 0),
    ("Infinity", in_event("Infinity"), 400, 0),
    ("-Infinity", in_event("-Infinity"), 400, 0),
    ("1e999999999", in_event("1e999999999"), 400, 0),
    ("a 5,000-digit integer", in_event("1" * 5000), 400, 0),
    ("a 4,000-digit fraction", in_event("0." + "1" * 4000), 400, 0),
    ("a top-level list", b"[1, 2]", 400, 0),
    ("a top-level string", b'"sms:received"', 400, 0),
    ("a top-level number", b"12", 400, 0),
    ("null", b"null", 400, 0),
    ("event is a list", json.dumps(dict(gw_event(), event=["sms:received"])).encode(), 400, 0),
    ("event is an object", json.dumps(dict(gw_event(), event={"a": 1})).encode(), 400, 0),
    ("event is a number", json.dumps(dict(gw_event(), event=7)).encode(), 400, 0),
    ("event is true", json.dumps(dict(gw_event(), event=True)).encode(), 400, 0),
    ("event is missing", json.dumps({k: v for k, v in gw_event().items() if k != "event"}).encode(), 200, 0),
    ("event unknown", json.dumps(dict(gw_event(), event="sms:exploded")).encode(), 200, 0),
    ("event of 10 kB", json.dumps(dict(gw_event(), event="x" * 10_000)).encode(), 200, 0),
    ("payload is a list", json.dumps(dict(gw_event(), payload=[1])).encode(), 400, 0),
    ("payload is a string", json.dumps(dict(gw_event(), payload="x")).encode(), 400, 0),
    ("payload is missing", json.dumps({k: v for k, v in gw_event().items() if k != "payload"}).encode(),
     400, 0),
    ("deviceId is an object", json.dumps(dict(gw_event(), deviceId={"a": 1})).encode(), 400, 0),
    ("messageId is a list", json.dumps(gw_event(messageId=["a"])).encode(), 400, 0),
    ("messageId is an object", json.dumps(gw_event(messageId={"a": 1})).encode(), 400, 0),
    ("messageId is a number", json.dumps(gw_event(messageId=12)).encode(), 400, 0),
    ("messageId is true", json.dumps(gw_event(messageId=True)).encode(), 400, 0),
    ("messageId is empty", json.dumps(gw_event(messageId="")).encode(), 400, 0),
    ("message is a list", json.dumps(gw_event(message=["hi"])).encode(), 400, 0),
    ("message is an object", json.dumps(gw_event(message={"t": "hi"})).encode(), 400, 0),
    ("message is a number", json.dumps(gw_event(message=5)).encode(), 400, 0),
    ("message is missing", json.dumps(gw_event(message=None)).encode(), 400, 0),
    ("phoneNumber is a list", json.dumps(gw_event(phoneNumber=[SITI])).encode(), 400, 0),
    ("phoneNumber is a number", json.dumps(gw_event(phoneNumber=6281234567890)).encode(), 400, 0),
    ("phoneNumber is an object", json.dumps(gw_event(phoneNumber={"n": SITI})).encode(), 400, 0),
    # Issue 12: a sender that is no number (an operator's notice) is kept, never answered.
    ("phoneNumber is a word", json.dumps(gw_event(phoneNumber="nope")).encode(), 200, 1),
    ("phoneNumber of 5,000 digits", json.dumps(gw_event(phoneNumber="6" * 5000)).encode(), 400, 0),
    ("phoneNumber is empty", json.dumps(gw_event(phoneNumber="")).encode(), 400, 0),
    ("sender is a list", json.dumps(gw_event(sender=[SITI])).encode(), 400, 0),
    ("recipient is an object", json.dumps(gw_event(recipient={"a": 1})).encode(), 400, 0),
    ("sms:failed reason is a list", json.dumps(gw_event("sms:failed", reason=["x"])).encode(), 400, 0),
    ("sms:failed reason is an object", json.dumps(gw_event("sms:failed", reason={"x": 1})).encode(), 400, 0),
    ("sms:failed reason is a number", json.dumps(gw_event("sms:failed", reason=3)).encode(), 400, 0),
    ("sms:sent messageId is a list", json.dumps(gw_event("sms:sent", messageId=["x"])).encode(), 400, 0),
    ("sms:delivered without messageId", json.dumps(gw_event("sms:delivered", messageId=None)).encode(),
     400, 0),
    ("a lone surrogate in the message", in_event('"\\ud800 HARGA"'), 200, None),
    ("a NUL in the message", in_event('"HARGA\\u0000cabai"'), 200, None),
    ("a message of 20,000 characters", in_event(json.dumps("JUAL cabai " * 1820)), 200, None),
    ("duplicate keys", GW_BODY[:-1] + b', "event": ["x"]}', 400, 0),
    ("trailing garbage", GW_BODY + b"garbage", 400, 0),
]:
    case(f"/gateway/android signed: {name}", "POST", "/gateway/android", status, body, sign="gateway",
         content_type=JSON, stored=stored)


# --- Xendit: /payouts/xendit/callback -------------------------------------------------

def payout(**fields) -> dict:
    data = {"id": "disb-1", "reference_id": "WD-NOPE", "status": "SUCCEEDED", "amount": 50000,
            "currency": "IDR", "failure_code": None}
    data.update(fields)
    return data


XENDIT_BODY = json.dumps(payout()).encode()
for name, headers in [
    ("no token", {}),
    ("wrong token", {"x-callback-token": "nope"}),
    ("empty token", {"x-callback-token": ""}),
    ("token with é", {"x-callback-token": XENDIT_TOKEN + "é"}),
    ("token in CJK", {"x-callback-token": "令牌"}),
    ("token of 10 kB", {"x-callback-token": "t" * 10_000}),
    ("token as a prefix", {"x-callback-token": XENDIT_TOKEN[:-1]}),
    ("token with a NUL", {"x-callback-token": XENDIT_TOKEN + "\x00"}),
]:
    case(f"/payouts/xendit/callback {name}", "POST", "/payouts/xendit/callback", 403, XENDIT_BODY, headers,
         content_type=JSON)
case("/payouts/xendit/callback body over the limit", "POST", "/payouts/xendit/callback", 413,
     b" " * 40_000, {"x-callback-token": "nope"}, content_type=JSON)
case("/payouts/xendit/callback 200 MB declared", "POST", "/payouts/xendit/callback", 413, XENDIT_BODY,
     {"x-callback-token": XENDIT_TOKEN}, content_type=JSON, environ=HUGE)
case("/payouts/xendit/callback GET", "GET", "/payouts/xendit/callback", 405)
for name, body, status in [
    ("not JSON", b"<xml/>", 400),
    ("nested 10,000 deep", nested(10_000), 400),
    ("nested 100,000 deep", nested(100_000), 413),
    ("nested 21 deep in data", json.dumps({"data": "@@"}).encode().replace(b'"@@"', nested(21)), 400),
    ("NaN amount", XENDIT_BODY.replace(b"50000", b"NaN"), 400),
    ("amount 1e999999999", XENDIT_BODY.replace(b"50000", b"1e999999999"), 400),
    ("amount \"1e999999999\"", json.dumps(payout(amount="1e999999999")).encode(), 400),
    ("amount a 5,000-digit integer", XENDIT_BODY.replace(b"50000", b"9" * 5000), 400),
    ("amount true", json.dumps(payout(amount=True)).encode(), 400),
    ("amount a list", json.dumps(payout(amount=[1])).encode(), 400),
    ("status a list", json.dumps(payout(status=["SUCCEEDED"])).encode(), 400),
    ("status an object", json.dumps(payout(status={"s": 1})).encode(), 400),
    ("status a number", json.dumps(payout(status=1)).encode(), 400),
    ("id an object", json.dumps(payout(id={"a": 1})).encode(), 400),
    ("reference_id a list", json.dumps(payout(reference_id=["WD-1"])).encode(), 400),
    ("reference_id a number", json.dumps(payout(reference_id=12)).encode(), 400),
    ("failure_code an object", json.dumps(payout(failure_code={"c": 1})).encode(), 400),
    ("data a list", json.dumps({"event": "payout", "data": [payout()]}).encode(), 400),
    ("a top-level list", b"[]", 400),
    ("null", b"null", 400),
    ("no status", json.dumps(payout(status=None)).encode(), 400),
    ("no ids", json.dumps(payout(id=None, reference_id=None)).encode(), 400),
    ("an unknown payout", XENDIT_BODY, 200),
    ("an unknown payout inside data", json.dumps({"event": "payout.succeeded", "data": payout()}).encode(),
     200),
    ("reference with SQL", json.dumps(payout(reference_id="x' OR '1'='1")).encode(), 200),
]:
    case(f"/payouts/xendit/callback authentic: {name}", "POST", "/payouts/xendit/callback", status, body,
         sign="xendit", content_type=JSON)


# --- Orders API: /api/v1/orders -------------------------------------------------------

ORDER = {"listing": LISTING, "quantity": "2"}
ORDER_PATHS = [("POST", "/api/v1/orders"), ("GET", "/api/v1/orders"), ("GET", f"/api/v1/orders/{OURS}"),
               ("POST", f"/api/v1/orders/{OURS}/cancel"), ("POST", f"/api/v1/orders/{OURS}/received"),
               ("POST", f"/api/v1/orders/{OURS}/payments")]
for method, path in ORDER_PATHS:
    for name, headers in [
        ("no key", {}),
        ("empty Authorization", {"Authorization": ""}),
        ("Bearer alone", {"Authorization": "Bearer"}),
        ("unknown key", {"Authorization": "Bearer jbk_" + "0" * 32}),
        ("key without prefix", {"Authorization": "Bearer " + "0" * 32}),
        ("key with é", {"Authorization": "Bearer jbk_é"}),
        ("key in CJK", {"Authorization": "Bearer jbk_钥匙"}),
        ("key of 10 kB", {"Authorization": "Bearer jbk_" + "k" * 10_000}),
        ("Basic scheme", {"Authorization": "Basic c21zOnNlY3JldA=="}),
        ("key with SQL", {"Authorization": "Bearer jbk_' OR 1=1 --"}),
    ]:
        case(f"{method} {path} {name}", method, path, 401, json.dumps(ORDER).encode() if method == "POST"
             else None, headers, content_type=JSON if method == "POST" else None)
case("POST /api/v1/orders 200 MB declared, no key", "POST", "/api/v1/orders", 413, b"{}",
     content_type=JSON, environ=HUGE)
case("POST /api/v1/orders body over the limit", "POST", "/api/v1/orders", 413, b" " * 20_000,
     content_type=JSON, sign="key")
for method in ("PUT", "DELETE", "PATCH"):
    case(f"{method} /api/v1/orders", method, "/api/v1/orders", 405, sign="key")


def order_with(**fields) -> bytes:
    body = dict(ORDER, **fields)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


for name, body, status, extra in [
    ("not JSON", b"listing=C1", 400, {}),
    ("a form", b"listing=C1&quantity=2", 400, {"content_type": FORM}),
    ("a list", b'["C1", 2]', 400, {}),
    ("nested 5,000 deep", nested(5_000), 400, {}),
    ("nested 100,000 deep", nested(100_000), 413, {}),
    ("nested 21 deep in a field", order_with(unit="@@").replace(b'"@@"', nested(21)), 400, {}),
    ("invalid UTF-8", b'{"listing": "\xff"}', 400, {}),
    ("empty body", b"", 400, {}),
    ("quantity 1_000", order_with(quantity="1_000"), 422, {}),
    ("quantity 1e999999999 (text)", order_with(quantity="1e999999999"), 422, {}),
    ("quantity 1e999999999 (text) with an Idempotency-Key", order_with(quantity="1e999999999"), 422,
     {"headers": {"Idempotency-Key": "hostile-1"}}),
    ("quantity 1e999999999 (number)", order_with(quantity=1).replace(b"1}", b"1e999999999}"), 400, {}),
    ("quantity 1e999999999 (number) with an Idempotency-Key",
     order_with(quantity=1).replace(b"1}", b"1e999999999}"), 400,
     {"headers": {"Idempotency-Key": "hostile-2"}}),
    ("quantity 2e3", order_with(quantity="2e3"), 422, {}),
    ("quantity NaN", order_with(quantity="NaN"), 422, {}),
    ("quantity NaN (bare)", order_with(quantity=1).replace(b"1}", b"NaN}"), 400, {}),
    ("quantity Infinity", order_with(quantity="Infinity"), 422, {}),
    ("quantity 0x10", order_with(quantity="0x10"), 422, {}),
    ("quantity +5", order_with(quantity="+5"), 422, {}),
    ("quantity 5.", order_with(quantity="5."), 422, {}),
    ("quantity .5", order_with(quantity=".5"), 422, {}),
    ("quantity 1 000", order_with(quantity="1 000"), 422, {}),
    ("quantity 1,5", order_with(quantity="1,5"), 422, {}),
    ("quantity in Arabic-Indic digits", order_with(quantity="٢"), 422, {}),
    ("quantity in full-width digits", order_with(quantity="２"), 422, {}),
    ("quantity of 100 digits", order_with(quantity="9" * 100), 422, {}),
    ("quantity a 5,000-digit number", order_with(quantity=1).replace(b"1}", b"9" * 5000 + b"}"), 400, {}),
    ("quantity 0", order_with(quantity="0"), 422, {}),
    ("quantity -1", order_with(quantity="-1"), 422, {}),
    ("quantity 0.0001", order_with(quantity="0.0001"), 422, {}),
    ("quantity empty", order_with(quantity=""), 422, {}),
    ("quantity null", order_with(quantity=None), 422, {}),
    ("quantity a list", order_with(quantity=[2]), 422, {}),
    ("quantity an object", order_with(quantity={"v": 2}), 422, {}),
    ("quantity true", order_with(quantity=True), 422, {}),
    ("quantity more than there is", order_with(quantity="51"), 409, {}),
    ("listing a list", order_with(listing=["C1"]), 422, {}),
    ("listing an object", order_with(listing={"c": "C1"}), 422, {}),
    ("listing a number", order_with(listing=1), 422, {}),
    ("listing empty", order_with(listing=""), 422, {}),
    ("listing of 200 characters", order_with(listing="C" * 200), 422, {}),
    ("listing with a path", order_with(listing="../../etc/passwd"), 404, {}),
    ("listing with SQL", order_with(listing="C1' OR '1'='1"), 404, {}),
    ("listing with NUL", order_with(listing="C1\x00"), 404, {}),
    ("unit a list", order_with(unit=["kg"]), 422, {}),
    ("unit a number", order_with(unit=5), 422, {}),
    ("unit wrong", order_with(unit="ton"), 422, {}),
    ("Idempotency-Key of 300 characters", order_with(), 400, {"headers": {"Idempotency-Key": "k" * 300}}),
    ("Idempotency-Key of spaces", order_with(), 400, {"headers": {"Idempotency-Key": "   "}}),
    ("listing with a lone surrogate", order_with(listing="C2\ud800"), 404, {}),
]:
    case(f"POST /api/v1/orders with a key: {name}", "POST", "/api/v1/orders", status, body,
         extra.get("headers", {}), sign="key", content_type=extra.get("content_type", JSON))

for name, path, status in [
    ("limit 1e3", "/api/v1/orders?limit=1e3", 400),
    ("limit -1", "/api/v1/orders?limit=-1", 400),
    ("limit 1_0", "/api/v1/orders?limit=1_0", 400),
    ("limit of 30 digits", "/api/v1/orders?limit=" + "9" * 30, 400),
    ("limit in Arabic-Indic digits", "/api/v1/orders?limit=١٠", 400),
    ("limit superscript", "/api/v1/orders?limit=²", 400),
    ("offset huge", "/api/v1/orders?offset=" + "9" * 30, 400),
    ("offset 1.5", "/api/v1/orders?offset=1.5", 400),
    ("status unknown", "/api/v1/orders?status=lost", 400),
    ("status with markup", "/api/v1/orders?status=%3Cscript%3E", 400),
    ("status of 10 kB", "/api/v1/orders?status=" + "x," * 5000, 400),
    ("order code with a path", "/api/v1/orders/..%2F..%2Fetc%2Fpasswd", 404),
    ("order code of 1,000 characters", "/api/v1/orders/" + "P" * 1000, 404),
    ("order code in CJK", "/api/v1/orders/订单", 404),
    ("order code with NUL", f"/api/v1/orders/{OURS}%00", 404),
    ("order code with SQL", f"/api/v1/orders/{OURS}'%20OR%20'1'='1", 404),
    ("another buyer's order", f"/api/v1/orders/{THEIRS}", 404),
]:
    case(f"GET with a key: {name}", "GET", path, status, sign="key")
PAYMENT = {"amount": 12000, "reference": "TRF-1"}
for name, body, status in [
    ("not JSON", b"amount=1", 400),
    ("nested 1,000 deep", nested(1000), 400),
    ("nested 100,000 deep", nested(100_000), 413),
    ("amount NaN", json.dumps(PAYMENT).replace("12000", "NaN").encode(), 400),
    ("amount 1e999999999", json.dumps(PAYMENT).replace("12000", "1e999999999").encode(), 400),
    ("amount \"1e999999999\"", json.dumps(dict(PAYMENT, amount="1e999999999")).encode(), 422),
    ("amount \"1_000\"", json.dumps(dict(PAYMENT, amount="1_000")).encode(), 422),
    ("amount in Arabic-Indic digits", json.dumps(dict(PAYMENT, amount="١٢٠٠٠")).encode(), 422),
    ("amount a 5,000-digit integer", json.dumps(PAYMENT).replace("12000", "9" * 3000).encode(), 400),
    ("amount 10^15", json.dumps(dict(PAYMENT, amount=10**15)).encode(), 422),
    ("amount negative", json.dumps(dict(PAYMENT, amount=-5)).encode(), 422),
    ("amount 1.5", json.dumps(dict(PAYMENT, amount=1.5)).encode(), 422),
    ("amount true", json.dumps(dict(PAYMENT, amount=True)).encode(), 422),
    ("amount a list", json.dumps(dict(PAYMENT, amount=[1])).encode(), 422),
    ("reference a list", json.dumps(dict(PAYMENT, reference=["x"])).encode(), 422),
    ("reference an object", json.dumps(dict(PAYMENT, reference={"x": 1})).encode(), 422),
    ("reference empty", json.dumps(dict(PAYMENT, reference=" ")).encode(), 422),
    ("reference of 3,000 characters", json.dumps(dict(PAYMENT, reference="r" * 3000)).encode(), 422),
    ("body over the limit", json.dumps(dict(PAYMENT, reference="r" * 5000)).encode(), 413),
    ("for an order not yet received", json.dumps(PAYMENT).encode(), 409),
]:
    case(f"POST payments with a key: {name}", "POST", f"/api/v1/orders/{OURS}/payments", status, body,
         sign="key", content_type=JSON)
case("POST payments for another buyer's order", "POST", f"/api/v1/orders/{THEIRS}/payments", 404,
     json.dumps(PAYMENT).encode(), sign="key", content_type=JSON)
case("POST cancel of another buyer's order", "POST", f"/api/v1/orders/{THEIRS}/cancel", 404, sign="key")
case("POST received with a body over the limit", "POST", f"/api/v1/orders/{OURS}/received", 413,
     b"x" * 5000, sign="key", content_type=JSON)


# --- the public catalog, photos, health, unknown paths, the simulator ---------------

for name, path, status in [
    ("limit 1_0", "/api/v1/listings?limit=1_0", 400),
    ("limit 0", "/api/v1/listings?limit=0", 400),
    ("limit 101", "/api/v1/listings?limit=101", 400),
    ("limit in Arabic-Indic digits", "/api/v1/listings?limit=١٢", 400),
    ("limit of 30 digits", "/api/v1/listings?limit=" + "9" * 30, 400),
    ("offset -1", "/api/v1/listings?offset=-1", 400),
    ("offset 1e9", "/api/v1/listings?offset=1e9", 400),
    ("offset of 30 digits", "/api/v1/listings?offset=" + "9" * 30, 400),
    ("q of 5,000 characters", "/api/v1/listings?q=" + "a" * 5000, 200),
    ("q with SQL", "/api/v1/listings?q=%27%20OR%201%3D1%20--", 200),
    ("q with LIKE wildcards", "/api/v1/listings?q=%25%25_%25", 200),
    ("q with NUL", "/api/v1/listings?q=cabai%00", 200),
    ("product with markup", "/api/v1/listings?product=%3Cscript%3E", 200),
    ("village in CJK", "/api/v1/listings?village=村", 200),
    ("repeated parameters", "/api/v1/listings?limit=1&limit=2&limit=x", 200),
    ("invalid percent-encoding", "/api/v1/listings?q=%ff%fe", 200),
    ("media traversal", "/media/..%2F..%2Fetc%2Fpasswd", 404),
    ("media dot-dot", "/media/..", 404),
    ("media of 30 digits", "/media/" + "9" * 30, 404),
    ("media in CJK", "/media/照片", 404),
    ("media NUL", "/media/C1%00", 404),
    ("media unknown code", "/media/C999", 404),
    ("unknown path", "/wp-login.php", 404),
    ("unknown API path", "/api/v2/orders", 404),
    ("dot-dot path", "/../../etc/passwd", 404),
    ("a path of 5,000 characters", "/" + "a" * 5000, 404),
    ("healthz with a query", "/healthz?x=%00", 200),
    ("static traversal", "/static/..%2F..%2Fbot%2Fconfig.py", 404),
    ("static dot-dot", "/static/../../bot/config.py", 404),
    ("static unknown file", "/static/x.js", 404),
    ("verify an unknown code", "/verify/S1-ABCD", 404),
    ("verify a code of 5,000 characters", "/verify/" + "S" * 5000, 404),
    ("verify a traversal", "/verify/..%2F..%2Fetc%2Fpasswd", 404),
    ("verify in CJK", "/verify/验证", 404),
    ("verify with NUL", "/verify/S1%00", 404),
    ("verify with SQL", "/verify/S1'%20OR%20'1'='1", 404),
    ("verify with markup", "/verify/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404),
    ("verify with an encoded surrogate", "/verify/%ed%a0%80?lang=%ff", 404),
    ("media with an encoded surrogate", "/media/%ed%a0%80", 404),
    ("listings q with an encoded surrogate", "/api/v1/listings?q=%ed%a0%80", 200),
    ("listings product with invalid UTF-8", "/api/v1/listings?product=%c3%28", 200),
]:
    case(f"GET {name}", "GET", path, status)
for method, path, status in [("POST", "/healthz", 405), ("POST", "/healthz/delivery", 405),
                             ("DELETE", "/api/v1/listings", 405),
                             ("POST", "/api/v1/listings", 405), ("PUT", "/media/1", 405),
                             ("TRACE", "/healthz", 405), ("PROPFIND", "/healthz", 405)]:
    case(f"{method} {path}", method, path, status)
case("GET /healthz with a body over the limit", "GET", "/healthz", 413, b"x" * 5000)
case("GET /api/v1/listings 200 MB declared", "GET", "/api/v1/listings", 413, b"", environ=HUGE)
# The coordinators' desk, without a session: pages send to sign-in, forms without a CSRF
# token are refused, bodies over the limit are refused unread.
DESK_PAGES = ["/dashboard/", "/dashboard/orang", "/dashboard/orang/1", "/dashboard/orang/impor",
              "/dashboard/iklan", "/dashboard/iklan/1", "/dashboard/pesanan", "/dashboard/produk",
              "/dashboard/pesan",
              "/dashboard/siaran", "/dashboard/harga", "/dashboard/tim", "/dashboard/jejak",
              "/dashboard/penarikan", "/dashboard/unduh", "/dashboard/unduh/berkas", "/dashboard/laporan"]
DESK_FORMS = ["/dashboard/masuk/kode", "/dashboard/keluar", "/dashboard/orang/1/pindah-nomor",
              "/dashboard/orang/1/reset-pin", "/dashboard/orang/1/hapus-data", "/dashboard/orang/impor",
              "/dashboard/iklan/1", "/dashboard/iklan/1/tarik", "/dashboard/produk/gabung",
              "/dashboard/produk/1/sinonim", "/dashboard/siaran/hitung", "/dashboard/siaran",
              "/dashboard/harga", "/dashboard/tim", "/dashboard/penarikan/1/dibayar",
              "/dashboard/penarikan/1/gagal", "/dashboard/penarikan/1/setujui", "/dashboard/pembayaran",
              "/dashboard/orang/1/laporan"]
for path in DESK_PAGES:
    case(f"desk GET {path} without a session", "GET", path, 302)
for path in DESK_FORMS:
    case(f"desk POST {path} without a CSRF token", "POST", path, 400, b"phone=%2B6281&text=x",
         content_type=FORM)
    case(f"desk POST {path} 200 MB declared", "POST", path, 413, b"", content_type=FORM, environ=HUGE)
case("desk sign-in page with a foreign next", "GET", "/dashboard/masuk?next=https%3A%2F%2Fevil.example%2F",
     200)
case("desk sign-in link with a forged token", "GET", "/dashboard/masuk/tautan/" + "x" * 500, 200)
case("desk language with a foreign next", "GET", "/dashboard/bahasa/en?next=%2F%2Fevil.example", 302)
case("desk a form over 16 KiB", "POST", "/dashboard/harga", 413, b"text=" + b"x" * 20_000, content_type=FORM)
case("desk an import over 2 MiB", "POST", "/dashboard/orang/impor", 413,
     b"csv_text=" + b"x" * (2 * 1024 * 1024), content_type=FORM)
case("desk static traversal", "GET", "/dashboard/static/..%2F..%2Fauth.py", 404)
# The simulator's form carries a CSRF token (issue 15): a bare post is refused before the number is read.
case("simulator: a post without its form token", "POST", "/simulator", 400, b"phone=hello&text=HARGA",
     content_type=FORM)
case("simulator: markup in the number", "GET", "/simulator?phone=%3Cscript%3Ealert(1)%3C/script%3E", 200)
case("simulator: a text over the limit", "POST", "/simulator", 413, b"phone=%2B6281&text=" + b"x" * 20_000,
     content_type=FORM)
case("simulator: 200 MB declared", "POST", "/simulator", 413, b"", content_type=FORM, environ=HUGE)
# The public storefront (issue 17): odd paths and queries get a page or a 404, never a crash.
for name, path, status in [
    ("store home in an unknown language", "/?lang=xx", 200),
    ("store product of 5,000 characters", "/produk/" + "a" * 5000, 404),
    ("store product in CJK", "/produk/辣椒", 404),
    ("store product with markup", "/produk/%3Cscript%3E", 404),
    ("store listing of 5,000 characters", "/l/" + "C" * 5000, 404),
    ("store listing traversal", "/l/..%2F..%2Fetc%2Fpasswd", 404),
    ("store listing NUL", "/l/C2%00", 404),
    ("store listing in lower case", f"/l/{LISTING.lower()}", 200),
    ("store village unknown", "/desa/jawa-barat/" + "x" * 3000, 404),
    ("store village in CJK", "/desa/爪哇/村", 404),
    ("store search with LIKE wildcards", "/cari?q=%25_%25", 200),
    ("store search of 5,000 characters", "/cari?q=" + "a" * 5000, 200),
    ("store search with markup", "/cari?q=%3Cscript%3Ealert(1)%3C/script%3E", 200),
    ("store sitemap", "/sitemap.xml", 200),
    ("store sitemap pages", "/sitemap/pages.xml", 200),
    ("store sitemap pages, first share", "/sitemap/pages-1.xml", 200),
    ("store sitemap pages past the last", "/sitemap/pages-99.xml", 404),
    ("store sitemap listings", "/sitemap/listings-1.xml", 200),
    ("store sitemap listings past the last", "/sitemap/listings-99.xml", 404),
    ("store sitemap listings of 30 digits", "/sitemap/listings-" + "9" * 30 + ".xml", 404),
    ("store sitemap listings negative", "/sitemap/listings--1.xml", 404),
    ("store robots", "/robots.txt", 200),
    ("store static traversal", "/toko/static/..%2Fblueprint.py", 404),
]:
    case(name, "GET", path, status)
case("store listing with a body", "GET", f"/l/{LISTING}", 413, b"", environ=HUGE)
# Stories (issue 17): seller pages take only a number; the desk's story forms need a
# session and a CSRF token like every other form.
for name, path, status in [
    ("store seller unknown", "/penjual/999999", 404),
    ("store seller of 5,000 digits", "/penjual/" + "9" * 5000, 404),
    ("store seller not a number", "/penjual/%3Cscript%3E", 404),
    ("store seller negative", "/penjual/-1", 404),
]:
    case(name, "GET", path, status)
case("desk GET /dashboard/cerita without a session", "GET", "/dashboard/cerita", 302)
for path in ("/dashboard/cerita/1", "/dashboard/cerita/1/sembunyikan"):
    case(f"desk POST {path} without a CSRF token", "POST", path, 400, b"text=x&hide=1",
         content_type=FORM)
    case(f"desk POST {path} 200 MB declared", "POST", path, 413, b"", content_type=FORM, environ=HUGE)


# --- running the table ------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory, shared_redis):
    settings = make_settings(tmp_path_factory.mktemp("hostile"), shared_redis.url, "http://127.0.0.1:9")
    settings.update(XENDIT_CALLBACK_TOKEN=XENDIT_TOKEN, SIMULATOR="on", API_KEY_MAX_FAILURES=0)
    app = create_app(settings)
    db = open_database(settings["DATABASE_PATH"])
    now = utcnow()
    listing = seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12000, now)
    assert listing["code"] == LISTING
    _, key = api_buyer(db, now, phone="+6281311112222")
    _, other_key = api_buyer(db, now, name="Toko Lain", phone="+6281377778888")
    client = app.test_client()
    for buyer_key, code in ((key, OURS), (other_key, THEIRS)):
        placed = client.post("/api/v1/orders", json={"listing": LISTING, "quantity": "1"},
                             headers={"Authorization": f"Bearer {buyer_key}"})
        assert placed.status_code == 201 and placed.get_json()["order"]["code"] == code, placed.get_json()
    yield {"app": app, "db": db, "key": key}
    db.conn.close()


def total_rows(db) -> int:
    tables = [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall()]
    return sum(db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in tables)


def send(client, c: Case, key: str):
    headers = dict(c.headers)
    body = c.body
    if c.sign == "twilio":
        headers["X-Twilio-Signature"] = twilio_signature(c.path, c.body)
        body = urlencode(c.body).encode()
        content_type = FORM
    else:
        content_type = c.content_type
    if c.sign == "gateway":
        stamp = str(int(time.time()))
        headers["X-Timestamp"], headers["X-Signature"] = stamp, compute_signature(GATEWAY_KEY, body, stamp)
    elif c.sign == "xendit":
        headers["x-callback-token"] = XENDIT_TOKEN
    elif c.sign == "key":
        headers["Authorization"] = f"Bearer {key}"
    return client.open(c.path, method=c.method, data=body, headers=headers, content_type=content_type,
                       environ_overrides=c.environ)


def test_the_table_covers_every_endpoint(hostile_app):
    adapter = hostile_app["app"].url_map.bind("localhost")
    covered = set()
    for c in CASES:
        try:
            endpoint, _ = adapter.match(c.path.split("?")[0], method=c.method)
        except HTTPException as refusal:  # a wrong method still reaches the endpoint's path
            methods = getattr(refusal, "valid_methods", None)
            endpoint = adapter.match(c.path.split("?")[0], method=methods[0])[0] if methods else None
        if endpoint:
            covered.add(endpoint)
    served = {rule.endpoint for rule in hostile_app["app"].url_map.iter_rules()}
    assert served - covered == set()


def test_the_table_is_big_enough():
    assert len(CASES) >= 250
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    unauthenticated = [c for c in CASES if c.sign is None and c.status in (401, 403, 413)]
    assert len(unauthenticated) >= 120


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_hostile_request(hostile_app, caplog, c):
    caplog.set_level(logging.DEBUG)
    db, client = hostile_app["db"], hostile_app["app"].test_client()
    before = total_rows(db)
    response = send(client, c, hostile_app["key"])
    stored = total_rows(db) - before
    expected = (c.status, stored if c.stored is None and stored > 0 else c.stored)
    assert (response.status_code, stored) == expected, response.get_data()[:500]
    if c.sign is None:
        assert stored == 0  # nothing from a request that is not authentic
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    if c.path.startswith("/api/v1/orders"):
        assert headers["Cache-Control"] == "no-store"
    if c.path.startswith("/twilio/") and response.status_code >= 400:
        assert response.mimetype == "text/xml" and b"<Response />" in response.get_data()
    elif response.mimetype == "text/html":  # the pages: the simulator, a statement's check, the store
        assert c.path.startswith(("/simulator", "/verify/", "/dashboard/", "/?", "/produk/", "/l/",
                                  "/desa/", "/cari", "/penjual/"))
        assert "default-src 'none'" in headers["Content-Security-Policy"]
    elif response.status_code >= 400:
        assert response.is_json and response.get_json()["error"], response.get_data()[:300]
    if 300 <= response.status_code < 400:  # never an open redirect
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//"), location
    assert len(response.get_data()) < 20_000  # a refusal does not echo what it was sent
    problems = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not problems, problems[0].getMessage()
