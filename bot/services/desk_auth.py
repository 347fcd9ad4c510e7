"""Who may use the coordinator's desk, and how they sign in without a password.

A desk user is a contact with a role (`admin`, `coordinator`, `viewer`). They sign in with
a 6-digit code sent to their phone through the outbox (valid CODE_LIFETIME, works once,
LOCK_AFTER wrong tries lock the number for LOCKOUT), or with a one-time link printed by
`jembatan desk link` for when the phone or the hub's channels are down. Requests and
wrong tries are throttled per number and per client (the browser's address). A signed-in
browser holds a random session token; only its hash is stored, with the last time it was
seen, so an idle session ends on the server whatever the cookie says.

Plain functions over a database: the web layer sends the code and sets the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from bot.services.contacts import get_contact, get_or_create_contact
from bot.services.coordinators import record_action
from bot.storage import fetch_all, fetch_one, from_db_time, to_db_time, transaction

ROLES = ("admin", "coordinator", "viewer")
#: Roles that may change anything; a viewer only reads.
CHANGING_ROLES = ("admin", "coordinator")
CODE_LIFETIME = timedelta(minutes=10)
LINK_LIFETIME = timedelta(minutes=30)
LOCK_AFTER = 5
LOCKOUT = timedelta(minutes=15)
THROTTLE_WINDOW = timedelta(minutes=15)
#: At most this many codes per number, and per client, within THROTTLE_WINDOW.
CODES_PER_NUMBER = 3
CODES_PER_CLIENT = 10
#: Wrong codes one client may try within THROTTLE_WINDOW, whatever the numbers.
WRONG_PER_CLIENT = 20
#: A session is refreshed at most this often (one write per minute, not per page).
TOUCH_EVERY = timedelta(seconds=60)
SESSION_MAX_AGE = timedelta(hours=12)


class UnknownRole(ValueError):
    """Not one of ROLES."""


@dataclass(frozen=True)
class CodeRequest:
    """What asking for a code did: `sent` (with the code and contact, for the caller to
    queue the text), `unknown` (no desk user: nothing is sent, and the page says the same as
    for `sent`), `throttled` or `locked` (with `until`)."""

    outcome: str
    contact: dict | None = None
    code: str | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class SignIn:
    """What trying a code or link did: `ok` (with the user), `wrong` (with tries left),
    `expired` (no usable code: ask a new one), `locked` (until), `throttled`."""

    outcome: str
    user: dict | None = None
    attempts_left: int = 0
    until: datetime | None = None


def _hash(secret: str, salt: str) -> str:
    return salt + "$" + hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _matches(secret: str, stored: str) -> bool:
    salt = stored.split("$", 1)[0]
    return hmac.compare_digest(_hash(secret, salt), stored)


def _token_hash(token: str) -> str:
    """Session tokens and link tokens are 256 random bits: a plain hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- roles -----------------------------------------------------------------------------


def grant_role(db: sqlite_utils.Database, phone: str, role: str, now: datetime,
               actor: str = "cli", actor_id: int | None = None) -> dict:
    """Give the contact with `phone` (created if new) the desk `role`; return the user."""
    if role not in ROLES:
        raise UnknownRole(role)
    with transaction(db):
        contact = get_or_create_contact(db, phone, now)
        db.execute(
            "INSERT INTO desk_roles (contact_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(contact_id) DO UPDATE SET role = excluded.role, "
            "granted_by = excluded.granted_by, granted_at = excluded.granted_at",
            [contact["id"], role, actor, to_db_time(now)],
        )
        record_action(db, actor, "desk.role_grant", {"phone": phone, "role": role}, now, actor_id)
        return desk_user(db, contact["id"])


def revoke_role(db: sqlite_utils.Database, phone: str, now: datetime, actor: str = "cli",
                actor_id: int | None = None) -> bool:
    """Take the desk away from `phone` and end its sessions; False if it had no role."""
    with transaction(db):
        row = fetch_one(db, "SELECT c.id FROM contacts c JOIN desk_roles r ON r.contact_id = c.id "
                            "WHERE c.phone = ?", [phone])
        if row is None:
            return False
        db.execute("DELETE FROM desk_roles WHERE contact_id = ?", [row["id"]])
        db.execute("UPDATE desk_sessions SET ended_at = ? WHERE contact_id = ? AND ended_at IS NULL",
                   [to_db_time(now), row["id"]])
        record_action(db, actor, "desk.role_revoke", {"phone": phone}, now, actor_id)
        return True


def desk_user(db: sqlite_utils.Database, contact_id: int) -> dict | None:
    """The contact with its desk `role`, or None if it has none."""
    return fetch_one(db, "SELECT c.*, r.role FROM contacts c JOIN desk_roles r ON r.contact_id = c.id "
                         "WHERE c.id = ?", [contact_id])


