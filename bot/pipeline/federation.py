"""The federation's order flow, one transaction per message (issue 18, DECISIONS 300-319).

The relay (`bot.relay`) hands each message it consumed to one of these and acknowledges
it to JetStream after the commit. Each applies the message and queues the news it causes
(a hub's seller asked, a city buyer told) in that same transaction, so a crash before the
commit leaves nothing and a redelivery after it changes nothing (the message id is
recorded in the transaction). The outbox rows returned are for the workers: the relay
hands them to RQ when it can, and the sweep finds them otherwise.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlite_utils

from bot.services import federation
from bot.services.handover import Handover
from bot.storage import transaction
from conversations.news.orders import (
    hub_answer_notices,
    order_notices,
    queue_notices,
    refused_payment_notices,
)
from conversations.news.payouts import release_and_tell


def apply_hub_event(db: sqlite_utils.Database, settings: dict, message: dict, *, from_hub: str,
                    now: datetime, media_root: Path | None = None) -> tuple[str, Handover]:
    """At the city: one hub event (a listing, seller, story or photo, or an answer about a
    city order; photos' files under `media_root`)."""
    with transaction(db):
        outcome, change = federation.apply_event_change(db, message, from_hub=from_hub, now=now,
                                                        settings=settings, media_root=media_root)
        data = message.get("data") or {}
        if outcome == "applied" and message.get("entity") == "payment" and data.get("status") == "refused":
            # Money recorded at the city that is in no ledger: a person must act (DECISIONS 393).
            notices = refused_payment_notices(db, settings, data.get("payment"))
            return outcome, Handover(outbox_ids=queue_notices(db, settings, notices, now))
        if change is None:
            return outcome, Handover()
        notices = hub_answer_notices(db, settings, change, data)
        return outcome, Handover(outbox_ids=queue_notices(db, settings, notices, now),
                                 relay_ids=list(change.webhook_ids))


def take_city_request(db: sqlite_utils.Database, settings: dict, message: dict, *, hub_id: str,
                      now: datetime) -> tuple[str, Handover]:
    """At a hub: one city request (an order, a buyer's cancel, receipt or payment)."""
    with transaction(db):
        outcome, change = federation.take_request(db, message, hub_id=hub_id, now=now,
                                                  settings=settings)
        if message.get("kind") == "order.payment" and outcome == "applied":
            # A city buyer's money reached the ledger: withdrawals held for it may go ahead.
            return outcome, release_and_tell(db, settings, now)
        if change is None:
            return outcome, Handover()
        notices = order_notices(db, settings, change)
        return outcome, Handover(outbox_ids=queue_notices(db, settings, notices, now))
