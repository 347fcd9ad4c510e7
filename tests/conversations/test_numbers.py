"""Indonesian numbers, money and units (conversations.numbers)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conversations.numbers import (
    convert_price,
    interpret_number,
    json_number,
    parse_money,
    parse_price,
    parse_quantity,
    scan_number_token,
    squeeze_numbers,
    unit_of,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12000", 12000),
        ("12.000", 12000),
        ("Rp 12.000", 12000),
        ("Rp12.000", 12000),
        ("Rp. 12.000", 12000),
        ("rp12rb", 12000),
        ("IDR 12000", 12000),
        ("12rb", 12000),
        ("12 rb", 12000),
        ("12 ribu", 12000),
        ("12 rebu", 12000),
        ("12k", 12000),
        ("12K", 12000),
        ("1,5jt", 1_500_000),
        ("1.5 juta", 1_500_000),
        ("2jt", 2_000_000),
        ("1,2jt", 1_200_000),
        ("1,25jt", 1_250_000),
        ("1,250jt", 1_250_000),  # with a suffix the comma is plainly decimal
        ("2,5rb", 2500),
        ("1.000.000", 1_000_000),
        ("Rp 12.000,-", 12000),
        ("Rp12.000,00", 12000),
        ("1.234,00", 1234),
        ("1 miliar", 1_000_000_000),
        ("0", 0),
        ("  500rb  ", 500_000),
    ],
)
def test_parse_money(text, expected):
    amount = parse_money(text)
    assert amount == expected
    assert type(amount) is int


@pytest.mark.parametrize(
    "text",
    [
        "",
        "rb",
        "Rp",
        "abc",
        "12.5",  # a decimal without a suffix is fractional rupiah
        "12,5",
        "Rp 12.500,50",
        "12,000",  # ambiguous: English thousands or Indonesian decimal
        "1,2345678rb",  # fractional rupiah after the multiplier
        "12rb/kg",  # a price, not an amount
        "50kg",
        "Rp5kg",
        "1.000.5",
        "1,000.50",
        "-500",
        "12 rb 13 rb",
        "9" * 16,  # beyond any real amount
    ],
)
def test_parse_money_rejects(text):
    assert parse_money(text) is None


@pytest.mark.parametrize(
    ("text", "quantity", "unit"),
    [
        ("50kg", "50", "kg"),
        ("50 kg", "50", "kg"),
        ("50 KG", "50", "kg"),
        ("2 kwintal", "200", "kg"),
        ("2 kuintal", "200", "kg"),
        ("3 kw", "300", "kg"),
        ("1 ton", "1000", "kg"),
        ("2,5 ons", "0.25", "kg"),
        ("500 gram", "0.5", "kg"),
        ("250gr", "0.25", "kg"),
        ("750g", "0.75", "kg"),
        ("1.000 kg", "1000", "kg"),  # dot + three digits: thousands
        ("1.5 kg", "1.5", "kg"),  # any other dot: decimal
        ("2,5 kg", "2.5", "kg"),
        ("1.234,5 kg", "1234.5", "kg"),
        ("20 liter", "20", "liter"),
        ("20 l", "20", "liter"),
        ("20 ltr", "20", "liter"),
        ("50 ikat", "50", "ikat"),
        ("10 karung", "10", "karung"),
        ("5 buah", "5", "buah"),
        ("5 bh", "5", "buah"),
        ("3 lembar", "3", "lembar"),
        ("3 lbr", "3", "lembar"),
        ("10 pcs", "10", "pcs"),
        ("4 paket", "4", "paket"),
        ("12 botol", "12", "botol"),
        ("30 bungkus", "30", "bungkus"),
        ("30 bks", "30", "bungkus"),
        ("50", "50", ""),  # a bare number: the unit is still to be asked
        ("2,5", "2.5", ""),
    ],
)
def test_parse_quantity(text, quantity, unit):
    assert parse_quantity(text) == (Decimal(quantity), unit)


@pytest.mark.parametrize("text", ["", "kg", "12rb", "Rp 5", "1,000 kg", "50 hasta", "x50kg"])
def test_parse_quantity_rejects(text):
    assert parse_quantity(text) is None


def test_count_units_are_never_converted_to_weight():
    for text in ("3 karung", "10 ikat", "2 liter", "5 buah"):
        quantity, unit = parse_quantity(text)
        assert unit != "kg"
        assert quantity == int(text.split()[0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12rb/kg", (12000, "kg")),
        ("12rb / kg", (12000, "kg")),
        ("12 rb per kg", (12000, "kg")),
        ("Rp 11.500/kg", (11500, "kg")),
        ("2,5jt/kw", (25000, "kg")),
        ("4.500.000/ton", (4500, "kg")),
        ("4rb/ons", (40000, "kg")),
        ("50/gram", (50000, "kg")),
        ("3rb/ikat", (3000, "ikat")),
        ("15rb/bh", (15000, "buah")),
        ("12000", (12000, "")),
    ],
)
def test_parse_price(text, expected):
    assert parse_price(text) == expected


@pytest.mark.parametrize("text", ["1.500/ton", "12rb/hasta", "50kg", "12,5/kg", ""])
def test_parse_price_rejects(text):
    assert parse_price(text) is None


@pytest.mark.parametrize(
    ("digits", "suffix", "expected"),
    [
        ("12", False, "12"),
        ("12.000", False, "12000"),
        ("1.000.000", False, "1000000"),
        ("1.5", False, "1.5"),
        ("1.50", False, "1.50"),
        ("1.5000", False, "1.5000"),
        ("2,5", False, "2.5"),
        ("1,000", False, None),
        ("1,000", True, "1.000"),
        ("1.234,5", False, "1234.5"),
        ("1,234.5", False, None),
        ("1.2.3", False, None),
        ("007", False, "7"),
    ],
)
def test_interpret_number(digits, suffix, expected):
    result = interpret_number(digits, suffix=suffix)
    assert result == (None if expected is None else Decimal(expected))


def test_money_never_uses_float_arithmetic():
    # 0.1 + 0.2 style errors would show up as 1_199_999 or a float here
    assert parse_money("1,2jt") == 1_200_000
    assert parse_money("0,3jt") == 300_000
    assert parse_money("4,35jt") == 4_350_000
    assert convert_price(Decimal("3300"), Decimal("0.1")) == 33000


def test_convert_price():
    assert convert_price(2_500_000, Decimal(100)) == 25000
    assert convert_price(1500, Decimal(1000)) is None  # Rp1,5 per kg: not whole rupiah
    assert convert_price(Decimal("12000.0"), Decimal(1)) == 12000


def test_unit_of():
    assert unit_of("KW") == ("kg", Decimal(100))
    assert unit_of("ons") == ("kg", Decimal("0.1"))
    assert unit_of("bh") == ("buah", Decimal(1))
    assert unit_of("hasta") is None


def test_scan_number_token_kinds():
    assert scan_number_token("cabai") is None
    assert scan_number_token("ir64") is None
    assert scan_number_token("4wd").kind == "bad"  # never part of a product name
    assert scan_number_token("1/2kg").kind == "bad"
    assert scan_number_token("50").kind == "num"
    assert scan_number_token("50kg").kind == "qty"
    assert scan_number_token("12rb").kind == "money"
    assert scan_number_token("@12000").kind == "money"
    assert scan_number_token("12000/kg").kind == "money"
    bad_price = scan_number_token("rp5kg")
    assert (bad_price.kind, bad_price.money) == ("bad", True)
    bad_quantity = scan_number_token("1,000kg")
    assert (bad_quantity.kind, bad_quantity.money) == ("bad", False)


def test_squeeze_numbers_keeps_case_and_words():
    assert squeeze_numbers("Beras 2 kwintal Rp 11.500 / kg") == "Beras 2kwintal Rp11.500/kg"
    assert squeeze_numbers("50kg@12rb") == "50kg @12rb"
    assert squeeze_numbers("2 kali") == "2 kali"  # "k" only joins as a whole word
    assert squeeze_numbers("cabai per kg") == "cabai per kg"  # only after an amount


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50),
        ("50.000", 50),
        ("2.5", 2.5),
        ("0.25", 0.25),
        ("0.0015", 0.002),  # half-up to three decimals
        ("0.0004", 0),
        ("1234.5678", 1234.568),
    ],
)
def test_json_number(value, expected):
    result = json_number(Decimal(value))
    assert result == expected
    assert type(result) is type(expected)
