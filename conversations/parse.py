"""Turn one inbound text message into a command dict: ``parse(text) -> dict``.

The output is plain JSON-serialisable data: ``"command"`` (canonical English name) plus
the fields that command takes, and ``"missing"`` (fields a dialog must still ask for, in
asking order) only when something is missing. ``parse`` never raises for any ``str``;
empty or whitespace-only text gives ``{"command": "empty"}``, anything that does not start
with a keyword gives ``{"command": "unknown"}``, with ``"suggestion"`` (a command name)
when the first word is a near miss (``JAUL`` -> ``sell``). A suggestion is never acted
on: the conversation layer asks "Maksud Anda JUAL?".

Tolerance: case, repeated spaces, punctuation after the keyword (``ya, p12``, ``saldo?``,
``JUAL: cabai``), ``;``/``,``/newline separators, zero-width characters, NBSP, BOM, bidi
marks, full-width forms (NFKC) and smart quotes/dashes; private-use, unassigned and
lone-surrogate characters are dropped. The keyword must be the first word (leading emoji
or WhatsApp ``*bold*`` marks are skipped).

Reading rules where the design is silent (decisions)
----------------------------------------------------
JUAL product quantity unit price[/unit]
  * The product is every word before the first number (lower-cased); filler words at its
    end (``harga``, ``seharga``, ``@``...) are dropped. When the message starts with the
    number (``JUAL 50kg cabai 12rb``) the first words after the quantity are used.
  * The first number that is not obviously money is the quantity; a number with ``Rp``,
    ``@``, ``rb``/``ribu``/``k``/``jt``/``juta`` or a ``/unit`` tail is the price, and
    failing that the second bare number is (``JUAL cabai 50kg 12000``). Order does not
    matter for marked prices (``JUAL cabai 12rb 50kg``).
  * A quantity without a unit takes the unit of the price if it has one
    (``JUAL cabai 50 12rb/kg`` -> 50 kg). Otherwise the unit is asked for: ``JUAL cabai
    50 12rb`` -> ``quantity: 50, price: 12000, missing: ["unit"]``. Missing fields are
    ordered product, quantity, unit, price.
  * A price without a unit is per stored unit: per kg for any weight (``JUAL beras 2 kw
    12rb`` is 12.000/kg, matching the dialog question "Berapa harganya per kg?"), per
    the count unit otherwise. A price with a unit is converted to the stored unit
    (``2,5jt/kw`` -> 25000 per kg). If that is not a whole rupiah (``1.500/ton``), or
    the price unit does not fit the quantity (``50 ikat 3rb/kg``: count units are never
    converted to weight), the price is reported missing rather than guessed.
  * Ambiguous numbers (``1,000``: see :mod:`conversations.numbers`) and anything else
    that starts with a digit but cannot be read (``1/2``, ``½``, ``3x``) are not read and
    never become part of the product name; the field they stand in is reported missing.
  * Words after the price are ignored (``..., bisa nego``).
  * ``unit`` is also returned when only the price carried one and the quantity is
    missing (``JUAL cabai 12rb/kg`` -> ``unit: "kg"``), so the dialog asks "Berapa kg?".
HARGA / PRICE
  * With an amount after the product it is ``publish_price``; without, ``price``. The
    market is the words after the amount (``di`` dropped), or, in a query, the words
    after a comma, ``di``/``dekat``/``in``/``at``..., or from ``pasar``/``market`` on
    (``HARGA cabai Pasar Induk``). Question words at the end of the product
    (``berapa``, ``sekarang``, ``hari ini``) are dropped. A number that is a quantity
    rather than an amount (``HARGA cabai 50kg``) gives ``publish_price`` with
    ``missing: ["price"]``.
CARI product [place]: the place starts after a comma or ``di``/``dekat``/``in``/``near``
  (``CARI cabai di Bandung``); without one, all words are the product.
DAFTAR name, village (and DAFTAR PEMBELI business, city; also ``DAFTAR sebagai PEMBELI``,
  ``REGISTER AS A BUYER``): split at the first comma,
  semicolon or line break, else at ``dari``/``desa`` (buyer: ``dari``/``di``/``kota``).
  Without a separator everything is the name and the village is asked for. A leading
  ``desa``/``kota`` is dropped from the place. Names, villages, cities, markets and
  places are "title-cased as typed": all-lower-case words get a capital, anything
  else is kept (``UD. MAJU`` stays).
REK channel number name: ``REK bank BCA ...`` skips ``bank``; digit groups separated by
  spaces, dashes or dots are joined (``0812-3456-7890``); ``a.n.``/``atas nama`` before the
  name is dropped. Missing order: channel, number, name.
Codes (listing, order): a letter followed by letters/digits, containing a digit, at
  most 10 characters; ``#`` and ``-`` are ignored (``#p-12`` -> ``P12``). YA/TIDAK/BATAL/
  STATUS/KIRIM/TERIMA/HAPUS take the first code anywhere in the message (``batal pesanan
  P12``). BAYAR and SIARAN STATUS also accept an all-digit id. A required code that is
  absent is reported missing (``missing: ["order"]``).
STOK code quantity: both or neither; one of them alone reports the other missing.
  ``unit`` is returned for STOK and PESAN only when written.
TARIK amount: ``semua``/``seluruh``/``all`` -> ``all: true``.
PIN old new: digit strings (leading zeros kept); other words are ignored.
SIARAN group text: the group is the first word (lower-cased), the text the rest as typed
  (line breaks kept). ``SIARAN STATUS [id]`` -> ``broadcast_status`` with ``broadcast``.
BAHASA: ``id``/``indonesia``/``indo`` -> ``id``; ``en``/``english``/``inggris`` -> ``en``.
BANTUAN topic: the canonical command of the topic keyword, any language.
Not commands although they start with a keyword: ``terima kasih`` (thank you), ``no rek``/
  ``no hp``/``no wa`` ("number"). They parse as ``unknown`` without a suggestion.
Suggestions: for a first word of 4+ letters within 1 edit (2 for 6+ letters, with
  transpositions counting as one) of exactly one command's keywords; a keyword with an
  Indonesian suffix (``batalkan``, ``harganya``); ``beli``/``buy`` -> ``order``;
  ``DAFTAR PEMBLI`` -> ``register_buyer``. Ties between commands give no suggestion.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from conversations import keywords as kw
from conversations.keywords import KEYWORDS_BY_COMMAND, keyword_for
from conversations.numbers import (
    NumberToken,
    convert_price,
    json_number,
    scan_number_token,
    squeeze_numbers,
    unit_of,
)

__all__ = ["COMMAND_FIELDS", "KEYWORDS_BY_COMMAND", "keyword_for", "normalise", "parse"]

_log = logging.getLogger(__name__)

Result = dict[str, object]

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
    "sell": ("product", "quantity", "unit", "price", "missing"),
    "stock": ("listing", "quantity", "unit", "missing"),
    "delete": ("listing", "missing"),
    "price": ("product", "market", "missing"),
    "publish_price": ("product", "price", "unit", "market", "missing"),
    "subscribe": ("product", "missing"),
    "accept": ("order",),
    "decline": ("order",),
    "ship": ("order", "missing"),
    "balance": (),
    "account": ("channel", "number", "name", "missing"),
    "withdraw": ("amount", "all", "missing"),
    "pin": ("old", "new", "missing"),
    "search": ("product", "place", "missing"),
    "order": ("listing", "quantity", "unit", "missing"),
    "receive": ("order", "missing"),
    "status": ("order",),
    "broadcast": ("group", "text", "missing"),
    "broadcast_status": ("broadcast",),
    "pay": ("payout", "missing"),
    "unknown": ("suggestion",),
    "empty": (),
}

# --- normalisation ----------------------------------------------------------------------

_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
    "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))  # variation selectors (after emoji)
)
_SPACES = "\t\x0b\x0c\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
    "\u2009\u200a\u202f\u205f\u3000"
_REPLACEMENTS = {
    "\r": "\n", "\u0085": "\n", "\u2028": "\n", "\u2029": "\n",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-",
    "\u2044": "/", "\u2215": "/",
    "\u2026": "...",
}


def _translation_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # other control characters become spaces, so "JUAL\x00cabai" still splits
    for cp in (*range(0x00, 0x20), *range(0x7F, 0xA0)):
        table[cp] = " "
    table[ord("\n")] = "\n"
    table.update(dict.fromkeys(map(ord, _INVISIBLE)))
    table.update({ord(c): " " for c in _SPACES})
    table.update({ord(c): r for c, r in _REPLACEMENTS.items()})
    return table


_TABLE = _translation_table()
_DROP = frozenset({"Co", "Cn", "Cs", "Cf"})


def normalise(text: str) -> str:
    """NFKC; invisible, private-use and unassigned characters removed; odd spaces,
    quotes and dashes made ASCII.

    Case and line breaks are kept (broadcast text and names are echoed as typed).
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if text.isascii():
        if text.isprintable():
            return text  # the common case: plain ASCII SMS, nothing to do
        return text.translate(_TABLE)
    text = unicodedata.normalize("NFKC", text).translate(_TABLE)
    # Private-use, unassigned, surrogate and remaining format characters mean nothing in
    # a message and break encoders downstream (UTF-8, GSM-7): drop them.
    return "".join(c for c in text if c.isascii() or unicodedata.category(c) not in _DROP)


