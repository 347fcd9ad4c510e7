"""Messages to other people: the recipient's language and reachable channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services import contacts, outbox
from bot.services.outbox import channel_for_contact
from bot.storage import to_db_time
from conversations.news.notify import queue_notification

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture
def db(migrated_db):
    return migrated_db


@pytest.mark.parametrize("contact,settings,expected", [
    ({"last_whatsapp_at": "x", "sms_channel": "android_sms"}, {}, "twilio_whatsapp"),
    ({"sms_channel": "twilio_sms"}, {"ANDROID_GATEWAY_URL": "http://hub"}, "twilio_sms"),
    ({}, {"ANDROID_GATEWAY_URL": "http://hub"}, "android_sms"),
    ({}, {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_SMS_FROM": "Jembatan"}, "twilio_sms"),
    ({}, {"SMS_CHANNEL": "twilio", "ANDROID_GATEWAY_URL": "http://hub"}, "twilio_sms"),
    ({}, {}, "android_sms"),
])
def test_channel_for_contact(contact, settings, expected):
    assert channel_for_contact(contact, settings) == expected


def test_notification_is_rendered_in_the_recipients_language(db):
    budi = contacts.get_or_create_contact(db, "+6285711112222", NOW)
    contacts.set_locale(db, budi["id"], "en")
    db.execute("UPDATE contacts SET last_whatsapp_at = ? WHERE id = ?", [to_db_time(NOW), budi["id"]])
    budi = contacts.get_contact(db, budi["id"])
    outbox_id = queue_notification(db, {"DEFAULT_LOCALE": "id"}, budi, "register.already", NOW,
                                   name="Budi", village="Sukamaju")
    row = outbox.get_outbox_row(db, outbox_id)
    assert (row["channel"], row["kind"], row["lane"], row["status"]) == (
        "twilio_whatsapp", "notification", "conversation", "pending")
    assert row["body"].startswith("This number is already registered to Budi")
