"""People who text us: one row per person, whatever their role.

A person is known by a phone number (E.164), a WhatsApp business-scoped user id (BSUID,
`ID.1502576394655843`, for WhatsApp users with a username who do not share their
number), or both. `contacts.phone` is the address we reach them at: the number when we
know it, else the BSUID; `contacts.bsuid` holds the BSUID whenever we have seen one. No
number is ever derived from a BSUID.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlite_utils

from bot.phones import is_bsuid
from bot.services import schedule
from bot.storage import fetch_all, fetch_one, to_db_time

log = logging.getLogger(__name__)


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
    return _create_contact(db, phone, now)


def _create_contact(db: sqlite_utils.Database, phone: str, now: datetime) -> dict:
    """An unregistered contact for `phone` (known to be absent a moment ago), as stored."""
    created = fetch_all(
        db, "INSERT INTO contacts (phone, created_at) VALUES (?, ?) ON CONFLICT(phone) DO NOTHING "
        "RETURNING *", [phone, to_db_time(now)])
    return created[0] if created else find_contact_by_phone(db, phone)


def find_contact_by_bsuid(db: sqlite_utils.Database, bsuid: str) -> dict | None:
    """The contact known by this WhatsApp business-scoped id, or None."""
    return fetch_one(db, "SELECT * FROM contacts WHERE bsuid = ?", [bsuid])


def resolve_contact(
    db: sqlite_utils.Database, address: str, now: datetime, bsuid: str | None = None
) -> dict:
    """The contact who wrote from `address` (a number or a BSUID), created on first contact.

    When Twilio names both (`From` the number, `ExternalUserId` the BSUID) they are
    linked: a phone contact gains the BSUID, and a contact known only by that BSUID gains
    the number. If two separate contacts already exist for the two, the phone contact is
    used and nothing is merged (histories are a coordinator's call).
    """
    if is_bsuid(address):
        bsuid = address
        known = find_contact_by_bsuid(db, bsuid)
        if known is not None:
            return known
        db.execute(
            "INSERT INTO contacts (phone, bsuid, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT(phone) DO NOTHING",
            [bsuid, bsuid, to_db_time(now)],
        )
        return find_contact_by_phone(db, bsuid)
    by_phone = find_contact_by_phone(db, address)
    if bsuid is None:
        return by_phone or _create_contact(db, address, now)
    by_bsuid = find_contact_by_bsuid(db, bsuid)
    if by_phone is None and by_bsuid is not None:
        # A username user we knew only by the BSUID now shows the number: same person.
        db.execute("UPDATE contacts SET phone = ? WHERE id = ?", [address, by_bsuid["id"]])
        return get_contact(db, by_bsuid["id"])
    contact = by_phone or get_or_create_contact(db, address, now)
    if by_bsuid is None and not contact.get("bsuid"):
        db.execute("UPDATE contacts SET bsuid = ? WHERE id = ?", [bsuid, contact["id"]])
        return get_contact(db, contact["id"])
    if by_bsuid is not None and by_bsuid["id"] != contact["id"]:
        log.warning("contacts %s and %s are one WhatsApp user; not merged", contact["id"],
                    by_bsuid["id"])
    return contact


def _activity_columns(channel: str) -> tuple[str, ...]:
    """The columns an inbound message on `channel` sets besides `last_inbound_at`: the
    WhatsApp time opens Meta's 24-hour free-text window; the SMS transport is where later
    notifications to this person go."""
    if channel == "twilio_whatsapp":
        return ("last_whatsapp_at",)
    if channel in ("twilio_sms", "android_sms", "simulator"):
        # A number played in the simulator keeps getting its messages there (dev only).
        return ("sms_channel",)
    return ()


#: `UPDATE contacts` of an inbound message, per channel (one compiled text each).
_ACTIVITY = {
    channel: "UPDATE contacts SET last_inbound_at = ?" + "".join(f", {c} = ?" for c in
                                                                  _activity_columns(channel))
    + " WHERE id = ?"
    for channel in ("twilio_whatsapp", "twilio_sms", "android_sms", "simulator", "")
}


def record_inbound_activity(
    db: sqlite_utils.Database, contact_id: int, channel: str, now: datetime
) -> None:
    """Remember when and how the contact last wrote (see `_activity_columns`)."""
    stamp = to_db_time(now)
    columns = _activity_columns(channel)
    values = [stamp] + [stamp if column == "last_whatsapp_at" else channel for column in columns]
    db.conn.execute(_ACTIVITY[channel if columns else ""], [*values, contact_id])


#: The contact of an inbound message's number, and whether a loop incident is open for
#: it and a dialog for the contact (a probe of a unique index each).
_INBOUND_CONTACT = (
    "SELECT *, EXISTS (SELECT 1 FROM incidents WHERE kind = 'loop' AND subject = ?1 "
    "AND closed_at IS NULL) AS _loop_open, "
    "EXISTS (SELECT 1 FROM dialogs WHERE contact_id = contacts.id) AS _has_dialog "
    "FROM contacts WHERE phone = ?1"
)


def note_inbound(
    db: sqlite_utils.Database, address: str, channel: str, now: datetime, bsuid: str | None = None
) -> tuple[dict, bool | None, bool | None]:
    """`resolve_contact` and `record_inbound_activity` for a message from `address`; also
    whether a loop incident is open for the address and whether the contact has an open
    dialog (None: not asked, the caller looks).

    For a known number with no BSUID beside it (nearly every message) the flags come
    with the contact's row, sparing the two look-ups (or the incident's `UPDATE`) that
    would each be a statement. Call inside the write transaction: the flags stay exact
    only while nothing else can write."""
    if bsuid is None and not is_bsuid(address):
        contact = fetch_one(db, _INBOUND_CONTACT, [address])
        if contact is not None:
            record_inbound_activity(db, contact["id"], channel, now)
            return contact, bool(contact.pop("_loop_open")), bool(contact.pop("_has_dialog"))
        contact = _create_contact(db, address, now)
    else:
        contact = resolve_contact(db, address, now, bsuid=bsuid)
    record_inbound_activity(db, contact["id"], channel, now)
    return contact, None, None


def register_seller(
    db: sqlite_utils.Database, contact_id: int, name: str, village: str, now: datetime,
    province: str | None = None,
) -> dict:
    """Make the contact a seller with `name` from `village` (in `province`; None: the
    village's province when only one is recorded for the name, else unknown); return the
    updated row. Callers ask the seller first when the name has several (DECISIONS 336)."""
    province = schedule.province_name(province) if province else schedule.settled_province(db, village)
    # Registering is consenting to keep the name and number (the desk can erase them on request).
    db.execute(
        "UPDATE contacts SET role = 'seller', name = ?, village = ?, province = ?, registered_at = ?, "
        "consent_at = COALESCE(consent_at, ?), consent_source = COALESCE(consent_source, 'sms') "
        "WHERE id = ?",
        [name, village, province, to_db_time(now), to_db_time(now), contact_id],
    )
    return get_contact(db, contact_id)


def set_locale(db: sqlite_utils.Database, contact_id: int, locale: str) -> None:
    """Set the language the contact's replies are written in."""
    db.execute("UPDATE contacts SET locale = ? WHERE id = ?", [locale, contact_id])


def set_opted_out(
    db: sqlite_utils.Database, contact_id: int, opted_out: bool, *, reason: str = "command",
    now: datetime | None = None,
) -> None:
    """Opt the contact out of (or back into) broadcasts, keeping why (`command`, or
    `provider:21610` when the provider said so). Replies are never suppressed."""
    db.execute(
        "UPDATE contacts SET opted_out = ?, opted_out_reason = ?, opted_out_at = ? WHERE id = ?",
        [int(opted_out), reason if opted_out else None,
         to_db_time(now) if opted_out and now else None, contact_id],
    )


def blocked_channels(contact: dict) -> set[str]:
    """Channels whose provider refuses to deliver to this person."""
    return {c for c in (contact.get("blocked_channels") or "").split(",") if c}


def set_channel_blocked(db: sqlite_utils.Database, contact_id: int, channel: str,
                        blocked: bool) -> None:
    """Record that the provider of `channel` refuses (or again accepts) this person."""
    contact = get_contact(db, contact_id)
    channels = blocked_channels(contact)
    channels = channels | {channel} if blocked else channels - {channel}
    db.execute("UPDATE contacts SET blocked_channels = ? WHERE id = ?",
               [",".join(sorted(channels)) or None, contact_id])


def find_contact_by_address(db: sqlite_utils.Database, address: str) -> dict | None:
    """The contact reached at `address` (a number or a BSUID)."""
    return find_contact_by_phone(db, address) or (
        find_contact_by_bsuid(db, address) if is_bsuid(address) else None)
