"""Who is who: numbers, WhatsApp business-scoped ids (BSUIDs), and how they link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.phones import InvalidPhoneNumber, display_address, is_bsuid, mask_phone, normalize_phone, parse_bsuid
from bot.services.contacts import resolve_contact
from bot.storage import transaction

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
TINI = "+6281311112222"
BSUID = "ID.1502576394655843"


@pytest.mark.parametrize("text,bsuid", [
    ("whatsapp:ID.1502576394655843", "ID.1502576394655843"),
    ("ID.AbX9kQ2mZt7Lw0", "ID.AbX9kQ2mZt7Lw0"),
    ("whatsapp:US.ENT.11815799212886844830", "US.ENT.11815799212886844830"),
    ("whatsapp:US.1234", "US.1234"),
    ("whatsapp:foo_bar", None),
    ("whatsapp:+6281311112222", None),
    ("id.1502", None),  # the country code is upper case
    ("ID." + "a" * 129, None),  # more than 128 characters
])
def test_bsuids_are_recognised_exactly(text, bsuid):
    assert parse_bsuid(text) == bsuid
    assert is_bsuid(bsuid) is (bsuid is not None)


@pytest.mark.parametrize("text", ["whatsapp:ID.1502576394655843", "ID.AbX9kQ2", "TELKOMSEL",
                                  "0800-FLOWERS", "3636"])
def test_no_number_is_ever_made_from_letters_or_short_codes(text):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(text)


def test_people_known_by_a_bsuid_are_shown_as_such():
    assert display_address(BSUID) == f"WhatsApp {BSUID}"
    assert mask_phone(BSUID) == "WhatsApp ID.1502..."
    assert display_address(TINI) == TINI and mask_phone(TINI) == "0813...2222"


def resolve(db, address, bsuid=None):
    with transaction(db):
        return resolve_contact(db, address, NOW, bsuid=bsuid)


def test_a_phone_contact_gains_the_bsuid(migrated_db):
    first = resolve(migrated_db, TINI)
    linked = resolve(migrated_db, TINI, BSUID)
    assert linked["id"] == first["id"] and linked["bsuid"] == BSUID
    assert resolve(migrated_db, BSUID)["id"] == first["id"]  # later, the BSUID alone


def test_a_bsuid_contact_gains_the_number(migrated_db):
    first = resolve(migrated_db, BSUID)
    assert (first["phone"], first["bsuid"]) == (BSUID, BSUID)
    linked = resolve(migrated_db, TINI, BSUID)
    assert linked["id"] == first["id"] and (linked["phone"], linked["bsuid"]) == (TINI, BSUID)


def test_two_existing_contacts_are_not_merged(migrated_db):
    by_bsuid = resolve(migrated_db, BSUID)
    by_phone = resolve(migrated_db, TINI)
    got = resolve(migrated_db, TINI, BSUID)
    assert got["id"] == by_phone["id"] and got["bsuid"] is None
    assert resolve(migrated_db, BSUID)["id"] == by_bsuid["id"]
