"""Dispatch one inbound text to exactly one reply.

Order: global commands (BERHENTI/STOP, MULAI, BATAL, BAHASA, BANTUAN) beat everything;
then the open dialog's handlers for its current state; then commands that start a flow;
then a seller's photo without a command (it joins the listing just created); then a
helpful fallback (suggestion, welcome for strangers, "not understood").
`respond_to_inbound` wraps it: one transaction stores the effect, the reply (an outbox
row) and the inbound row's "processed" mark together. The one exception to "exactly one
reply" is the loop breaker (`bot.services.loops`, DECISIONS.md 91): an auto-responder
repeating itself gets no answer, and coordinators hear about it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlite_utils

from bot.phones import mask_phone
from bot.services import contacts, dialogs, inbox, incidents, loops, media, outbox, pins
from bot.services.handover import Handover
from bot.storage import transaction
from conversations.dialog import END, Turn
from conversations.flows import FLOW_BY_ENTRY_COMMAND, FLOW_BY_NAME
from conversations.flows.selling import attach_recent_photo
from conversations.i18n import normalize_locale
from conversations.money import might_be_a_pin
from conversations.news.notify import queue_notification
from conversations.parse import keyword_for, parse
from conversations.replies import REPLIES, render

log = logging.getLogger(__name__)

GLOBAL_COMMANDS = ("help", "cancel", "language", "stop", "start")
#: Where each inbound channel's reply goes back out.
REPLY_CHANNEL = {
    "twilio_sms": "twilio_sms",
    "twilio_whatsapp": "twilio_whatsapp",
    "android_sms": "android_sms",
    "simulator": "simulator",
}


@dataclass
class Response:
    """What handling an inbound message produced."""

    reply: str | None
    reply_outbox_id: int | None
    # Work for the workers after the commit: outbox rows to deliver (the reply too,
    # unless it went back inline), photos to download, payouts, broadcasts, relays.
    handover: Handover = field(default_factory=Handover)


def handle_text(
    db: sqlite_utils.Database, contact: dict, text: str, now: datetime, settings: dict,
    media_items: list | None = None,
) -> Turn:
    """Run one message through the dispatch order and return the finished turn."""
    turn = Turn(db=db, contact=contact, text=text, command=parse(text), now=now, settings=settings,
                media=media_items or [])
    name = turn.command.get("command")
    dialog = dialogs.load_dialog(db, contact["id"])
    expired = dialog is not None and dialog["expires_at"] <= now
    if expired:
        dialogs.clear_dialog(db, contact["id"])
        dialog = None

    if name in GLOBAL_COMMANDS:
        _run_global(turn, name, dialog)
    elif dialog is not None and _continue_dialog(turn, dialog):
        pass
    elif name in FLOW_BY_ENTRY_COMMAND:
        _start_flow(turn, name, stored=dialog is not None)
    elif (turn.media and name in ("unknown", "empty") and not turn.command.get("suggestion")
          and contact.get("role") == "seller"):
        attach_recent_photo(turn)
    elif expired and name in ("unknown", "empty"):
        turn.reply("dialog.restart")
    else:
        _fallback(turn)
    return turn


def _save_state(turn: Turn, flow_name: str, state: str, stored: bool = True) -> None:
    """Keep the dialog at `state`, or close it (END). `stored=False`: the contact had no
    dialog row, so closing has nothing to delete (one statement less per command)."""
    if state == END:
        if stored:
            dialogs.clear_dialog(turn.db, turn.contact["id"])
        return
    timeout = timedelta(minutes=turn.settings.get("DIALOG_TIMEOUT_MINUTES", 30))
    dialogs.save_dialog(
        turn.db, turn.contact["id"], flow_name, state, turn.data, turn.now + timeout, turn.now
    )


def _continue_dialog(turn: Turn, dialog: dict) -> bool:
    """Let the open dialog's current state take the message; False if none of it matches
    and the message is a command that should run instead (it abandons the dialog)."""
    flow = FLOW_BY_NAME.get(dialog["flow"])
    if flow is None or dialog["state"] not in flow.states:
        dialogs.clear_dialog(turn.db, turn.contact["id"])
        return False
    turn.data = dialog["data"]
    if flow.passive and not any(handler.matches(turn) for handler in flow.states[dialog["state"]]):
        dialogs.clear_dialog(turn.db, turn.contact["id"])
        turn.data = {}
        return False
    suggestion = turn.command.get("suggestion")
    if suggestion and _reads_as_command(turn.text, suggestion):
        # "jaul cabai 3kg 9rb" while a price question is open: a mistyped new command,
        # not an answer. Asked about; the open question stays as it was.
        turn.reply("dialog.suggest", keyword=keyword_for(suggestion, turn.locale))
        return True
    for handler in flow.states[dialog["state"]]:
        if handler.matches(turn):
            _save_state(turn, flow.name, flow.run_handler(handler, turn, dialog["state"]))
            return True
    command = turn.command.get("command")
    other = FLOW_BY_ENTRY_COMMAND.get(command)
    if other is not None and (other.interrupts is None or other.interrupts(turn)):
        refusal = _refusal(turn, other)
        if refusal is None:
            return False  # a command this contact may run abandons the question
        # A command they may not use is refused; the open question stays open.
        turn.reply(refusal, keyword=keyword_for(command, turn.locale))
        return True
    _save_state(turn, flow.name, flow.run_handler(flow.fallback, turn, dialog["state"]))
    return True


def _reads_as_command(text: str, command: str) -> bool:
    """Whether `text`, with its first word replaced by `command`'s keyword, is that
    command complete (nothing missing): then a near miss was a command, not an answer."""
    words = text.split(None, 1)
    if len(words) < 2:
        return False
    parsed = parse(f"{keyword_for(command)} {words[1]}")
    return parsed.get("command") != "unknown" and not parsed.get("missing")


def _start_flow(turn: Turn, command: str, stored: bool = True) -> None:
    flow = FLOW_BY_ENTRY_COMMAND[command]
    refusal = _refusal(turn, flow)
    if refusal is not None:
        turn.reply(refusal, keyword=keyword_for(command, turn.locale))
        return
    turn.data = {}
    handler = flow.entry[command]
    _save_state(turn, flow.name, flow.run_handler(handler, turn, None), stored)


def _refusal(turn: Turn, flow) -> str | None:
    """The reply id refusing this contact the flow, or None if they may start it."""
    if flow.coordinator_only and not turn.contact.get("is_coordinator"):
        return "coordinator.only"
    # A number with no role counts as "unregistered" (a flow may let it in: PESAN).
    roles = {turn.contact.get("role") or "unregistered"}
    if turn.contact.get("is_coordinator"):
        roles.add("coordinator")
    if flow.roles is not None and not roles & set(flow.roles):
        role = turn.contact.get("role")
        return flow.unregistered_reply if not role else flow.role_replies.get(role, "not_available")
    return None


def _run_global(turn: Turn, name: str, dialog: dict | None) -> None:
    contact_id = turn.contact["id"]
    if name == "help":
        _help(turn)
    elif name == "cancel":
        if dialog is None:
            turn.reply("dialog.nothing_to_cancel")
        else:
            dialogs.clear_dialog(turn.db, contact_id)
            turn.reply("dialog.cancelled")
    elif name == "language":
        language = turn.command.get("language")
        if language is None:
            turn.reply("language.ask")
        else:
            contacts.set_locale(turn.db, contact_id, language)
            turn.contact["locale"] = language
            turn.reply("language.set")
    elif name == "stop":
        # Opting out also leaves any half-finished question: STOP means "leave me be".
        contacts.set_opted_out(turn.db, contact_id, True, now=turn.now)
        dialogs.clear_dialog(turn.db, contact_id)
        turn.reply("stop.done")
    elif name == "start":
        contacts.set_opted_out(turn.db, contact_id, False)
        turn.reply("start.done")


#: help topics answered by another topic's text (the commands share one keyword or one
#: help line): MULAI is explained with BERHENTI, SIARAN STATUS with SIARAN.
_HELP_SHARED = {"start": "stop", "broadcast_status": "broadcast", "cancel_order": "cancel"}
#: what a coordinator means by a keyword that is also a seller's (HARGA cabai 11500)
_HELP_COORDINATOR = {"price": "publish_price"}


def _help(turn: Turn) -> None:
    topic = turn.command.get("topic")
    if topic:
        topic = _HELP_SHARED.get(topic, topic)
        if turn.contact.get("is_coordinator"):
            topic = _HELP_COORDINATOR.get(topic, topic)
        reply_id = f"help.{topic}"
        if reply_id in REPLIES:
            turn.reply(reply_id)
        else:
            turn.reply("help.topic_unknown", topic=keyword_for(topic, turn.locale))
        return
    if turn.contact.get("is_coordinator"):
        turn.reply("help.coordinator")  # HARGA, SIARAN, BAYAR: what only they can do
        return
    role = turn.contact.get("role")
    turn.reply({"seller": "help.seller", "buyer": "help.buyer"}.get(role, "help.unregistered"))


def _fallback(turn: Turn) -> None:
    command = turn.command.get("command")
    registered = bool(turn.contact.get("role"))
    if command == "empty":
        turn.reply("empty" if registered else "welcome")
    elif command == "unknown" and turn.command.get("suggestion"):
        turn.reply("unknown.suggest", keyword=keyword_for(turn.command["suggestion"], turn.locale))
    elif command == "unknown":
        turn.reply("unknown" if registered else "welcome")
    elif not registered:
        turn.reply("not_registered")
    else:
        turn.reply("not_available", keyword=keyword_for(command, turn.locale))


def respond_to_inbound(
    db: sqlite_utils.Database, inbound_id: int, settings: dict, now: datetime,
    *, reply_inline: bool = False, stored: dict | None = None,
) -> Response | None:
    """Process one stored inbound message: effect, reply and "processed" mark, atomically.

    `stored`: the row as `inbox.store_inbound` returned it in this transaction (else it
    is read). A row stored as already processed (`status="processed"`, the webhook's one
    transaction) is handled as new; if handling fails it is made new again for the sweep.

    Returns None if the message was already processed (a duplicate, or a sweep racing
    the webhook). On a crash the transaction rolls back, the attempt is counted, and the
    message stays for the sweep; after too many crashes the sender gets an apology
    instead of silence.
    """
    premarked = stored is not None and stored["status"] == "processed"
    try:
        with transaction(db):
            row = dict(stored) if stored is not None else inbox.get_inbound(db, inbound_id)
            if row["status"] != "new" and not premarked:
                return None
            contact = contacts.resolve_contact(db, row["phone"], now, bsuid=row.get("bsuid"))
            contacts.record_inbound_activity(db, contact["id"], row["channel"], now)
            if loops.is_looping(db, contact["id"], row["body"], row["id"], now, settings):
                return _break_loop(db, row, contact, settings, now)
            incidents.close_incident(db, "loop", row["phone"], now)
            _lift_provider_block(db, contact, row)
            turn = handle_text(db, contact, row["body"], now, settings, media.inbound_media(row))
            if turn.reply_id is None:
                turn.reply("unknown")
            body = render(turn.reply_id, turn.locale, **turn.reply_values)
            response = _store_reply(db, row, turn.contact, turn.reply_id, body, now, reply_inline,
                                    settings)
            if turn.media:
                response.handover.media_ids.extend(media.pending_media_ids(db, row["id"]))
            for contact, reply_id, values in turn.notifications:
                response.handover.outbox_ids.append(
                    queue_notification(db, settings, contact, reply_id, now, **values))
            if turn.sensitive or might_be_a_pin(turn):
                inbox.redact_inbound(db, row["id"])
            response.handover.add(turn.handover)
            return response
    except Exception as exc:
        log.exception("processing inbound %s failed", inbound_id)
        if premarked:
            inbox.unmark_processed(db, inbound_id)
        attempts = inbox.record_processing_failure(db, inbound_id, repr(exc))
        if attempts < inbox.MAX_PROCESSING_ATTEMPTS:
            raise
        return _apologise(db, inbound_id, settings, now, reply_inline)


#: Twilio's own opt-in keywords: its block on an SMS number lifts only when the person
#: sends one of these (MULAI lifts our flag, not Twilio's).
TWILIO_OPT_IN_WORDS = {"start", "yes", "unstop"}


def _lift_provider_block(db, contact, row) -> None:
    """A person writing on WhatsApp has not blocked us there; START over Twilio SMS ends
    Twilio's 21610 block."""
    channel = row["channel"]
    if channel not in contacts.blocked_channels(contact):
        return
    if channel == "twilio_whatsapp" or (
            channel == "twilio_sms" and loops.normalise(row["body"]) in TWILIO_OPT_IN_WORDS):
        contacts.set_channel_blocked(db, contact["id"], channel, False)
        contact["blocked_channels"] = contacts.get_contact(db, contact["id"])["blocked_channels"]