# --- keywords ---------------------------------------------------------------------------

_SINGLE: dict[str, str] = {}
_TWO_WORD: dict[str, dict[str, str]] = {}
for _keywords in kw.KEYWORDS.values():
    for _keyword, _command in _keywords.items():
        _words = _keyword.lower().split()
        if len(_words) == 1:
            _SINGLE[_words[0]] = _command
        else:
            _TWO_WORD.setdefault(_words[0], {})[_words[1]] = _command
_FUZZY_CHOICES: tuple[str, ...] = tuple(_SINGLE)
# first words after which the second word matters
_LOOK_AHEAD = frozenset(_TWO_WORD) | {first for first, _ in kw.NOT_COMMANDS}

_FIRST_WORD_RE = re.compile(r"[\W_]*([^\W\d_]+)")
_NEXT_WORD_RE = re.compile(r"[^\w]*([^\W\d_]+)(?!\w)")
_LEAD_PUNCT_RE = re.compile(r"[\s:;,.!?*_~=>\"')\]}-]+")


def _max_edits(word: str) -> int:
    return 1 if len(word) <= 5 else 2


_LONGEST_KEYWORD = max(map(len, _SINGLE))


def _suggest(word: str) -> str | None:
    """Command a mistyped first word probably meant, or ``None`` if unsure."""
    if len(word) > _LONGEST_KEYWORD + 3:
        return None  # too far from any keyword; also keeps long junk out of the cache
    return _suggest_cached(word)