def desk_users(db: sqlite_utils.Database) -> list[dict]:
    """Everyone with a desk role, admins first."""
    return fetch_all(db, "SELECT c.id, c.phone, c.name, c.is_coordinator, r.role, r.granted_by, r.granted_at "
                         "FROM contacts c JOIN desk_roles r ON r.contact_id = c.id "
                         "ORDER BY CASE r.role WHEN 'admin' THEN 0 WHEN 'coordinator' THEN 1 ELSE 2 END, "
                         "c.phone")


def may_change(user: dict | None) -> bool:
    """True for admins and coordinators; viewers (and nobody) only read."""
    return bool(user) and user["role"] in CHANGING_ROLES


# --- throttling and lockout ------------------------------------------------------------


def _count_events(db, column: str, value: str, kind: str, now: datetime) -> int:
    return db.execute(
        f"SELECT COUNT(*) FROM desk_signin_events WHERE {column} = ? AND kind = ? AND created_at > ?",
        [value, kind, to_db_time(now - THROTTLE_WINDOW)],
    ).fetchone()[0]


def _event(db, kind: str, phone: str, client: str, now: datetime) -> None:
    db.execute("INSERT INTO desk_signin_events (kind, phone, client, created_at) VALUES (?, ?, ?, ?)",
               [kind, phone, client, to_db_time(now)])


def locked_until(db: sqlite_utils.Database, phone: str, now: datetime) -> datetime | None:
    """When the number's sign-in lock ends, or None if it is not locked."""
    row = fetch_one(db, "SELECT locked_until FROM desk_lockouts WHERE phone = ?", [phone])
    until = from_db_time(row["locked_until"]) if row else None
    return until if until and until > now else None


# --- codes -----------------------------------------------------------------------------


def request_code(db: sqlite_utils.Database, phone: str, client: str, now: datetime) -> CodeRequest:
    """Make a new sign-in code for `phone` (earlier codes stop working), unless throttled
    or locked. The caller queues the text with the returned code in the same transaction."""
    with transaction(db):
        until = locked_until(db, phone, now)
        if until:
            return CodeRequest("locked", until=until)
        if (_count_events(db, "phone", phone, "code_requested", now) >= CODES_PER_NUMBER
                or _count_events(db, "client", client, "code_requested", now) >= CODES_PER_CLIENT):
            return CodeRequest("throttled")
        _event(db, "code_requested", phone, client, now)
        user = fetch_one(db, "SELECT c.*, r.role FROM contacts c JOIN desk_roles r "
                             "ON r.contact_id = c.id WHERE c.phone = ?", [phone])
        if user is None:
            return CodeRequest("unknown")
        code = f"{secrets.randbelow(10**6):06d}"
        db.execute("UPDATE desk_tokens SET used_at = ? WHERE contact_id = ? AND kind = 'code' "
                   "AND used_at IS NULL", [to_db_time(now), user["id"]])
        db.execute(
            "INSERT INTO desk_tokens (contact_id, kind, secret_hash, created_at, expires_at) "
            "VALUES (?, 'code', ?, ?, ?)",
            [user["id"], _hash(code, secrets.token_hex(8)), to_db_time(now),
             to_db_time(now + CODE_LIFETIME)],
        )
        return CodeRequest("sent", contact=user, code=code)


def verify_code(db: sqlite_utils.Database, phone: str, code: str, client: str, now: datetime) -> SignIn:
    """Check a sign-in code. A right one signs in once; a wrong one counts towards the lock
    (LOCK_AFTER in a row lock the number for LOCKOUT and void its code)."""
    code = "".join(code.split())
    with transaction(db):
        until = locked_until(db, phone, now)
        if until:
            return SignIn("locked", until=until)
        if _count_events(db, "client", client, "code_wrong", now) >= WRONG_PER_CLIENT:
            return SignIn("throttled")
        token = fetch_one(
            db,
            "SELECT t.* FROM desk_tokens t JOIN contacts c ON c.id = t.contact_id "
            "JOIN desk_roles r ON r.contact_id = c.id WHERE c.phone = ? AND t.kind = 'code' "
            "AND t.used_at IS NULL AND t.expires_at > ? ORDER BY t.id DESC LIMIT 1",
            [phone, to_db_time(now)],
        )
        if token is None:
            return SignIn("expired")
        if code.isdigit() and len(code) == 6 and _matches(code, token["secret_hash"]):
            db.execute("UPDATE desk_tokens SET used_at = ? WHERE id = ?", [to_db_time(now), token["id"]])
            db.execute("DELETE FROM desk_lockouts WHERE phone = ?", [phone])
            _event(db, "signed_in", phone, client, now)
            user = desk_user(db, token["contact_id"])
            record_action(db, phone, "desk.sign_in", {"by": "code"}, now, user["id"])
            return SignIn("ok", user=user)
        _event(db, "code_wrong", phone, client, now)
        row = fetch_one(db, "SELECT failed_attempts FROM desk_lockouts WHERE phone = ?", [phone])
        failed = (row["failed_attempts"] if row else 0) + 1
        lock = now + LOCKOUT if failed >= LOCK_AFTER else None
        db.execute(
            "INSERT INTO desk_lockouts (phone, failed_attempts, locked_until) VALUES (?, ?, ?) "
            "ON CONFLICT(phone) DO UPDATE SET failed_attempts = excluded.failed_attempts, "
            "locked_until = excluded.locked_until",
            [phone, 0 if lock else failed, to_db_time(lock)],
        )
        if lock:
            db.execute("UPDATE desk_tokens SET used_at = ? WHERE id = ?", [to_db_time(now), token["id"]])
            return SignIn("locked", until=lock)
        return SignIn("wrong", attempts_left=LOCK_AFTER - failed)


