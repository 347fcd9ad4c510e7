"""Twilio WhatsApp: free text inside the 24-hour window, the approved template outside it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from bot.channels.base import PermanentSendError, SendResult
from bot.channels.twilio_common import create_message
from bot.storage import from_db_time, utcnow

WHATSAPP_WINDOW = timedelta(hours=24)


def inside_session_window(contact: dict | None, now: datetime) -> bool:
    """True while free text is allowed: within 24 h of the contact's last WhatsApp message."""
    last = from_db_time((contact or {}).get("last_whatsapp_at"))
    return last is not None and now - last < WHATSAPP_WINDOW


def send_message(config: dict, row: dict, contact: dict | None, now=None) -> SendResult:
    """Send one outbox row over WhatsApp, choosing free text or the template."""
    now = now or utcnow()
    sender = config.get("TWILIO_WHATSAPP_FROM")
    params: dict = {"to": f"whatsapp:{row['phone']}"}
    details: dict = {}
    if inside_session_window(contact, now):
        if not sender:
            raise PermanentSendError("not_configured", "TWILIO_WHATSAPP_FROM unset")
        params.update(from_=f"whatsapp:{sender.removeprefix('whatsapp:')}", body=row["body"])
    else:
        template = config.get("TWILIO_WHATSAPP_TEMPLATE_SID")
        service = config.get("TWILIO_MESSAGING_SERVICE_SID")
        if not template or not service:
            # Meta rejects free text outside the window (63016); without an approved
            # template there is nothing we may send.
            raise PermanentSendError("63016", "outside 24 h window and no template configured")
        variables = json.dumps({"1": row["body"]}, ensure_ascii=False)
        params.update(messaging_service_sid=service, content_sid=template,
                      content_variables=variables)
        details = {"template_sid": template, "template_variables": variables}
    base = config.get("PUBLIC_BASE_URL")
    if base:
        params["status_callback"] = f"{base.rstrip('/')}/twilio/status"
    sid, status = create_message(config, **params)
    return SendResult(sid, status, details)
