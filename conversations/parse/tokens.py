"""Splitting a command's arguments into tokens, and small helpers every handler uses.

Names with a leading ``_`` are private to :mod:`conversations.parse`.
"""

from __future__ import annotations

import re

from conversations import keywords as kw
from conversations.numbers import (
    CACHED_TOKEN_LENGTH,
    NumberToken,
    scan_number_token,
    scan_number_token_cached,
    squeeze_numbers,
)

Result = dict[str, object]


_FIELD_SEP_RE = re.compile(r"(?<![0-9]),|,(?![0-9])|[;\n]")
_TOKEN_STRIP = ".!?:;\"'()[]{}*_~<>|\\"
_CODE_RE = re.compile(r"[A-Z][A-Z0-9]{0,9}")
_DIGITS_RE = re.compile(r"[0-9]{1,12}")
_ACCOUNT_NUMBER_RE = re.compile(r"\+?[0-9][0-9.\-]*")
_SEP = ","


def _tokens(rest: str, *, numbers: bool = True) -> list[str]:
    """Split arguments into tokens; field separators become a ``","`` token.

    With ``numbers`` amounts are glued first ("Rp 12.000 / kg" -> "Rp12.000/kg").
    """
    if numbers:
        rest = squeeze_numbers(rest)
    if "," in rest or ";" in rest or "\n" in rest:
        rest = _FIELD_SEP_RE.sub(" , ", rest)
    out = []
    for raw in rest.split():
        tok = raw.strip(_TOKEN_STRIP).rstrip("-")
        if tok:
            out.append(tok)
    return out


def _number(tok: str) -> NumberToken | None:
    first = tok[0]
    # cheap pre-check: most tokens are words and need no regex
    if first.isdigit() or first == "@" or first in "rRiI":
        if len(tok) <= CACHED_TOKEN_LENGTH:
            return scan_number_token_cached(tok.lower())
        return scan_number_token(tok.lower())
    return None


def _code(tok: str) -> str | None:
    code = tok.lstrip("#").replace("-", "").upper()
    if _CODE_RE.fullmatch(code) and any(c.isdigit() for c in code):
        return code
    return None


_SPACED_CODE_DIGITS_RE = re.compile(r"[0-9]{1,4}")


def _find_code(tokens: list[str], *, digits: bool = False) -> tuple[str | None, frozenset[int]]:
    """The first code and the positions of the tokens it was read from. A lone letter
    followed by digits is one code (``ya p 7`` -> ``P7``): read apart, the bare ``YA``
    would accept whichever order happens to be waiting."""
    for i, tok in enumerate(tokens):
        if (len(tok) == 1 and tok.isascii() and tok.isalpha() and i + 1 < len(tokens)
                and _SPACED_CODE_DIGITS_RE.fullmatch(tokens[i + 1])):
            return tok.upper() + tokens[i + 1], frozenset({i, i + 1})
        code = _code(tok)
        if code is None and digits and _DIGITS_RE.fullmatch(tok):
            code = tok
        if code is not None:
            return code, frozenset({i})
    return None, frozenset()


def _first_code(tokens: list[str], *, digits: bool = False) -> str | None:
    return _find_code(tokens, digits=digits)[0]


def _words(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t != _SEP]


def _title(text: str) -> str:
    """Title-case as typed: capitalise all-lower-case words, keep everything else."""
    return " ".join(w[:1].upper() + w[1:] if w.islower() else w for w in text.split())


def _trim(words: list[str], fillers: frozenset[str], *, leading: bool = False) -> list[str]:
    """Drop filler words from the end (and, with ``leading``, from the start)."""
    end = len(words)
    while end and words[end - 1].lower() in fillers:
        end -= 1
    start = 0
    if leading:
        while start < end and words[start].lower() in fillers:
            start += 1
    return words[start:end]


def _finish(result: Result, missing: list[str]) -> Result:
    if missing:
        result["missing"] = missing
    return result


def _valid(tok: NumberToken | None, *kinds: str) -> bool:
    return tok is not None and tok.kind in kinds


def _split_place(tokens: list[str], starters: frozenset[str]) -> tuple[list[str], list[str]]:
    """Split ``product [place]`` at a separator, a place preposition (dropped) or a
    market word (kept: "Pasar Induk")."""
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if i and (tok == _SEP or low in kw.PLACE_WORDS):
            return tokens[:i], _words(tokens[i + 1 :])
        if i and low in starters:
            return tokens[:i], _words(tokens[i:])
    return tokens, []


_PLACE_FILLERS = kw.QUESTION_FILLERS | kw.PLACE_WORDS  # built once: a union costs a set


def _place(words: list[str]) -> str:
    words = _trim(words, _PLACE_FILLERS, leading=True)
    return _title(" ".join(words))


_NOT_PRODUCT_RE = re.compile(r"[^\w'&.-]|_")
#: Words that end a product name: what follows describes it (DECISIONS 394).
_PRODUCT_ENDS = frozenset({"yang", "yg"})


def _clean_product(words: list[str]) -> list[str]:
    """Emoji and punctuation out of product words; the name ends at ``yang`` or ``yg``
    (``cabai yang bagus``, ``cabai rawit yg bagus`` are cabai, cabai rawit)."""
    cleaned = []
    for word in words:
        if word.lower() in _PRODUCT_ENDS and cleaned:
            break
        if not word.isalpha():  # a letters-only word (nearly all) has nothing to drop
            word = _NOT_PRODUCT_RE.sub("", word).strip(".-'")
        if word:
            cleaned.append(word)
    return cleaned


def _product(words: list[str]) -> str:
    return " ".join(_clean_product(_trim(_words(words), kw.QUESTION_FILLERS, leading=True))).lower()