@lru_cache(maxsize=4096)
def _suggest_cached(word: str) -> str | None:
    # Cached: the same typos recur, and fuzzy matching is the slowest step of a parse.
    if word in kw.SYNONYM_SUGGESTIONS:
        return kw.SYNONYM_SUGGESTIONS[word]
    for suffix in kw.KEYWORD_SUFFIXES:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and stem in _SINGLE:
            return _SINGLE[stem]
    if len(word) < 4:
        return None  # too short: "pak", "ok", "ada" are words, not typos
    matches = process.extract(
        word, _FUZZY_CHOICES, scorer=OSA.distance, score_cutoff=_max_edits(word), limit=None
    )
    if not matches:
        return None
    best = min(score for _, score, _ in matches)
    commands = {_SINGLE[choice] for choice, score, _ in matches if score == best}
    return commands.pop() if len(commands) == 1 else None


def _suggest_second(first: str, second: str) -> str | None:
    """``DAFTAR PEMBLI`` -> ``register_buyer``: one edit away from a two-word keyword."""
    if not 4 <= len(second) <= _LONGEST_KEYWORD:
        return None  # short words are names ("DAFTAR Siti"); long ones cannot match
    return _suggest_second_cached(first, second)


@lru_cache(maxsize=1024)
def _suggest_second_cached(first: str, second: str) -> str | None:
    options = _TWO_WORD[first]
    match = process.extractOne(second, tuple(options), scorer=OSA.distance, score_cutoff=1)
    return options[match[0]] if match else None


