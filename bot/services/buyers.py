"""City buyers: who orders, and how news about their orders reaches them.

A buyer is a business (`Warung Bu Tini`, Bandung). One who registers by text
(`DAFTAR PEMBELI usaha, kota`) is also a contact with role `buyer` and hears about their
orders where they last wrote. Coordinators create buyers from the CLI with a preferred
channel: `whatsapp` or `sms` (a phone), or `webhook` (their own system, which gets
signed JSON relays; such a buyer may have no phone at all).

API keys authenticate a buyer's system on `/api/v1/orders`. A key is shown once, when
it is made; only its SHA-256 is stored (a key has 256 random bits, so a fast hash is
enough: nothing can be guessed back from it), and it can be revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlite_utils

from bot.services.contacts import get_contact, get_or_create_contact
from bot.storage import fetch_all, fetch_one, to_db_time, transaction

CHANNELS = ("whatsapp", "sms", "webhook")
#: Every API key starts with this, so a leaked one is recognisable in logs and scanners.
API_KEY_PREFIX = "jbk_"
#: Webhook signing secrets start with this.
WEBHOOK_SECRET_PREFIX = "whsec_"


class BuyerError(ValueError):
    """A buyer that cannot be created or changed this way (the message says why)."""


def get_buyer(db: sqlite_utils.Database, buyer_id: int) -> dict | None:
    """The buyer row, or None."""
    return fetch_one(db, "SELECT * FROM buyers WHERE id = ?", [buyer_id])


def find_buyer_by_contact(db: sqlite_utils.Database, contact_id: int) -> dict | None:
    """The buyer behind a contact (a phone), or None."""
    return fetch_one(db, "SELECT * FROM buyers WHERE contact_id = ?", [contact_id])


#: Buyer ids have at most this many digits; a longer number is a phone.
MAX_ID_DIGITS = 7


def find_buyer(db: sqlite_utils.Database, ref: str) -> dict | None:
    """A buyer by id (`7`) or by phone (E.164), for the CLI."""
    if ref.isascii() and ref.isdigit() and len(ref) <= MAX_ID_DIGITS:
        return get_buyer(db, int(ref))
    return fetch_one(
        db, "SELECT b.* FROM buyers b JOIN contacts c ON c.id = b.contact_id WHERE c.phone = ?", [ref])


def list_buyers(db: sqlite_utils.Database) -> list[dict]:
    """Every buyer with their phone (if any) and number of active API keys."""
    return fetch_all(
        db,
        "SELECT b.*, c.phone, (SELECT COUNT(*) FROM buyer_api_keys k WHERE k.buyer_id = b.id "
        "AND k.revoked_at IS NULL) AS active_keys FROM buyers b "
        "LEFT JOIN contacts c ON c.id = b.contact_id ORDER BY b.id",
    )


def register_by_text(db: sqlite_utils.Database, contact_id: int, name: str, city: str,
                     now: datetime) -> dict:
    """`DAFTAR PEMBELI`: make the contact a buyer (news reaches them where they last
    wrote); return the updated contact."""
    with transaction(db):
        _make_contact_a_buyer(db, contact_id, name, city, now)
        _insert(db, contact_id=contact_id, name=name, city=city, channel=None, webhook_url=None,
                source="sms", now=now)
    return get_contact(db, contact_id)


def create_buyer(
    db: sqlite_utils.Database, *, name: str, city: str, channel: str, now: datetime,
    phone: str | None = None, webhook_url: str | None = None, locale: str | None = None,
) -> tuple[dict, str | None]:
    """A coordinator creates a buyer; returns (buyer, webhook secret or None).

    `channel` is where order news goes: `whatsapp` or `sms` need `phone`; `webhook`
    needs `webhook_url` (a phone is then optional: they may also order by text).
    """
    if channel not in CHANNELS:
        raise BuyerError(f"channel must be one of {', '.join(CHANNELS)}")
    if channel in ("whatsapp", "sms") and not phone:
        raise BuyerError(f"a {channel} buyer needs a phone number")
    if channel == "webhook":
        check_webhook_url(webhook_url)
    with transaction(db):
        contact_id = None
        if phone:
            contact = get_or_create_contact(db, phone, now)
            if contact.get("role") == "seller":
                raise BuyerError(f"{phone} is registered as a seller")
            if find_buyer_by_contact(db, contact["id"]):
                raise BuyerError(f"{phone} is already a buyer")
            _make_contact_a_buyer(db, contact["id"], name, city, now)
            if locale:
                db.execute("UPDATE contacts SET locale = ? WHERE id = ?", [locale, contact["id"]])
            contact_id = contact["id"]
        buyer_id = _insert(db, contact_id=contact_id, name=name, city=city, channel=channel,
                           webhook_url=webhook_url if channel == "webhook" else None, source="cli",
                           now=now)
        buyer = get_buyer(db, buyer_id)
        return buyer, buyer["webhook_secret"]


def set_webhook(db: sqlite_utils.Database, buyer_id: int, url: str, now: datetime, *,
                rotate_secret: bool = False) -> str:
    """Send this buyer's order news to `url` from now on (pending relays included);
    returns the signing secret (a new one if asked, or if they had none)."""
    check_webhook_url(url)
    with transaction(db):
        buyer = get_buyer(db, buyer_id)
        if buyer is None:
            raise BuyerError(f"no buyer {buyer_id}")
        secret = buyer["webhook_secret"]
        if rotate_secret or not secret:
            secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
        db.execute("UPDATE buyers SET channel = 'webhook', webhook_url = ?, webhook_secret = ?, "
                   "updated_at = ? WHERE id = ?", [url, secret, to_db_time(now), buyer_id])
        return secret


def check_webhook_url(url: str | None) -> None:
    """Refuse anything but an absolute http(s) URL."""
    if not url or not url.startswith(("https://", "http://")) or len(url) > 2000:
        raise BuyerError("the webhook URL must start with https:// (or http:// on a private network)")


def _make_contact_a_buyer(db, contact_id: int, name: str, city: str, now: datetime) -> None:
    db.execute("UPDATE contacts SET role = 'buyer', name = ?, city = ?, registered_at = ? WHERE id = ?",
               [name, city, to_db_time(now), contact_id])


def _insert(db, *, contact_id, name, city, channel, webhook_url, source, now) -> int:
    stamp = to_db_time(now)
    secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32) if channel == "webhook" else None
    cursor = db.execute(
        "INSERT INTO buyers (contact_id, name, city, channel, webhook_url, webhook_secret, source, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [contact_id, name, city, channel, webhook_url, secret, source, stamp, stamp],
    )
    return cursor.lastrowid


def message_contact(db: sqlite_utils.Database, buyer: dict) -> dict | None:
    """The contact to text news about this buyer's orders to, carrying their preferred
    channel; None when their news goes to a webhook (or they have no phone)."""
    if buyer["channel"] == "webhook" or buyer["contact_id"] is None:
        return None
    contact = get_contact(db, buyer["contact_id"])
    return {**contact, "preferred_channel": buyer["channel"]}


# --- API keys ----------------------------------------------------------------------------


def hash_api_key(key: str) -> str:
    """What is stored for a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(db: sqlite_utils.Database, buyer_id: int, now: datetime,
                   label: str | None = None) -> tuple[dict, str]:
    """A new key for the buyer: (its row, the key itself, to show once and forget)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction(db):
        if get_buyer(db, buyer_id) is None:
            raise BuyerError(f"no buyer {buyer_id}")
        cursor = db.execute(
            "INSERT INTO buyer_api_keys (buyer_id, prefix, key_hash, label, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [buyer_id, key[:12], hash_api_key(key), label, to_db_time(now)],
        )
        return fetch_one(db, "SELECT * FROM buyer_api_keys WHERE id = ?", [cursor.lastrowid]), key


def list_api_keys(db: sqlite_utils.Database, buyer_id: int) -> list[dict]:
    """The buyer's keys (prefix, label, dates; never the key)."""
    return fetch_all(db, "SELECT id, buyer_id, prefix, label, created_at, revoked_at FROM buyer_api_keys "
                         "WHERE buyer_id = ? ORDER BY id", [buyer_id])


def revoke_api_key(db: sqlite_utils.Database, key_id: int, now: datetime) -> bool:
    """Stop a key working at once; False if there is no such active key."""
    with transaction(db):
        cursor = db.execute("UPDATE buyer_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                            [to_db_time(now), key_id])
        return bool(cursor.rowcount)


def buyer_for_api_key(db: sqlite_utils.Database, key: str) -> dict | None:
    """The buyer an API key belongs to, or None for an unknown or revoked key."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    return fetch_one(
        db, "SELECT b.* FROM buyer_api_keys k JOIN buyers b ON b.id = k.buyer_id "
            "WHERE k.key_hash = ? AND k.revoked_at IS NULL", [hash_api_key(key)])
