"""Gettext catalogs from `locales/`, and Indonesian-style formatting of money, amounts and times.

Catalogs are compiled from the `.po` sources in memory the first time a process
needs them, so nobody ever edits or commits a `.mo` file and a fresh checkout needs no
build step. A process keeps what it compiled: restart it after editing a `.po` file.
`pybabel compile` still works for tools that want `.mo` files; see docs/TRANSLATING.md.
"""

from __future__ import annotations

import gettext
import io
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED_LOCALES = ("id", "en")
DEFAULT_LOCALE = "id"

# Babel locale used for numbers per reply language: English replies still go to people
# in Indonesia, so they get Indonesian separators and "Rp" (en_ID), not "IDR12,000.00".
_BABEL_LOCALE = {"id": "id_ID", "en": "en_ID"}



def catalog_path(locale: str, domain: str = "messages") -> Path:
    """Path of the `.po` source for `locale` (`messages`: the bot's texts; `desk`: the
    coordinator's desk)."""
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


@cache
def load_translations(locale: str, domain: str = "messages") -> gettext.NullTranslations:
    """Return the gettext translations for `locale` and `domain`, compiled from its `.po` file."""
    path = catalog_path(locale, domain)
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def normalize_locale(locale: str | None) -> str:
    """Map anything to a supported reply language, defaulting to Indonesian."""
    return locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE


def format_money(amount: int, locale: str = DEFAULT_LOCALE) -> str:
    """`12000` -> `Rp12.000` (integer rupiah only: money is never a float)."""
    if not isinstance(amount, int):
        raise TypeError("money is an int number of rupiah")
    # Both reply languages write rupiah the Indonesian way (`_BABEL_LOCALE`): "Rp", dots
    # between thousands, a minus in front. Written directly, as Babel's pattern engine
    # costs ~50 µs per amount on the webhook path; tests/test_i18n_money.py checks it
    # against Babel.
    grouped = f"{abs(int(amount)):,}".replace(",", ".")
    return f"-Rp{grouped}" if amount < 0 else f"Rp{grouped}"


def babel_money(amount: int, locale: str = DEFAULT_LOCALE) -> str:
    """`format_money` as Babel writes it (the definition `format_money` is checked against)."""
    return format_currency(int(amount), "IDR", format="¤#,##0", currency_digits=False,
                           locale=_BABEL_LOCALE[normalize_locale(locale)])


def format_number(value: int | Decimal, locale: str = DEFAULT_LOCALE) -> str:
    """`1500000` -> `1.500.000`, `Decimal("2.5")` -> `2,5` in Indonesian style."""
    if type(value) in (int, Decimal):
        return _format_number(type(value), str(value), normalize_locale(locale))
    return format_decimal(value, locale=_BABEL_LOCALE[normalize_locale(locale)])


@lru_cache(maxsize=16_384)
def _format_number(kind: type, text: str, locale: str) -> str:
    return format_decimal(kind(text), locale=_BABEL_LOCALE[locale])


def format_local_time(moment: datetime, timezone: str, pattern: str = "dd/MM HH.mm") -> str:
    """`14.30 WIB` style time for a person in `timezone` (WIB/WITA/WIT named, others by offset)."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    text = format_datetime(local, pattern, locale="id_ID")
    return f"{text} {zone_abbreviation(timezone)}"


def zone_abbreviation(timezone: str) -> str:
    """The Indonesian name of a time zone: WIB, WITA or WIT (else the IANA name)."""
    return {
        "Asia/Jakarta": "WIB",
        "Asia/Pontianak": "WIB",
        "Asia/Makassar": "WITA",
        "Asia/Jayapura": "WIT",
    }.get(timezone, timezone)


def format_quantity(quantity: int | Decimal, unit: str, locale: str = DEFAULT_LOCALE) -> str:
    """`Decimal("2.5"), "kg"` -> `2,5 kg`: how stock is echoed back to sellers."""
    return f"{format_number(quantity, locale)} {unit}"


def format_unit_price(price: int, unit: str, locale: str = DEFAULT_LOCALE) -> str:
    """`12000, "kg"` -> `Rp12.000/kg`: a price per unit, as sellers write it."""
    return f"{format_money(price, locale)}/{unit}"
