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
  * Words after the price are ignored (``..., bisa nego``), but a bare number right after
    a marked price (``15jt 50``) makes the price unreadable.
  * A price is never guessed (DECISIONS 110): when it can be read more than one way it is
    reported missing with ``price_options``, the readings in rupiah per stored unit:
    after a quantity in ons/gram/kuintal/ton (``5 ons 8rb`` -> ``[8000, 80000]``; the
    other reading is only offered from Rp500), a price before a small count
    (``15rb 4 ikat`` -> ``[3750, 15000]``), ``15,000``/``17.5`` (-> ``[15000]``,
    ``[17500]``), number words (``dua puluh ribu`` -> ``[20000]``), slang alone
    (``goceng`` -> ``[5000]``) and short compounds (``3jt5`` -> ``[3500000]``; DECISIONS
    412). Compound amounts are one amount (``3 juta 750 ribu``, ``2jt350``, ``12rb500``).
  * Not read as the price, but asked with the reading offered back (DECISIONS 376, 378,
    386): an approximate price (``40 ribuan`` -> ``[40000]``, ``sekitar 12rb``, ``40 an``),
    a bare number below Rp100 (``10kg 40``), a price range (``10-12rb``), and a total
    after ``=``/``jadi`` right behind the quantity (``50kg = 600rb`` -> ``[12000,
    600000]``). A quantity glued to its price is split (``10kg40rb``).
  * A quantity glued to the product is split off when it carries a unit (``bawang50kg``;
    ``IR42`` stays), a bare number just before the quantity belongs to the name (``beras
    IR 64 50kg``), the name ends at ``yang`` and loses emoji and punctuation.
  * ``unit`` is also returned when only the price carried one and the quantity is
    missing (``JUAL cabai 12rb/kg`` -> ``unit: "kg"``), so the dialog asks "Berapa kg?".
HARGA / PRICE
  * With an amount after the product it is ``publish_price``; without, ``price``. The
    market is the words after the amount (``di`` dropped), or, in a query, the words
    after a comma, ``di``/``dekat``/``in``/``at``..., or from ``pasar``/``market`` on
    (``HARGA cabai Pasar Induk``); a market before the amount is the market too
    (``HARGA cabai pasar induk 40rb``). A bare amount below Rp100 is asked. Question
    words at the end of the product (``berapa``, ``sekarang``, ``hari ini``) are dropped.
    A number that is a quantity rather than an amount (``HARGA cabai 50kg``) gives ``publish_price`` with
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
  most 10 characters; ``#`` and ``-`` are ignored (``#p-12`` -> ``P12``); a lone letter
  followed by digits is one code (``ya p 7`` -> ``P7``). YA/TIDAK with a number that is no
  code (``YA 7``) report the order missing. YA/TIDAK/BATAL/
  STATUS/KIRIM/TERIMA/HAPUS take the first code anywhere in the message (``batal pesanan
  P12``). BAYAR and SIARAN STATUS also accept an all-digit id. A required code that is
  absent is reported missing (``missing: ["order"]``).
STOK code quantity: both or neither; one of them alone reports the other missing.
  ``unit`` is returned for STOK and PESAN only when written. ``STOK code tambah/kurang
  N`` (also ``+N``/``-N``, ``laku``, ``add``/``minus``) gives ``change`` (negative for
  kurang; short forms ``tmbh``, ``krg``, ``berkurang``...), never ``quantity``; ``STOK code
  habis`` (``kosong``, ``sold out``) gives ``quantity: 0``; ``habis 5`` reports the quantity
  missing. Any other word between the code and the number than ``sisa``, ``jadi``,
  ``masih``... makes the number unreadable (``STOK K5 kemarin 30``: missing quantity).
  ``tambah stok K5 20`` is ``STOK K5 tambah 20``.
LAGI / MORE: ``more``, the next page of the last STOK or CARI list.
TARIK amount: ``semua``/``smua``/``seluruh``/``all`` -> ``all: true``; a bare number below
  Rp1.000 (``TARIK 500``) is asked; number words, ``goceng`` and ``3jt5`` are asked with
  ``amount_options`` (the reading offered back for a YA).
PIN old new: digit strings (leading zeros kept); other words are ignored.
SIARAN group text: the group is the first word (lower-cased), the text the rest as typed
  (line breaks kept). ``SIARAN STATUS [id]`` -> ``broadcast_status`` with ``broadcast``.
