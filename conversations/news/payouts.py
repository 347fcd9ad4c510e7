"""What a seller is told when their payout changes: one place decides the text, whether
the news came from a coordinator's SMS (a dialog), the CLI, a job or a Xendit callback.

Only outcomes that matter to the seller are told: the money arrived, or it came back to
their balance (failed, cancelled, reversed) and why, in plain words. Steps in between
(accepted, sent to the bank) are not worth an SMS.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.services import contacts
from bot.services.payout_accounts import mask_number
from bot.services.payouts import PayoutChange, failure_kind
from conversations.i18n import format_money
from conversations.news.notify import queue_notification

_FAILED_REPLY = {
    "account": "payout.failed_account",
    "rejected": "payout.failed_rejected",
    "ours": "payout.failed_ours",
}


def payout_news(change: PayoutChange) -> tuple[str, dict] | None:
    """(reply id, values) to tell the seller about `change`, or None if it is not news."""
    if not change.applied:
        return None
    payout = change.payout
    values = {"amount": format_money(payout["amount"]), "code": payout["code"],
              "channel": payout["channel"]}
    status = change.to_status
    if status == "succeeded":
        ref = payout["provider_reference"] or payout["provider_payout_id"] or payout["code"]
        return "payout.succeeded", {**values, "number": mask_number(payout["account_number"]),
                                    "ref": ref}
    if status == "failed":
        return _FAILED_REPLY[failure_kind(payout["failure_code"])], values
    if status == "cancelled":
        return "payout.cancelled", values
    if status == "reversed":
        return "payout.reversed", values
    return None


def notify_payout_change(db: sqlite_utils.Database, settings: dict, change: PayoutChange,
                         now: datetime) -> int | None:
    """Queue the seller's message about `change` (in the caller's transaction, so the
    message exists exactly when the change does). Returns the outbox id, if any."""
    news = payout_news(change)
    if news is None:
        return None
    reply_id, values = news
    seller = contacts.get_contact(db, change.payout["seller_contact_id"])
    return queue_notification(db, settings, seller, reply_id, now, **values)
