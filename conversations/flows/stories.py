"""Stories: `CERITA kode teks` (a listing's story) and `CERITA teks` (the seller's own),
shown on the storefront's pages. Without the text (or the code's text) a question asks
for it.

Several SMS (DECISIONS 235): a story may come as more than one message, either because
the seller writes on, or because a long SMS reached us in parts (a phone or a gateway
that did not join them). For `JOIN_WINDOW` after a story was saved the dialog stays open,
passively: a text that is not a complete command
  * is joined straight on when the message before it filled its SMS segments exactly
    (153/160 GSM-7 characters, 67/70 in UCS-2: the phone cut it, mid-word maybe), and
  * is otherwise asked about ("Tambahkan ... ke cerita C3? Balas YA atau TIDAK"), so a
    "terima kasih" never lands on a public page unasked.
Phone numbers, links and e-mail addresses are taken out of the whole joined text (a
number cut across two parts is caught) and the seller is told (DECISIONS 231–233).
"""

from __future__ import annotations

from datetime import timedelta

from bot.services import listings, media, stories
from bot.sms import septets
from bot.storage import from_db_time, to_db_time
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_any_text, match_command
from conversations.flows.selling import _bare
from conversations.flows.stock import _own_listing
from conversations.replies import render

#: How long after a story a further text may still belong to it.
JOIN_WINDOW = timedelta(minutes=10)
#: Segment sizes: a message exactly this long (or a multiple) was cut by the phone.
GSM_SEGMENTS, UCS2_SEGMENTS = (153, 160), (67, 70)

ASK_TEXT, MORE, CONFIRM_ADD, CONFIRM_PROFILE = "ask_text", "more", "confirm_add", "confirm_profile"
_NEXT = (ASK_TEXT, MORE, CONFIRM_ADD, CONFIRM_PROFILE, END)


def fills_segments(text: str) -> bool:
    """Whether `text` is exactly one or more full SMS segments (a part of a longer SMS)."""
    try:
        size, segments = septets(text), GSM_SEGMENTS
    except UnicodeEncodeError:
        size, segments = len(text.encode("utf-16-le")) // 2, UCS2_SEGMENTS
    return size > 0 and any(size % segment == 0 for segment in segments)


def _target(turn: Turn) -> str:
    code = turn.data.get("code")
    if code:
        return render("story.target.listing", turn.locale, code=code)
    return render("story.target.profile", turn.locale)


def _removed(kinds: tuple[str, ...], locale: str) -> str:
    words = [render(f"story.removed.{kind}", locale) for kind in kinds]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + render("story.removed.and", locale) + words[-1]


def _remember(turn: Turn, raw: str) -> None:
    turn.data.update(raw=raw, at=to_db_time(turn.now), cut=fills_segments(turn.text),
                     space=turn.text[-1:].isspace())


def _save(turn: Turn, raw: str, *, joined: bool = False) -> str:
    """Clean and store `raw` as the story of `turn.data`'s listing (or of the seller)."""
    cleaned = stories.clean_story(raw)
    if len(cleaned.text) > stories.MAX_STORY_CHARS:
        turn.reply("story.too_long", count=len(cleaned.text), max=stories.MAX_STORY_CHARS)
        return END
    if not cleaned.text:
        turn.reply("story.only_removed")
        return END
    story = stories.save_story(turn.db, turn.contact["id"], turn.data.get("listing_id"), cleaned,
                               turn.now)
    ids = turn.data.pop("photos", [])
    if turn.media:
        ids += media.record_media(turn.db, turn.contact["id"], turn.media, turn.now,
                                  listing_id=turn.data.get("listing_id"))
    _give_photos(turn, ids, story["id"])
    turn.data["story_id"] = story["id"]
    values = {"target": _target(turn), "count": len(cleaned.text)}
    if story["status"] == "hidden":
        turn.reply("story.saved_hidden", **values)
    elif cleaned.removed:
        turn.reply("story.saved_cleaned", removed=_removed(cleaned.removed, turn.locale), **values)
    elif joined:
        turn.reply("story.joined", **values)
    else:
        turn.reply("story.saved", **values)
    _remember(turn, raw)
    return MORE


def _give_photos(turn: Turn, ids: list[int], story_id: int) -> None:
    """Photos of a listing's story are the listing's (DECISIONS 237); of the seller's own
    story, the story's."""
    if not ids:
        return
    if turn.data.get("listing_id") is not None:
        media.attach_media(turn.db, ids, turn.data["listing_id"])
    else:
        media.attach_to_story(turn.db, ids, story_id)


def photo_only(turn: Turn) -> bool:
    """A photo sent alone (MMS or WhatsApp media without a caption)."""
    return bool(turn.media) and not turn.text.strip()


def _record_photos(turn: Turn) -> list[int]:
    return media.record_media(turn.db, turn.contact["id"], turn.media, turn.now,
                              listing_id=turn.data.get("listing_id"))


def photo_before_text(turn: Turn) -> str:
    """A photo alone while the story's text is asked for (or while "save it as your
    profile's story?" is open): kept, and given to the story once it is saved."""
    turn.data["photos"] = [*turn.data.get("photos", []), *_record_photos(turn)]
    if "pending" in turn.data:  # CONFIRM_PROFILE: the question stays
        turn.reply("story.confirm_profile", code=turn.data["pending"].split(" ", 1)[0])
        return CONFIRM_PROFILE
    if turn.data.get("ask") == "any":
        turn.reply("story.photo_ask_any")
    else:
        turn.reply("story.photo_ask", target=_target(turn))
    return ASK_TEXT


