"""`BAYAR kode` then `YA`: a coordinator reports from their phone that they paid a withdrawal.

Only contacts marked as coordinators may use it (anyone else hears that it is for
coordinators only). `BAYAR` alone lists the withdrawals waiting to be paid by hand.
Payouts through Xendit settle by themselves and are not marked paid by text.

Maker-checker (PAYOUT_SECOND_APPROVAL_ABOVE): a manual payout above the threshold is
recorded paid only when two different coordinators have said YA to it — the first hears
that it waits and the others are asked; an automatic (Xendit) one waits unsubmitted
until a coordinator approves it with `BAYAR kode` and YA.
"""

from __future__ import annotations

from bot.services import contacts, payouts
from bot.services.coordinators import record_action
from bot.services.payouts import IllegalPayoutTransition, PayoutHeld, SecondApprovalNeeded
from conversations.dialog import END, SAME, Flow, Handler, Turn, match_command
from conversations.i18n import format_money
from conversations.news.payouts import payout_news

#: How many waiting payouts `BAYAR` alone lists (one SMS).
LISTED = 3


CONFIRM = "confirm"


def pay(turn: Turn) -> str:
    """`BAYAR kode`: show what the coordinator is about to record and ask for YA; or,
    bare, list what is waiting. A typo'd code must not tell the wrong seller "paid"."""
    code = turn.command.get("payout")
    if not code:
        return _list_waiting(turn)
    payout = payouts.find_payout(turn.db, str(code))
    if payout is None:
        turn.reply("pay.not_found", code=str(code).upper())
        return END
    waiting = payouts.awaiting_approval(payout, turn.db)
    if payout["provider"] in payouts.AUTOMATIC_PROVIDERS and not waiting:
        turn.reply("pay.automatic", code=payout["code"])
        return END
    if waiting and turn.contact["phone"] in payouts.approvers(turn.db, payout["id"]):
        turn.reply("pay.wait_second", code=payout["code"])  # the checker must be someone else
        return END
    if payout["status"] == "succeeded":
        turn.reply("pay.already_paid", code=payout["code"])
        return END
    if payout["status"] != "pending":
        turn.reply("pay.closed", code=payout["code"])
        return END
    if payout["held_for_payments"]:
        turn.reply("pay.held", code=payout["code"])
        return END
    turn.data["payout"] = payout["code"]
    automatic = payout["provider"] in payouts.AUTOMATIC_PROVIDERS
    turn.reply("pay.confirm_approve" if automatic else "pay.confirm", code=payout["code"],
               amount=format_money(payout["amount"], turn.locale), channel=payout["channel"],
               number=payout["account_number"], holder=payout["account_holder_name"])
    return CONFIRM


def confirm(turn: Turn) -> str:
    """`YA` after `BAYAR kode`: record the payout as paid and tell the seller; or, for a
    payout that needs a second coordinator, record this one's word and ask the others."""
    payout = payouts.find_payout(turn.db, turn.data["payout"])
    if payout["provider"] in payouts.AUTOMATIC_PROVIDERS:
        return _approve_submission(turn, payout)
    try:
        change = payouts.mark_paid(turn.db, payout["id"], turn.contact["phone"], turn.now, source="sms",
                                   detail={"coordinator": turn.contact["phone"]})
    except IllegalPayoutTransition:
        turn.reply("pay.closed", code=payout["code"])
        return END
    except PayoutHeld:
        turn.reply("pay.held", code=payout["code"])
        return END
    except SecondApprovalNeeded:
        _ask_other_coordinators(turn, payout)
        turn.reply("pay.needs_second", code=payout["code"],
                   amount=format_money(payout["amount"], turn.locale))
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


def _approve_submission(turn: Turn, payout: dict) -> str:
    if payouts.approve_submission(turn.db, payout["id"], turn.contact["phone"], turn.now, source="sms"):
        record_action(turn.db, turn.contact["phone"], "payout.approved", {"payout": payout["code"]},
                      turn.now, turn.contact["id"])
        turn.handover.payout_ids.append(payout["id"])
        turn.reply("pay.approved", code=payout["code"], amount=format_money(payout["amount"], turn.locale))
    else:
        turn.reply("pay.automatic", code=payout["code"])
    return END


def _ask_other_coordinators(turn: Turn, payout: dict) -> None:
    """Ask every other coordinator who can approve payouts for the second word."""
    record_action(turn.db, turn.contact["phone"], "payout.approval_requested", {"payout": payout["code"]},
                  turn.now, turn.contact["id"])
    for coordinator in payouts.payout_approvers(turn.db):
        if coordinator["phone"] != turn.contact["phone"]:
            turn.notify(coordinator, "payout.approval_request", code=payout["code"],
                        amount=format_money(payout["amount"]), channel=payout["channel"],
                        number=payout["account_number"], holder=payout["account_holder_name"])


def ask_again(turn: Turn) -> str:
    """Anything but YA (or BATAL, which the engine handles) while confirming."""
    turn.reply("pay.confirm_again", code=turn.data["payout"])
    return SAME


def _list_waiting(turn: Turn) -> str:
    waiting = [p for p in payouts.list_payouts(turn.db, ("pending",))
               if p["provider"] not in payouts.AUTOMATIC_PROVIDERS and not p["held_for_payments"]]
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
    entry={"pay": Handler("pay", match_command("pay"), pay, (END, CONFIRM))},
    # Bare YA confirms (it is the sellers' accept keyword too; inside this question the
    # question wins). `YA P7` is an order code, not a confirmation.
    states={CONFIRM: (Handler("yes", lambda turn: turn.command.get("command") == "accept"
                              and "order" not in turn.command, confirm, (END,)),)},
    fallback=Handler("ask_again", lambda turn: True, ask_again, (SAME,)),
    coordinator_only=True,
)
