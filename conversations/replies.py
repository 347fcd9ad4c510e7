"""Every text the bot sends, by id, with realistic example values and the SMS budget.

Texts live in the gettext catalogs (`locales/<lang>/LC_MESSAGES/messages.po`), keyed by
the reply id; this module declares which ids exist and what values they take, so a test
can render every one of them in every language and hold it to one GSM-7 SMS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    default; a missing id everywhere is a programming error and raises.
    """
    if reply_id not in REPLIES:
        raise UnknownReply(reply_id)
    for candidate in (normalize_locale(locale), DEFAULT_LOCALE):
        template = load_translations(candidate).gettext(reply_id)
        if template != reply_id:
            return template.format(**values)
    raise UnknownReply(f"{reply_id} has no text in any catalog")
