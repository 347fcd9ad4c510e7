"""`SALDO`: a seller's money in one SMS: available, on its way, paid out this month."""

from __future__ import annotations

from bot.services import ledger, payouts
from bot.services.payouts import local_month_start
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command
from conversations.i18n import format_money


def show_balance(turn: Turn) -> str:
    """Balances derived from the ledger; "this month" is the seller's local month."""
    since = local_month_start(turn.now, turn.timezone)
    balance = ledger.seller_balance(turn.db, turn.contact["id"], since=since)
    held = payouts.held_amount(turn.db, turn.contact["id"])
    if held:
        # Withdrawals waiting for buyers' payments (PAYOUT_ADVANCE_LIMIT), told apart.
        turn.reply("balance.summary_held", available=format_money(balance.available, turn.locale),
                   in_transit=format_money(balance.in_transit - held, turn.locale),
                   held=format_money(held, turn.locale),
                   paid_month=format_money(balance.paid_out_since, turn.locale))
        return END
    turn.reply("balance.summary", available=format_money(balance.available, turn.locale),
               in_transit=format_money(balance.in_transit, turn.locale),
               paid_month=format_money(balance.paid_out_since, turn.locale))
    return END


BALANCE = Flow(
    name="balance",
    entry={"balance": Handler("show", match_command("balance"), show_balance, (END,))},
    states={},
    fallback=NO_DIALOG,
    roles=("seller",),
    unregistered_reply="not_registered.seller",  # DECISIONS 454
)
