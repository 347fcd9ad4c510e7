"""`TARIK jumlah` / `TARIK SEMUA`: withdraw to the seller's payout account, with the PIN.

TARIK -> (how much? if no amount) -> "Tarik Rp500.000 ke DANA 0812...7890? Balas dengan
PIN" -> PIN -> the payout is created and the money moves to "in transit". The balance
and the limits are checked when asking and again, inside the write transaction, when the
payout is created: two TARIK at the same moment cannot together take more than the
balance. A seller without a PIN creates one on the way (PIN on first withdrawal).
"""

from __future__ import annotations

from bot.services import ledger, payout_accounts, payouts, pins
from bot.services.payouts import WithdrawalRefused
from conversations.dialog import END, SAME, Flow, Handler, Turn, match_any_text, match_command
from conversations.flows.selling import _bare
from conversations.i18n import format_money
from conversations.keywords import ALL_WORDS
from conversations.money import (
    account_values,
    ask_for_pin,
    lock_time,
    pin_states,
    reask_pin,
)
from conversations.numbers import parse_money


def _available(turn: Turn) -> int:
    return ledger.account_balance(turn.db, "available", turn.contact["id"])


def _refuse(turn: Turn, refusal: WithdrawalRefused) -> str:
    """Say why a withdrawal cannot happen, with the numbers that matter."""
    values = {name: format_money(amount, turn.locale) for name, amount in refusal.values.items()}
    reply_id = {"nothing_to_withdraw": "withdraw.nothing", "below_minimum": "withdraw.below_minimum",
                "insufficient": "withdraw.insufficient",
                "daily_limit": "withdraw.daily_limit"}[refusal.reason]
    turn.reply(reply_id, **values)
    return END


def start_withdrawal(turn: Turn) -> str:
    """`TARIK ...`: needs an account and no PIN lock; then the amount, then the PIN."""
    contact_id = turn.contact["id"]
    if payout_accounts.get_account(turn.db, contact_id) is None:
        turn.reply("withdraw.no_account")
        return END
    state = pins.pin_state(turn.db, contact_id, turn.now)
    if state.locked_until is not None:
        turn.reply("pin.still_locked", until=lock_time(turn, state.locked_until))
        return END
    if turn.command.get("all"):
        return _confirm(turn, _available(turn))
    if "amount" in turn.command:
        return _confirm(turn, int(turn.command["amount"]))
    if options := turn.command.get("amount_options"):
        # "TARIK dua ratus ribu": read back in digits; only a YA makes it the amount
        turn.data["amount_option"] = int(options[0])
        turn.reply("withdraw.confirm_words",
                   amount=format_money(turn.data["amount_option"], turn.locale))
        return "confirm_amount"
    turn.reply("withdraw.ask_amount", available=format_money(_available(turn), turn.locale))
    return "ask_amount"


def take_amount(turn: Turn) -> str:
    """An answer to "Berapa yang mau ditarik?": an amount (`500rb`) or SEMUA."""
    text = turn.text.strip().lower()
    if text in ALL_WORDS:
        return _confirm(turn, _available(turn))
    amount = parse_money(text)
    if amount is None or amount <= 0:
        turn.reply("withdraw.invalid_amount",
                   available=format_money(_available(turn), turn.locale))
        return "ask_amount"
    return _confirm(turn, amount)


def take_option(turn: Turn) -> str:
    """`YA` to "Tarik Rp200.000?": the amount read back in digits is the amount."""
    return _confirm(turn, turn.data.pop("amount_option"))


def refuse_option(turn: Turn) -> str:
    """`TIDAK` to the amount read back: ask for it plainly."""
    turn.data.pop("amount_option", None)
    turn.reply("withdraw.ask_amount", available=format_money(_available(turn), turn.locale))
    return "ask_amount"