def _break_loop(db, row, contact, settings, now) -> Response:
    """An auto-responder loop: store the message unanswered; tell coordinators once."""
    inbox.mark_processed(db, row["id"], contact["id"], now)
    db.execute("UPDATE inbound SET error = 'loop: not answered' WHERE id = ?", [row["id"]])
    response = Response(None, None)
    if incidents.open_incident(db, "loop", row["phone"], now, {"text": row["body"][:160]}):
        # Whole first: the loop writes (notices) on this connection (DECISIONS 366).
        for coordinator in list(db.query("SELECT * FROM contacts WHERE is_coordinator = 1 "
                                         "AND id <> ? ORDER BY id", [contact["id"]])):
            response.handover.outbox_ids.append(queue_notification(
                db, settings, coordinator, "loop.detected", now, phone=mask_phone(row["phone"]),
                count=settings.get("LOOP_MAX_REPEATS"),
                minutes=settings.get("LOOP_WINDOW_MINUTES")))
    return response


def _store_reply(db, row, contact, reply_id, body, now, reply_inline, settings) -> Response:
    channel = REPLY_CHANNEL[row["channel"]]
    inline = reply_inline or channel == "simulator"
    outbox_id = outbox.queue_message(
        db, phone=row["phone"], channel=channel, body=body, kind="reply", now=now,
        contact_id=contact["id"], reply_id=reply_id, inbound_id=row["id"], sent_inline=inline,
        per_minute_cap=settings.get("OUTBOUND_PER_NUMBER_PER_MINUTE"),
    )
    inbox.mark_processed_once(db, row, contact["id"], now)
    return Response(body, outbox_id, Handover(outbox_ids=[] if inline else [outbox_id]))


def _apologise(db, inbound_id, settings, now, reply_inline) -> Response | None:
    """Give up on a message that keeps crashing: mark it failed and say sorry once."""
    with transaction(db):
        row = inbox.get_inbound(db, inbound_id)
        if row["status"] != "new":
            return None
        contact = contacts.resolve_contact(db, row["phone"], now, bsuid=row.get("bsuid"))
        locale = normalize_locale(contact.get("locale") or settings.get("DEFAULT_LOCALE"))
        body = render("error.internal", locale)
        response = _store_reply(db, row, contact, "error.internal", body, now, reply_inline,
                                settings)
        db.execute("UPDATE inbound SET status = 'failed' WHERE id = ?", [inbound_id])
        if pins.looks_like_pin(row["body"].strip()):
            # It may have been a PIN answer whose redaction rolled back with the crash;
            # nobody will process it again, so its text is not kept.
            inbox.redact_inbound(db, inbound_id)
        return response
