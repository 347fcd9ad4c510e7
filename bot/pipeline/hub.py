"""Watching the hub phone from the sweep: poll `GET /health` every
`ANDROID_GATEWAY_HEALTH_SECONDS`, and tell coordinators — over WhatsApp or Twilio SMS,
never over the phone that is in trouble — once per incident when it has been silent for
`HUB_SILENT_MINUTES` or its battery is low and not charging.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlite_utils

from bot.channels import SendError, android_gateway
from bot.phones import is_bsuid
from bot.services import contacts, hub
from bot.storage import transaction
from conversations.news.hub import queue_hub_alert

log = logging.getLogger(__name__)

def poll_health(db: sqlite_utils.Database, config: dict, now: datetime) -> None:
    """Ask the phone how it is, if it is time to; record the answer or the silence."""
    if not config.get("ANDROID_GATEWAY_URL"):
        return
    if not hub.poll_due(db, int(config.get("ANDROID_GATEWAY_HEALTH_SECONDS") or 0), now):
        return
    try:
        status, data = android_gateway.fetch_health(config)
    except SendError as exc:
        with transaction(db):
            hub.record_unreachable(db, hub.POLLED, str(exc), now)
        return
    with transaction(db):
        if status in (200, 503):  # 503: it answered, and says `fail`
            hub.record_seen(db, hub.POLLED, now, health=android_gateway.read_health(data),
                            polled=True, raw=data)
        else:
            hub.record_unreachable(db, hub.POLLED, f"http_{status}", now)


def alert_channel(contact: dict, config: dict) -> str | None:
    """A way to reach a coordinator that does not go through the hub phone."""
    blocked = contacts.blocked_channels(contact)
    whatsapp_ok = config.get("TWILIO_ACCOUNT_SID") and "twilio_whatsapp" not in blocked
    if whatsapp_ok and (contact.get("last_whatsapp_at") or contact.get("bsuid")):
        return "twilio_whatsapp"
    if (config.get("TWILIO_ACCOUNT_SID") and not is_bsuid(contact.get("phone"))
            and (config.get("TWILIO_SMS_FROM") or config.get("TWILIO_MESSAGING_SERVICE_SID"))
            and "twilio_sms" not in blocked):
        return "twilio_sms"
    return None


def watch_hub(db: sqlite_utils.Database, config: dict, now: datetime) -> list[int]:
    """Poll, open/close incidents, queue the alerts; return the alert outbox ids."""
    poll_health(db, config, now)
    queued: list[int] = []
    with transaction(db):
        for kind, values in hub.new_incidents(db, config, now):
            # Whole first: the loop writes (alerts) on this connection (DECISIONS 366).
            for coordinator in list(db.query("SELECT * FROM contacts WHERE is_coordinator = 1 ORDER BY id")):
                channel = alert_channel(coordinator, config)
                if channel is None:
                    log.warning("hub incident %s: coordinator %s has no way around the hub phone",
                                kind, coordinator["id"])
                    continue
                queued.append(queue_hub_alert(db, config, coordinator, kind, values, channel, now))
    return queued