# --- tokens -----------------------------------------------------------------------------

_FIELD_SEP_RE = re.compile(r"(?<![0-9]),|,(?![0-9])|[;\n]")
_TOKEN_STRIP = ".!?:;\"'()[]{}*_~<>|\\"
_CODE_RE = re.compile(r"[A-Z][A-Z0-9]{0,9}")
_DIGITS_RE = re.compile(r"[0-9]{1,12}")
_ACCOUNT_NUMBER_RE = re.compile(r"\+?[0-9][0-9.\-]*")
_SEP = ","


def _tokens(rest: str, *, numbers: bool = True) -> list[str]:
    """Split arguments into tokens; field separators become a ``","`` token.

    With ``numbers`` amounts are glued first ("Rp 12.000 / kg" -> "Rp12.000/kg").
    """
    if numbers:
        rest = squeeze_numbers(rest)
    rest = _FIELD_SEP_RE.sub(" , ", rest)
    out = []
    for raw in rest.split():
        tok = raw.strip(_TOKEN_STRIP).rstrip("-")
        if tok:
            out.append(tok)
    return out


def _number(tok: str) -> NumberToken | None:
    first = tok[0]
    # cheap pre-check: most tokens are words and need no regex
    if first.isdigit() or first == "@" or first in "rRiI":
        return scan_number_token(tok.lower())
    return None


def _code(tok: str) -> str | None:
    code = tok.lstrip("#").replace("-", "").upper()
    if _CODE_RE.fullmatch(code) and any(c.isdigit() for c in code):
        return code
    return None


def _first_code(tokens: list[str], *, digits: bool = False) -> str | None:
    for tok in tokens:
        code = _code(tok)
        if code is None and digits and _DIGITS_RE.fullmatch(tok):
            code = tok
        if code is not None:
            return code
    return None


def _words(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t != _SEP]


def _title(text: str) -> str:
    """Title-case as typed: capitalise all-lower-case words, keep everything else."""
    return " ".join(w[:1].upper() + w[1:] if w.islower() else w for w in text.split())


def _trim(words: list[str], fillers: frozenset[str], *, leading: bool = False) -> list[str]:
    """Drop filler words from the end (and, with ``leading``, from the start)."""
    end = len(words)
    while end and words[end - 1].lower() in fillers:
        end -= 1
    start = 0
    if leading:
        while start < end and words[start].lower() in fillers:
            start += 1
    return words[start:end]


def _finish(result: Result, missing: list[str]) -> Result:
    if missing:
        result["missing"] = missing
    return result


def _valid(tok: NumberToken | None, *kinds: str) -> bool:
    return tok is not None and tok.kind in kinds


# --- command handlers -------------------------------------------------------------------
# Each takes the text after the keyword (leading punctuation stripped, case kept).


def _simple(command: str) -> Callable[[str], Result]:
    def handler(rest: str) -> Result:
        return {"command": command}

    return handler


def _sell(rest: str) -> Result:
    runs: list[list[str]] = [[]]  # runs of words, split by numbers
    items: list[NumberToken] = []
    for tok in _tokens(rest):
        if tok == _SEP:
            continue
        number = _number(tok)
        if number is None:
            runs[-1].append(tok)
        else:
            items.append(number)
            runs.append([])

    product_words = _trim(runs[0], kw.SELL_FILLERS, leading=True)
    if not product_words:
        for run in runs[1:]:
            product_words = [
                w for w in _trim(run, kw.SELL_FILLERS, leading=True) if unit_of(w) is None
            ]
            if product_words:
                break

    # Slots: a marked amount is the price wherever it stands; otherwise the first
    # number is the quantity and a second bare number the price.
    quantity: NumberToken | None = None
    price: NumberToken | None = None
    have_quantity = have_price = False
    for item in items:
        if item.money:
            if not have_price:
                price, have_price = item, True
        elif not have_quantity:
            quantity, have_quantity = item, True
        elif not have_price and item.kind in ("num", "bad"):
            price, have_price = item, True
    if not _valid(price, "num", "money"):
        price = None

    result: Result = {"command": "sell"}
    missing: list[str] = []
    if product_words:
        result["product"] = " ".join(product_words).lower()
    else:
        missing.append("product")

    unit: str | None = None
    amount: Decimal | None = None
    if quantity is not None and quantity.kind == "qty":
        assert quantity.value is not None
        unit, amount = quantity.unit, quantity.value * quantity.factor
    elif quantity is not None and quantity.kind == "num":
        assert quantity.value is not None
        if price is not None and price.unit is not None:
            unit, amount = price.unit, quantity.value * price.factor
        else:
            amount = quantity.value
    elif price is not None and price.unit is not None:
        unit = price.unit  # quantity missing: the dialog asks it in this unit
    if amount is None:
        missing.append("quantity")
    else:
        result["quantity"] = json_number(amount)
    if unit is not None:
        result["unit"] = unit
    elif amount is not None:
        missing.append("unit")

    per_unit: int | None = None
    if price is not None and (price.unit is None or price.unit == unit):
        assert price.value is not None
        per_unit = convert_price(price.value, price.factor)
    if per_unit is None:
        missing.append("price")
    else:
        result["price"] = per_unit
    return _finish(result, missing)


