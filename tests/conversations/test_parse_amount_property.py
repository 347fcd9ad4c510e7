"""Property (issue 14): no parse of any text yields a money amount, quantity or stock
change that cannot be derived from the digits written in it by the documented
multipliers: rb/ribu/k (10^3), jt/juta (10^6), miliar (10^9), a compound's second part
(``3jt750rb``, ``2jt350``), and the unit factors gram (0.001), ons (0.1), kuintal (100),
ton (1000), applied to a quantity or dividing a price. Number words never produce a value
the bot acts on (they are only offered back as ``price_options``)."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import product as pairs

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.numbers import interpret_number
from conversations.parse import parse

MULTIPLIERS = (Decimal(1), Decimal(1_000), Decimal(1_000_000), Decimal(1_000_000_000))
FACTORS = (Decimal(1), Decimal("0.001"), Decimal("0.1"), Decimal(100), Decimal(1000))
ACTED_ON = ("price", "amount", "quantity", "change")
_DIGITS_RE = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
_MILLI = Decimal("0.001")


def readings(digits: str) -> set[Decimal]:
    """What a digit string can mean by the number rules (with or without a suffix)."""
    values = {interpret_number(digits), interpret_number(digits, suffix=True)}
    return {v for v in values if v is not None}


def derivable(text: str) -> set[Decimal]:
    """Every value the documented multipliers and unit factors make of the text's digits."""
    numbers = [readings(d) for d in _DIGITS_RE.findall(text)]
    bases: set[Decimal] = set()
    for values in numbers:
        bases |= {v * m for v in values for m in MULTIPLIERS}
    for first, second in zip(numbers, numbers[1:], strict=False):  # compounds: 3jt 750rb
        for a, b in pairs(first, second):
            bases |= {a * big + b * small for big in MULTIPLIERS for small in MULTIPLIERS
                      if small < big}
    out = set()
    for value in bases:
        for factor in FACTORS:
            out.add((value * factor).quantize(_MILLI))
            out.add((value / factor).quantize(_MILLI))
    return out


def check(text: str) -> None:
    result = parse(text)
    acted = {key: result[key] for key in ACTED_ON if key in result}
    if not acted:
        return
    allowed = derivable(text)
    for key, value in acted.items():
        assert not isinstance(value, bool) and isinstance(value, int | float), (text, result)
        as_decimal = abs(Decimal(str(value))).quantize(_MILLI)
        assert as_decimal in allowed or as_decimal == 0, (text, key, value, result)


NUMBER = st.one_of(
    st.integers(0, 99_999).map(str),
    st.integers(1, 9_999_999).map(lambda n: f"{n:,}".replace(",", ".")),
    st.integers(1, 999_999).map(lambda n: f"{n:,}"),  # English thousands: 15,000
    st.tuples(st.integers(0, 999), st.integers(0, 99)).map(lambda t: f"{t[0]}.{t[1]}"),
    st.tuples(st.integers(0, 999), st.integers(0, 999)).map(lambda t: f"{t[0]},{t[1]}"),
)
SUFFIX = st.sampled_from(["", "", "rb", " rb", "ribu", " ribu", "k", "jt", " juta", " miliar",
                          "rb500", "jt350", "jt 750rb", " juta 300", ",-"])
UNIT = st.sampled_from(["", "kg", " kg", " ons", "gram", " gr", " kw", " ton", " ikat", " ekor",
                        " liter", "/kg", " per ons", "/ikat", " sak", " biji", " kodi"])
WORD = st.sampled_from(["cabai", "beras", "IR42", "tambah", "kurang", "habis", "dua", "puluh",
                        "ribu", "juta", "Rp", "Rp.", "@", "harga", "seharga", "per", "/", "-",
                        "+", ",", "semua", "makasih", "🌶️", "p", "7", "K5", "yang", "bagus"])
KEYWORD = st.sampled_from(["JUAL", "jual", "SELL", "TARIK", "WITHDRAW", "STOK K5", "STOK",
                           "STOCK K5", "PESAN C7", "HARGA cabai", "mau jual", "saya mau tarik",
                           "YA", "nggih"])
AMOUNT = st.tuples(st.sampled_from(["", "Rp", "Rp ", "@"]), NUMBER, SUFFIX, UNIT).map("".join)
PIECE = st.one_of(AMOUNT, WORD)


@settings(max_examples=1500, deadline=None)
@given(KEYWORD, st.lists(PIECE, max_size=7), st.sampled_from([" ", "  ", ", ", " - "]))
def test_no_amount_or_quantity_comes_from_nowhere(keyword, pieces, gap):
    check(keyword + " " + gap.join(pieces))


@settings(max_examples=500, deadline=None)
@given(KEYWORD, st.text(alphabet="0123456789.,rbjtkgons /@-+ ", max_size=30))
def test_no_amount_from_digit_soup(keyword, tail):
    check(f"{keyword} {tail}")


def test_a_dash_between_separators_never_joins_two_numbers():
    # found by test_no_amount_from_digit_soup: the ",-" tail rule once made "1.-.1" into 1.1
    for text in ("JUAL 1.-.1", "JUAL cabai 1.-.1 kg", "JUAL 0.-.001"):
        check(text)
    assert parse("JUAL cabai 10kg Rp 12.000,-.")["price"] == 12_000


def test_number_words_are_never_acted_on():
    for text in ("JUAL cabai 50kg dua puluh ribu", "TARIK dua juta", "STOK K5 tambah lima",
                 "JUAL sapi satu ekor tiga juta"):
        result = parse(text)
        assert not {"price", "amount", "change"} & set(result), result


def test_the_oracle_allows_what_the_rules_say():
    assert Decimal(3_750_000) in derivable("3 juta 750 ribu")
    assert Decimal(2_350_000) in derivable("2jt350")
    assert Decimal(80_000) in derivable("8rb/ons")
    assert Decimal(2_000_000) in derivable("2jt 5")
