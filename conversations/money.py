"""What the money dialogs share: the seller's time zone, how accounts are shown, and the
PIN questions that guard withdrawals and account changes.

A flow whose action needs the PIN adds `pin_states(complete)` to its states:

- `ask_pin`: "Balas dengan PIN Anda" -> right PIN runs `complete`; wrong PIN says how
  many tries are left; the third wrong PIN locks PIN-protected actions for 30 minutes;
- `create_pin` / `confirm_pin`: a seller without a PIN chooses one, types it twice, and
  the action then runs (this is how "PIN on first withdrawal" works).

Every message answering one of these questions is marked sensitive, so its text is
blanked in the inbound table; the PIN is never put in a reply or in dialog state (the
first entry of a new PIN is kept as a salted hash until it is confirmed).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.services import dialogs, pins
from bot.services.payout_accounts import PayoutAccount, mask_number
from conversations.dialog import END, Handler, Turn
from conversations.i18n import format_local_time


def lock_time(turn: Turn, locked_until) -> str:
    """When a PIN lock ends, as the seller reads time: `28/11 10.30 WIB`."""
    return format_local_time(locked_until, turn.timezone)


def account_values(account: PayoutAccount) -> dict:
    """How an account appears in a text: channel, masked number, holder."""
    return {"channel": account.channel, "number": mask_number(account.number),
            "holder": account.holder}


def might_be_a_pin(turn: Turn) -> bool:
    """A bare 4-6 digit message that nothing understood, from a seller: a PIN typed after
    its question closed (BATAL, expiry, lockout) — also a new PIN being chosen, so whether
    they have one yet does not matter. Its text is not kept either, so a late PIN does
    not sit in the inbound table. (Numbers that answered another question, such as a
    price in a JUAL dialog, got another reply and are kept.)"""
    return (turn.reply_id in ("unknown", "dialog.restart")
            and turn.contact.get("role") == "seller" and pins.looks_like_pin(turn.text.strip()))


def is_pin_answer(turn: Turn) -> bool:
    """An answer to a PIN question: free text (bare digits parse as unknown), or
    `PIN 2580` typed out of habit (a PIN command with one number)."""
    command = turn.command
    if command.get("command") in ("unknown", "empty"):
        return True
    return command.get("command") == "pin" and "old" in command and "new" not in command


def _pin_text(turn: Turn) -> str:
    if turn.command.get("command") == "pin":
        return str(turn.command.get("old", ""))
    return turn.text.strip()


def ask_for_pin(turn: Turn, reply_id: str, has_pin: bool, **values) -> str:
    """Ask for the PIN before an action (or for a new one if the seller has none), with
    `reply_id` saying what the action is. Returns the state to wait in."""
    turn.reply(reply_id, **values)
    return "ask_pin" if has_pin else "create_pin"


def pin_states(complete: Callable[[Turn], str]) -> dict[str, tuple[Handler, ...]]:
    """The PIN states for a flow; `complete(turn)` performs the action once the PIN is
    right (or newly set), gives the reply, and returns END."""

    def check(turn: Turn) -> str:
        turn.mark_sensitive()
        pin = _pin_text(turn)
        if not pins.looks_like_pin(pin):
            turn.reply("pin.not_a_pin")  # a typo is not a wrong PIN: no try is used up
            return "ask_pin"
        result = pins.check_pin(turn.db, turn.contact["id"], pin, turn.now)
        if result.ok:
            return complete(turn)
        if result.locked_until is not None:
            turn.reply("pin.locked" if result.just_locked else "pin.still_locked",
                       until=lock_time(turn, result.locked_until))
            return END
        turn.reply("pin.wrong", attempts_left=result.attempts_left)
        return "ask_pin"

    def choose(turn: Turn) -> str:
        turn.mark_sensitive()
        pin = _pin_text(turn)
        if not pins.is_acceptable_pin(pin):
            turn.reply("pin.weak")
            return "create_pin"
        turn.data["new_pin_hash"] = pins.hash_pin(pin)
        turn.reply("pin.confirm")
        return "confirm_pin"

    def confirm(turn: Turn) -> str:
        turn.mark_sensitive()
        pin = _pin_text(turn)
        if not pins.pin_matches(pin, turn.data.pop("new_pin_hash", "")):
            turn.reply("pin.mismatch")
            return "create_pin"
        pins.set_pin(turn.db, turn.contact["id"], pin, turn.now)
        turn.data["pin_just_set"] = True
        return complete(turn)

    return {
        "ask_pin": (Handler("pin", is_pin_answer, check, ("ask_pin", END)),),
        "create_pin": (Handler("new_pin", is_pin_answer, choose, ("create_pin", "confirm_pin")),),
        "confirm_pin": (Handler("confirm_pin", is_pin_answer, confirm, ("create_pin", END)),),
    }


def reask_pin(turn: Turn) -> bool:
    """For a flow's fallback (a command that starts no flow, sent while a PIN question is
    open): repeat the question. False if the open question is not about the PIN."""
    dialog = dialogs.load_dialog(turn.db, turn.contact["id"])
    state = dialog["state"] if dialog else None
    if state == "ask_pin":
        turn.reply("pin.not_a_pin")
    elif state in ("create_pin", "confirm_pin"):
        turn.reply("pin.ask_new")
    else:
        return False
    return True