BAHASA: ``id``/``indonesia``/``indo`` -> ``id``; ``en``/``english``/``inggris`` -> ``en``.
BANTUAN topic: the canonical command of the topic keyword, any language.
Not commands although they start with a keyword: ``terima kasih`` (thank you), ``no rek``/
  ``no hp``/``no wa`` ("number"). They parse as ``unknown`` without a suggestion.
Ways of writing (DECISIONS 117, 388): up to five lead-in words (greetings too) before the
  keyword are skipped
  (``saya mau JUAL``, ``tolong cek SALDO``, ``brp HARGA``); markup around the keyword
  (``_JUAL_``); inflected keywords (``langganan``, ``batalkan``); ``gak jadi``/``ora
  sido``/``teu jadi`` are BATAL; ``nggih``/``muhun``/``mboten`` with an order code are
  YA/TIDAK, alone a suggestion; ``cara``/``gimana`` + keyword is help for it. Short
  keywords (``hps``, ``krm``, ``psn``, ``pesen``, ``trima``, ``byr``, ``stk``, ``pesanan``
  for STATUS) are the keyword; ``y``/``gak``/``tolak`` with an order code are YA/TIDAK,
  ``ok``/``siap``/``bisa`` with one only a suggestion (``butuh`` suggests CARI); ``sudah
  kirim P12``/``sudah terima P12`` are KIRIM/TERIMA with the code only (DECISIONS 379-381,
  387, 411, 413).
Suggestions: for a first word of 4+ letters within 1 edit (2 for 6+ letters, with
  transpositions counting as one) of exactly one command's keywords; a keyword with an
  Indonesian suffix (``batalkan``, ``harganya``); ``beli``/``buy`` -> ``order``;
  ``DAFTAR PEMBLI`` -> ``register_buyer``. Ties between commands give no suggestion.