def _stock_or_order(command: str, rest: str, *, code_optional: bool) -> Result:
    tokens = _tokens(rest)
    code = _first_code(tokens)
    quantity = None
    for tok in tokens:
        if tok != _SEP and (number := _number(tok)) is not None:
            quantity = number
            break
    result: Result = {"command": command}
    if code_optional and code is None and quantity is None:
        return result  # plain "STOK": list my listings
    missing: list[str] = []
    if code is None:
        missing.append("listing")
    else:
        result["listing"] = code
    if quantity is not None and quantity.kind in ("num", "qty"):
        assert quantity.value is not None
        result["quantity"] = json_number(quantity.value * quantity.factor)
        if quantity.unit is not None:
            result["unit"] = quantity.unit
    else:
        missing.append("quantity")
    return _finish(result, missing)


def _stock(rest: str) -> Result:
    return _stock_or_order("stock", rest, code_optional=True)


def _order(rest: str) -> Result:
    return _stock_or_order("order", rest, code_optional=False)


def _code_command(command: str, field: str, *, required: bool, digits: bool = False):
    def handler(rest: str) -> Result:
        code = _first_code(_tokens(rest, numbers=False), digits=digits)
        if code is not None:
            return {"command": command, field: code}
        return _finish({"command": command}, [field] if required else [])

    return handler


def _cancel(rest: str) -> Result:
    code = _first_code(_tokens(rest, numbers=False))
    if code is None:
        return {"command": "cancel"}
    return {"command": "cancel_order", "order": code}


def _split_place(tokens: list[str], starters: frozenset[str]) -> tuple[list[str], list[str]]:
    """Split ``product [place]`` at a separator, a place preposition (dropped) or a
    market word (kept: "Pasar Induk")."""
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if i and (tok == _SEP or low in kw.PLACE_WORDS):
            return tokens[:i], _words(tokens[i + 1 :])
        if i and low in starters:
            return tokens[:i], _words(tokens[i:])
    return tokens, []


def _place(words: list[str]) -> str:
    words = _trim(words, kw.QUESTION_FILLERS | kw.PLACE_WORDS, leading=True)
    return _title(" ".join(words))


def _product(words: list[str]) -> str:
    return " ".join(_trim(_words(words), kw.QUESTION_FILLERS, leading=True)).lower()


def _price(rest: str) -> Result:
    tokens = _tokens(rest)
    for i, tok in enumerate(tokens):
        if tok != _SEP and (number := _number(tok)) is not None:
            return _publish_price(tokens[:i], number, tokens[i + 1 :])
    product_tokens, market_words = _split_place(tokens, kw.MARKET_WORDS)
    result: Result = {"command": "price"}
    product = _product(product_tokens)
    if not product:
        return _finish(result, ["product"])
    result["product"] = product
    if market := _place(market_words):
        result["market"] = market
    return result


