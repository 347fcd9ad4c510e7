"""Twilio outbound SMS (registered alphanumeric sender or Messaging Service)."""

from __future__ import annotations

from bot.channels.base import PermanentSendError, SendResult
from bot.channels.twilio_common import create_message
from bot.sms import sms_body


def send_message(config: dict, row: dict) -> SendResult:
    """Send one outbox row as SMS through Twilio."""
    params = {"to": row["phone"], "body": sms_body(row["body"])}
    if config.get("TWILIO_MESSAGING_SERVICE_SID"):
        params["messaging_service_sid"] = config["TWILIO_MESSAGING_SERVICE_SID"]
    elif config.get("TWILIO_SMS_FROM"):
        params["from_"] = config["TWILIO_SMS_FROM"]
    else:
        raise PermanentSendError("not_configured", "TWILIO_SMS_FROM unset")
    status_callback = _status_callback(config)
    if status_callback:
        params["status_callback"] = status_callback
    sid, status = create_message(config, **params)
    return SendResult(sid, status)


def _status_callback(config: dict) -> str | None:
    base = config.get("PUBLIC_BASE_URL")
    return f"{base.rstrip('/')}/twilio/status" if base else None
