"""The Android SMS gateway's webhook (capcom6 "SMS Gateway for Android").

Requests are signed: `X-Signature` is hex HMAC-SHA256 over the raw body followed by
`X-Timestamp`; stale timestamps are refused so a captured request cannot be replayed.

`sms:received`: the sender is `sender` (current app versions), else the deprecated
`phoneNumber`. The gateway re-posts an event up to 15 times, and some versions post the
same SMS again under a new event id, so a message is one message by (sender, text, the
moment the phone received it) — not by `messageId`, which is a hash of the content that
the same text days later, or another person's SMS, can share. An SMS from a sender that
is not a phone number (an operator's notice, `TELKOMSEL`) is stored and acknowledged
without a reply, so the app stops re-posting it. `system:ping` tells us the hub phone is
alive; events we do not use (data SMS, MMS) are acknowledged without effect.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from bot.channels.android_gateway import (
    EVENT_STATUS,
    failure_means_expired,
    inbound_key,
    verify_signature,
)
from bot.phones import InvalidPhoneNumber, normalize_phone
from bot.pipeline.inbound import accept_inbound_message
from bot.services import hub, inbox, outbox
from bot.storage import transaction, utcnow
from bot.web.db import get_db, get_redis
from bot.web.guards import Malformed, parse_json, wrong_types

#: Longer than any phone number as people write it, or any operator's sender name (GSM
#: alphanumeric senders have at most 11 characters): not an address at all.
MAX_SENDER_LENGTH = 32

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
        db = get_db()
        with transaction(db):
            hub.record_seen(db, str(event.get("deviceId") or hub.POLLED), now)
        return jsonify(status="ok")
    # Other events (data SMS, MMS) are not ours to handle; 200 so the phone stops retrying.
    return jsonify(status="ignored", event=kind)


def _received(payload: dict, event: dict, now):
    message_id, text = payload.get("messageId"), payload.get("message")
    sender = payload.get("sender") or payload.get("phoneNumber")
    if not message_id or not isinstance(text, str) or not sender or not isinstance(sender, str):
        return _bad_request("sms:received needs messageId, message and sender (or phoneNumber)")
    if len(sender) > MAX_SENDER_LENGTH:
        return _bad_request("sender is not an address")
    try:
        address = normalize_phone(str(sender))
    except InvalidPhoneNumber:
        address = None
    key = inbound_key(address or sender, text, payload.get("receivedAt"), message_id,
                      event.get("id"))
    db = get_db()
    if address is None:
        # An operator's notice or a short code: kept for the record, never answered (a
        # reply could not reach it), and 200 so the phone stops re-posting it.
        with transaction(db):
            _, stored = inbox.store_inbound(
                db, channel="android_sms", provider_id=key, phone=sender, body=text,
                raw=event, now=now, status="ignored")
        return jsonify(status="stored" if stored is not None else "duplicate", reply=False)
    _, is_new = accept_inbound_message(
        db, current_app.config, get_redis(), channel="android_sms",
        provider_id=key, phone=address, body=text, raw=event, now=now,
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
            row = db.execute("SELECT expires_at FROM outbox WHERE channel = 'android_sms' "
                             "AND provider_id = ?", [str(message_id)]).fetchone()
            if kind == "sms:failed" and row and failure_means_expired(error, row[0], now):
                # The phone dropped it at its TTL: too late to be useful, not a failure.
                outbox.mark_provider_expired(db, "android_sms", str(message_id), error, now)
            else:
                outbox.apply_provider_status(db, "android_sms", str(message_id), status,
                                             error, now)
        hub.record_seen(db, str(event.get("deviceId") or hub.POLLED), now)
    return jsonify(status="ok")
