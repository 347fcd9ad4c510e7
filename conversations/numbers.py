"""Indonesian numbers, money and units, as people type them in SMS.

Everything here works on ``decimal.Decimal`` and returns money as ``int`` rupiah; no
float ever touches an amount. Floats appear only at the very edge, in
:func:`json_number`, because the parse output must be JSON.

Number rules (Indonesian locale: dot groups thousands, comma is the decimal mark)
----------------------------------------------------------------------------------
* ``12000`` -> 12000.
* A dot followed by exactly three digits is a thousands separator: ``12.000`` -> 12000,
  ``1.000.000`` -> 1000000. Any other dot is a decimal point: ``1.5`` -> 1.5.
  For money a decimal only makes sense with a multiplier suffix (``1.5 juta``); a bare
  ``12.5`` would be fractional rupiah and is rejected.
* A comma is the decimal mark: ``2,5`` -> 2.5, ``1,5jt`` -> 1500000; mixed
  ``1.234,5`` -> 1234.5.
* **Decision:** a comma followed by exactly three digits and no multiplier suffix
  (``1,000`` / ``12,000``) is rejected as ambiguous. By the Indonesian rule it would be
  1 and 12, but people with English-locale phones write thousands that way, and reading
  ``1,000 kg`` as one kilo (or ``TARIK 12,000`` as twelve rupiah) is a thousand-fold
  error on stock or money. Rejecting it makes the dialog ask again instead of guessing.
  With a suffix the comma is unambiguous: ``1,250jt`` -> 1250000.
* Numbers with more than 15 integer digits are rejected (no real quantity or amount is
  that large, and it keeps Decimal arithmetic exact).

Money
-----
Optional ``Rp`` / ``Rp.`` / ``IDR`` prefix (with or without a space), optional suffix
``rb``/``ribu``/``rebu``/``k`` (x1000), ``jt``/``juta`` (x1000000),
``miliar``/``milyar`` (x10^9), optional ``,-`` tail (``Rp 12.000,-``). The result must
be a whole number of rupiah, otherwise it is rejected (``None``).

Units
-----
Weight is normalised to kg: gram/gr/g = 0.001, ons = 0.1, kuintal/kwintal/kw = 100,
ton = 1000 (plus English spellings: kilo, grams, quintal, tonne...). Count units keep
their canonical Indonesian name and are never converted to weight: liter (l, ltr, lt),
ikat, karung, buah (bh), lembar (lbr), pcs, paket, botol, bungkus (bks).
**Decision:** a few more count units village sellers use daily are accepted as well:
ekor (animals), butir (eggs), sisir and tandan (bananas), kotak (dus, kardus), and (issue
14) sak/zak as karung, biji as buah, meter (cloth, rope) and kodi (a score of pieces, kept
as its own unit: a kodi of sarongs is sold by the kodi); rak (a tray of eggs) and peti (a
crate, krat) from the blind field trial.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "COUNT_UNITS",
    "KG",
    "MONEY_SUFFIXES",
    "UNIT_ALIASES",
    "NumberToken",
    "convert_price",
    "interpret_number",
    "NUMBER_WORDS",
    "number_candidates",
    "compound_candidates",
    "SLANG_AMOUNTS",
    "spelled_number",
    "json_number",
    "LEAST_BARE_PRICE",
    "is_bare_number",
    "parse_money",
    "parse_price",
    "parse_quantity",
    "scan_number_token",
    "scan_number_token_cached",
    "CACHED_TOKEN_LENGTH",
    "squeeze_numbers",
    "unit_of",
]

KG = "kg"

_ONE = Decimal(1)

# alias -> factor to kg. Canonical weight unit is always "kg".
_WEIGHT_ALIASES: dict[str, Decimal] = {
    **dict.fromkeys(("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilonya", "kgnya"),
                    _ONE),
    **dict.fromkeys(("g", "gr", "grm", "gram", "grams"), Decimal("0.001")),
    "ons": Decimal("0.1"),
    **dict.fromkeys(("kuintal", "kwintal", "kw", "quintal", "quintals"), Decimal(100)),
    **dict.fromkeys(("ton", "tons", "tonne", "tonnes"), Decimal(1000)),
}

# canonical count unit -> aliases (the canonical name is an alias of itself).
COUNT_UNITS: dict[str, tuple[str, ...]] = {
    "liter": ("liter", "liters", "litre", "litres", "ltr", "lt", "l"),
    "ikat": ("ikat", "iket", "ikt", "bunch", "bundle", "bundles"),
    "karung": ("karung", "krg", "sak", "zak", "sack", "sacks"),
    "buah": ("buah", "bh", "biji", "bj"),
    "lembar": ("lembar", "lbr", "sheet", "sheets"),
    "pcs": ("pcs", "pc", "piece", "pieces"),
    "paket": ("paket", "pkt", "pack", "packs", "package"),
    "botol": ("botol", "btl", "bottle", "bottles"),
    "bungkus": ("bungkus", "bks"),
    "ekor": ("ekor",),
    "butir": ("butir",),
    "sisir": ("sisir",),
    "tandan": ("tandan",),
    "kotak": ("kotak", "dus", "kardus", "box", "boxes"),
    "meter": ("meter", "mtr", "metre", "meters"),
    "kodi": ("kodi",),
    # from the blind field trial (DECISIONS 385): eggs by the tray, fruit by the crate
    "rak": ("rak", "tray"),
    "peti": ("peti", "krat"),
}

# alias -> (canonical unit, factor to the canonical unit)
UNIT_ALIASES: dict[str, tuple[str, Decimal]] = {
    **{alias: (KG, factor) for alias, factor in _WEIGHT_ALIASES.items()},
    **{alias: (unit, _ONE) for unit, aliases in COUNT_UNITS.items() for alias in aliases},
}

MONEY_SUFFIXES: dict[str, Decimal] = {
    # "ewu"/"yuta": Javanese (DECISIONS 385)
    **dict.fromkeys(("rb", "rbu", "ribu", "rebu", "k", "ewu"), Decimal(1_000)),
    **dict.fromkeys(("jt", "jta", "juta", "yuta"), Decimal(1_000_000)),
    **dict.fromkeys(("miliar", "milyar"), Decimal(1_000_000_000)),
}

_MAX_INT_DIGITS = 15

_NUM = r"[0-9]+(?:[.,][0-9]+)*"
# One token, already lower-cased and without spaces:
# [@][rp|idr]NUMBER[tail][REST[tail2]][/per], REST only in compound amounts ("3jt750rb")
_TOKEN_RE = re.compile(
    rf"(?P<at>@)?(?P<rp>rp|idr)?(?P<num>{_NUM})(?P<tail>[a-z]+)?"
    r"(?:(?P<num2>[0-9]{1,3})(?P<tail2>[a-z]+)?)?(?:/(?P<per>[a-z]+))?"
)
_THOUSANDS_RE = re.compile(r"[0-9]+(?:\.[0-9]{3})+")
_THOUSANDS_DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]{3})+,[0-9]+")
_DECIMAL_RE = re.compile(r"[0-9]+[.,][0-9]+")

# squeeze_numbers(): glue what people space apart so each amount is one token.
def _alternation(words: Iterable[str]) -> str:
    # longest first, so "kg" is not matched as "k" + "g"
    return "|".join(map(re.escape, sorted(words, key=len, reverse=True)))


_WORD_END = r"(?![^\W\d_])"  # not followed by a letter: "k" must not match "kali"
_UNIT_WORDS = _alternation(UNIT_ALIASES)
_SUFFIX_WORDS = _alternation(MONEY_SUFFIXES)
# "Rp 12.000,-" and "12.000,-." (not "1.-1", nor "1.-.1", which must not become 1.1)
_RUPIAH_TAIL_RE = re.compile(r"(?<=[0-9])[,.]-+(?![.,]?[0-9])")
_RP_GAP_RE = re.compile(r"\b(rp|idr)\.?\s*(?=[0-9])", re.IGNORECASE)
_NUMBER_WORD_GAP_RE = re.compile(
    rf"(?<=[0-9])\s+(?=(?:{_SUFFIX_WORDS}|{_UNIT_WORDS}){_WORD_END})", re.IGNORECASE
)
#: a digit, spaces, a word: where _NUMBER_WORD_GAP_RE may apply. That regex tries its
#: lookbehind and its long alternation at every position; this one starts with a digit,
#: so the regex engine skips to the digits, and the word is then looked up in a set.
_DIGIT_GAP_WORD_RE = re.compile(r"[0-9](\s+)([^\W\d_]+)")
_GAP_WORDS = frozenset(UNIT_ALIASES) | frozenset(MONEY_SUFFIXES)  # all ASCII letters


def _glue_number_words(text: str) -> str:
    """``"50 kg"`` -> ``"50kg"``, ``"40 ribu"`` -> ``"40ribu"``: exactly
    ``_NUMBER_WORD_GAP_RE.sub("", text)``, faster. Since the words of the alternation are
    letters only and must not be followed by a letter, the whole word after the gap must
    be one of them; an ASCII word is compared lower-cased, any other (where the regex's
    case folding differs from ``str.lower``: ``ſ`` matches ``s``) by the regex itself."""
    pieces: list[str] = []
    last = 0
    for match in _DIGIT_GAP_WORD_RE.finditer(text):
        word = match.group(2)
        if word.isascii():
            glue = word.lower() in _GAP_WORDS
        else:
            glue = _NUMBER_WORD_GAP_RE.match(text, match.start(1)) is not None
        if glue:
            pieces.append(text[last : match.start(1)])
            last = match.end(1)
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


_PER_UNIT_RE = re.compile(
    rf"([0-9](?:{_SUFFIX_WORDS})?)\s*(?:/|\bper\b)\s*(?=(?:{_UNIT_WORDS}){_WORD_END})",
    re.IGNORECASE,
)
_AT_RE = re.compile(r"\s*@\s*")
# "3jt 750rb", "2 juta 300 ribu" (already glued to "2juta 300ribu"): one compound amount
_COMPOUND_GAP_RE = re.compile(
    rf"(?<=[0-9])(jt|jta|juta|miliar|milyar)\s+(?=[0-9]{{1,3}}(?:{_SUFFIX_WORDS}){_WORD_END})",
    re.IGNORECASE,
)
# "2 juta 300": said aloud, that is 2.300.000 (the next step down), never 2.000.000
_COMPOUND_BARE_RE = re.compile(
    r"(?<=[0-9])(jt|jta|juta|miliar|milyar)\s+(?=[0-9]{3}(?![0-9.,/]|[^\W\d_]))", re.IGNORECASE
)


def squeeze_numbers(text: str) -> str:
    """Glue amounts into single tokens, keeping case: ``"Rp 12.000 / kg"`` ->
    ``"Rp12.000/kg"``, ``"50 kg"`` -> ``"50kg"``, ``"12 rb per ikat"`` -> ``"12rb/ikat"``,
    ``"50kg@12rb"`` -> ``"50kg @12rb"``.
    """
    # Each rewrite runs only when its trigger is present: this is the parser's hot path.
    lowered = text.lower()
    if "-" in text:
        text = _RUPIAH_TAIL_RE.sub("", text)
    if "rp" in lowered or "idr" in lowered:
        text = _RP_GAP_RE.sub(r"\1", text)
    text = _glue_number_words(text)
    if "j" in lowered or "mil" in lowered:
        text = _COMPOUND_GAP_RE.sub(r"\1", text)
        text = _COMPOUND_BARE_RE.sub(r"\1", text)
    if "/" in text or "per" in lowered:
        text = _PER_UNIT_RE.sub(r"\1/", text)
    if "@" in text:
        text = _AT_RE.sub(" @", text)
    return text


def interpret_number(digits: str, *, suffix: bool = False) -> Decimal | None:
    """Read digits with Indonesian separators (see module docstring) into a Decimal.

    ``suffix`` says a multiplier word follows (``rb``, ``jt``...), which makes a comma
    followed by three digits unambiguous. Returns ``None`` for malformed or ambiguous
    input.
    """
    if "," in digits:
        if "." in digits:
            if not _THOUSANDS_DECIMAL_RE.fullmatch(digits):
                return None
            plain = digits.replace(".", "").replace(",", ".")
        else:
            if not _DECIMAL_RE.fullmatch(digits):
                return None
            if not suffix and len(digits) - digits.index(",") == 4:
                return None  # "1,000": English thousands or Indonesian decimal? Ask.
            plain = digits.replace(",", ".")
    elif "." in digits:
        if _THOUSANDS_RE.fullmatch(digits):
            plain = digits.replace(".", "")
        elif _DECIMAL_RE.fullmatch(digits):
            plain = digits
        else:
            return None
    else:
        plain = digits
    integer_part = plain.split(".", 1)[0]
    if len(integer_part.lstrip("0")) > _MAX_INT_DIGITS:
        return None
    try:
        return Decimal(plain)
    except InvalidOperation:  # pragma: no cover - the regexes above only let digits through
        return None


def unit_of(word: str) -> tuple[str, Decimal] | None:
    """``"kw"`` -> ``("kg", Decimal(100))``; ``"bh"`` -> ``("buah", 1)``; else ``None``."""
    return UNIT_ALIASES.get(word.lower())


class NumberToken(NamedTuple):
    """One number-bearing token, classified (immutable: a tuple, cheap to build, and
    shared by the cache of :func:`scan_number_token`).

    kind:
      ``"num"``   a bare number (``50``, ``12.000``): quantity or price by position;
      ``"qty"``   a number with a unit (``50kg``);
      ``"money"`` a number with a money marker: ``Rp``, ``@``, a suffix (``rb``, ``jt``),
                  or a per-unit tail (``12000/kg``);
      ``"bad"``   looks like a number but cannot be read safely (``1,000``,
                  ``Rp5kg``, ``12rb/xyz``, ``1/2kg``, ``3x``).
    value: the number with any money suffix applied (``1,5jt`` -> 1500000), not yet
      converted by the unit factor. ``None`` only for ``"bad"``.
    unit / factor: canonical unit and its factor for ``"qty"`` (the written unit) or
      for ``"money"`` with a per-unit tail (the unit after ``/``).
    money: ``True`` when a money marker was present (``"money"`` and money-looking
      ``"bad"`` tokens), so a bad price never lands in the quantity slot.
    """

    kind: str
    value: Decimal | None
    unit: str | None = None
    factor: Decimal = _ONE
    money: bool = False


_BAD = NumberToken("bad", None)
_BAD_MONEY = NumberToken("bad", None, money=True)


def scan_number_token(token: str) -> NumberToken | None:
    """Classify one whitespace-free, lower-cased token; ``None`` if it is a word.

    Anything that starts with a digit is a number of some kind (possibly ``"bad"``).
    """
    m = _TOKEN_RE.fullmatch(token)
    if m is None:
        # "1/2kg", "3x": starts like a number but is not one we can read. Calling it a
        # word would put it in a product name; calling it bad makes the dialog ask.
        return _BAD if "0" <= token[:1] <= "9" else None
    at, rp, num, tail, per = m.group("at", "rp", "num", "tail", "per")
    if m.group("num2") is not None:
        compound = _compound(num, tail, m.group("num2"), m.group("tail2"))
        if compound is None:
            return _BAD_MONEY if tail in MONEY_SUFFIXES else _BAD
        return _money_token(compound, per)
    marked = bool(at or rp or per)
    multiplier = _ONE
    unit: tuple[str, Decimal] | None = None
    if tail is not None:
        if tail in MONEY_SUFFIXES:
            multiplier = MONEY_SUFFIXES[tail]
            marked = True
        elif tail in UNIT_ALIASES:
            if marked:
                return _BAD_MONEY  # "Rp5kg", "50kg/kg": neither a price nor a quantity
            unit = UNIT_ALIASES[tail]
        else:
            return _BAD_MONEY if marked else _BAD  # "12meter", "Rp5x"
    value = interpret_number(num, suffix=tail in MONEY_SUFFIXES)
    if value is None:
        return _BAD_MONEY if marked else _BAD
    if unit is not None:
        return NumberToken("qty", value, unit[0], unit[1])
    if not marked:
        return NumberToken("num", value)
    return _money_token(value * multiplier, per)


#: The parser's way in: the same few tokens (``50kg``, ``12rb``, ``12.000``) make up most
#: messages and the result is immutable, so it is cached. Only short tokens are (see
#: :data:`CACHED_TOKEN_LENGTH`): a long one is junk and must not sit in memory.
scan_number_token_cached = lru_cache(maxsize=4096)(scan_number_token)
CACHED_TOKEN_LENGTH = 24


def _money_token(value: Decimal, per: str | None) -> NumberToken:
    """An amount of rupiah, per the unit written after its slash (`per`, as in `12rb/kg`)
    if any; a unit we do not know makes it a bad amount."""
    if per is None:
        return NumberToken("money", value, money=True)
    per_unit = UNIT_ALIASES.get(per)
    if per_unit is None:
        return _BAD_MONEY
    return NumberToken("money", value, per_unit[0], per_unit[1], money=True)


def _compound(num: str, tail: str | None, num2: str, tail2: str | None) -> Decimal | None:
    """``3jt750rb`` -> 3750000, ``2jt350`` -> 2350000, ``12rb500`` -> 12500; else None.

    The first part is a whole number with a money suffix; the second is smaller than one
    unit of that suffix: with its own smaller suffix (``750rb``), or exactly three digits
    meaning the next step down (``jt350`` is 350 ribu, ``rb500`` is 500 rupiah). Anything
    else (``2jt5``: 2,5 juta or 2.005.000?) is not read, so the dialog asks.
    """
    big = MONEY_SUFFIXES.get(tail or "")
    if big is None or not num.isdigit():
        return None
    if tail2 is None:
        if len(num2) != 3:
            return None
        small = big / 1000
    else:
        small = MONEY_SUFFIXES.get(tail2)
        if small is None or small >= big:
            return None
    rest = Decimal(num2) * small
    if rest >= big:
        return None
    return Decimal(num) * big + rest


def _squeeze(text: str) -> str:
    """Free text -> one lower-case token: ``"Rp 12.000 / kg"`` -> ``"rp12.000/kg"``."""
    return squeeze_numbers(text.strip()).lower()


def _whole_rupiah(value: Decimal) -> int | None:
    if value != value.to_integral_value():
        return None  # fractional rupiah: never round money silently
    return int(value)


def parse_money(text: str) -> int | None:
    """Read an amount of money: ``"Rp 12.000"``, ``"12rb"``, ``"1,5jt"`` -> int rupiah.

    Returns ``None`` for anything that is not exactly one whole-rupiah amount (including
    prices with a unit such as ``"12rb/kg"``; use :func:`parse_price` for those).
    """
    tok = scan_number_token(_squeeze(text))
    if tok is None or tok.kind not in ("num", "money") or tok.unit is not None:
        return None
    assert tok.value is not None
    return _whole_rupiah(tok.value)


def convert_price(amount: Decimal | int, factor: Decimal) -> int | None:
    """Price per written unit -> price per canonical unit, in whole rupiah.

    ``convert_price(2500000, Decimal(100))`` (2,5jt per kuintal) -> 25000 per kg.
    ``None`` when the result is not a whole number of rupiah (``Rp1.500/ton``): we do
    not round money; the dialog asks for the price per kg instead.
    """
    return _whole_rupiah(Decimal(amount) / factor)


#: A price written as a bare number below the smallest coin (``40`` for a kilo of chilli)
#: is no price anyone means: the parser and the price question ask it (DECISIONS 378).
#: ``Rp40`` is read as written.
LEAST_BARE_PRICE = 100


def is_bare_number(text: str) -> bool:
    """``"40"``, ``"12.000"``: digits only, without ``Rp``, ``rb``, ``@`` or a unit."""
    tok = scan_number_token(_squeeze(text).lower())
    return tok is not None and tok.kind == "num" and not tok.money


def parse_price(text: str) -> tuple[int, str] | None:
    """Read a price with an optional unit, normalised to the canonical unit.

    ``"12rb/kg"`` -> ``(12000, "kg")``; ``"2,5jt/kw"`` -> ``(25000, "kg")``;
    ``"3rb per ikat"`` -> ``(3000, "ikat")``; ``"12000"`` -> ``(12000, "")``.
    """
    tok = scan_number_token(_squeeze(text))
    if tok is None or tok.kind not in ("num", "money"):
        return None
    assert tok.value is not None
    if tok.unit is None:
        amount = _whole_rupiah(tok.value)
        return None if amount is None else (amount, "")
    amount = convert_price(tok.value, tok.factor)
    return None if amount is None else (amount, tok.unit)


def parse_quantity(text: str) -> tuple[Decimal, str] | None:
    """Read a quantity with an optional unit, weight normalised to kg.

    ``"2 kwintal"`` -> ``(Decimal("200"), "kg")``; ``"2,5 ons"`` -> ``(Decimal("0.25"),
    "kg")``; ``"50 ikat"`` -> ``(Decimal("50"), "ikat")``. A bare number gives an empty
    unit: ``"50"`` -> ``(Decimal("50"), "")``. Money (``"12rb"``) and unreadable input
    give ``None``.
    """
    tok = scan_number_token(_squeeze(text))
    if tok is None or tok.value is None:
        return None
    if tok.kind == "num":
        return tok.value, ""
    if tok.kind == "qty":
        assert tok.unit is not None
        return tok.value * tok.factor, tok.unit
    return None


_THOUSANDTH = Decimal("0.001")


def json_number(value: Decimal) -> int | float:
    """Decimal -> ``int`` when integral, else ``float`` rounded half-up to 3 decimals."""
    if value == value.to_integral_value():
        return int(value)
    rounded = value.quantize(_THOUSANDTH, rounding=ROUND_HALF_UP)
    if rounded == rounded.to_integral_value():
        return int(rounded)
    return float(rounded)


# --- numbers written as words, and readings to offer instead of guessing ---------------

_DIGIT_WORDS = {"nol": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6,
                "tujuh": 7, "delapan": 8, "sembilan": 9}
_SE_WORDS = {"sepuluh": 10, "sebelas": 11, "seratus": 100}
_TENS_WORDS = {"belas": 10, "puluh": 10, "ratus": 100}
_SCALE_WORDS = {"ribu": 1_000, "rb": 1_000, "juta": 1_000_000, "jt": 1_000_000}
_SE_SCALE_WORDS = {"seribu": 1_000, "sejuta": 1_000_000}
#: Betawi/Jakarta slang for amounts of money (DECISIONS 412): read only alone, and like
#: every number word only ever offered back in digits
SLANG_AMOUNTS: dict[str, int] = {
    "cepek": 100, "gopek": 500, "seceng": 1_000, "ceceng": 1_000, "noceng": 2_000,
    "goceng": 5_000, "ceban": 10_000, "goban": 50_000,
}
#: Indonesian number words ``spelled_number`` reads (``rupiah`` may end an amount).
NUMBER_WORDS: frozenset[str] = frozenset(
    {*_DIGIT_WORDS, *_SE_WORDS, *_TENS_WORDS, *_SCALE_WORDS, *_SE_SCALE_WORDS, "rupiah",
     *SLANG_AMOUNTS}
)


def spelled_number(words: list[str]) -> int | None:
    """``["dua", "puluh", "ribu"]`` -> 20000; ``["seratus", "lima", "puluh"]`` -> 150.

    ``None`` unless every word is a number word in a sensible order. The result is only
    ever *offered* back in digits ("Rp20.000?"), never used unconfirmed: a word read
    wrongly must not become a price.
    """
    slang = [w.lower() for w in words if w.lower() != "rupiah"]
    if len(slang) == 1 and slang[0] in SLANG_AMOUNTS:
        return SLANG_AMOUNTS[slang[0]]  # "goceng": 5.000; "2 goceng" is not read
    total = small = 0
    pending: int | None = None
    last_scale = 10**12
    seen = False
    for word in (w.lower() for w in words):
        if word == "rupiah":
            continue
        if word in _DIGIT_WORDS:
            if pending is not None:
                return None  # "dua tiga": not a number
            pending = _DIGIT_WORDS[word]
        elif word in _SE_WORDS:
            small += _SE_WORDS[word]
        elif word in _TENS_WORDS:
            if pending is None:
                return None
            small += pending + 10 if word == "belas" else pending * _TENS_WORDS[word]
            pending = None
        elif word in _SCALE_WORDS or word in _SE_SCALE_WORDS:
            scale = _SCALE_WORDS.get(word) or _SE_SCALE_WORDS[word]
            count = small + (pending or 0) + (1 if word in _SE_SCALE_WORDS else 0)
            if not count or scale >= last_scale:
                return None  # "ribu" alone, "dua ribu tiga juta"
            total += count * scale
            small, pending, last_scale = 0, None, scale
        else:
            return None
        seen = True
    value = total + small + (pending or 0)
    return value if seen and value else None


_DOT_DECIMAL_RE = re.compile(r"[0-9]{1,3}\.[0-9]{1,2}")
#: "3jt5", "12rb5": a compound amount with one or two digits after the multiplier
_SHORT_COMPOUND_RE = re.compile(r"(?:rp|idr)?([0-9]{1,3})(jt|jta|juta|rb|rbu|ribu|rebu)([0-9]{1,2})")


def compound_candidates(token: str) -> list[int]:
    """``"3jt5"`` -> [3500000] (said "tiga juta lima": 3,5 juta), ``"12rb5"`` -> [12500],
    ``"3jt75"`` -> [3750000]: the reading to offer back of a compound amount that is not
    read by itself (it could also be 3.005.000; DECISIONS 412). Empty for anything else."""
    match = _SHORT_COMPOUND_RE.fullmatch(token.lower())
    if match is None:
        return []
    whole, suffix, part = match.groups()
    big = int(MONEY_SUFFIXES[suffix])
    return [int(whole) * big + int(part) * big // 10 ** len(part)]

_COMMA_THOUSANDS_RE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")


def number_candidates(token: str) -> list[int]:
    """Readings of an unreadable bare price to offer back: ``"15,000"`` -> [15000]
    (English thousands), ``"17.5"`` -> [17500] (ribu left out). Empty when none is
    plausible. Never used without the person's YA.
    """
    token = token.lower().lstrip("@").removeprefix("rp").removeprefix("idr").rstrip(",-")
    if _COMMA_THOUSANDS_RE.fullmatch(token):
        return [int(token.replace(",", ""))]
    if _DOT_DECIMAL_RE.fullmatch(token):
        value = Decimal(token) * 1000
        return [int(value)] if value == value.to_integral_value() else []
    return compound_candidates(token)

