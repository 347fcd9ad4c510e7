"""Dialogs declared as data: states map to ordered handlers that return the next state.

Modelled on python-telegram-bot's ConversationHandler, with two differences: a flow is
checked when it is declared (an unknown target state, an unreachable state or a state
without handlers raises `InvalidFlow` at import), and the current state lives in SQLite
with an expiry (see `bot.services.dialogs`), not in process memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.services.handover import Handover
from bot.services.schedule import timezone_of

if TYPE_CHECKING:
    import sqlite_utils

#: The state a handler returns to close the dialog.
END = "END"


class InvalidFlow(ValueError):
    """A flow table that cannot work (found when the module defining it is imported)."""


class InvalidTransition(RuntimeError):
    """A handler returned a state it did not declare in `goes_to`."""


class ReplyAlreadyGiven(RuntimeError):
    """A handler tried to send a second reply: every message gets exactly one."""


@dataclass
class Turn:
    """One inbound message being handled: who, what, when, and the reply being built."""

    db: sqlite_utils.Database
    contact: dict
    text: str
    command: dict
    now: datetime
    settings: dict
    data: dict = field(default_factory=dict)
    # Photos and other media the message carried (`bot.services.media.inbound_media`).
    media: list = field(default_factory=list)
    reply_id: str | None = None
    reply_values: dict = field(default_factory=dict)
    # Messages to other people caused by this one: (contact row, reply id, values).
    notifications: list = field(default_factory=list)
    # The message carried a secret (a PIN): its stored text is blanked after handling.
    sensitive: bool = False
    # Work for the workers once this message's transaction has committed (a payout to
    # submit, a broadcast to plan, relays to post); the sweep catches up if Redis is down.
    handover: Handover = field(default_factory=Handover)

    @property
    def locale(self) -> str:
        """The language this contact's replies are written in."""
        return self.contact.get("locale") or self.settings.get("DEFAULT_LOCALE") or "id"

    @property
    def timezone(self) -> str:
        """The zone this contact lives in: their own, else their village's, else the default."""
        return timezone_of(self.db, self.contact, self.settings.get("DEFAULT_TIMEZONE") or "Asia/Jakarta")

    def reply(self, reply_id: str, **values: Any) -> None:
        """Set the one reply to this message."""
        if self.reply_id is not None:
            raise ReplyAlreadyGiven(f"{self.reply_id} then {reply_id}")
        self.reply_id, self.reply_values = reply_id, values

    def mark_sensitive(self) -> None:
        """This message is a secret (a PIN): do not keep its text in the inbound table."""
        self.sensitive = True

    def notify(self, contact: dict, reply_id: str, **values: Any) -> None:
        """Also tell `contact` something (in their language, on their channel), in the
        same transaction as this message's effect."""
        self.notifications.append((contact, reply_id, values))


@dataclass(frozen=True)
class Handler:
    """`matches(turn)` decides; `run(turn)` acts, replies and returns one of `goes_to`."""

    name: str
    matches: Callable[[Turn], bool]
    run: Callable[[Turn], str]
    goes_to: tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    """A dialog: entry handlers (keyed by command), states with ordered handlers, fallback.

    `fallback` runs when no handler of the current state matches (typically: ask again).
    `roles` limits who may start it (None: anyone, including unregistered numbers);
    the role "coordinator" matches contacts marked as coordinators.
    """

    name: str
    entry: dict[str, Handler]
    states: dict[str, tuple[Handler, ...]]
    fallback: Handler
    roles: tuple[str, ...] | None = None
    #: Only coordinators may start it; anyone else gets a polite refusal and nothing changes.
    coordinator_only: bool = False
    #: What an unregistered number hears when `roles` shuts it out (how to register).
    unregistered_reply: str = "not_registered"
    #: What a contact whose role `roles` shuts out hears, by role (else `not_available`).
    role_replies: dict[str, str] = field(default_factory=dict)
    #: Whether its command may abandon another flow's open question (None: always). A
    #: bare `YA` is more likely an answer to that question than a new command.
    interrupts: Callable[[Turn], bool] | None = None
    #: Its open dialog only waits for its own commands (`LAGI` after a list): any other
    #: message is handled as if no dialog were open, and the dialog is left.
    passive: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise InvalidFlow unless every transition leads somewhere and every state is reachable."""
        known = set(self.states) | {END}
        for state, handlers in self.states.items():
            if not handlers:
                raise InvalidFlow(f"{self.name}: state {state!r} has no handlers")
        for source, handler in self._all_handlers():
            unknown = set(handler.goes_to) - known
            if unknown:
                raise InvalidFlow(
                    f"{self.name}: {source}/{handler.name} goes to unknown state(s) {sorted(unknown)}"
                )
        reachable = {t for h in self.entry.values() for t in h.goes_to}
        frontier = list(reachable)
        while frontier:
            state = frontier.pop()
            for handler in self.states.get(state, ()) + (self.fallback,):
                for target in handler.goes_to:
                    if target not in reachable:
                        reachable.add(target)
                        frontier.append(target)
        unreachable = set(self.states) - reachable
        if unreachable:
            raise InvalidFlow(f"{self.name}: unreachable state(s) {sorted(unreachable)}")
        if set(self.fallback.goes_to) - {END, "<same>"} - known:
            raise InvalidFlow(f"{self.name}: fallback goes to unknown states")

    def _all_handlers(self):
        for command, handler in self.entry.items():
            yield f"entry:{command}", handler
        for state, handlers in self.states.items():
            for handler in handlers:
                yield state, handler

    def transitions(self) -> list[tuple[str, str, str]]:
        """Every (from state, handler, to state), for docs and tests."""
        rows = [(source, h.name, target) for source, h in self._all_handlers() for target in h.goes_to]
        rows += [("*", self.fallback.name, target) for target in self.fallback.goes_to]
        return rows

    def run_handler(self, handler: Handler, turn: Turn, current: str | None) -> str:
        """Run `handler` and check the state it returns against its declaration."""
        target = handler.run(turn)
        allowed = set(handler.goes_to)
        if "<same>" in allowed and current is not None:
            allowed.add(current)
            if target == "<same>":
                target = current
        if target not in allowed:
            raise InvalidTransition(f"{self.name}: {handler.name} returned {target!r}")
        return target


#: The fallback's marker for "stay in the state we were in".
SAME = "<same>"


def match_any_text(turn: Turn) -> bool:
    """Matches a free-text answer: anything that is not a recognised command."""
    return turn.command.get("command") in ("unknown", "empty")


def match_command(*names: str) -> Callable[[Turn], bool]:
    """Matches when the parsed command is one of `names`."""
    return lambda turn: turn.command.get("command") in names


def _no_dialog(turn: Turn) -> str:
    raise InvalidTransition("this flow never opens a dialog, so it has nothing to fall back to")


#: The fallback of flows that answer at once and never open a dialog (it never runs).
NO_DIALOG = Handler("no_dialog", lambda turn: False, _no_dialog, (END,))
