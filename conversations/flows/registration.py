"""Seller registration: `DAFTAR nama, desa`, asking only for what is missing."""

from __future__ import annotations

from bot.services import contacts
from conversations.dialog import END, SAME, Flow, Handler, Turn, match_any_text, match_command

NAME_LIMITS = (2, 40)


def _clean(text: str) -> str:
    """Collapse spaces and strip punctuation people put around a bare answer."""
    return " ".join(text.replace(",", " ").split()).strip(" .!?;:")


def _valid(value: str | None) -> bool:
    return bool(value) and NAME_LIMITS[0] <= len(value) <= NAME_LIMITS[1] and any(
        ch.isalpha() for ch in value
    )


def _title(value: str) -> str:
    """Names and villages as people expect to see them: `siti aminah` -> `Siti Aminah`."""
    return " ".join(word[:1].upper() + word[1:] for word in value.split())


def _continue(turn: Turn) -> str:
    """Ask for the next missing piece, or register when nothing is missing."""
    if not turn.data.get("name"):
        turn.reply("register.ask_name")
        return "ask_name"
    if not turn.data.get("village"):
        turn.reply("register.ask_village", name=turn.data["name"])
        return "ask_village"
    contact = contacts.register_seller(
        turn.db, turn.contact["id"], turn.data["name"], turn.data["village"], turn.now
    )
    turn.contact.update(contact)
    turn.reply("register.done", name=contact["name"], village=contact["village"])
    return END


def start_registration(turn: Turn) -> str:
    """`DAFTAR …`: refuse if already registered, else take what was given and go on."""
    contact = turn.contact
    if contact.get("role") == "seller":
        turn.reply("register.already", name=contact["name"], village=contact["village"])
        return END
    if contact.get("role") == "buyer":
        turn.reply("register.is_buyer", name=contact["name"])
        return END
    name, village = turn.command.get("name"), turn.command.get("village")
    if name and not _valid(_clean(name)):
        turn.reply("register.invalid_name")
        return "ask_name"
    if village and not _valid(_clean(village)):
        turn.data["name"] = _title(_clean(name)) if name else None
        turn.reply("register.invalid_village")
        return "ask_village"
    turn.data.update(
        name=_title(_clean(name)) if name else None,
        village=_title(_clean(village)) if village else None,
    )
    return _continue(turn)


def take_name(turn: Turn) -> str:
    """An answer to "Siapa nama Anda?"; `Siti, Sukamaju` answers both questions."""
    parts = [p for p in (x.strip() for x in turn.text.split(",")) if p]
    name = _clean(parts[0]) if parts else ""
    if not _valid(name):
        turn.reply("register.invalid_name")
        return "ask_name"
    turn.data["name"] = _title(name)
    if len(parts) > 1 and _valid(_clean(parts[1])):
        turn.data["village"] = _title(_clean(parts[1]))
    return _continue(turn)


def take_village(turn: Turn) -> str:
    """An answer to "Dari desa mana?"."""
    village = _clean(turn.text)
    if not _valid(village):
        turn.reply("register.invalid_village")
        return "ask_village"
    turn.data["village"] = _title(village)
    return _continue(turn)


def ask_again(turn: Turn) -> str:
    """Anything else while a question is open: repeat the question."""
    if not turn.data.get("name"):
        turn.reply("register.ask_name")
    else:
        turn.reply("register.ask_village", name=turn.data["name"])
    return SAME


_NEXT = ("ask_name", "ask_village", END)

REGISTRATION = Flow(
    name="registration",
    entry={
        "register": Handler("start", match_command("register"), start_registration, _NEXT),
    },
    states={
        "ask_name": (Handler("name", match_any_text, take_name, _NEXT),),
        "ask_village": (Handler("village", match_any_text, take_village, _NEXT),),
    },
    fallback=Handler("ask_again", lambda turn: True, ask_again, (SAME,)),
)
