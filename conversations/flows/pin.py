"""`PIN baru` (first PIN) and `PIN lama baru` (change it), in one message each.

The old PIN counts toward the lockout like any PIN question; a weak new PIN is refused
before the old one is checked, so a typo in the new one costs no try.
"""

from __future__ import annotations

from bot.services import pins
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command
from conversations.money import lock_time


def set_or_change_pin(turn: Turn) -> str:
    """Create the PIN (none yet) or change it (old PIN first)."""
    turn.mark_sensitive()
    old, new = turn.command.get("old"), turn.command.get("new")
    state = pins.pin_state(turn.db, turn.contact["id"], turn.now)
    if not state.has_pin:
        # `PIN 2580`, or the same number twice (`PIN 2580 2580`) as people confirm it.
        chosen = old if (old and (new is None or new == old)) else None
        if chosen is None:
            turn.reply("pin.usage_set")
        elif not pins.is_acceptable_pin(chosen):
            turn.reply("pin.weak_command")
        else:
            pins.set_pin(turn.db, turn.contact["id"], chosen, turn.now)
            turn.reply("pin.set")
        return END
    if state.locked_until is not None:
        turn.reply("pin.still_locked", until=lock_time(turn, state.locked_until))
        return END
    if not (old and new) or not pins.looks_like_pin(old):
        # `PIN 12 2580` is a typo, not a guess: it must not cost one of the three tries.
        turn.reply("pin.usage_change")
        return END
    if not pins.is_acceptable_pin(new):
        turn.reply("pin.weak_command")
        return END
    result = pins.check_pin(turn.db, turn.contact["id"], old, turn.now)
    if result.ok:
        pins.set_pin(turn.db, turn.contact["id"], new, turn.now)
        turn.reply("pin.changed")
    elif result.locked_until is not None:
        turn.reply("pin.locked" if result.just_locked else "pin.still_locked",
                   until=lock_time(turn, result.locked_until))
    else:
        turn.reply("pin.wrong_old", attempts_left=result.attempts_left)
    return END


PIN = Flow(
    name="pin",
    entry={"pin": Handler("set_or_change", match_command("pin"), set_or_change_pin, (END,))},
    states={},
    fallback=NO_DIALOG,
    roles=("seller",),
    unregistered_reply="not_registered.seller",  # DECISIONS 454
)