def photo_after_text(turn: Turn) -> str:
    """A photo alone soon after the story was saved (or while "add this text?" is open):
    it joins that story, and the open question, if any, stays open."""
    ids = _record_photos(turn)
    story_id = turn.data.get("story_id")
    if story_id is None:  # saved before photos were kept: the story of the dialog's target
        story = stories.story_of(turn.db, turn.contact["id"], turn.data.get("listing_id"))
        story_id = story["id"] if story else None
    if story_id is not None:
        _give_photos(turn, ids, story_id)
    turn.reply("story.photo_added", target=_target(turn))
    return CONFIRM_ADD if "pending" in turn.data else MORE


def _recent_photo(turn: Turn) -> bool:
    return photo_only(turn) and _recent(turn)


def _for(turn: Turn, code: str | None, text: str | None) -> str:
    """A story (or a question for it) once the code, if any, and the text are known."""
    photos = turn.data.get("photos", [])
    turn.data = {"photos": photos} if photos else {}
    if code is not None and listings.find_listing(turn.db, code) is None:
        if not text:
            turn.reply("listing.unknown", code=code)
            return END
        # `CERITA IR64 pulen`: a word shaped like a code that is no listing; ask.
        turn.data.update(pending=f"{code} {text}")
        turn.reply("story.confirm_profile", code=code)
        return CONFIRM_PROFILE
    if code is not None:
        listing = _own_listing(turn, code)
        if listing is None:
            return END
        turn.data.update(listing_id=listing["id"], code=listing["code"])
        if not text:
            turn.reply("story.ask_listing", code=listing["code"], product=listing["product_name"])
            return ASK_TEXT
    elif not text:
        turn.data.update(ask="any")
        turn.reply("story.ask")
        return ASK_TEXT
    return _save(turn, text)


def start(turn: Turn) -> str:
    """`CERITA [kode] [teks]`."""
    return _for(turn, turn.command.get("listing"), turn.command.get("text"))


def take_text(turn: Turn) -> str:
    """The answer to "what is the story?"; after the open question it may start with a code."""
    text = turn.text.strip()
    if turn.data.get("ask") == "any":
        first, _, rest = text.partition(" ")
        code = listings.normalize_code(first.strip(".,:;"))
        listing = listings.find_listing(turn.db, code) if code else None
        if listing is not None and listing["seller_id"] == turn.contact["id"]:
            return _for(turn, listing["code"], rest.strip())
        turn.data.pop("ask")
    if not text:
        turn.reply("story.ask")
        return ASK_TEXT
    return _save(turn, text)


def _recent(turn: Turn) -> bool:
    at = turn.data.get("at")
    return bool(at) and turn.now - from_db_time(at) <= JOIN_WINDOW


def _more_text(turn: Turn) -> bool:
    """A further text within the window: not a command, or, after a cut part, not a
    complete one (the next part may start with any word: "jual di pasar ...")."""
    if not _recent(turn) or not turn.text.strip():
        return False
    parsed = turn.command
    if parsed.get("command") == "unknown":
        return True
    return bool(turn.data.get("cut")) and bool(parsed.get("missing"))


def _joined(turn: Turn, more: str) -> str:
    space = "" if turn.data.get("cut") and not turn.data.get("space") and not more[:1].isspace() else " "
    return turn.data["raw"] + space + more.strip()


def more(turn: Turn) -> str:
    """A further text: joined straight on after a cut part, else asked about."""
    if turn.data.get("cut"):
        return _save(turn, _joined(turn, turn.text), joined=True)
    turn.data["pending"] = turn.text.strip()
    turn.reply("story.confirm_add", target=_target(turn), text=turn.data["pending"])
    return CONFIRM_ADD


def more_pending(turn: Turn) -> str:
    """Another text while "add this?" is open: it joins what is waiting for the answer."""
    turn.data["pending"] = f"{turn.data['pending']} {turn.text.strip()}"
    turn.reply("story.confirm_add", target=_target(turn), text=turn.data["pending"])
    return CONFIRM_ADD


def add(turn: Turn) -> str:
    """YA: the waiting text joins the story."""
    pending = turn.data.pop("pending")
    return _save(turn, f"{turn.data['raw']} {pending}", joined=True)


def do_not_add(turn: Turn) -> str:
    turn.reply("story.not_added")
    return END


def as_profile(turn: Turn) -> str:
    """YA to "no listing IR64: the profile's story?"."""
    pending = turn.data["pending"]
    turn.data = {"photos": turn.data.get("photos", [])}
    return _save(turn, pending)


def not_saved(turn: Turn) -> str:
    turn.reply("story.not_saved")
    return END


STORIES = Flow(
    name="stories",
    entry={"story": Handler("start", match_command("story"), start, _NEXT)},
    states={
        ASK_TEXT: (Handler("photo", photo_only, photo_before_text, _NEXT),
                   Handler("text", match_any_text, take_text, _NEXT)),
        MORE: (Handler("photo", _recent_photo, photo_after_text, _NEXT),
               Handler("more", _more_text, more, _NEXT)),
        CONFIRM_ADD: (
            Handler("photo", _recent_photo, photo_after_text, _NEXT),
            Handler("add", _bare("accept"), add, _NEXT),
            Handler("do_not_add", _bare("decline"), do_not_add, _NEXT),
            Handler("more_pending", _more_text, more_pending, _NEXT),
        ),
        CONFIRM_PROFILE: (
            Handler("photo", photo_only, photo_before_text, _NEXT),
            Handler("as_profile", _bare("accept"), as_profile, _NEXT),
            Handler("not_saved", _bare("decline"), not_saved, _NEXT),
        ),
    },
    fallback=NO_DIALOG,
    roles=("seller",),
    unregistered_reply="not_registered.seller",  # DECISIONS 454
    # Any other message is handled as if no dialog were open: the story is saved already.
    passive=True,
)
