"""The command table: every command's fields, and the handler that reads its arguments.

Handlers take the text after the keyword (leading punctuation stripped, case kept). The
amount-bearing ones live in :mod:`conversations.parse.amounts`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from conversations import keywords as kw
from conversations.parse.amounts import _order, _price, _record_payment, _sell, _stock, _withdraw
from conversations.parse.lookup import _SINGLE, _TWO_WORD
from conversations.parse.tokens import (
    _ACCOUNT_NUMBER_RE,
    _FIELD_SEP_RE,
    _TOKEN_STRIP,
    Result,
    _code,
    _finish,
    _first_code,
    _place,
    _product,
    _split_place,
    _title,
    _tokens,
    _trim,
    _words,
)

#: Every command ``parse`` returns -> the fields it may carry besides ``"command"``.
#: ``"missing"`` lists names from the same tuple, in asking order.
COMMAND_FIELDS: dict[str, tuple[str, ...]] = {
    "register": ("name", "village", "missing"),
    "register_buyer": ("name", "city", "missing"),
    "help": ("topic",),
    "cancel": (),
    "cancel_order": ("order",),
    "language": ("language", "missing"),
    "stop": (),
    "start": (),
    "sell": ("product", "quantity", "unit", "price", "price_options", "missing"),
    "stock": ("listing", "quantity", "change", "unit", "missing"),
    "delete": ("listing", "missing"),
    "price": ("product", "market", "missing"),
    "publish_price": ("product", "price", "unit", "market", "missing"),
    "subscribe": ("product", "missing"),
    "accept": ("order", "missing"),
    "decline": ("order", "missing"),
    "ship": ("order", "missing"),
    "balance": (),
    "account": ("channel", "number", "name", "missing"),
    "withdraw": ("amount", "all", "amount_options", "missing"),
    "pin": ("old", "new", "missing"),
    "search": ("product", "place", "missing"),
    "order": ("listing", "quantity", "unit", "missing"),
    "receive": ("order", "missing"),
    "status": ("order",),
    "broadcast": ("group", "text", "missing"),
    "broadcast_status": ("broadcast",),
    "pay": ("payout", "missing"),
    "record_payment": ("order", "amount", "missing"),
    "more": (),
    "demand": ("switch", "missing"),
    "report": (),
    "statement": ("request",),
    "weekly_report": ("on",),
    "story": ("listing", "text", "missing"),
    "unknown": ("suggestion",),
    "empty": (),
}


def _simple(command: str) -> Callable[[str], Result]:
    def handler(rest: str) -> Result:
        return {"command": command}

    return handler


def _code_command(command: str, field: str, *, required: bool, digits: bool = False,
                  number_means_code: bool = False):
    """``number_means_code``: a number without a letter (``YA 7``) stands for a code we
    cannot read, so the code is reported missing instead of the command going bare."""

    def handler(rest: str) -> Result:
        tokens = _tokens(rest, numbers=False)
        code = _first_code(tokens, digits=digits)
        if code is not None:
            return {"command": command, field: code}
        unreadable = number_means_code and any(t[:1].isdigit() for t in tokens)
        return _finish({"command": command}, [field] if required or unreadable else [])

    return handler


def _cancel(rest: str) -> Result:
    code = _first_code(_tokens(rest, numbers=False))
    if code is None:
        return {"command": "cancel"}
    return {"command": "cancel_order", "order": code}


def _search(rest: str) -> Result:
    product_tokens, place_words = _split_place(_tokens(rest, numbers=False), frozenset())
    result: Result = {"command": "search"}
    # "CARI cabai 50kg", "CARI cabai 40rb": the amounts are no part of the product
    product = _product([t for t in product_tokens if not t[:1].isdigit()])
    if not product:
        return _finish(result, ["product"])
    result["product"] = product
    if place := _place(place_words):
        result["place"] = place
    return result


def _subscribe(rest: str) -> Result:
    words = _trim(_words(_tokens(rest, numbers=False)), kw.SUBSCRIBE_FILLERS, leading=True)
    product = _product(words)
    if not product:
        return _finish({"command": "subscribe"}, ["product"])
    return {"command": "subscribe", "product": product}


def _demand(rest: str) -> Result:
    """`MINAT OFF` / `MINAT ON`: the seller's demand texts (issue 17); else `switch` is missing."""
    words = rest.split()
    word = words[0].strip(_TOKEN_STRIP).lower() if words else ""
    if word in kw.DEMAND_OFF_WORDS:
        return {"command": "demand", "switch": "off"}
    if word in kw.DEMAND_ON_WORDS:
        return {"command": "demand", "switch": "on"}
    return _finish({"command": "demand"}, ["switch"])


