"""People who text us: one row per phone number, whatever their role."""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.storage import fetch_one, to_db_time


def get_contact(db: sqlite_utils.Database, contact_id: int) -> dict:
    """The contact row with `contact_id` (KeyError if absent)."""
    row = fetch_one(db, "SELECT * FROM contacts WHERE id = ?", [contact_id])
    if row is None:
        raise KeyError(contact_id)
    return row


def find_contact_by_phone(db: sqlite_utils.Database, phone: str) -> dict | None:
    """The contact with this E.164 number, or None."""
    return fetch_one(db, "SELECT * FROM contacts WHERE phone = ?", [phone])


def get_or_create_contact(db: sqlite_utils.Database, phone: str, now: datetime) -> dict:
    """Return the contact for `phone`, creating an unregistered one on first contact."""
    existing = find_contact_by_phone(db, phone)
    if existing is not None:
        return existing
    db.execute(
        "INSERT INTO contacts (phone, created_at) VALUES (?, ?) ON CONFLICT(phone) DO NOTHING",
        [phone, to_db_time(now)],
    )
    return find_contact_by_phone(db, phone)


def record_inbound_activity(
    db: sqlite_utils.Database, contact_id: int, channel: str, now: datetime
) -> None:
    """Remember when and how the contact last wrote.

    The WhatsApp time opens Meta's 24-hour free-text window; the SMS transport is where
    later notifications to this person go.
    """
    stamp = to_db_time(now)
    if channel == "twilio_whatsapp":
        db.execute(
            "UPDATE contacts SET last_inbound_at = ?, last_whatsapp_at = ? WHERE id = ?",
            [stamp, stamp, contact_id],
        )
    elif channel in ("twilio_sms", "android_sms", "simulator"):
        # A number played in the simulator keeps getting its messages there (dev only).
        db.execute(
            "UPDATE contacts SET last_inbound_at = ?, sms_channel = ? WHERE id = ?",
            [stamp, channel, contact_id],
        )
    else:
        db.execute("UPDATE contacts SET last_inbound_at = ? WHERE id = ?", [stamp, contact_id])


def register_seller(
    db: sqlite_utils.Database, contact_id: int, name: str, village: str, now: datetime
) -> dict:
    """Make the contact a seller with `name` from `village`; return the updated row."""
    # Registering is consenting to keep the name and number (the desk can erase them on request).
    db.execute(
        "UPDATE contacts SET role = 'seller', name = ?, village = ?, registered_at = ?, "
        "consent_at = COALESCE(consent_at, ?), consent_source = COALESCE(consent_source, 'sms') "
        "WHERE id = ?",
        [name, village, to_db_time(now), to_db_time(now), contact_id],
    )
    return get_contact(db, contact_id)


def set_locale(db: sqlite_utils.Database, contact_id: int, locale: str) -> None:
    """Set the language the contact's replies are written in."""
    db.execute("UPDATE contacts SET locale = ? WHERE id = ?", [locale, contact_id])


def set_opted_out(db: sqlite_utils.Database, contact_id: int, opted_out: bool) -> None:
    """Opt the contact out of (or back into) broadcasts. Replies are never suppressed."""
    db.execute("UPDATE contacts SET opted_out = ? WHERE id = ?", [int(opted_out), contact_id])
