"""`REK channel nomor nama`: where a seller's withdrawals go.

The first account is saved at once. Changing it later redirects the seller's money, so
it needs the PIN (a seller without one creates it first) and is announced to the
seller by a separate notification, which reaches them on WhatsApp too if they use it:
if someone else changed it with their phone, they find out.
"""

from __future__ import annotations

from bot.services import payout_accounts, pins
from bot.services.payout_accounts import InvalidAccount, PayoutAccount
from conversations.dialog import END, SAME, Flow, Handler, Turn, match_command
from conversations.money import account_values, ask_for_pin, lock_time, pin_states, reask_pin

_INVALID_REPLY = {
    "channel": "account.unknown_channel",
    "number": "account.invalid_number",
    "phone": "account.invalid_phone",
    "name": "account.invalid_name",
}


def start_account(turn: Turn) -> str:
    """Show the account (bare `REK`), save a first one, or ask the PIN to change it."""
    command = turn.command
    current = payout_accounts.get_account(turn.db, turn.contact["id"])
    missing = command.get("missing") or []
    if len(missing) == 3:
        if current is None:
            turn.reply("account.none")
        else:
            turn.reply("account.show", **account_values(current))
        return END
    if missing:
        turn.reply("account.format")
        return END
    try:
        account = payout_accounts.validate_account(command["channel"], command["number"],
                                                   command["name"])
    except InvalidAccount as exc:
        values = {}
        if exc.channel is not None:
            values["channel"] = exc.channel.name
        if exc.problem == "number":
            lengths = exc.channel.lengths
            values["digits"] = (str(lengths[0]) if len(lengths) == 1
                                else f"{lengths[0]}-{lengths[-1]}")
        turn.reply(_INVALID_REPLY[exc.problem], **values)
        return END
    if current is None:
        payout_accounts.save_account(turn.db, turn.contact["id"], account, turn.now)
        turn.reply("account.saved", **account_values(account))
        return END
    if current == account:
        turn.reply("account.same")
        return END
    state = pins.pin_state(turn.db, turn.contact["id"], turn.now)
    if state.locked_until is not None:
        turn.reply("pin.still_locked", until=lock_time(turn, state.locked_until))
        return END
    turn.data["account"] = {"channel": account.channel, "number": account.number,
                            "holder": account.holder}
    values = account_values(account)
    if state.has_pin:
        return ask_for_pin(turn, "account.confirm_change", True, **values)
    return ask_for_pin(turn, "account.create_pin", False, channel=values["channel"],
                       number=values["number"])


def change_account(turn: Turn) -> str:
    """The PIN was right (or just created): switch the account and say so twice."""
    account = PayoutAccount(**turn.data["account"])
    payout_accounts.save_account(turn.db, turn.contact["id"], account, turn.now)
    values = account_values(account)
    turn.reply("account.changed", **values)
    turn.notify(turn.contact, "account.changed_notice", channel=values["channel"],
                number=values["number"])
    return END


def ask_again(turn: Turn) -> str:
    """Anything else while the PIN question is open: ask it again."""
    reask_pin(turn)
    return SAME


PAYOUT_ACCOUNT = Flow(
    name="payout_account",
    entry={"account": Handler("start", match_command("account"), start_account,
                              (END, "ask_pin", "create_pin"))},
    states=pin_states(change_account),
    fallback=Handler("ask_again", lambda turn: True, ask_again, (SAME,)),
    roles=("seller",),
    unregistered_reply="not_registered.seller",  # DECISIONS 454
)