def _confirm(turn: Turn, amount: int) -> str:
    """Check the amount now (the seller hears at once if it cannot work), then ask the PIN."""
    try:
        payouts.check_withdrawal(turn.db, turn.contact["id"], amount, settings=turn.settings,
                                 now=turn.now, timezone=turn.timezone)
    except WithdrawalRefused as refusal:
        return _refuse(turn, refusal)
    turn.data["amount"] = amount
    account = payout_accounts.get_account(turn.db, turn.contact["id"])
    values = account_values(account)
    has_pin = pins.pin_state(turn.db, turn.contact["id"], turn.now).has_pin
    return ask_for_pin(turn, "withdraw.confirm" if has_pin else "withdraw.create_pin", has_pin,
                       amount=format_money(amount, turn.locale), channel=values["channel"],
                       number=values["number"])


def create_payout(turn: Turn) -> str:
    """The PIN is right: create the payout (checking the balance again, under the write
    lock), tell coordinators when they pay by hand, or queue the submission."""
    contact_id = turn.contact["id"]
    account = payout_accounts.get_account(turn.db, contact_id)
    provider = turn.settings.get("PAYOUT_PROVIDER") or "manual"
    try:
        payout = payouts.request_withdrawal(
            turn.db, seller_contact_id=contact_id, amount=turn.data["amount"], account=account,
            provider=provider, settings=turn.settings, now=turn.now,
            timezone=turn.timezone)
    except WithdrawalRefused as refusal:
        return _refuse(turn, refusal)
    values = account_values(account)
    amount = format_money(payout["amount"], turn.locale)
    if payout["held_for_payments"]:
        # Set aside for the seller, but the cooperative's advance is used up: it goes
        # ahead when buyers pay (bot.pipeline.payouts.release_held_payouts).
        turn.reply("withdraw.held", amount=amount, code=payout["code"])
        for coordinator in payouts.payout_approvers(turn.db):
            turn.notify(coordinator, "payout.held_notice", code=payout["code"],
                        amount=format_money(payout["amount"]),
                        limit=format_money(payouts.advance_limit(turn.settings) or 0))
        return END
    turn.reply("withdraw.created", amount=amount, channel=values["channel"],
               number=values["number"], code=payout["code"])
    automatic = provider in payouts.AUTOMATIC_PROVIDERS
    if automatic and not payout["approval_required"]:
        turn.handover.payout_ids.append(payout["id"])
        return END
    # A coordinator pays it by hand, or (above PAYOUT_SECOND_APPROVAL_ABOVE) must approve
    # the automatic payout before it is submitted.
    notice = "payout.approval_needed" if automatic else "payout.new_request"
    for coordinator in payouts.payout_approvers(turn.db):
        turn.notify(coordinator, notice, code=payout["code"], amount=format_money(payout["amount"]),
                    channel=payout["channel"], number=payout["account_number"],
                    holder=payout["account_holder_name"])
    return END


def ask_again(turn: Turn) -> str:
    """A command that starts nothing, sent while a question is open: ask again."""
    if not reask_pin(turn):
        turn.reply("withdraw.invalid_amount", available=format_money(_available(turn), turn.locale))
    return SAME


WITHDRAWAL = Flow(
    name="withdrawal",
    entry={"withdraw": Handler("start", match_command("withdraw"), start_withdrawal,
                               (END, "ask_amount", "confirm_amount", "ask_pin", "create_pin"))},
    states={
        "ask_amount": (Handler("amount", match_any_text, take_amount,
                               (END, "ask_amount", "ask_pin", "create_pin")),),
        # a reading of number words waits for YA; digits typed instead are the amount
        "confirm_amount": (Handler("yes", _bare("accept"), take_option,
                                   (END, "ask_pin", "create_pin")),
                           Handler("no", _bare("decline"), refuse_option, ("ask_amount",)),
                           Handler("amount", match_any_text, take_amount,
                                   (END, "ask_amount", "ask_pin", "create_pin"))),
        **pin_states(create_payout),
    },
    fallback=Handler("ask_again", lambda turn: True, ask_again, (SAME,)),
    roles=("seller",),
    unregistered_reply="not_registered.seller",  # DECISIONS 454
)
