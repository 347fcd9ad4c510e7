"""SMS arithmetic: the GSM-7 alphabet, septets, segments, and the brand prefix.

Shared by the reply catalog (texts must fit one segment), broadcasts (refuse long texts,
pace by segments) and the Twilio SMS adapter (the brand must appear in the text).
"""

from __future__ import annotations

import math
import unicodedata
from functools import cache

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

#: One GSM-7 segment. Indonesian networks do not reliably join longer messages.
SMS_LIMIT = 160
#: Twilio SMS to Indonesia uses a registered alphanumeric sender, and the brand must
#: appear in the text, so Twilio SMS bodies get this prefix; texts are budgeted for it.
BRAND_PREFIX = "Jembatan: "

# Characters people's phones produce that have a plain GSM-7 twin.
_GSM_TWINS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u00a0": " ", "`": "'",
})
_ESCAPED = frozenset("{}[]~^|\\€")


@cache
def is_gsm(char: str) -> bool:
    """True if `char` is in the GSM 03.38 alphabet (basic set or extension).

    Remembered per character: the codec is asked once per character ever seen."""
    try:
        char.encode("gsm03.38")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


#: Printable ASCII characters GSM-7 cannot carry (the codec's answer, asked once).
_ASCII_NOT_GSM = frozenset(c for c in map(chr, range(0x20, 0x7F)) if not is_gsm(c))


def gsm_safe(value: str) -> str:
    """`value` with every character a GSM-7 SMS can carry: accents dropped where the
    plain letter is needed, curly quotes straightened, emoji and control characters removed."""
    text = value.translate(_GSM_TWINS)
    if text.isascii() and text.isprintable() and _ASCII_NOT_GSM.isdisjoint(text):
        return " ".join(text.split())  # the usual case: nothing to drop
    result = []
    for char in text:
        if char.isprintable() and is_gsm(char):
            result.append(char)
            continue
        for part in unicodedata.normalize("NFKD", char):
            if part.isprintable() and is_gsm(part):
                result.append(part)
    return " ".join("".join(result).split())


def septets(text: str) -> int:
    """How many GSM-7 septets `text` takes (escaped characters count two).

    Raises UnicodeEncodeError if the text needs UCS-2.
    """
    if text.isascii() and "`" not in text:
        # Plain ASCII (the usual case) maps one to one except the escaped characters;
        # skipping the codec keeps this off the webhook's hot path.
        if _ESCAPED.isdisjoint(text):
            return len(text)
        return len(text) + sum(text.count(char) for char in _ESCAPED)
    return len(text.encode("gsm03.38"))


def sms_segments(text: str) -> int:
    """How many SMS segments `text` costs: 160/153 septets in GSM-7, 70/67 in UCS-2."""
    try:
        count = septets(text)
        single, multi = 160, 153
    except UnicodeEncodeError:
        count = len(text.encode("utf-16-be")) // 2
        single, multi = 70, 67
    return 1 if count <= single else math.ceil(count / multi)


def sms_body(text: str) -> str:
    """The text with the brand in it, as Indonesian alphanumeric-sender rules require."""
    return text if "Jembatan" in text else BRAND_PREFIX + text
