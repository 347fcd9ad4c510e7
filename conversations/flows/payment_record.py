"""`LUNAS kode jumlah` then `YA kode`: a coordinator records a buyer's payment for an order.

Only coordinators may use it. The order must have been received (that is when the buyer
owes it, DECISIONS 64). The amount is read by the project's amount parser; one that is
missing or can be read more than one way is asked for, never guessed. Before anything is
recorded the coordinator sees the order, the buyer and the amount in digits and answers
`YA kode`. Recording goes through `bot.services.payments` (the same rules as the CLI
and the orders API); a fully paid order says so and changes nothing. A recorded payment
lets withdrawals held by PAYOUT_ADVANCE_LIMIT go ahead at once, as the desk's does.
"""

from __future__ import annotations

from bot.services import orders, payments
from bot.services.coordinators import record_action
from bot.services.payments import PaymentRefused
from conversations.dialog import END, SAME, Flow, Handler, Turn, match_any_text, match_command
from conversations.i18n import format_money
from conversations.news.payouts import release_and_tell
from conversations.numbers import parse_money

ASK_AMOUNT = "ask_amount"
CONFIRM = "confirm"


def start(turn: Turn) -> str:
    """`LUNAS ...`: check the order, then ask the amount (if missing) or for YA."""
    code = turn.command.get("order")
    if not code:
        turn.reply("lunas.usage")
        return END
    order = orders.find_order(turn.db, str(code))
    if order is None:
        turn.reply("lunas.not_found", code=str(code).upper())
        return END
    owed = _owed(turn, order)
    if owed is None:
        return END
    turn.data["order"] = order["code"]
    if "amount" not in turn.command:
        turn.reply("lunas.ask_amount", code=order["code"], owed=format_money(owed, turn.locale))
        return ASK_AMOUNT
    return _confirm(turn, order, int(turn.command["amount"]))


def _owed(turn: Turn, order: dict) -> int | None:
    """What the buyer still owes for the order, or None (and a reply) when nothing can be
    recorded: not received yet, or already paid in full."""
    if order["status"] != "received":
        turn.reply("lunas.not_received", code=order["code"])
        return None
    owed = payments.amount_due(turn.db, order)
    if owed <= 0:
        turn.reply("lunas.already_paid", code=order["code"])
        return None
    return owed


def take_amount(turn: Turn) -> str:
    """The answer to "Berapa yang dibayar?": one amount, or the question again."""
    order = orders.find_order(turn.db, turn.data["order"])
    amount = parse_money(turn.text.strip())
    if amount is None or amount <= 0:
        turn.reply("lunas.invalid_amount", code=order["code"],
                   owed=format_money(payments.amount_due(turn.db, order), turn.locale))
        return ASK_AMOUNT
    return _confirm(turn, order, amount)


def _confirm(turn: Turn, order: dict, amount: int) -> str:
    owed = payments.amount_due(turn.db, order)
    if amount > owed:
        turn.reply("lunas.too_much", code=order["code"], amount=format_money(amount, turn.locale),
                   owed=format_money(owed, turn.locale))
        return END
    turn.data["amount"] = amount
    turn.reply("lunas.confirm", code=order["code"], amount=format_money(amount, turn.locale),
               buyer=order["buyer_name"])
    return CONFIRM


def record(turn: Turn) -> str:
    """`YA kode` (or bare YA): record the payment, once."""
    order = orders.find_order(turn.db, turn.data["order"])
    owed = _owed(turn, order)
    if owed is None:
        return END  # paid meanwhile (the desk, the API): nothing twice
    amount = turn.data["amount"]
    # The reference names the order's state it settles (what was owed before): the same
    # confirmation replayed records nothing new, a later partial payment is a new one.
    reference = f"sms-{order['code']}-{owed}-{turn.now.isoformat()}"
    try:
        recorded = payments.record_order_payment(turn.db, order, amount=amount, reference=reference,
                                                 now=turn.now, note=f"LUNAS by {turn.contact['phone']}")
    except PaymentRefused:
        turn.reply("lunas.too_much", code=order["code"], amount=format_money(amount, turn.locale),
                   owed=format_money(payments.amount_due(turn.db, order), turn.locale))
        return END
    record_action(turn.db, turn.contact["phone"], "payment.recorded",
                  {"order": order["code"], "amount": amount}, turn.now, turn.contact["id"])
    if recorded.created:
        # Withdrawals waiting for buyers' payments go ahead now, not at the next sweep.
        turn.handover.add(release_and_tell(turn.db, turn.settings, turn.now))
    if recorded.status == "forwarded":  # a hub's order: the hub's ledger books it (DECISIONS 420)
        turn.reply("lunas.forwarded", code=order["code"], amount=format_money(amount, turn.locale),
                   buyer=order["buyer_name"])
        return END
    turn.reply("lunas.done" if recorded.amount_due == 0 else "lunas.done_partly", code=order["code"],
               amount=format_money(amount, turn.locale), buyer=order["buyer_name"],
               owed=format_money(recorded.amount_due, turn.locale))
    return END


def _is_yes(turn: Turn) -> bool:
    """YA, or YA with this order's code; YA with another code is not this answer."""
    return (turn.command.get("command") == "accept"
            and str(turn.command.get("order", turn.data["order"])).upper() == turn.data["order"])


def ask_again(turn: Turn) -> str:
    turn.reply("lunas.confirm_again", code=turn.data["order"])
    return SAME


PAYMENT_RECORD = Flow(
    name="payment_record",
    entry={"record_payment": Handler("start", match_command("record_payment"), start,
                                     (END, ASK_AMOUNT, CONFIRM))},
    states={
        ASK_AMOUNT: (Handler("amount", match_any_text, take_amount, (END, ASK_AMOUNT, CONFIRM)),),
        CONFIRM: (Handler("yes", _is_yes, record, (END,)),),
    },
    fallback=Handler("ask_again", lambda turn: True, ask_again, (SAME,)),
    coordinator_only=True,
)
