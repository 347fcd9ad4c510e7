"""Text normalisation before parsing: one canonical form for what phones send.

NFKC; invisible, private-use and unassigned characters removed; odd spaces, quotes and
dashes made ASCII. Names with a leading ``_`` are private to :mod:`conversations.parse`.
"""

from __future__ import annotations

import unicodedata

__all__ = ["normalise"]


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

