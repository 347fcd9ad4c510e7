"""Registration: `DAFTAR nama, desa` (a seller) and `DAFTAR PEMBELI usaha, kota` (a city
buyer), asking only for what is missing. A number has one role: a seller who sends
`DAFTAR PEMBELI` (or a buyer `DAFTAR`) is told so, and a coordinator sorts it out.

A village whose name is recorded in more than one province (`jembatan village set`) is
asked about, never guessed: the question lists the provinces by number (as many as fit
one SMS) and the seller answers with a number or a province's name (DECISIONS 336)."""

from __future__ import annotations

import re

from bot.services import buyers, contacts, schedule
from conversations.dialog import END, SAME, Flow, Handler, Turn, match_any_text, match_command
from conversations.replies import fit_items

NAME_LIMITS = (2, 40)


def clean_name(text: str) -> str:
    """Collapse spaces and strip punctuation people put around a bare answer."""
    return " ".join(text.replace(",", " ").split()).strip(" .!?;:")


def valid_name(value: str | None) -> bool:
    return bool(value) and NAME_LIMITS[0] <= len(value) <= NAME_LIMITS[1] and any(
        ch.isalpha() for ch in value
    )


def title_case(value: str) -> str:
    """Names and villages as people expect to see them: `siti aminah` -> `Siti Aminah`."""
    return " ".join(word[:1].upper() + word[1:] for word in value.split())


#: The texts of each step, per role: a buyer is asked for their business and city.
_TEXTS = {
    "seller": {"ask_name": "register.ask_name", "ask_place": "register.ask_village",
               "invalid_name": "register.invalid_name", "invalid_place": "register.invalid_village"},
    "buyer": {"ask_name": "register_buyer.ask_name", "ask_place": "register_buyer.ask_city",
              "invalid_name": "register_buyer.invalid_name",
              "invalid_place": "register_buyer.invalid_city"},
}


def _role(turn: Turn) -> str:
    return turn.data.get("role") or "seller"  # dialogs opened before buyers existed


def _place_key(turn: Turn) -> str:
    return "city" if _role(turn) == "buyer" else "village"


def _say(turn: Turn, step: str, **values) -> None:
    turn.reply(_TEXTS[_role(turn)][step], **values)


def _continue(turn: Turn) -> str:
    """Ask for the next missing piece, or register when nothing is missing."""
    data, place = turn.data, _place_key(turn)
    if not data.get("name"):
        _say(turn, "ask_name")
        return "ask_name"
    if not data.get(place):
        _say(turn, "ask_place", name=data["name"])
        return "ask_village"
    if _role(turn) == "buyer":
        contact = buyers.register_by_text(turn.db, turn.contact["id"], data["name"], data["city"],
                                          turn.now)
        turn.contact.update(contact)
        turn.reply("register_buyer.done", name=contact["name"], city=contact["city"])
        return END
    if not data.get("province"):
        provinces = schedule.village_provinces(turn.db, data["village"])
        if len(provinces) > 1:
            data["provinces"] = provinces
            _ask_province(turn)
            return "ask_province"
    contact = contacts.register_seller(turn.db, turn.contact["id"], data["name"], data["village"],
                                       turn.now, province=data.get("province"))
    turn.contact.update(contact)
    village = contact["village"]
    if data.get("provinces"):  # asked: the answer is confirmed
        village = f"{village}, {contact['province']}"
    if data.get("kept_sell"):  # the JUAL a stranger sent first, offered back (DECISIONS 490)
        turn.reply("register.done_sell_kept", name=contact["name"], village=village,
                   text=data["kept_sell"])
    else:
        turn.reply("register.done", name=contact["name"], village=village)
    return END


def _start(turn: Turn, role: str, place: str | None) -> str:
    """Take the name and place the command carried, then ask for what is missing."""
    turn.data["role"] = role
    name = turn.command.get("name")
    if name and not valid_name(clean_name(name)):
        _say(turn, "invalid_name")
        return "ask_name"
    turn.data["name"] = title_case(clean_name(name)) if name else None
    if place and not valid_name(clean_name(place)):
        _say(turn, "invalid_place")
        return "ask_village"
    turn.data[_place_key(turn)] = title_case(clean_name(place)) if place else None
    return _continue(turn)