"""

from __future__ import annotations

import logging

from conversations import keywords as kw
from conversations.keywords import KEYWORDS_BY_COMMAND, keyword_for
from conversations.parse.commands import _HANDLERS, COMMAND_FIELDS
from conversations.parse.lookup import (
    _FIRST_WORD_RE,
    _LEAD_PUNCT_RE,
    _LOOK_AHEAD,
    _NEXT_WORD_RE,
    _SINGLE,
    _TWO_WORD,
    _suggest,
    _suggest_second,
)
from conversations.parse.text import normalise
from conversations.parse.tokens import Result

__all__ = ["COMMAND_FIELDS", "KEYWORDS_BY_COMMAND", "keyword_for", "normalise", "parse"]

_log = logging.getLogger(__name__)


def _parse(text: str) -> Result:
    """``parse`` without its safety net (property tests want to see any exception)."""
    return _parse_at(normalise(text), 0, _MAX_LEAD_INS)


_MAX_LEAD_INS = 5  # "selamat pagi pak, saya mau JUAL ..." (DECISIONS 388)
#: after a lead-in these act only with their order code
_NEEDS_CODE_AFTER_LEAD_IN = frozenset({"accept", "decline", "ship", "receive"})
_MARKUP = "*_~"
_LEAD_PUNCT = frozenset(":;,.!?*_~=>\"')]}-")  # _LEAD_PUNCT_RE's characters besides \s


def _parse_at(text: str, start: int, lead_ins: int) -> Result:
    """Parse ``text`` from ``start``; up to ``lead_ins`` lead-in words (``saya mau``,
    ``tolong``, ``cek``) may still be skipped before the keyword."""
    match = _FIRST_WORD_RE.match(text, start)
    if match is None:
        return {"command": "unknown"} if text.strip() else {"command": "empty"}
    end = match.end()
    while end < len(text) and text[end] in _MARKUP:
        end += 1  # "_JUAL_ cabai", "*SALDO*"
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
            if first in kw.STOCK_CHANGE_LEADS and second in kw.STOCK_NOUNS:
                # "tambah stok K5 20": STOK K5 tambah 20 (DECISIONS 381)
                return _HANDLERS["stock"](f"{first} {text[second_end:]}")
            if (phrase := kw.PHRASE_COMMANDS.get((first, second))) is not None:
                # "gak jadi", "ora sido", "teu jadi": never mind, i.e. BATAL
                return _run(phrase, text, second_end)
            if first in kw.HELP_LEADS:
                # "cara jual", "gimana cara daftar": how to, i.e. BANTUAN JUAL
                if second in kw.HELP_LEADS and (after := _NEXT_WORD_RE.match(text, second_end)):
                    second, second_end = after.group(1).lower(), after.end()
                topic = _keyword_command(second, text, second_end)
                if topic is not None:
                    return {"command": "help", "topic": topic}
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
        command = _SINGLE.get(first) or kw.READ_AS_KEYWORD.get(first)
    if command is None and first in kw.CODE_ANSWERS:
        # "y P7", "tolak P12": acted on with the order code only (DECISIONS 380)
        result = _run(kw.CODE_ANSWERS[first], text, end)
        if "order" in result:
            return result
        if not text[end:].strip(" .!?"):
            # "y", "gak" alone: a suggestion, which answers our own yes/no question
            return {"command": "unknown", "suggestion": kw.CODE_ANSWERS[first]}
    if command is None and first in kw.REGIONAL_ANSWERS:
        # "nggih P7", "muhun P7": yes with the order code; alone only a suggestion
        answer = kw.REGIONAL_ANSWERS[first]
        result = _run(answer, text, end)
        if "order" in result:
            return result
        return {"command": "unknown", "suggestion": answer}
    if command is None and lead_ins and first in kw.LEAD_INS:
        nxt = _FIRST_WORD_RE.match(text, end)
        if nxt is not None:
            result = _parse_at(text, end, lead_ins - 1)
            if result["command"] in _NEEDS_CODE_AFTER_LEAD_IN and "order" not in result:
                # "ok ya", "tolong kirim": chat, not a decision on whichever order waits
                return {"command": "unknown", "suggestion": result["command"]}
            if result["command"] != "unknown" or "suggestion" in result:
                return result
    if command is None and first in kw.PAST_LEADS and lead_ins:
        # "sudah kirim P12": shipped; acted on with the order code only (DECISIONS 387)
        result = _parse_at(text, end, lead_ins - 1)
        if result["command"] in kw.PAST_LEAD_COMMANDS and "order" in result:
            return result
    if command is None and first in kw.CODE_SUGGESTIONS:
        # "ok P7": perhaps YA P7, perhaps "ok, I will look at P7"; only suggested
        answer = kw.CODE_SUGGESTIONS[first]
        if "order" in _run(answer, text, end):
            return {"command": "unknown", "suggestion": answer}
    if command is None and first in kw.HELP_LEADS:
        # "cara" alone is "how?": help, never a suggestion of CARI
        return {"command": "help"} if first in kw.HELP_WORDS else {"command": "unknown"}
    if command is None and first in kw.LEAD_INS:
        return {"command": "unknown"}  # "pagi" is a greeting, not a typo of LAGI
    if command is None:
        suggestion = _suggest(first)
        if suggestion is None:
            return {"command": "unknown"}
        return {"command": "unknown", "suggestion": suggestion}
    return _run(command, text, end)


def _keyword_command(word: str, text: str, end: int) -> str | None:
    """The command ``word`` (at ``end`` in ``text``) is a keyword of, two-word ones too."""
    if word in _TWO_WORD:
        nxt = _NEXT_WORD_RE.match(text, end)
        if nxt is not None and (command := _TWO_WORD[word].get(nxt.group(1).lower())):
            return command
    return _SINGLE.get(word) or kw.READ_AS_KEYWORD.get(word)


def _run(command: str, text: str, end: int) -> Result:
    rest = text[end:].lstrip()  # str.isspace is the regex's \s
    if rest[:1] in _LEAD_PUNCT:  # the regex only when there is punctuation
        rest = rest[_LEAD_PUNCT_RE.match(rest).end() :]
    return _HANDLERS[command](rest.rstrip())


def parse(text: str) -> Result:
    """Parse one message into ``{"command": ..., fields..., "missing"?: [...]}``.

    See the module docstring for the rules. Never raises.
    """
    if not isinstance(text, str):  # defensive: the contract is str, callers may slip
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else ""
    try:
        return _parse_at(normalise(text), 0, _MAX_LEAD_INS)
    except Exception:  # noqa: BLE001 - a bad message must never take the webhook down
        _log.exception("parse failed for a %d-character message", len(text))
        return {"command": "unknown"}