# --- one-time links --------------------------------------------------------------------


def create_link_token(db: sqlite_utils.Database, phone: str, now: datetime, actor: str = "cli") -> str:
    """A one-time sign-in token for the desk user `phone` (LookupError if they have no
    role), valid LINK_LIFETIME; earlier unused links of theirs stop working."""
    with transaction(db):
        user = fetch_one(db, "SELECT c.id FROM contacts c JOIN desk_roles r ON r.contact_id = c.id "
                             "WHERE c.phone = ?", [phone])
        if user is None:
            raise LookupError(f"{phone} has no desk role")
        token = secrets.token_urlsafe(32)
        db.execute("UPDATE desk_tokens SET used_at = ? WHERE contact_id = ? AND kind = 'link' "
                   "AND used_at IS NULL", [to_db_time(now), user["id"]])
        db.execute(
            "INSERT INTO desk_tokens (contact_id, kind, secret_hash, created_at, expires_at) "
            "VALUES (?, 'link', ?, ?, ?)",
            [user["id"], _token_hash(token), to_db_time(now), to_db_time(now + LINK_LIFETIME)],
        )
        record_action(db, actor, "desk.link_create", {"phone": phone}, now)
        return token


def redeem_link_token(db: sqlite_utils.Database, token: str, client: str, now: datetime) -> SignIn:
    """Sign in with a link token: `ok` once, `expired` for anything else."""
    with transaction(db):
        row = fetch_one(db, "SELECT * FROM desk_tokens WHERE kind = 'link' AND secret_hash = ? "
                            "AND used_at IS NULL AND expires_at > ?", [_token_hash(token), to_db_time(now)])
        user = desk_user(db, row["contact_id"]) if row else None
        if user is None:
            return SignIn("expired")
        db.execute("UPDATE desk_tokens SET used_at = ? WHERE id = ?", [to_db_time(now), row["id"]])
        _event(db, "signed_in", user["phone"], client, now)
        record_action(db, user["phone"], "desk.sign_in", {"by": "link"}, now, user["id"])
        return SignIn("ok", user=user)


# --- sessions --------------------------------------------------------------------------


def start_session(db: sqlite_utils.Database, contact_id: int, client: str, now: datetime) -> str:
    """A new session for the user; returns the token for the cookie (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    with transaction(db):
        db.execute("INSERT INTO desk_sessions (token_hash, contact_id, client, created_at, last_seen_at) "
                   "VALUES (?, ?, ?, ?, ?)",
                   [_token_hash(token), contact_id, client, to_db_time(now), to_db_time(now)])
    return token


def session_user(db: sqlite_utils.Database, token: str, now: datetime, idle: timedelta) -> dict | None:
    """The desk user of a live session (with `session_started_at`), or None when the token is
    unknown, ended, idle longer than `idle`, older than SESSION_MAX_AGE, or its role is gone.
    A live session's last-seen time moves forward (at most once a minute)."""
    row = fetch_one(db, "SELECT * FROM desk_sessions WHERE token_hash = ? AND ended_at IS NULL",
                    [_token_hash(token)])
    if row is None:
        return None
    seen = from_db_time(row["last_seen_at"])
    if seen + idle < now or from_db_time(row["created_at"]) + SESSION_MAX_AGE < now:
        return None
    user = desk_user(db, row["contact_id"])
    if user is None:
        return None
    if now - seen >= TOUCH_EVERY:
        with transaction(db):
            db.execute("UPDATE desk_sessions SET last_seen_at = ? WHERE token_hash = ?",
                       [to_db_time(now), row["token_hash"]])
    return user


def end_session(db: sqlite_utils.Database, token: str, now: datetime) -> None:
    """Sign out: the token stops working at once."""
    with transaction(db):
        row = fetch_one(db, "SELECT contact_id FROM desk_sessions WHERE token_hash = ? AND ended_at IS NULL",
                        [_token_hash(token)])
        if row is None:
            return
        db.execute("UPDATE desk_sessions SET ended_at = ? WHERE token_hash = ?",
                   [to_db_time(now), _token_hash(token)])
        contact = get_contact(db, row["contact_id"])
        record_action(db, contact["phone"], "desk.sign_out", {}, now, contact["id"])
