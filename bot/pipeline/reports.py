"""The weekly seller summary (`LAPORAN MINGGUAN YA`), sent from the sweep.

Each subscription is due on Monday at `bot.services.reports.WEEKLY_AT` in the seller's
own zone. The sweep takes the due ones (an indexed range, nobody else is looked at),
queues each seller's summary and moves the subscription to the next Monday, in one
transaction per batch. A summary that falls in the quiet hours (the sweep was down and
caught up at night, or QUIET_HOURS covers the morning) waits for them to end. A seller
who opted out (BERHENTI) or is no longer a seller gets nothing that week; the
subscription stays for when they come back.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.services import reports
from bot.services.handover import Handover
from bot.services.schedule import next_send_time, parse_quiet_hours, timezone_of
from bot.storage import transaction
from conversations.news.reports import queue_weekly_report

#: Subscriptions handled per transaction (the write lock is held for one batch at a time).
BATCH = 200


def send_weekly_reports(db: sqlite_utils.Database, config: dict, now: datetime) -> Handover:
    """Queue every due weekly summary; returns the rows due now (the others wait for
    the end of quiet hours, and a later sweep hands them over)."""
    handover = Handover()
    quiet = parse_quiet_hours(config.get("QUIET_HOURS"))
    default_zone = config.get("DEFAULT_TIMEZONE") or "Asia/Jakarta"
    while True:
        with transaction(db):
            due = reports.due_weekly(db, now, BATCH)
            for contact in due:
                zone = timezone_of(db, contact, default_zone)
                send = contact["role"] == "seller" and not contact["opted_out"]
                if send:
                    at = next_send_time(now, zone, quiet)
                    outbox_id = queue_weekly_report(db, config, contact, now, not_before=at)
                    if at <= now:
                        handover.outbox_ids.append(outbox_id)
                reports.mark_weekly_done(db, contact["id"], now, zone, sent=send)
        if len(due) < BATCH:
            return handover
