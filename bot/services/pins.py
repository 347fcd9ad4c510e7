"""Sellers' withdrawal PINs: hashed with scrypt, three wrong tries lock for 30 minutes.

A PIN is 4-6 digits, so no hash can make it strong against someone holding the
database: there are at most a million PINs. What protects the money is the lockout
(three tries, then 30 minutes); the slow, salted hash makes reading the table useless
at a glance and brute force cost hours instead of microseconds. The PIN itself is never
stored, logged or put in dialog state (a PIN typed twice is compared by hash).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from bot.storage import fetch_one, from_db_time, to_db_time

MAX_ATTEMPTS = 3
LOCKOUT = timedelta(minutes=30)
PIN_LENGTHS = (4, 6)
# scrypt cost: 2**14 x 8 takes ~20-40 ms and 16 MB, paid once per PIN check. The
# parameters are stored with each hash, so they can be raised later without a migration.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    """A salted scrypt hash of `pin`, with its parameters: `scrypt$n$r$p$salt$hash`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P,
                            dklen=32)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def pin_matches(pin: str, stored: str) -> bool:
    """True if `pin` hashes to `stored` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                               p=int(p), dklen=32)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def looks_like_pin(text: str) -> bool:
    """4-6 ASCII digits, nothing else (spaces around are tolerated by callers)."""
    return text.isascii() and text.isdigit() and PIN_LENGTHS[0] <= len(text) <= PIN_LENGTHS[1]


def is_acceptable_pin(pin: str) -> bool:
    """A PIN we let people choose: the right shape, not one digit repeated (1111), not a
    run up or down (1234, 9876): the first PINs anyone holding the phone would try."""
    if not looks_like_pin(pin):
        return False
    if len(set(pin)) == 1:
        return False
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    return steps not in ({1}, {-1})


@dataclass(frozen=True)
class PinState:
    """Whether a seller has a PIN and whether PIN-protected actions are locked."""

    has_pin: bool
    locked_until: datetime | None
    failed_attempts: int


@dataclass(frozen=True)
class PinCheck:
    """The result of checking a PIN: right, or wrong with tries left / locked until."""

    ok: bool
    attempts_left: int
    locked_until: datetime | None
    just_locked: bool = False  # this wrong PIN was the one that locked


def pin_state(db: sqlite_utils.Database, contact_id: int, now: datetime) -> PinState:
    """The seller's PIN state; an expired lock counts as no lock."""
    row = fetch_one(db, "SELECT * FROM seller_pins WHERE contact_id = ?", [contact_id])
    if row is None:
        return PinState(False, None, 0)
    locked_until = from_db_time(row["locked_until"])
    if locked_until is not None and locked_until <= now:
        return PinState(True, None, 0)
    return PinState(True, locked_until, row["failed_attempts"])


def set_pin(db: sqlite_utils.Database, contact_id: int, pin: str, now: datetime) -> None:
    """Store (or replace) the seller's PIN, hashed; clears failed tries and any lock."""
    if not is_acceptable_pin(pin):
        raise ValueError("not an acceptable PIN")
    db.execute(
        """
        INSERT INTO seller_pins (contact_id, pin_hash, failed_attempts, locked_until, updated_at)
        VALUES (?, ?, 0, NULL, ?)
        ON CONFLICT(contact_id) DO UPDATE SET pin_hash = excluded.pin_hash, failed_attempts = 0,
            locked_until = NULL, updated_at = excluded.updated_at
        """,
        [contact_id, hash_pin(pin), to_db_time(now)],
    )


def check_pin(db: sqlite_utils.Database, contact_id: int, pin: str, now: datetime) -> PinCheck:
    """Check `pin` for a PIN-protected action, counting wrong tries.

    A right PIN clears the count. The third wrong one in a row locks PIN-protected
    actions for LOCKOUT; while locked, every check fails without looking at the PIN.
    Call inside the transaction of the action, so the count is kept with it.
    """
    row = fetch_one(db, "SELECT * FROM seller_pins WHERE contact_id = ?", [contact_id])
    if row is None:
        return PinCheck(False, 0, None)
    locked_until = from_db_time(row["locked_until"])
    failed = row["failed_attempts"]
    if locked_until is not None:
        if locked_until > now:
            return PinCheck(False, 0, locked_until)
        failed = 0  # the lock has passed: a fresh set of tries
    if pin_matches(pin, row["pin_hash"]):
        db.execute("UPDATE seller_pins SET failed_attempts = 0, locked_until = NULL "
                   "WHERE contact_id = ?", [contact_id])
        return PinCheck(True, MAX_ATTEMPTS, None)
    failed += 1
    lock = now + LOCKOUT if failed >= MAX_ATTEMPTS else None
    db.execute(
        "UPDATE seller_pins SET failed_attempts = ?, locked_until = ? WHERE contact_id = ?",
        [0 if lock else failed, to_db_time(lock), contact_id],
    )
    return PinCheck(False, max(MAX_ATTEMPTS - failed, 0), lock, just_locked=lock is not None)
