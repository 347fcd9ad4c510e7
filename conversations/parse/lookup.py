"""Which command a message's first words name, and suggestions for near misses.

Names with a leading ``_`` are private to :mod:`conversations.parse`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from conversations import keywords as kw

_SINGLE: dict[str, str] = {}
_TWO_WORD: dict[str, dict[str, str]] = {}
for _keywords in kw.KEYWORDS.values():
    for _keyword, _command in _keywords.items():
        _words = _keyword.lower().split()
        if len(_words) == 1:
            _SINGLE[_words[0]] = _command
        else:
            _TWO_WORD.setdefault(_words[0], {})[_words[1]] = _command
_FUZZY_CHOICES: tuple[str, ...] = tuple(_SINGLE)
# first words after which the second word matters
_LOOK_AHEAD = (frozenset(_TWO_WORD) | {first for first, _ in kw.NOT_COMMANDS}
               | {first for first, _ in kw.PHRASE_COMMANDS} | kw.HELP_LEADS
               | kw.STOCK_CHANGE_LEADS)

_FIRST_WORD_RE = re.compile(r"[\W_]*([^\W\d_]+)")
_NEXT_WORD_RE = re.compile(r"[^\w]*([^\W\d_]+)(?!\w)")
_LEAD_PUNCT_RE = re.compile(r"[\s:;,.!?*_~=>\"')\]}-]+")


def _max_edits(word: str) -> int:
    return 1 if len(word) <= 5 else 2


_LONGEST_KEYWORD = max(map(len, _SINGLE))


def _suggest(word: str) -> str | None:
    """Command a mistyped first word probably meant, or ``None`` if unsure."""
    if len(word) > _LONGEST_KEYWORD + 3:
        return None  # too far from any keyword; also keeps long junk out of the cache
    return _suggest_cached(word)


@lru_cache(maxsize=4096)
def _suggest_cached(word: str) -> str | None:
    # Cached: the same typos recur, and fuzzy matching is the slowest step of a parse.
    if word in kw.SYNONYM_SUGGESTIONS:
        return kw.SYNONYM_SUGGESTIONS[word]
    for suffix in kw.KEYWORD_SUFFIXES:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and stem in _SINGLE:
            return _SINGLE[stem]
    if len(word) < 4:
        return None  # too short: "pak", "ok", "ada" are words, not typos
    matches = process.extract(
        word, _FUZZY_CHOICES, scorer=OSA.distance, score_cutoff=_max_edits(word), limit=None
    )
    if not matches:
        return None
    best = min(score for _, score, _ in matches)
    commands = {_SINGLE[choice] for choice, score, _ in matches if score == best}
    return commands.pop() if len(commands) == 1 else None


def _suggest_second(first: str, second: str) -> str | None:
    """``DAFTAR PEMBLI`` -> ``register_buyer``: one edit away from a two-word keyword."""
    if not 4 <= len(second) <= _LONGEST_KEYWORD:
        return None  # short words are names ("DAFTAR Siti"); long ones cannot match
    return _suggest_second_cached(first, second)


@lru_cache(maxsize=1024)
def _suggest_second_cached(first: str, second: str) -> str | None:
    options = _TWO_WORD[first]
    match = process.extractOne(second, tuple(options), scorer=OSA.distance, score_cutoff=1)
    return options[match[0]] if match else None