_FIELD_STRIP = " .,;:!?-*\"'"


_SPACED_DASH_RE = re.compile(r"\s[-/|]\s")


def _two_fields(rest: str, separators: frozenset[str]) -> tuple[str, str]:
    """``"Siti Aminah, Sukamaju"`` -> ``("Siti Aminah", "Sukamaju")``; a spaced dash or
    slash separates too (``Siti - Sukamaju``)."""
    if " " in rest and _FIELD_SEP_RE.search(rest) is None:
        rest = _SPACED_DASH_RE.sub(", ", rest, count=1)
    match = _FIELD_SEP_RE.search(rest)
    if match:
        first, second = rest[: match.start()], rest[match.end() :]
    else:
        words = rest.split()
        for i, word in enumerate(words):
            if i and word.lower() in separators:
                first, second = " ".join(words[:i]), " ".join(words[i + 1 :])
                break
        else:
            first, second = rest, ""
    name = first.split()
    while len(name) > 1 and name[0].lower().strip(":") in kw.NAME_PREFIXES:
        name = name[1:]  # "nama saya Siti" -> "Siti"
    if len(name) == 1 and name[0].lower() in kw.ROLE_WORDS:
        name = []  # "DAFTAR penjual": the name is still to be asked
    first = _title(" ".join(name).strip(_FIELD_STRIP))
    place = second.split()
    if len(place) > 1 and place[0].lower().strip(".:") in kw.PLACE_PREFIXES:
        place = place[1:]
    return first, _title(" ".join(place).strip(_FIELD_STRIP))


def _register_like(command: str, place_field: str, separators: frozenset[str]):
    def handler(rest: str) -> Result:
        name, place = _two_fields(rest, separators)
        result: Result = {"command": command}
        missing: list[str] = []
        for field, value in (("name", name), (place_field, place)):
            if value:
                result[field] = value
            else:
                missing.append(field)
        return _finish(result, missing)

    return handler


def _help(rest: str) -> Result:
    words = [w.lower() for w in _words(_tokens(rest, numbers=False))]
    result: Result = {"command": "help"}
    if not words:
        return result
    topic = None
    if len(words) > 1:
        topic = _TWO_WORD.get(words[0], {}).get(words[1])
    topic = topic or _SINGLE.get(words[0])
    if topic is not None:
        result["topic"] = topic
    return result


def _language(rest: str) -> Result:
    words = [w.lower() for w in _words(_tokens(rest, numbers=False))]
    if words and words[0] == "bahasa":
        words = words[1:]  # "BAHASA bahasa Indonesia"
    language = kw.LANGUAGE_NAMES.get(words[0]) if words else None
    if language is None:
        return {"command": "language", "missing": ["language"]}
    return {"command": "language", "language": language}


def _account(rest: str) -> Result:
    words = _words(_tokens(rest, numbers=False))
    i = 0
    if len(words) > 1 and words[0].lower() == "bank":
        i = 1
    channel = None
    if i < len(words) and not _ACCOUNT_NUMBER_RE.fullmatch(words[i]):
        channel = words[i].upper()
        i += 1
    digits = []
    while i < len(words) and _ACCOUNT_NUMBER_RE.fullmatch(words[i]):
        digits.append("".join(c for c in words[i] if c.isdigit()))
        i += 1
    name_words = words[i:]
    if name_words and name_words[0].lower() in kw.ACCOUNT_NAME_PREFIXES:
        if name_words[0].lower() == "atas" and len(name_words) > 1:
            name_words = name_words[1:]  # "atas nama"
        name_words = name_words[1:]
    result: Result = {"command": "account"}
    missing: list[str] = []
    for field, value in (
        ("channel", channel),
        ("number", "".join(digits)),
        ("name", _title(" ".join(name_words))),
    ):
        if value:
            result[field] = value
        else:
            missing.append(field)
    return _finish(result, missing)


