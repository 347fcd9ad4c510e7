"""Database schema, as sqlite-utils migrations: each function runs once, in a transaction.

Add a new function at the end for every change; never edit one that has shipped.
`jembatan migrate` (the Procfile's release step) and `create_app` apply pending ones.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("jembatan")


@migrations()
def m001_backbone(db: sqlite_utils.Database) -> None:
    """Contacts, the durable inbox, the transactional outbox and dialog state."""
    db.execute(
        """
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            phone TEXT NOT NULL UNIQUE,          -- E.164
            role TEXT,                           -- NULL (unknown), 'seller', 'buyer'
            is_coordinator INTEGER NOT NULL DEFAULT 0,
            name TEXT,
            village TEXT,
            city TEXT,
            locale TEXT,                         -- NULL: the configured default
            timezone TEXT,                       -- NULL: the configured default
            opted_out INTEGER NOT NULL DEFAULT 0,
            sms_channel TEXT,                    -- transport of their last SMS
            last_inbound_at TEXT,
            last_whatsapp_at TEXT,               -- opens WhatsApp's 24-hour window
            registered_at TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE inbound (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,               -- twilio_sms, twilio_whatsapp, android_sms, simulator
            provider_id TEXT NOT NULL,           -- MessageSid / gateway messageId
            phone TEXT NOT NULL,
            contact_id INTEGER REFERENCES contacts(id),
            body TEXT NOT NULL,
            raw TEXT,                            -- the provider payload as JSON
            received_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'new',  -- new, processed, failed
            attempts INTEGER NOT NULL DEFAULT 0,
            processed_at TEXT,
            error TEXT,
            UNIQUE (channel, provider_id)
        )
        """
    )
    db.execute("CREATE INDEX inbound_unprocessed ON inbound (status, id)")
    db.execute(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER REFERENCES contacts(id),
            phone TEXT NOT NULL,
            channel TEXT NOT NULL,               -- twilio_sms, twilio_whatsapp, android_sms
            lane TEXT NOT NULL DEFAULT 'conversation',  -- conversation or broadcast
            kind TEXT NOT NULL,                  -- reply, notification, broadcast
            body TEXT NOT NULL,
            reply_id TEXT,                       -- catalog id the body was rendered from
            template_sid TEXT,                   -- WhatsApp template used outside 24 h
            template_variables TEXT,
            inbound_id INTEGER REFERENCES inbound(id),
            status TEXT NOT NULL DEFAULT 'pending',  -- pending, sending, sent, failed, expired
            provider_id TEXT,
            provider_status TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            enqueued_at TEXT,
            claimed_at TEXT,
            lease_until TEXT,
            expires_at TEXT,
            error_code TEXT,
            error_message TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (channel, provider_id)
        )
        """
    )
    db.execute("CREATE INDEX outbox_due ON outbox (status, next_attempt_at)")
    db.execute("CREATE INDEX outbox_recipient_order ON outbox (phone, channel, lane, id)")
    db.execute(
        """
        CREATE TABLE delivery_events (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            provider_id TEXT NOT NULL,
            status TEXT NOT NULL,
            error_code TEXT,
            raw TEXT,
            received_at TEXT NOT NULL,
            UNIQUE (channel, provider_id, status)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE dialogs (
            contact_id INTEGER PRIMARY KEY REFERENCES contacts(id),
            flow TEXT NOT NULL,
            state TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}',
            expires_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


def apply_migrations(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; return the names of those applied.

    Several processes start at once (gunicorn workers, the RQ worker), so the check and
    the changes run under one write lock: the first process migrates, the others wait
    and then find nothing pending.
    """
    from bot.storage import transaction

    with transaction(db):
        pending = [m.name for m in migrations.pending(db)]
        if pending:
            migrations.apply(db)
    return pending
