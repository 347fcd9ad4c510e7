"""Phone numbers in E.164, whatever way people and providers write them."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

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


def mask_phone(e164: str) -> str:
    """Show a number the way a receipt does (`0812…7890`), for texts and logs."""
    national = "0" + e164[3:] if e164.startswith("+62") else e164
    return f"{national[:4]}...{national[-4:]}" if len(national) > 8 else national
