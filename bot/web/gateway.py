"""The Android SMS gateway's webhook (capcom6 "SMS Gateway for Android").

Requests are signed: `X-Signature` is hex HMAC-SHA256 over the raw body followed by
`X-Timestamp`; stale timestamps are refused so a captured request cannot be replayed.
The gateway re-posts up to 15 times, so `sms:received` is deduplicated on `messageId`.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from bot.channels.android_gateway import EVENT_STATUS, verify_signature
from bot.phones import InvalidPhoneNumber, normalize_phone
from bot.pipeline.inbound import accept_inbound_message
from bot.services import outbox
from bot.storage import transaction, utcnow
from bot.web.db import get_db, get_redis
from bot.web.guards import Malformed, parse_json, wrong_types

bp = Blueprint("gateway", __name__, url_prefix="/gateway")

#: The types of the fields we read (OpenAPI `WebHookEvent`, `SmsEventPayload`, ...);
#: a field present with another type is a 400, a field missing is each event's business.
EVENT_TYPES = {"event": str, "id": str, "webhookId": str, "deviceId": str, "payload": dict}
PAYLOAD_TYPES = {"messageId": str, "message": str, "phoneNumber": str, "sender": str,
                 "recipient": str, "reason": str}


def _bad_request(reason: str):
    return jsonify(error=reason), 400


@bp.post("/android")
def android_webhook():
    """One gateway event: a received SMS, or the fate of one we sent."""
    now = utcnow()
    body = request.get_data(cache=True)
    problem = verify_signature(
        current_app.config["ANDROID_GATEWAY_SIGNING_KEY"], body,
        request.headers.get("X-Timestamp"), request.headers.get("X-Signature"), now,
        current_app.config["GATEWAY_MAX_CLOCK_SKEW_SECONDS"],
    )
    if problem:
        return jsonify(error=problem), 403
    try:
        event = parse_json(body)
    except Malformed as exc:
        return _bad_request(str(exc))
    if not isinstance(event, dict) or not isinstance(event.get("payload"), dict):
        return _bad_request("expected an object with event and payload")
    problem = wrong_types(event, EVENT_TYPES) or wrong_types(event["payload"], PAYLOAD_TYPES)
    if problem:
        return _bad_request(problem)
    kind, payload = event.get("event"), event["payload"]
    if kind == "sms:received":
        return _received(payload, event, now)
    if kind in EVENT_STATUS:
        return _status(kind, payload, event, now)
    if kind == "system:ping":
        return jsonify(status="ok")
    # Other events (data SMS, MMS) are not ours to handle; 200 so the phone stops retrying.
    return jsonify(status="ignored", event=kind)


def _received(payload: dict, event: dict, now):
    message_id, text, sender = payload.get("messageId"), payload.get("message"), payload.get("phoneNumber")
    if not message_id or not isinstance(text, str) or not sender:
        return _bad_request("sms:received needs messageId, message and phoneNumber")
    try:
        phone = normalize_phone(str(sender))
    except InvalidPhoneNumber:
        return _bad_request("phoneNumber is not a phone number")
    _, is_new = accept_inbound_message(
        get_db(), current_app.config, get_redis(), channel="android_sms",
        provider_id=str(message_id), phone=phone, body=text, raw=event, now=now,
        reply_inline=False,
    )
    return jsonify(status="stored" if is_new else "duplicate")


def _status(kind: str, payload: dict, event: dict, now):
    message_id = payload.get("messageId")
    if not message_id:
        return _bad_request(f"{kind} needs messageId")
    status = EVENT_STATUS[kind]
    error = payload.get("reason") if kind == "sms:failed" else None
    db = get_db()
    with transaction(db):
        if outbox.record_delivery_event(db, "android_sms", str(message_id), status, error,
                                        json.dumps(event), now):
            outbox.apply_provider_status(db, "android_sms", str(message_id), status, error, now)
    return jsonify(status="ok")
