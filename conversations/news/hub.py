"""What coordinators hear about the hub phone (silent, battery low), rendered in their
language and zone and queued on a channel that does not go through that phone."""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.services import outbox
from bot.services.schedule import timezone_of
from conversations.i18n import format_local_time
from conversations.news.notify import recipient_locale
from conversations.replies import render

ALERT_REPLY = {"hub_silent": "hub.silent", "hub_battery": "hub.battery_low"}


def queue_hub_alert(db: sqlite_utils.Database, settings: dict, coordinator: dict, kind: str,
                    values: dict, channel: str, now: datetime) -> int:
    """Write one alert about the hub phone to `coordinator` on `channel`; return its id."""
    shown = dict(values)
    if "since" in shown:
        zone = timezone_of(db, coordinator, settings.get("DEFAULT_TIMEZONE") or "Asia/Jakarta")
        shown["since"] = format_local_time(shown["since"], zone)
    reply_id = ALERT_REPLY[kind]
    body = render(reply_id, recipient_locale(coordinator, settings), **shown)
    return outbox.queue_message(
        db, phone=coordinator["phone"], channel=channel, body=body, kind="notification",
        now=now, contact_id=coordinator["id"], reply_id=reply_id)