def _pin(rest: str) -> Result:
    pins = [t for t in _words(_tokens(rest, numbers=False)) if t.isascii() and t.isdigit()]
    result: Result = {"command": "pin"}
    missing: list[str] = []
    for field, value in (("old", pins[:1]), ("new", pins[1:2])):
        if value:
            result[field] = value[0]
        else:
            missing.append(field)
    return _finish(result, missing)


_GROUP_RE = re.compile(r"([^\s,;:]+)[\s,;:]*(.*)", re.DOTALL)


def _broadcast(rest: str) -> Result:
    result: Result = {"command": "broadcast"}
    match = _GROUP_RE.match(rest)
    group = match.group(1).strip(_TOKEN_STRIP + "#@").lower() if match else ""
    text = match.group(2).strip() if match else ""
    missing: list[str] = []
    for field, value in (("group", group), ("text", text)):
        if value:
            result[field] = value
        else:
            missing.append(field)
    return _finish(result, missing)


def _weekly_report(rest: str) -> Result:
    """``LAPORAN MINGGUAN YA`` -> ``on: True``; ``TIDAK`` -> ``False``; bare: neither."""
    words = [w.lower() for w in _words(_tokens(rest, numbers=False))]
    if words and words[0] in kw.WEEKLY_ON_WORDS:
        return {"command": "weekly_report", "on": True}
    if words and words[0] in kw.WEEKLY_OFF_WORDS:
        return {"command": "weekly_report", "on": False}
    return {"command": "weekly_report"}


_STORY_RE = re.compile(r"(\S+)\s*(.*)", re.DOTALL)


def _story(rest: str) -> Result:
    """``CERITA [kode] teks``: a first word shaped like a listing code is the listing,
    the rest is the text as typed (line breaks kept); the flow decides whose code it is."""
    result: Result = {"command": "story"}
    text = rest.strip()
    match = _STORY_RE.match(text)
    if match is not None and (code := _code(match.group(1).strip(_TOKEN_STRIP + ","))):
        result["listing"] = code
        text = match.group(2).strip()
    if text:
        result["text"] = text
    return _finish(result, [] if text else ["text"])


_HANDLERS: dict[str, Callable[[str], Result]] = {
    "register": _register_like("register", "village", kw.REGISTER_SEPARATORS),
    "register_buyer": _register_like("register_buyer", "city", kw.REGISTER_BUYER_SEPARATORS),
    "help": _help,
    "cancel": _cancel,
    "language": _language,
    "stop": _simple("stop"),
    "start": _simple("start"),
    "sell": _sell,
    "stock": _stock,
    "delete": _code_command("delete", "listing", required=True),
    "price": _price,
    "subscribe": _subscribe,
    "accept": _code_command("accept", "order", required=False, number_means_code=True),
    "decline": _code_command("decline", "order", required=False, number_means_code=True),
    "ship": _code_command("ship", "order", required=True),
    "balance": _simple("balance"),
    "account": _account,
    "withdraw": _withdraw,
    "pin": _pin,
    "search": _search,
    "order": _order,
    "receive": _code_command("receive", "order", required=True),
    "status": _code_command("status", "order", required=False),
    "broadcast": _broadcast,
    "broadcast_status": _code_command(
        "broadcast_status", "broadcast", required=False, digits=True
    ),
    "pay": _code_command("pay", "payout", required=True, digits=True),
    "record_payment": _record_payment,
    "more": _simple("more"),
    "demand": _demand,
    "report": _simple("report"),
    # A coordinator issues request 12 with `LAPORAN KEUANGAN 12`; a seller's number is ignored.
    "statement": _code_command("statement", "request", required=False, digits=True),
    "weekly_report": _weekly_report,
    "story": _story,
}


def _check_tables() -> None:
    """Fail at import, not at the first message, if the tables disagree."""
    keyword_commands = set(_SINGLE.values()) | {
        command for seconds in _TWO_WORD.values() for command in seconds.values()
    }
    if not keyword_commands <= set(_HANDLERS):
        raise RuntimeError(f"keywords without a handler: {keyword_commands - set(_HANDLERS)}")
    if set(kw.COMMANDS) | {"unknown", "empty"} != set(COMMAND_FIELDS):
        raise RuntimeError("COMMAND_FIELDS does not list exactly the parser's commands")


_check_tables()