def _publish_price(before: list[str], amount: NumberToken, after: list[str]) -> Result:
    result: Result = {"command": "publish_price"}
    missing: list[str] = []
    if product := _product(before):
        result["product"] = product
    else:
        missing.append("product")
    price = None
    if amount.kind in ("num", "money"):
        assert amount.value is not None
        price = convert_price(amount.value, amount.factor)
    if price is None:
        missing.append("price")
    else:
        result["price"] = price
        if amount.unit is not None:
            result["unit"] = amount.unit
    if market := _place(_words(after)):
        result["market"] = market
    return _finish(result, missing)


def _search(rest: str) -> Result:
    product_tokens, place_words = _split_place(_tokens(rest, numbers=False), frozenset())
    result: Result = {"command": "search"}
    product = _product(product_tokens)
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


_FIELD_STRIP = " .,;:!?-*\"'"


def _two_fields(rest: str, separators: frozenset[str]) -> tuple[str, str]:
    """``"Siti Aminah, Sukamaju"`` -> ``("Siti Aminah", "Sukamaju")``."""
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
    first = _title(first.strip(_FIELD_STRIP))
    place = second.split()
    if len(place) > 1 and place[0].lower().strip(".") in kw.PLACE_PREFIXES:
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


def _withdraw(rest: str) -> Result:
    tokens = _words(_tokens(rest))
    if tokens and tokens[0].lower() in kw.ALL_WORDS:
        return {"command": "withdraw", "all": True}
    for tok in tokens:
        if (number := _number(tok)) is not None:
            if number.kind in ("num", "money") and number.unit is None:
                assert number.value is not None
                amount = convert_price(number.value, number.factor)
                if amount is not None:
                    return {"command": "withdraw", "amount": amount}
            break
    return {"command": "withdraw", "missing": ["amount"]}


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
    "accept": _code_command("accept", "order", required=False),
    "decline": _code_command("decline", "order", required=False),
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


# --- entry point ------------------------------------------------------------------------


def _parse(text: str) -> Result:
    text = normalise(text)
    match = _FIRST_WORD_RE.match(text)
    if match is None:
        return {"command": "unknown"} if text.strip() else {"command": "empty"}
    end = match.end()
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        return {"command": "unknown"}  # "P12", "jual2": not a keyword on its own
    first = match.group(1).lower()

    second: str | None = None
    second_end = end
    if first in _LOOK_AHEAD:
        nxt = _NEXT_WORD_RE.match(text, end)
        if nxt is not None:
            second, second_end = nxt.group(1).lower(), nxt.end()
            if (first, second) in kw.NOT_COMMANDS:
                return {"command": "unknown"}  # "terima kasih" is thanks, not TERIMA
            if second in kw.KEYWORD_CONNECTORS and first in _TWO_WORD:
                # "DAFTAR sebagai PEMBELI", "REGISTER AS A BUYER": skip up to two connectors
                position = second_end
                for _ in range(2):
                    after = _NEXT_WORD_RE.match(text, position)
                    if after is None:
                        break
                    word, position = after.group(1).lower(), after.end()
                    if word in _TWO_WORD[first]:
                        second, second_end = word, position
                        break
                    if word not in kw.KEYWORD_CONNECTORS:
                        break
    command = None
    if second is not None and first in _TWO_WORD:
        command = _TWO_WORD[first].get(second)
        if command is not None:
            end = second_end
        elif (near := _suggest_second(first, second)) is not None:
            return {"command": "unknown", "suggestion": near}
    if command is None:
        command = _SINGLE.get(first)
    if command is None:
        suggestion = _suggest(first)
        if suggestion is None:
            return {"command": "unknown"}
        return {"command": "unknown", "suggestion": suggestion}
    rest = text[end:]
    lead = _LEAD_PUNCT_RE.match(rest)
    if lead is not None:
        rest = rest[lead.end() :]
    return _HANDLERS[command](rest.rstrip())


def parse(text: str) -> Result:
    """Parse one message into ``{"command": ..., fields..., "missing"?: [...]}``.

    See the module docstring for the rules. Never raises.
    """
    if not isinstance(text, str):  # defensive: the contract is str, callers may slip
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else ""
    try:
        return _parse(text)
    except Exception:  # noqa: BLE001 - a bad message must never take the webhook down
        _log.exception("parse failed for a %d-character message", len(text))
        return {"command": "unknown"}
