"""`BAYAR kode`: a coordinator reports from their phone that they paid a withdrawal.

Only contacts marked as coordinators may use it (anyone else hears that it is for
coordinators only). `BAYAR` alone lists the withdrawals waiting to be paid by hand.
Payouts through Xendit settle by themselves and are not marked paid by text.
"""

from __future__ import annotations

from bot.services import contacts, payouts
from bot.services.coordinators import record_action
from bot.services.payouts import IllegalPayoutTransition
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command
from conversations.i18n import format_money
from conversations.payout_news import payout_news

#: How many waiting payouts `BAYAR` alone lists (one SMS).
LISTED = 3


def pay(turn: Turn) -> str:
    """Mark a manual payout paid, tell the seller; or list what is waiting."""
    code = turn.command.get("payout")
    if not code:
        return _list_waiting(turn)
    payout = payouts.find_payout(turn.db, str(code))
    if payout is None:
        turn.reply("pay.not_found", code=str(code).upper())
        return END
    if payout["provider"] in payouts.AUTOMATIC_PROVIDERS:
        turn.reply("pay.automatic", code=payout["code"])
        return END
    try:
        change = payouts.apply_payout_event(
            turn.db, payout["id"], "succeeded", turn.now, source="sms",
            detail={"coordinator": turn.contact["phone"]})
    except IllegalPayoutTransition:
        turn.reply("pay.closed", code=payout["code"])
        return END
    if not change.applied:
        turn.reply("pay.already_paid", code=payout["code"])
        return END
    record_action(turn.db, turn.contact["phone"], "payout.paid", {"payout": payout["code"]},
                  turn.now, turn.contact["id"])
    seller = contacts.get_contact(turn.db, payout["seller_contact_id"])
    news = payout_news(change)
    if news is not None:
        turn.notify(seller, news[0], **news[1])
    turn.reply("pay.done", code=payout["code"], amount=format_money(payout["amount"], turn.locale),
               name=seller.get("name") or payout["account_holder_name"])
    return END


def _list_waiting(turn: Turn) -> str:
    waiting = [p for p in payouts.list_payouts(turn.db, ("pending",))
               if p["provider"] not in payouts.AUTOMATIC_PROVIDERS]
    if not waiting:
        turn.reply("pay.none_pending")
        return END
    items = "; ".join(
        f"{p['code']} {p['seller_name'] or p['account_holder_name']} "
        f"{format_money(p['amount'], turn.locale)}" for p in waiting[:LISTED])
    turn.reply("pay.pending_list", count=len(waiting), items=items)
    return END


PAYOUT_APPROVAL = Flow(
    name="payout_approval",
    entry={"pay": Handler("pay", match_command("pay"), pay, (END,))},
    states={},
    fallback=NO_DIALOG,
    coordinator_only=True,
)
