"""parse(text) -> dict: the command corpus plus focused cases (conversations.parse)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conversations.keywords import COMMANDS, KEYWORDS
from conversations.parse import COMMAND_FIELDS, KEYWORDS_BY_COMMAND, keyword_for, parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CORPORA = ("commands.tsv", "commands_extra.tsv", "commands_field.tsv")


def load_corpus(name: str) -> list[tuple[str, dict]]:
    cases = []
    for number, line in enumerate((FIXTURES / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, expected = line.split("\t")
        cases.append(pytest.param(text, json.loads(expected), id=f"{name}:{number}"))
    return cases


CORPUS = [case for name in CORPORA for case in load_corpus(name)]


@pytest.mark.parametrize(("text", "expected"), CORPUS)
def test_corpus(text, expected):
    result = parse(text)
    for key, value in expected.items():
        assert key in result, f"{key!r} missing from {result}"
        assert result[key] == value, f"{key!r}: {result[key]!r} != {value!r} in {result}"
        assert type(result[key]) is type(value), f"{key!r} has type {type(result[key])}"


@pytest.mark.parametrize(("text", "expected"), CORPUS)
def test_corpus_output_shape(text, expected):
    """Only documented fields, JSON-serialisable, `missing` only when non-empty."""
    result = parse(text)
    json.dumps(result)
    command = result["command"]
    assert command in COMMAND_FIELDS
    assert set(result) - {"command"} <= set(COMMAND_FIELDS[command])
    if "missing" in result:
        assert result["missing"]
        assert set(result["missing"]) <= set(COMMAND_FIELDS[command]) - {"missing"}
        assert not set(result["missing"]) & set(result)
    if "suggestion" in result:
        assert result["suggestion"] in COMMANDS


def test_corpus_is_big_enough():
    assert len(CORPUS) >= 200


# --- fields that must be absent --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("JUAL cabai 50kg 12rb", "missing"),
        ("PESAN C7 20", "unit"),
        ("STOK C7 30", "unit"),
        ("HARGA cabai", "market"),
        ("HARGA cabai 11500", "unit"),
        ("HARGA cabai 11500", "market"),
        ("CARI cabai merah bandung", "place"),
        ("bantuan xyz", "topic"),
        ("YA", "order"),
        ("TIDAK mau", "order"),
        ("STATUS", "order"),
        ("SALOD", "missing"),
        ("halo", "suggestion"),
        ("STOL", "suggestion"),  # STOK or STOP? no guess
        ("pak", "suggestion"),  # short words are words, not typos
        ("terima kasih", "suggestion"),
        ("JUAL cabai 50 12rb", "unit"),
        ("TARIK semua", "amount"),
        ("SIARAN STATUS", "broadcast"),
    ],
)
def test_absent_fields(text, absent):
    assert absent not in parse(text)


# --- numbers and units through parse() -------------------------------------------------


@pytest.mark.parametrize(
    ("price_text", "price"),
    [
        ("12000", 12000),
        ("12.000", 12000),
        ("Rp 12.000", 12000),
        ("Rp12.000", 12000),
        ("rp12rb", 12000),
        ("12rb", 12000),
        ("12 rb", 12000),
        ("12 ribu", 12000),
        ("12k", 12000),
        ("1,5jt", 1_500_000),
        ("1.5 juta", 1_500_000),
        ("2jt", 2_000_000),
        ("1,2jt", 1_200_000),
    ],
)
def test_price_spellings(price_text, price):
    result = parse(f"JUAL cabai 50kg {price_text}")
    assert result["price"] == price
    assert type(result["price"]) is int


@pytest.mark.parametrize(
    ("quantity_text", "quantity", "unit"),
    [
        ("50kg", 50, "kg"),
        ("500 gram", 0.5, "kg"),
        ("500 gr", 0.5, "kg"),
        ("500g", 0.5, "kg"),
        ("5 ons", 0.5, "kg"),
        ("2 kuintal", 200, "kg"),
        ("2 kwintal", 200, "kg"),
        ("2 kw", 200, "kg"),
        ("2 ton", 2000, "kg"),
        ("1,5 gram", 0.002, "kg"),  # rounded to 3 decimals for JSON
        ("20 liter", 20, "liter"),
        ("20 l", 20, "liter"),
        ("20 ltr", 20, "liter"),
        ("3 ikat", 3, "ikat"),
        ("3 karung", 3, "karung"),
        ("3 buah", 3, "buah"),
        ("3 bh", 3, "buah"),
        ("3 lembar", 3, "lembar"),
        ("3 lbr", 3, "lembar"),
        ("3 pcs", 3, "pcs"),
        ("3 paket", 3, "paket"),
        ("3 botol", 3, "botol"),
        ("3 bungkus", 3, "bungkus"),
        ("3 bks", 3, "bungkus"),
    ],
)
def test_units(quantity_text, quantity, unit):
    result = parse(f"JUAL kopi {quantity_text} 10rb")
    assert (result["quantity"], result["unit"]) == (quantity, unit)
    assert type(result["quantity"]) is type(quantity)


def test_price_is_per_stored_unit():
    assert parse("JUAL bawang merah 3 kw 2,5jt/kw")["price"] == 25000
    assert parse("JUAL cabai 5 ons 4rb/ons")["price"] == 40000
    assert parse("JUAL cabai 1 ton 8rb/kg")["price"] == 8000
    # no unit on the price: per kg for weights, as the dialog asks "per kg?", unless
    # per the written unit is a sensible price too (then both are offered, see below)
    assert parse("JUAL beras 2 kw 12rb")["price"] == 12000
    assert parse("JUAL beras 1 ton 1,5jt")["price_options"] == [1500, 1500000]


def test_price_never_guessed_when_units_disagree_or_rupiah_would_be_fractional():
    assert parse("JUAL kangkung 50 ikat 3rb/kg")["missing"] == ["price"]
    assert parse("JUAL kangkung 50 ikat 3rb/karung")["missing"] == ["price"]
    assert parse("JUAL beras 1 ton 1.500/ton")["missing"] == ["price"]


def test_missing_order_for_sell():
    assert parse("JUAL")["missing"] == ["product", "quantity", "price"]
    assert parse("JUAL cabai")["missing"] == ["quantity", "price"]
    assert parse("JUAL cabai 50")["missing"] == ["unit", "price"]
    assert parse("JUAL cabai 50 12rb")["missing"] == ["unit"]
    assert parse("JUAL cabai 50kg")["missing"] == ["price"]
    assert parse("JUAL 50kg")["missing"] == ["product", "price"]


def test_quantity_is_int_when_whole_float_otherwise():
    assert type(parse("JUAL cabai 2,0 kg 1rb")["quantity"]) is int
    assert parse("JUAL cabai 2,25 kg 1rb")["quantity"] == 2.25
    assert parse("STOK C7 12,5")["quantity"] == 12.5


# --- tolerance ------------------------------------------------------------------------

SELL = {"command": "sell", "product": "cabai", "quantity": 50, "unit": "kg", "price": 12000}


@pytest.mark.parametrize(
    "text",
    [
        "JUAL cabai 50kg 12rb",
        "jual cabai 50kg 12rb",
        "  JUAL    cabai   50kg    12rb  ",
        "JUAL: cabai 50kg 12rb",
        "JUAL, cabai, 50kg, 12rb",
        "JUAL; cabai; 50kg; 12rb",
        "JUAL\ncabai\n50kg\n12rb",
        "JUAL\tcabai\t50kg\t12rb",
        "JUAL\u00a0cabai\u00a050kg\u00a012rb",  # NBSP
        "\ufeffJUAL cabai 50kg 12rb",  # BOM
        "JU\u200bAL cabai\u200c 50\u200dkg 12rb\u2060",  # zero-width characters
        "\u202bJUAL cabai 50kg 12rb\u202c",  # bidi embedding
        "\uff2a\uff35\uff21\uff2c cabai \uff15\uff10kg \uff11\uff12rb",  # full-width
        "JUAL\u3000cabai\u300050kg\u300012rb",  # ideographic space
        "*JUAL* cabai 50kg 12rb",  # WhatsApp bold
        "JUAL\x00cabai\x0750kg\x1b12rb",  # control characters
        "JUAL cabai 50kg 12rb\r\n",
        "JUAL \u201ccabai\u201d 50kg 12rb",  # smart quotes
    ],
)
def test_tolerance(text):
    assert parse(text) == SELL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ya, p12", {"command": "accept", "order": "P12"}),
        ("Ya , P12 .", {"command": "accept", "order": "P12"}),
        ("saldo?", {"command": "balance"}),
        ("SALDO???", {"command": "balance"}),
        ("Saldo\u2019", {"command": "balance"}),
        ("\u2018ya\u2019 p12", {"command": "accept", "order": "P12"}),
        ("batal \u2013 P12", {"command": "cancel_order", "order": "P12"}),
        ("\U0001f44d ya P12", {"command": "accept", "order": "P12"}),
    ],
)
def test_tolerance_short_commands(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["", " ", "   \n\t ", "\u200b", "\ufeff\u00a0", "\u2060\r\n"])
def test_empty(text):
    assert parse(text) == {"command": "empty"}


@pytest.mark.parametrize(
    "text",
    [
        "cabai JUAL 50kg",  # keyword must come first
        "P12",
        "12rb",
        "jual2",
        "\U0001f600",
        "!!!",
        "terima kasih",
        "Terima kasih, sudah sampai",
        "no hp saya 0812",
    ],
)
def test_unknown_without_suggestion(text):
    assert parse(text) == {"command": "unknown"}


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("JAUL cabai 50kg 12rb", "sell"),
        ("SALOD", "balance"),
        ("DAFTR Siti, Sukamaju", "register"),
        ("STOCKK", "stock"),
        ("BERHENIT", "stop"),
        ("LANGANN cabai", "subscribe"),
        ("batalnya P12", "cancel"),
        ("kirimkan P12", "ship"),
        ("saldonya", "balance"),
        ("beli C7 20", "order"),
        ("DAFTAR PEMBLI Warung, Bandung", "register_buyer"),
    ],
)
def test_suggestion_never_acts(text, suggestion):
    assert parse(text) == {"command": "unknown", "suggestion": suggestion}


def test_codes_are_upper_cased():
    assert parse("kirim p12")["order"] == "P12"
    assert parse("hapus c7")["listing"] == "C7"
    assert parse("pesan c7 20")["listing"] == "C7"
    assert parse("stok #c7 5")["listing"] == "C7"


def test_names_places_and_broadcast_text():
    assert parse("DAFTAR siti aminah, sukamaju") == {
        "command": "register",
        "name": "Siti Aminah",
        "village": "Sukamaju",
    }
    # title-cased as typed: all-caps and mixed case are left alone
    assert parse("DAFTAR PEMBELI UD. MAJU jaya, Bandung")["name"] == "UD. MAJU Jaya"
    assert parse("HARGA cabai 11500 pasar induk")["market"] == "Pasar Induk"
    assert parse("HARGA cabai 11500 Pasar Induk")["market"] == "Pasar Induk"
    text = "Panen raya  hari Sabtu!\nKumpul di balai desa, jam 8."
    assert parse(f"SIARAN Sukamaju {text}") == {
        "command": "broadcast",
        "group": "sukamaju",
        "text": text,
    }


def test_account_number_keeps_leading_zero_and_is_a_string():
    result = parse("REK DANA 081234567890 Siti")
    assert result["number"] == "081234567890"
    assert parse("PIN 0123 0456") == {"command": "pin", "old": "0123", "new": "0456"}


# --- keywords ---------------------------------------------------------------------------


def test_keyword_for():
    assert keyword_for("sell", "id") == "JUAL"
    assert keyword_for("sell", "en") == "SELL"
    assert keyword_for("register_buyer", "id") == "DAFTAR PEMBELI"
    assert keyword_for("register_buyer", "en") == "REGISTER BUYER"
    assert keyword_for("cancel_order", "id") == "BATAL"
    assert keyword_for("publish_price", "en") == "PRICE"
    assert keyword_for("broadcast_status", "id") == "SIARAN STATUS"
    assert keyword_for("stop", "id") == "BERHENTI"
    assert keyword_for("stop", "en") == "STOP"
    assert keyword_for("sell", "en_US") == "SELL"
    assert keyword_for("sell", "fr") == "JUAL"  # unsupported language: Indonesian
    with pytest.raises(KeyError):
        keyword_for("fly", "id")


def test_every_command_has_a_keyword_in_every_language():
    for command in COMMANDS:
        for language in KEYWORDS:
            assert keyword_for(command, language)
    assert KEYWORDS_BY_COMMAND["sell"] == {"id": ("JUAL",), "en": ("SELL",)}


@pytest.mark.parametrize(
    ("keyword", "command"),
    [(k, c) for words in KEYWORDS.values() for k, c in words.items()],
)
def test_every_keyword_parses_to_its_command(keyword, command):
    result = parse(keyword)
    assert result["command"] == command
    assert parse(keyword.lower())["command"] == command


def test_help_topic_for_every_keyword():
    for words in KEYWORDS.values():
        for keyword, command in words.items():
            assert parse(f"BANTUAN {keyword.lower()}")["topic"] == command


# --- robustness -----------------------------------------------------------------------


PATHOLOGICAL = [
    "x" * 5000,
    "JUAL " + "cabai " * 1000,
    "JUAL cabai " + "1" * 3000,
    "JUAL cabai " + "1." * 3000,
    "JUAL cabai " + "1," * 3000 + "jt",
    "DAFTAR " + "," * 3000,
    "SIARAN " + "\U0001f600" * 3000,
    "HARGA " + "Rp " * 2000,
    "\ud800JUAL\udfff",  # lone surrogates
    "\x00" * 100,
    "JAUL" * 600,
]


@pytest.mark.parametrize("text", PATHOLOGICAL)
def test_pathological_input_is_safe(text):
    result = parse(text)
    assert isinstance(result["command"], str)
    json.dumps(result)


def test_pathological_input_never_hangs():
    """Catastrophic backtracking shows as a hang, not as a slow answer: the bound is a
    minute for all of them (they take milliseconds), so it fails only on a real hang.
    How fast the parser is, is measured in bench/parse.py."""
    code = "import sys, json\nfrom conversations.parse import parse\n" \
           "for text in json.load(sys.stdin):\n    parse(text)\n"
    try:
        subprocess.run([sys.executable, "-c", code], input=json.dumps(PATHOLOGICAL), text=True,
                       check=True, timeout=60, cwd=Path(__file__).parents[2])
    except subprocess.TimeoutExpired:
        pytest.fail("parse() did not return within a minute on the pathological inputs (a hang)")


@pytest.mark.parametrize("value", [None, b"JUAL cabai 50kg 12rb", b"\xff\xfe", 42])
def test_non_str_input_does_not_raise(value):
    result = parse(value)  # type: ignore[arg-type]
    assert isinstance(result["command"], str)


def test_language_layer_imports_no_web_or_provider_code():
    code = (
        "import sys, conversations.parse, conversations.numbers, conversations.keywords\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'flask', 'redis', 'rq', 'twilio', 'bot', 'requests', 'sqlite_utils'})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


#: The fields each command carried before issue 14: `jembatan parse` consumers rely on
#: them, so they may gain keys (documented in README) but never lose one.
V1_COMMAND_FIELDS: dict[str, tuple[str, ...]] = {
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


def test_parse_schema_is_backward_compatible():
    for command, fields in V1_COMMAND_FIELDS.items():
        assert set(fields) <= set(COMMAND_FIELDS[command]), command

