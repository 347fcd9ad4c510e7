"""Every text the bot sends, by id, with realistic example values and the SMS budget.

Texts live in the gettext catalogs (`locales/<lang>/LC_MESSAGES/messages.po`), keyed by
the reply id; this module declares which ids exist and what values they take, so a test
can render every one of them in every language and hold it to one GSM-7 SMS.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from conversations.i18n import DEFAULT_LOCALE, load_translations, normalize_locale

#: One GSM-7 segment. Indonesian networks do not reliably join longer messages.
SMS_LIMIT = 160
#: Twilio SMS to Indonesia uses a registered alphanumeric sender, and the brand must
#: appear in the text, so Twilio SMS bodies get this prefix; replies are budgeted for it.
BRAND_PREFIX = "Jembatan: "


def N_(reply_id: str) -> str:
    """Mark a reply id for `pybabel extract` (keyword N_) without translating it."""
    return reply_id


@dataclass(frozen=True)
class ReplySpec:
    """A reply id, the example values that exercise it, and whether it goes out as SMS."""

    id: str
    example: dict = field(default_factory=dict)
    sms: bool = True


class UnknownReply(KeyError):
    """A reply id that is not declared in REPLIES."""


_SPECS = [
    ReplySpec(N_("welcome")),
    ReplySpec(N_("empty")),
    ReplySpec(N_("unknown")),
    ReplySpec(N_("unknown.suggest"), {"keyword": "DAFTAR"}),
    ReplySpec(N_("not_available"), {"keyword": "SIARAN"}),
    ReplySpec(N_("not_registered")),
    ReplySpec(N_("error.internal")),
    ReplySpec(N_("dialog.cancelled")),
    ReplySpec(N_("dialog.nothing_to_cancel")),
    ReplySpec(N_("dialog.restart")),
    ReplySpec(N_("language.set")),
    ReplySpec(N_("language.ask")),
    ReplySpec(N_("stop.done")),
    ReplySpec(N_("start.done")),
    ReplySpec(N_("help.unregistered")),
    ReplySpec(N_("help.seller")),
    ReplySpec(N_("help.buyer")),
    ReplySpec(N_("help.topic_unknown"), {"topic": "XYZ"}),
    ReplySpec(N_("help.register")),
    ReplySpec(N_("help.cancel")),
    ReplySpec(N_("help.language")),
    ReplySpec(N_("help.stop")),
    ReplySpec(N_("help.help")),
    ReplySpec(N_("register.ask_name")),
    ReplySpec(N_("register.ask_village"), {"name": "Siti Aminah"}),
    ReplySpec(N_("register.invalid_name")),
    ReplySpec(N_("register.invalid_village")),
    ReplySpec(N_("register.done"), {"name": "Siti Aminah", "village": "Sukamaju Kidul"}),
    ReplySpec(N_("register.already"), {"name": "Siti Aminah", "village": "Sukamaju Kidul"}),
    ReplySpec(N_("register.is_buyer"), {"name": "Warung Bu Tini"}),
]

REPLIES: dict[str, ReplySpec] = {spec.id: spec for spec in _SPECS}


def render(reply_id: str, locale: str = DEFAULT_LOCALE, **values: object) -> str:
    """Return the text for `reply_id` in `locale`, filled with `values`.

    A text missing from the requested catalog falls back to Indonesian, the complete
    default; a missing id everywhere is a programming error and raises. Values people
    typed (names, villages, products) are made GSM-7-safe, and for SMS-bound replies the
    longest value is shortened until the whole text fits one segment with the brand.
    """
    spec = REPLIES.get(reply_id)
    if spec is None:
        raise UnknownReply(reply_id)
    template = _template(reply_id, locale)
    safe = {k: gsm_safe(v) if isinstance(v, str) else v for k, v in values.items()}
    text = template.format(**safe)
    budget = SMS_LIMIT - len(BRAND_PREFIX)
    while spec.sms and septets(text) > budget:
        longest = max((k for k, v in safe.items() if isinstance(v, str) and len(v) > 4),
                      key=lambda k: len(safe[k]), default=None)
        if longest is None:
            break  # nothing left to shorten: the catalog test catches such a template
        overflow = septets(text) - budget
        safe[longest] = safe[longest][: max(len(safe[longest]) - overflow - 3, 1)] + "..."
        text = template.format(**safe)
    return text


def _template(reply_id: str, locale: str) -> str:
    for candidate in (normalize_locale(locale), DEFAULT_LOCALE):
        template = load_translations(candidate).gettext(reply_id)
        if template != reply_id:
            return template
    raise UnknownReply(f"{reply_id} has no text in any catalog")


# Characters people's phones produce that have a plain GSM-7 twin.
_GSM_TWINS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u00a0": " ", "`": "'",
})


def is_gsm(char: str) -> bool:
    """True if `char` is in the GSM 03.38 alphabet (basic set or extension)."""
    try:
        char.encode("gsm03.38")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def gsm_safe(value: str) -> str:
    """`value` with every character a GSM-7 SMS can carry: accents dropped where the
    plain letter is needed, curly quotes straightened, emoji and control characters removed."""
    result = []
    for char in value.translate(_GSM_TWINS):
        if char.isprintable() and is_gsm(char):
            result.append(char)
            continue
        for part in unicodedata.normalize("NFKD", char):
            if part.isprintable() and is_gsm(part):
                result.append(part)
    return " ".join("".join(result).split())


_ESCAPED = frozenset("{}[]~^|\\")


def septets(text: str) -> int:
    """How many GSM-7 septets `text` takes (escaped characters count two)."""
    if text.isascii() and "`" not in text:
        # Plain ASCII (the usual case) maps one to one except the escaped characters;
        # skipping the codec keeps rendering off the webhook's hot path.
        return len(text) + sum(1 for char in text if char in _ESCAPED)
    return len(text.encode("gsm03.38"))
