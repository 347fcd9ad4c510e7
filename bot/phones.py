"""Phone numbers in E.164, whatever way people and providers write them."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

#: A WhatsApp business-scoped user id: ISO country code, a period, up to 128 alphanumerics
#: (`ID.1502576394655843`; a parent id has `ENT.` after the country: `US.ENT.118157`).
_BSUID = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$")
#: An Indonesian mobile number already in E.164 (what Twilio sends): returned as it is.
#: `tests/test_phones.py` checks that phonenumbers answers the same for every length.
_E164_ID_MOBILE = re.compile(r"\+628[1-9][0-9]{6,10}")


class InvalidPhoneNumber(ValueError):
    """The text is not a phone number we can deliver to."""


def normalize_phone(text: str, region: str = "ID") -> str:
    """Return `text` as E.164 (`+6281234567890`).

    Accepts `0812…`, `62812…`, `+62 812-…` and Twilio's `whatsapp:+62…`. A bare `62…`
    without the plus is what many gateways send, so it is read as an international number.
    An Indonesian mobile number already in E.164 (nearly every webhook) skips the parser;
    other forms are parsed once and remembered (a cache sized for a hub's senders).
    """
    if text and region == "ID":
        bare = text[9:] if text.startswith("whatsapp:") else text
        if _E164_ID_MOBILE.fullmatch(bare):
            return bare
    return _parse_phone(text, region)


@lru_cache(maxsize=65_536)
def _parse_phone(text: str, region: str) -> str:
    raw = (text or "").strip()
    if raw.lower().startswith("whatsapp:"):
        raw = raw[len("whatsapp:") :]
    if any(ch.isalpha() for ch in raw):
        # A BSUID (`ID.1502…`), an operator's alphanumeric sender (`TELKOMSEL`) or a vanity
        # number: phonenumbers would turn the letters into keypad digits and invent a
        # number that may belong to a stranger. Never.
        raise InvalidPhoneNumber(text)
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw.startswith("62") or (digits.startswith("62") and not raw.startswith(("+", "0"))):
        raw = "+" + digits
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(text) from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_bsuid(text: str | None) -> str | None:
    """The BSUID in `text` (`whatsapp:ID.1502…` or bare), exactly as sent; None if it is not one."""
    raw = (text or "").strip()
    if raw.lower().startswith("whatsapp:"):
        raw = raw[len("whatsapp:") :]
    return raw if _BSUID.match(raw) else None


def is_bsuid(address: str | None) -> bool:
    """True when a stored address (contacts.phone, outbox.phone) is a BSUID, not a number."""
    return bool(address) and _BSUID.match(address) is not None


def display_address(address: str | None) -> str:
    """How people are shown in the CLI and the desk: the number, or their WhatsApp id."""
    if not address:
        return "-"
    return f"WhatsApp {address}" if is_bsuid(address) else address


def mask_phone(e164: str) -> str:
    """Show a number the way a receipt does (`0812…7890`), for texts and logs."""
    if is_bsuid(e164):
        return "WhatsApp " + (e164[:7] + "..." if len(e164) > 10 else e164)
    national = "0" + e164[3:] if e164.startswith("+62") else e164
    return f"{national[:4]}...{national[-4:]}" if len(national) > 8 else national
