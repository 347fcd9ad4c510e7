"""What a seller is told when their payout changes: one place decides the text, whether
the news came from a coordinator's SMS (a dialog), the CLI, a job or a Xendit callback.

Only outcomes that matter to the seller are told: the money arrived, or it came back to
their balance (failed, cancelled, reversed) and why, in plain words. Steps in between
(accepted, sent to the bank) are not worth an SMS.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.services import contacts, payouts
from bot.services.handover import Handover
from bot.services.payout_accounts import mask_number
from bot.services.payouts import AUTOMATIC_PROVIDERS, PayoutChange, failure_kind, payout_approvers
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


def notify_released(db: sqlite_utils.Database, settings: dict, payout: dict, now: datetime) -> list[int]:
    """A payout held for buyers' payments goes ahead: the seller hears it is on its way;
    coordinators hear what they must do (pay a manual one, approve one that needs it).
    Returns the outbox ids (queued in the caller's transaction)."""
    seller = contacts.get_contact(db, payout["seller_contact_id"])
    values = {"code": payout["code"], "amount": format_money(payout["amount"]), "channel": payout["channel"]}
    ids = [queue_notification(db, settings, seller, "withdraw.released", now, **values)]
    automatic = payout["provider"] in AUTOMATIC_PROVIDERS
    if automatic and not payout["approval_required"]:
        return ids
    notice = "payout.approval_needed" if automatic else "payout.new_request"
    for coordinator in payout_approvers(db):
        ids.append(queue_notification(db, settings, coordinator, notice, now, **values,
                                      number=payout["account_number"], holder=payout["account_holder_name"]))
    return ids


def release_and_tell(db: sqlite_utils.Database, settings: dict, now: datetime) -> Handover:
    """Let payouts held for buyers' payments (PAYOUT_ADVANCE_LIMIT) go ahead as far as the
    payments allow, with their news, in the caller's transaction; returns what to hand
    over (the messages, and the automatic payouts now due for submission)."""
    handover = Handover()
    for payout in payouts.release_held(db, settings, now):
        handover.outbox_ids += notify_released(db, settings, payout, now)
        if payout["next_submit_at"]:
            handover.payout_ids.append(payout["id"])
    return handover