def start_registration(turn: Turn) -> str:
    """`DAFTAR …`: refuse if already registered, else take what was given and go on."""
    contact = turn.contact
    if contact.get("role") == "seller":
        turn.reply("register.already", name=contact["name"], village=contact["village"])
        return END
    if contact.get("role") == "buyer":
        turn.reply("register.is_buyer", name=contact["name"])
        return END
    return _start(turn, "seller", turn.command.get("village"))


def start_buyer_registration(turn: Turn) -> str:
    """`DAFTAR PEMBELI usaha, kota`: the same for a city buyer (one role per number)."""
    contact = turn.contact
    if contact.get("role") == "buyer":
        turn.reply("register_buyer.already", name=contact["name"], city=contact["city"] or "-")
        return END
    if contact.get("role") == "seller":
        turn.reply("register_buyer.is_seller", name=contact["name"])
        return END
    return _start(turn, "buyer", turn.command.get("city"))


def take_name(turn: Turn) -> str:
    """An answer to "Siapa nama Anda?"; `Siti, Sukamaju` answers both questions."""
    parts = [p for p in (x.strip() for x in turn.text.split(",")) if p]
    name = clean_name(parts[0]) if parts else ""
    if not valid_name(name):
        _say(turn, "invalid_name")
        return "ask_name"
    turn.data["name"] = title_case(name)
    if len(parts) > 1 and valid_name(clean_name(parts[1])):
        turn.data[_place_key(turn)] = title_case(clean_name(parts[1]))
    return _continue(turn)


def take_village(turn: Turn) -> str:
    """An answer to "Dari desa mana?" (or, for a buyer, "Di kota mana?")."""
    place = clean_name(turn.text)
    if not valid_name(place):
        _say(turn, "invalid_place")
        return "ask_village"
    turn.data[_place_key(turn)] = title_case(place)
    return _continue(turn)


def _ask_province(turn: Turn) -> None:
    """"Sukamaju is in 3 provinces: reply with the number: 1 Jawa Barat; 2 ...", one SMS."""
    lines = [f"{number} {province}" for number, province in enumerate(turn.data["provinces"], 1)]
    reply_id, values = fit_items("register.ask_province", "register.ask_province_more", turn.locale,
                                 lines, village=turn.data["village"], count=len(lines))
    turn.reply(reply_id, **values)


def take_province(turn: Turn) -> str:
    """A number from the list, or a province's name (one the list had no room for, or
    one no village of the name was recorded in yet)."""
    answer = turn.text.strip().strip(".").strip()
    provinces = turn.data["provinces"]
    number = re.fullmatch(r"(?:nomor|number|no)?\.?\s*(\d{1,2})", answer, re.IGNORECASE)
    if number and 1 <= int(number.group(1)) <= len(provinces):
        turn.data["province"] = provinces[int(number.group(1)) - 1]
    else:
        turn.data["province"] = schedule.province_name(re.sub(r"^(?:provinsi|province)\s+", "", answer,
                                                              flags=re.IGNORECASE))
    if not turn.data["province"]:
        _ask_province(turn)
        return "ask_province"
    return _continue(turn)


def ask_again(turn: Turn) -> str:
    """Anything else while a question is open: repeat the question."""
    if turn.data.get("provinces") and not turn.data.get("province"):
        _ask_province(turn)
    elif not turn.data.get("name"):
        _say(turn, "ask_name")
    else:
        _say(turn, "ask_place", name=turn.data["name"])
    return SAME


_NEXT = ("ask_name", "ask_village", "ask_province", END)

REGISTRATION = Flow(
    name="registration",
    entry={
        "register": Handler("start", match_command("register"), start_registration, _NEXT),
        "register_buyer": Handler("start_buyer", match_command("register_buyer"),
                                  start_buyer_registration, _NEXT),
    },
    states={
        "ask_name": (Handler("name", match_any_text, take_name, _NEXT),),
        "ask_village": (Handler("village", match_any_text, take_village, _NEXT),),
        "ask_province": (Handler("province", match_any_text, take_province, _NEXT),),
    },
    fallback=Handler("ask_again", lambda turn: True, ask_again, (SAME,)),
)
