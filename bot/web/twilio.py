"""Twilio webhooks: inbound SMS/WhatsApp (`/twilio/messages`) and status callbacks.

Both verify `X-Twilio-Signature` against the URL Twilio called (`PUBLIC_BASE_URL` behind
a proxy) and every POST parameter, never a whitelist: Twilio adds parameters without
notice. A forged request gets 403 and nothing is stored.
"""

from __future__ import annotations

import hmac
import json
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from bot.phones import InvalidPhoneNumber, normalize_phone, parse_bsuid
from bot.pipeline.inbound import accept_inbound_message
from bot.services import outbox
from bot.sms import sms_body
from bot.storage import transaction, utcnow
from bot.web.db import get_db, get_redis
from bot.web.guards import ascii_header

bp = Blueprint("twilio", __name__, url_prefix="/twilio")


def signed_url() -> str:
    """The URL Twilio signed: our public base URL when behind a proxy, else the request's."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    query = request.query_string.decode()
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def _plain_url(config, env: dict) -> str | None:
    """The request's URL straight from the WSGI environ (cheap), when no proxy base is set:
    for an ASCII path it is what `request.url` spells with more work."""
    if config.get("PUBLIC_BASE_URL"):
        return None
    host = env.get("HTTP_HOST")
    if not host:
        return None
    query = env.get("QUERY_STRING")
    return (f"{env['wsgi.url_scheme']}://{host}{env.get('SCRIPT_NAME', '')}{env.get('PATH_INFO', '')}"
            + (f"?{query}" if query else ""))


def _require_signature() -> None:
    config, env = current_app.config, request.environ
    validator = RequestValidator(config["TWILIO_AUTH_TOKEN"])
    # Headers that are not short printable ASCII cannot be Twilio's (and would make
    # compare_digest raise): refused like any wrong signature.
    signature = ascii_header("X-Twilio-Signature", 128) or ""
    settings = ascii_header("X-Twilio-Webhooks-Signature-Settings")
    if settings is None and "X-Twilio-Webhooks-Signature-Settings" in request.headers:
        abort(403)
    algorithm = get_signature_algorithm(settings)
    if algorithm.upper() not in (HMAC_SHA1, HMAC_SHA256):
        abort(403)
    if not signature:
        abort(403)
    form = request.form
    # The common case first: one HMAC over the URL as the environ spells it. Then the URL
    # as Flask rebuilds it, and `validate`, which also tries it with and without an
    # explicit port, as Twilio's own backends differ.
    plain = _plain_url(config, env)
    if plain is not None and hmac.compare_digest(
            validator.compute_signature(plain, form, algorithm), signature):
        return
    url = signed_url()
    if (url != plain and hmac.compare_digest(validator.compute_signature(url, form, algorithm),
                                             signature)) or validator.validate(url, form, signature,
                                                                               algorithm):
        return
    abort(403)


def _twiml(text: str | None) -> Response:
    """TwiML with one <Message> (or none), as `MessagingResponse` would write it."""
    if not text:
        return Response(str(MessagingResponse()), mimetype="text/xml")
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}'
            "</Message></Response>")
    return Response(body, mimetype="text/xml")


@bp.post("/messages")
def inbound_message():
    """An SMS or WhatsApp message from Twilio; the reply goes back as TwiML."""
    _require_signature()
    form = request.form
    sid, sender = form.get("MessageSid"), form.get("From")
    if not sid or not sender:
        abort(400, "MessageSid and From are required")
    channel = "twilio_whatsapp" if sender.lower().startswith("whatsapp:") else "twilio_sms"
    # A WhatsApp user with a username may come as a BSUID (`whatsapp:ID.1502…`) instead of
    # a number, or with both (`ExternalUserId`). The BSUID is kept as sent; a number is
    # never made up from it.
    bsuid = parse_bsuid(form.get("ExternalUserId")) if channel == "twilio_whatsapp" else None
    phone = parse_bsuid(sender) if channel == "twilio_whatsapp" else None
    bsuid = bsuid or phone
    if phone is None:
        try:
            phone = normalize_phone(sender)
        except InvalidPhoneNumber:
            abort(400, "From is not a phone number")
    raw = {key: values if len(values) > 1 else values[0] for key, values in form.lists()}
    response, _ = accept_inbound_message(
        get_db(), current_app.config, get_redis(), channel=channel, provider_id=sid, phone=phone,
        body=form.get("Body", ""), raw=raw, now=utcnow(), reply_inline=True, bsuid=bsuid,
    )
    if response is None or response.reply is None:
        # A repeat of a message we already answered, or one left for the sweep (whose
        # reply then goes out through the REST API): an empty TwiML answer.
        return _twiml(None)
    text = sms_body(response.reply) if channel == "twilio_sms" else response.reply
    return _twiml(text)


@bp.post("/status")
def status_callback():
    """Delivery status for a message we sent; a status never moves backwards."""
    _require_signature()
    form = request.form
    sid, status = form.get("MessageSid") or form.get("SmsSid"), form.get("MessageStatus")
    if not sid or not status:
        abort(400, "MessageSid and MessageStatus are required")
    recipient = form.get("To", "")
    channel = "twilio_whatsapp" if recipient.lower().startswith("whatsapp:") else "twilio_sms"
    error_code = form.get("ErrorCode") or None
    db = get_db()
    now = utcnow()
    with transaction(db):
        if outbox.record_delivery_event(db, channel, sid, status.lower(), error_code,
                                        json.dumps(form.to_dict()), now):
            outbox.apply_provider_status(db, channel, sid, status, error_code, now)
            outbox.apply_provider_opt_out(db, channel, sid, recipient, error_code, now)
    return Response(status=204)
