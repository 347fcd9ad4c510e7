"""Reminders and expiry of pending orders, on the clock the caller gives.

A pending order gets one reminder to its seller at `remind_at` (ORDER_REMINDER_MINUTES
after it was placed) and, still unanswered at `expires_at` (ORDER_EXPIRY_MINUTES), it
expires: the reservation goes back to the listing and both sides are told. The periodic
sweep (`bot.pipeline.sweep.sweep`, every 30 seconds) calls `run_order_timers`; tests call it
with their own clock.

Each order is handled in its own transaction, together with its messages and relays. A
seller answering at the same moment either wins (the expiry is then an illegal
transition, skipped) or comes second (and is told the order expired).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from bot.services import orders
from bot.services.handover import Handover
from bot.services.orders import IllegalOrderTransition
from bot.storage import transaction
from conversations.news.orders import order_notices, queue_notices, reminder_notice, unanswered_notices

log = logging.getLogger(__name__)


@dataclass
class TimerReport:
    """What one run did, and the outbox rows and webhook relays to hand to the workers."""

    reminded: int = 0
    expired: int = 0
    unanswered: int = 0  # at a city: buyers told their village has not answered in time
    handover: Handover = field(default_factory=Handover)


def run_order_timers(db: sqlite_utils.Database, settings: dict, now: datetime) -> TimerReport:
    """Send the reminders and expire the orders that are due at `now`."""
    report = TimerReport()
    # One order that cannot be handled must not stop the others, nor the rest of the
    # sweep that calls this: it is logged and tried again next sweep.
    for order_id in orders.due_reminders(db, now):
        try:
            with transaction(db):
                if not orders.mark_reminded(db, order_id, now):
                    continue  # answered, or reminded by a sweep running alongside
                notice = reminder_notice(db, settings, orders.get_order(db, order_id))
                report.handover.outbox_ids += queue_notices(db, settings, [notice], now)
                report.reminded += 1
        except Exception:
            log.exception("reminder for order %s failed", order_id)
    for order_id in orders.due_expiries(db, now):
        try:
            with transaction(db):
                change = orders.apply_order_event(db, order_id, "expire", now, settings=settings,
                                                  source="timer")
                report.handover.outbox_ids += queue_notices(db, settings, order_notices(db, settings, change),
                                                            now)
        except IllegalOrderTransition:
            continue  # the seller answered a moment ago
        except Exception:
            log.exception("expiry of order %s failed", order_id)
            continue
        report.expired += 1
        report.handover.relay_ids += change.webhook_ids
    # At a city, a request its hub did not take in time: the buyer is told once; the order
    # stays `requested`, since only the hub knows whether it took it (DECISIONS 422).
    for order_id in orders.due_unanswered(db, now):
        try:
            with transaction(db):
                if not orders.mark_told_unanswered(db, order_id, now):
                    continue  # the hub answered a moment ago
                notices = unanswered_notices(db, settings, orders.get_order(db, order_id))
                report.handover.outbox_ids += queue_notices(db, settings, notices, now)
                report.unanswered += 1
        except Exception:
            log.exception("telling the buyer of unanswered order %s failed", order_id)
    return report
