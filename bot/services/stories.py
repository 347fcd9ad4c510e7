"""Sellers' stories: one for each listing (`CERITA kode teks`) and one for the seller
(`CERITA teks`), published on the storefront's listing and seller pages.

A story is public and indexed, so what it may carry is decided here (DECISIONS 231–233):
phone numbers, links and e-mail addresses are taken out before it is stored (the seller
is told what went); the text is otherwise kept as typed (accents, line breaks, a
WhatsApp emoji), HTML-escaped by the pages. Coordinators may edit a story (the same
cleaning applies) or hide it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.services.coordinators import record_action
from bot.storage import fetch_all, fetch_one, to_db_time, transaction

#: The longest story: four SMS of 160 characters, "up to a few SMS joined" (DECISIONS 234).
MAX_STORY_CHARS = 640
#: Kinds of text a public story never carries, in the order a seller is told about them.
REMOVED_KINDS = ("phone", "link", "email")

_EMAIL_RE = re.compile(r"[\w.+-]+\s?@\s?[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Links: a scheme or www., or a bare domain with a common top-level domain (wa.me/62...,
# bit.ly/x, s.id/x, tokositi.com, desa.co.id).
_TLDS = ("com|id|net|org|co|me|ly|io|info|biz|xyz|link|site|shop|store|app|my|online|web|"
         "blog|page|gl|to|cc|tv|ws|in|us|sg")
_LINK_RE = re.compile(
    rf"(?:https?://|www\.)\S+|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b(?:/\S*)?",
    re.IGNORECASE)
# Phone numbers as Indonesians write them: +62/62/0 and 8-13 more digits (the shortest
# landline, 0274 12345, has 8; a date 01/02/2019 or hours 08.00-17.00 have 7 and stay),
# with up to three separator characters between digits (space, dot, dash, en/em dash,
# slash, star, bracket: 0812-3456-7890, (021) 555 1234, +62 812 3456 7890, 0812 - 3456 - 7890,
# 0812/3456/7890, 0 8 1 2 ...); or 8xx... of 9+ digits written the same ways (WA 812-3456-789,
# 8123 4567 890). A comma never separates, so decimals (0,5 kg) stay.
_PHONE_SEPARATORS = r"[\s.\-\u2010-\u2015/*()]"
_PHONE_RE = re.compile(
    rf"(?<![\w])(?:\+\s?62|62|\(?0)(?:{_PHONE_SEPARATORS}{{0,3}}\d){{8,}}(?![\w])"
    rf"|(?<![\w.,])8\d{{2}}(?:{_PHONE_SEPARATORS}{{0,3}}\d){{6,}}(?![\w])")
# Phone numbers spelled out digit by digit ("nol delapan satu dua ...", "kosong lapan ...",
# "zero eight one two ..."), also mixed with digits ("0812 tiga empat ..."): a run of
# digit words and digit groups, with the same separators (and commas) between them, that
# spells 8 or more digits with at least one word is a number (DECISIONS 343). Indonesian,
# Malay/colloquial, Javanese, Sundanese and English digit words; "plus" may open it (+62).
DIGIT_WORDS = {
    "nol": "0", "kosong": "0", "zero": "0", "oh": "0", "o": "0",
    "satu": "1", "se": "1", "siji": "1", "hiji": "1", "one": "1",
    "dua": "2", "loro": "2", "two": "2",
    "tiga": "3", "telu": "3", "tilu": "3", "three": "3",
    "empat": "4", "ampat": "4", "papat": "4", "opat": "4", "four": "4",
    "lima": "5", "limo": "5", "five": "5",
    "enam": "6", "anam": "6", "enem": "6", "genep": "6", "six": "6",
    "tujuh": "7", "pitu": "7", "seven": "7",
    "delapan": "8", "lapan": "8", "dlapan": "8", "wolu": "8", "dalapan": "8", "eight": "8",
    "sembilan": "9", "semilan": "9", "songo": "9", "salapan": "9", "nine": "9",
}
_DIGIT_TOKEN = "|".join(sorted(DIGIT_WORDS, key=len, reverse=True)) + r"|\d+"
_SPELLED_PHONE_RE = re.compile(
    rf"(?<![\w])(?:(?:plus|\+)[\s]*)?(?:{_DIGIT_TOKEN})(?:[\s.,\-\u2010-\u2015/*()]{{1,3}}(?:{_DIGIT_TOKEN}))+(?![\w])",
    re.IGNORECASE)
#: How many digits a spelled-out run must carry to be taken for a phone number.
SPELLED_PHONE_DIGITS = 8


def spelled_digits(run: str) -> tuple[str, bool]:
    """The digits a run of digit words and digit groups spells, and whether it had a word."""
    digits, worded = [], False
    for token in re.findall(r"[^\W\d_]+|\d+", run):
        if token.isdigit():
            digits.append(token)
        elif token.lower() in DIGIT_WORDS:
            digits.append(DIGIT_WORDS[token.lower()])
            worded = True
    return "".join(digits), worded


#: A price just before a run (`Rp 12.500.000 lima ton`): its amount is no phone digit.
_PRICE_BEFORE_RE = re.compile(r"\brp\.?\s?$", re.IGNORECASE)
_FIRST_TOKEN_RE = re.compile(r"\S+")


def _spelled_phone(match: re.Match) -> str:
    """The run taken out when it spells a number: with a word, 8 digits or more; in digits
    alone (grouped with commas, which the digit rule leaves to decimals), what the digit
    rule would take: 0, 62 or 8 and 8 more digits. A run right after `Rp` starts with a
    price, which stays; the rest is judged alone."""
    if _PRICE_BEFORE_RE.search(match.string, 0, match.start()):
        price = _FIRST_TOKEN_RE.match(match.group(0))
        rest = _SPELLED_PHONE_RE.search(match.group(0), price.end())
        if rest is None:
            return match.group(0)
        return match.group(0)[:rest.start()] + _spelled_phone(rest) + match.group(0)[rest.end():]
    digits, worded = spelled_digits(match.group(0))
    if worded:
        return " " if len(digits) >= SPELLED_PHONE_DIGITS else match.group(0)
    national = digits[2:] if digits.startswith("62") else digits[1:] if digits.startswith("0") else digits
    return " " if national.startswith("8") and len(national) >= 9 else match.group(0)


# Social media handles (@tokositi) are a way to reach the seller off the platform, like a
# link; an e-mail address is taken out before this runs.
_HANDLE_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{2,30}\b")
#: Format, private-use, unassigned and surrogate characters (an emoji's joiner is kept).
_DROP = frozenset({"Cf", "Co", "Cn", "Cs"})
_SPACES_RE = re.compile(r"[ \t]+")
_EMPTY_BRACKETS_RE = re.compile(r"\(\s*\)|\[\s*\]")


@dataclass(frozen=True)
class Cleaned:
    """A story as it may be published, and what was taken out of it."""

    text: str
    removed: tuple[str, ...]


def tidy(text: str) -> str:
    """The text as typed, made safe to store and show: NFC, control and invisible
    characters dropped (line breaks kept, at most one empty line), spaces collapsed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = "".join(
        c if c == "\n" or c == "\u200d" or (c.isprintable() and unicodedata.category(c) not in _DROP)
        else " " if c.isspace() else "" for c in text)
    lines = [_SPACES_RE.sub(" ", line).strip() for line in kept.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def clean_story(text: str) -> Cleaned:
    """`text` without phone numbers, links, @handles and e-mail addresses (tidied)."""
    removed = []
    text = tidy(text)
    for kind, pattern in (("email", _EMAIL_RE), ("link", _LINK_RE), ("link", _HANDLE_RE),
                          ("phone", _SPELLED_PHONE_RE), ("phone", _PHONE_RE)):
        before = text
        text = pattern.sub(_spelled_phone if pattern is _SPELLED_PHONE_RE else " ", text)
        if text != before:
            removed.append(kind)
    text = _EMPTY_BRACKETS_RE.sub(" ", text)
    if removed:  # the commas and colons around what went: "di a.com, b.id, ya" -> "di, ya"
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
        text = re.sub(r"[,;:]+(?=\s*(?:\n|$))", "", text)
    text = tidy(text)
    return Cleaned(text, tuple(kind for kind in REMOVED_KINDS if kind in removed))


def story_of(db: sqlite_utils.Database, seller_id: int, listing_id: int | None) -> dict | None:
    """The story of a listing (`listing_id`) or of the seller (None), any status."""
    if listing_id is None:
        return fetch_one(db, "SELECT * FROM stories WHERE seller_id = ? AND listing_id IS NULL",
                         [seller_id])
    return fetch_one(db, "SELECT * FROM stories WHERE listing_id = ?", [listing_id])


def get_story(db: sqlite_utils.Database, story_id: int) -> dict:
    """The story row; KeyError if there is none."""
    row = fetch_one(db, "SELECT * FROM stories WHERE id = ?", [story_id])
    if row is None:
        raise KeyError(story_id)
    return row


def save_story(db: sqlite_utils.Database, seller_id: int, listing_id: int | None,
               cleaned: Cleaned, now: datetime) -> dict:
    """Store the seller's story for the listing (or for themselves), replacing the one
    before. A story a coordinator hid stays hidden when the seller sends a new text: only
    a coordinator shows it again (DECISIONS 238)."""
    stamp = to_db_time(now)
    removed = ",".join(cleaned.removed) or None
    with transaction(db):
        existing = story_of(db, seller_id, listing_id)
        if existing is None:
            db.execute("INSERT INTO stories (seller_id, listing_id, text, removed, created_at, "
                       "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                       [seller_id, listing_id, cleaned.text, removed, stamp, stamp])
        else:
            db.execute("UPDATE stories SET text = ?, removed = ?, edited_by = NULL, updated_at = ? "
                       "WHERE id = ?",
                       [cleaned.text, removed, stamp, existing["id"]])
        return story_of(db, seller_id, listing_id)


def visible_listing_story(db: sqlite_utils.Database, listing_id: int) -> str | None:
    """The text a listing page shows, or None."""
    row = fetch_one(db, "SELECT text FROM stories WHERE listing_id = ? AND status = 'visible'",
                    [listing_id])
    return row["text"] if row else None


def visible_seller_story(db: sqlite_utils.Database, seller_id: int) -> str | None:
    """The seller's own story as pages show it, or None."""
    row = fetch_one(db, "SELECT text FROM stories WHERE seller_id = ? AND listing_id IS NULL "
                        "AND status = 'visible'", [seller_id])
    return row["text"] if row else None


def recent_stories(db: sqlite_utils.Database, limit: int = 50, offset: int = 0) -> list[dict]:
    """Stories for the desk, last changed first, with the seller and the listing code."""
    return fetch_all(
        db,
        "SELECT s.*, c.name AS seller_name, c.village AS seller_village, l.code AS listing_code "
        "FROM stories s JOIN contacts c ON c.id = s.seller_id "
        "LEFT JOIN listings l ON l.id = s.listing_id ORDER BY s.updated_at DESC, s.id DESC "
        "LIMIT ? OFFSET ?", [limit, offset])


class StoryRefused(ValueError):
    """A coordinator's edit that cannot be stored (`reason`: empty, too_long)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def edit_story(db: sqlite_utils.Database, story_id: int, text: str, now: datetime, actor: str,
               actor_id: int | None) -> tuple[dict, Cleaned]:
    """A coordinator rewrites a story (cleaned like the seller's own text)."""
    cleaned = clean_story(text)
    if not cleaned.text:
        raise StoryRefused("empty")
    if len(cleaned.text) > MAX_STORY_CHARS:
        raise StoryRefused("too_long")
    with transaction(db):
        story = get_story(db, story_id)
        db.execute("UPDATE stories SET text = ?, removed = ?, edited_by = ?, updated_at = ? "
                   "WHERE id = ?", [cleaned.text, ",".join(cleaned.removed) or None, actor,
                                    to_db_time(now), story_id])
        record_action(db, actor, "story.edit", {"story": story_id, "before": story["text"],
                                                "after": cleaned.text}, now, actor_id)
        return get_story(db, story_id), cleaned


def set_hidden(db: sqlite_utils.Database, story_id: int, hidden: bool, now: datetime, actor: str,
               actor_id: int | None) -> dict:
    """A coordinator hides a story from the pages (or shows it again)."""
    with transaction(db):
        get_story(db, story_id)
        db.execute("UPDATE stories SET status = ?, edited_by = ?, updated_at = ? WHERE id = ?",
                   ["hidden" if hidden else "visible", actor, to_db_time(now), story_id])
        record_action(db, actor, "story.hide" if hidden else "story.show", {"story": story_id},
                      now, actor_id)
        return get_story(db, story_id)
