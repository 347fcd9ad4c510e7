"""`MINAT OFF` / `MINAT ON` (`DEMAND OFF/ON`): a seller stops or restarts the weekly
texts saying buyers are looking for what they sold (`bot.pipeline.demand`, issue 17).
Opting out of broadcasts (`BERHENTI`) stops them too; this stops only them."""

from __future__ import annotations

from bot.services import demand
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command


def switch(turn: Turn) -> str:
    """Turn the demand texts off or on; without OFF/ON say how."""
    wanted = turn.command.get("switch")
    if wanted is None:
        turn.reply("demand.format")
        return END
    demand.set_opt_out(turn.db, turn.contact["id"], wanted == "off", turn.now)
    turn.reply("demand.off" if wanted == "off" else "demand.on")
    return END


DEMAND = Flow(
    name="demand",
    entry={"demand": Handler("switch", match_command("demand"), switch, (END,))},
    states={},
    fallback=NO_DIALOG,
    roles=("seller",),
)
