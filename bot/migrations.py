"""Database schema, as sqlite-utils migrations: each function runs once, in a transaction.

Add a new function at the end for every change; never edit one that has shipped.
`jembatan migrate` (the Procfile's release step) and `create_app` apply pending ones.
"""

from __future__ import annotations

import json

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.phones import parse_bsuid
from bot.services.products import seed_catalogue
from bot.services.schedule import province_name
from bot.storage import transaction, utcnow

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


@migrations()
def m002_catalog(db: sqlite_utils.Database) -> None:
    """Products with synonyms (seeded from bot/data/products.csv), listings, reference
    prices (append-only), price subscriptions, and photos sent with listings."""
    db.execute(
        """
        CREATE TABLE products (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,           -- canonical, lower case: 'cabai'
            source TEXT NOT NULL,                -- catalogue, coordinator, seller (new, unreviewed)
            created_by INTEGER REFERENCES contacts(id),
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE product_names (
            name TEXT PRIMARY KEY,               -- lower case; includes the canonical name
            product_id INTEGER NOT NULL REFERENCES products(id),
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX product_names_product ON product_names (product_id)")
    db.execute(
        """
        CREATE TABLE listings (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,           -- 'C7': no 0/O, 1/I/L; never reused
            seller_id INTEGER NOT NULL REFERENCES contacts(id),
            product_id INTEGER NOT NULL REFERENCES products(id),
            product_text TEXT NOT NULL,          -- the product as the seller wrote it
            quantity_milli INTEGER NOT NULL,     -- thousandths of `unit` (grams for kg)
            unit TEXT NOT NULL,                  -- kg, liter, ikat, buah, ...
            price INTEGER NOT NULL,              -- rupiah per unit
            status TEXT NOT NULL DEFAULT 'active',  -- active, withdrawn
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            withdrawn_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX listings_seller ON listings (seller_id, status, id)")
    db.execute("CREATE INDEX listings_catalog ON listings (status, product_id, id)")
    db.execute(
        """
        CREATE TABLE reference_prices (
            id INTEGER PRIMARY KEY,
            product_id INTEGER NOT NULL REFERENCES products(id),
            price INTEGER NOT NULL,              -- rupiah per unit
            unit TEXT NOT NULL,
            market TEXT,
            recorded_by INTEGER REFERENCES contacts(id),
            recorded_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX reference_prices_latest ON reference_prices (product_id, recorded_at)")
    db.execute(
        """
        CREATE TABLE subscriptions (
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            product_id INTEGER NOT NULL REFERENCES products(id),
            source TEXT NOT NULL,                -- command (LANGGAN), listing (JUAL)
            created_at TEXT NOT NULL,
            PRIMARY KEY (contact_id, product_id)
        )
        """
    )
    db.execute("CREATE INDEX subscriptions_product ON subscriptions (product_id, contact_id)")
    db.execute(
        """
        CREATE TABLE media (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            inbound_id INTEGER NOT NULL REFERENCES inbound(id),
            media_index INTEGER NOT NULL,        -- N of the provider's MediaUrlN
            listing_id INTEGER REFERENCES listings(id),  -- NULL while a JUAL dialog is open
            provider_url TEXT NOT NULL,
            declared_type TEXT,                  -- MediaContentTypeN
            content_type TEXT,                   -- as downloaded
            status TEXT NOT NULL DEFAULT 'pending',  -- pending, stored, refused, failed
            file_name TEXT,                      -- inside MEDIA_DIR
            size_bytes INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            enqueued_at TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            stored_at TEXT,
            UNIQUE (inbound_id, media_index)
        )
        """
    )
    db.execute("CREATE INDEX media_listing ON media (listing_id, status)")
    db.execute("CREATE INDEX media_due ON media (status, next_attempt_at)")

    seed_catalogue(db, utcnow())


@migrations()
def m003_ledger(db: sqlite_utils.Database) -> None:
    """The money ledger (double-entry, append-only), payout accounts, PINs and payouts.

    The ledger's rules are also enforced here, by the database itself, so no code path
    (a bug, a hand-typed SQL statement) can break them: entries are non-zero integers;
    a transaction header is written after its entries and only if they sum to zero
    (entries point at it with a deferred foreign key, checked at COMMIT); entries cannot
    join a posted transaction; seller accounts never go below zero; nothing is updated
    or deleted. See bot/services/ledger.py for the accounts and flows.
    """
    db.execute(
        """
        CREATE TABLE ledger_accounts (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,           -- 'system:cash', 'seller:42:available'
            kind TEXT NOT NULL,                  -- available, in_transit, paid_out,
                                                 -- buyer_receivables, cash, cooperative_fees
            contact_id INTEGER REFERENCES contacts(id),  -- the seller; NULL for system accounts
            normal_side TEXT NOT NULL CHECK (normal_side IN ('debit', 'credit'))
        )
        """
    )
    db.execute(
        """
        CREATE TABLE payouts (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,           -- shown to people: 'T7K2' (no 0/O, 1/I/L)
            reference TEXT NOT NULL UNIQUE,      -- provider reference_id and Idempotency-key
            seller_contact_id INTEGER NOT NULL REFERENCES contacts(id),
            amount INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount > 0),
            channel TEXT NOT NULL,               -- BCA, DANA, ... (copied: a later REK change
            account_number TEXT NOT NULL,        --   never redirects a payout in flight)
            account_holder_name TEXT NOT NULL,
            provider TEXT NOT NULL,              -- manual, xendit
            status TEXT NOT NULL DEFAULT 'pending',
            provider_payout_id TEXT,             -- Xendit's disb-... id
            provider_status TEXT,                -- as the provider last said it
            provider_reference TEXT,             -- manual: the coordinator's transfer reference
            failure_code TEXT,                   -- provider code or coordinator's reason
            submit_attempts INTEGER NOT NULL DEFAULT 0,
            next_submit_at TEXT,                 -- automatic providers: when to (re)submit
            submit_lease_until TEXT,             -- a worker is submitting it until then
            enqueued_at TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            settled_at TEXT                      -- reached succeeded/failed/cancelled
        )
        """
    )
    db.execute("CREATE INDEX payouts_seller ON payouts (seller_contact_id, created_at)")
    db.execute("CREATE INDEX payouts_status ON payouts (status, provider, next_submit_at)")
    db.execute(
        """
        CREATE TABLE payout_events (
            id INTEGER PRIMARY KEY,
            payout_id INTEGER NOT NULL REFERENCES payouts(id),
            event TEXT NOT NULL,                 -- accepted, requested, succeeded, failed, ...
            from_status TEXT NOT NULL,
            to_status TEXT NOT NULL,
            outcome TEXT NOT NULL,               -- applied, repeated (no effect)
            source TEXT NOT NULL,                -- sms, cli, xendit, xendit_callback
            detail TEXT,                         -- JSON: provider payload, reference, reason
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX payout_events_payout ON payout_events (payout_id, id)")
    db.execute(
        """
        CREATE TABLE ledger_transactions (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                  -- order_receipt, buyer_payment, withdrawal,
                                                 -- payout_succeeded, payout_returned, payout_reversed
            idempotency_key TEXT NOT NULL UNIQUE,  -- 'order_receipt:P12': posting twice is a no-op
            order_ref TEXT,
            payout_id INTEGER REFERENCES payouts(id),
            seller_contact_id INTEGER REFERENCES contacts(id),  -- the seller it concerns, if any
            memo TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX ledger_transactions_order ON ledger_transactions (order_ref)")
    db.execute("CREATE INDEX ledger_transactions_payout ON ledger_transactions (payout_id)")
    db.execute(
        """
        CREATE TABLE ledger_entries (
            id INTEGER PRIMARY KEY,
            transaction_id INTEGER NOT NULL
                REFERENCES ledger_transactions(id) DEFERRABLE INITIALLY DEFERRED,
            account_id INTEGER NOT NULL REFERENCES ledger_accounts(id),
            amount INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount <> 0),
            created_at TEXT NOT NULL             -- the transaction's time ("paid this month")
        )
        """
    )
    db.execute("CREATE INDEX ledger_entries_account ON ledger_entries (account_id, created_at)")
    db.execute("CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id)")
    db.execute(
        """
        CREATE TRIGGER ledger_entries_only_before_posting BEFORE INSERT ON ledger_entries
        WHEN EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.transaction_id)
        BEGIN
            SELECT RAISE(ABORT, 'ledger: entries cannot be added to a posted transaction');
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER ledger_transactions_balanced AFTER INSERT ON ledger_transactions
        WHEN (SELECT COUNT(*) FROM ledger_entries WHERE transaction_id = NEW.id) < 2
          OR (SELECT SUM(amount) FROM ledger_entries WHERE transaction_id = NEW.id) <> 0
        BEGIN
            SELECT RAISE(ABORT, 'ledger: a transaction needs two or more entries summing to zero');
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER ledger_seller_accounts_not_negative AFTER INSERT ON ledger_transactions
        WHEN EXISTS (
            SELECT 1 FROM ledger_accounts a
             WHERE a.contact_id IS NOT NULL
               AND a.id IN (SELECT account_id FROM ledger_entries WHERE transaction_id = NEW.id)
               AND (SELECT SUM(amount) FROM ledger_entries WHERE account_id = a.id)
                   * (CASE a.normal_side WHEN 'debit' THEN 1 ELSE -1 END) < 0)
        BEGIN
            SELECT RAISE(ABORT, 'ledger: a seller account would go below zero');
        END
        """
    )
    for table in ("ledger_entries", "ledger_transactions", "ledger_accounts"):
        for action in ("update", "delete"):
            db.execute(
                f"""
                CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table}
                BEGIN
                    SELECT RAISE(ABORT, 'ledger: {table} is append-only');
                END
                """
            )
    db.execute(
        """
        CREATE TABLE payout_accounts (
            contact_id INTEGER PRIMARY KEY REFERENCES contacts(id),
            channel TEXT NOT NULL,               -- BCA, BRI, DANA, OVO, ...
            account_number TEXT NOT NULL,        -- digits; e-wallets: the phone, 08...
            account_holder_name TEXT NOT NULL,   -- must match the bank's record exactly
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE seller_pins (
            contact_id INTEGER PRIMARY KEY REFERENCES contacts(id),
            pin_hash TEXT NOT NULL,              -- scrypt$n$r$p$salt$hash, never the PIN
            failed_attempts INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            updated_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m004_broadcasts(db: sqlite_utils.Database) -> None:
    """Coordinators' audit trail, villages' time zones, named groups and broadcasts."""
    db.execute("ALTER TABLE contacts ADD COLUMN coordinator_region TEXT")
    db.execute(
        """
        CREATE TABLE coordinator_actions (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER REFERENCES contacts(id),  -- NULL when done from the CLI
            actor TEXT NOT NULL,                  -- phone, or 'cli'
            action TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE villages (
            name TEXT PRIMARY KEY COLLATE NOCASE,
            province TEXT,
            timezone TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE contact_groups (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE contact_group_members (
            group_id INTEGER NOT NULL REFERENCES contact_groups(id) ON DELETE CASCADE,
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            PRIMARY KEY (group_id, contact_id)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE broadcasts (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                   -- announcement, price
            group_name TEXT NOT NULL,
            text TEXT NOT NULL,                   -- as the coordinator wrote it
            texts TEXT,                           -- JSON {locale: text} when rendered per language
            created_by TEXT NOT NULL,             -- phone, or 'cli'
            status TEXT NOT NULL DEFAULT 'planning',  -- planning, planned
            created_at TEXT NOT NULL,
            expires_at TEXT,                      -- stale after this (price updates)
            planned_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE broadcast_recipients (
            broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            status TEXT NOT NULL,                 -- queued, skipped (opted out), expired
            outbox_id INTEGER REFERENCES outbox(id),
            PRIMARY KEY (broadcast_id, contact_id)
        )
        """
    )
    db.execute("ALTER TABLE outbox ADD COLUMN broadcast_id INTEGER REFERENCES broadcasts(id)")
    db.execute("CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status)")


@migrations()
def m005_orders(db: sqlite_utils.Database) -> None:
    """Buyers (by text, or created by coordinators with a preferred channel), their API
    keys (hashed), orders with their event trail, and the webhook-relay outbox.

    Stock is reserved by decrementing `listings.quantity_milli` (what is still available);
    a trigger refuses any update that would take it below zero, whatever the code path.
    """
    db.execute(
        """
        CREATE TABLE buyers (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER UNIQUE REFERENCES contacts(id),  -- NULL: reached only by API/webhook
            name TEXT NOT NULL,                  -- the business: 'Warung Bu Tini'
            city TEXT NOT NULL,
            channel TEXT CHECK (channel IN ('whatsapp', 'sms', 'webhook')),  -- NULL: where they last wrote
            webhook_url TEXT,
            webhook_secret TEXT,                 -- HMAC key for relays (we must sign with it: not hashed)
            source TEXT NOT NULL,                -- sms (DAFTAR PEMBELI), cli
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            CHECK (channel IS NOT 'webhook' OR (webhook_url IS NOT NULL AND webhook_secret IS NOT NULL)),
            CHECK (channel = 'webhook' OR contact_id IS NOT NULL)
        )
        """
    )
    # Contacts marked as buyers by hand before buyers had a table get their row.
    db.execute(
        "INSERT INTO buyers (contact_id, name, city, channel, source, created_at, updated_at) "
        "SELECT id, COALESCE(name, phone), COALESCE(city, '-'), NULL, 'sms', created_at, created_at "
        "FROM contacts WHERE role = 'buyer'"
    )
    db.execute(
        """
        CREATE TABLE buyer_api_keys (
            id INTEGER PRIMARY KEY,
            buyer_id INTEGER NOT NULL REFERENCES buyers(id),
            prefix TEXT NOT NULL,                -- the key's first characters, to recognise it in lists
            key_hash TEXT NOT NULL UNIQUE,       -- sha256 hex of the whole key; the key is never stored
            label TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,           -- 'P7': P + digits 2-9 (no look-alikes), never reused
            buyer_id INTEGER NOT NULL REFERENCES buyers(id),
            listing_id INTEGER NOT NULL REFERENCES listings(id),
            seller_id INTEGER NOT NULL REFERENCES contacts(id),
            product_id INTEGER NOT NULL REFERENCES products(id),
            quantity_milli INTEGER NOT NULL CHECK (typeof(quantity_milli) = 'integer' AND quantity_milli > 0),
            unit TEXT NOT NULL,
            unit_price INTEGER NOT NULL CHECK (typeof(unit_price) = 'integer' AND unit_price > 0),
            total INTEGER NOT NULL CHECK (typeof(total) = 'integer' AND total > 0),  -- rupiah
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'shipped',
                'received', 'declined', 'cancelled', 'expired')),
            source TEXT NOT NULL,                -- text, api
            idempotency_key TEXT,                -- the API client's Idempotency-Key
            request_fingerprint TEXT,            -- what it asked for (same key, other body: refused)
            remind_at TEXT NOT NULL,             -- the seller gets one reminder then, if still pending
            reminded_at TEXT,
            expires_at TEXT NOT NULL,            -- still pending then: expired, stock released
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            accepted_at TEXT,
            shipped_at TEXT,
            received_at TEXT,
            closed_at TEXT,                      -- reached received, declined, cancelled or expired
            UNIQUE (buyer_id, idempotency_key)
        )
        """
    )
    db.execute("CREATE INDEX orders_seller ON orders (seller_id, status, id)")
    db.execute("CREATE INDEX orders_buyer ON orders (buyer_id, id)")
    db.execute("CREATE INDEX orders_timers ON orders (status, remind_at, expires_at)")
    db.execute(
        """
        CREATE TABLE order_events (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders(id),
            event TEXT NOT NULL,                 -- place, accept, decline, cancel, expire, ship, receive
            from_status TEXT,
            to_status TEXT NOT NULL,
            source TEXT NOT NULL,                -- text, api, timer
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX order_events_order ON order_events (order_id, id)")
    db.execute(
        """
        CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,       -- 'evt_...': X-Jembatan-Event-Id, what buyers dedupe on
            buyer_id INTEGER NOT NULL REFERENCES buyers(id),
            order_id INTEGER NOT NULL REFERENCES orders(id),
            event_type TEXT NOT NULL,            -- order.accepted, order.shipped, ...
            sequence INTEGER NOT NULL,           -- 1, 2, ... per order: the order events happened in
            payload TEXT NOT NULL,               -- the JSON body, fixed when the change happened
            status TEXT NOT NULL DEFAULT 'pending',  -- pending, sending, delivered, failed
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            give_up_after TEXT NOT NULL,         -- retries go on at least until then
            enqueued_at TEXT,
            lease_until TEXT,
            last_status_code INTEGER,
            last_error TEXT,
            created_at TEXT NOT NULL,
            delivered_at TEXT,
            UNIQUE (order_id, sequence)
        )
        """
    )
    db.execute("CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)")
    db.execute("CREATE INDEX webhook_deliveries_order ON webhook_deliveries (order_id, id)")
    db.execute(
        """
        CREATE TRIGGER listings_quantity_not_negative BEFORE UPDATE OF quantity_milli ON listings
        WHEN NEW.quantity_milli < 0
        BEGIN
            SELECT RAISE(ABORT, 'listings: quantity cannot go below zero');
        END
        """
    )


@migrations()
def m006_scale(db: sqlite_utils.Database) -> None:
    """Indexes that fit every hot query, code counters, and catalog counts (issue 13).

    - `code_counters`: the next listing/order code per scope (`listings:C`, `orders:P`),
      started from the codes already issued (the old allocator counted them), so codes
      come from one indexed upsert instead of a COUNT over a code range. A scope may
      later carry a hub prefix (`listings:JB-C`).
    - `catalog_counts`: visible listings per product, kept by triggers, so the catalog's
      `total` never counts every listing.
    - Partial indexes for what buyers see (cheapest per product), a product's listings, sellers'
      open orders, buyers' open orders, a listing's orders (those holding its stock), a
      recipient's waiting outbox rows, and sellers by village.
    """
    db.execute("CREATE TABLE code_counters (scope TEXT PRIMARY KEY, value INTEGER NOT NULL) "
               "WITHOUT ROWID")
    db.execute("INSERT INTO code_counters (scope, value) SELECT 'listings:' || substr(code, 1, 1), "
               "COUNT(*) FROM listings GROUP BY substr(code, 1, 1)")
    db.execute("INSERT INTO code_counters (scope, value) SELECT 'orders:P', COUNT(*) FROM orders "
               "WHERE code >= 'P' AND code < 'Q' HAVING COUNT(*) > 0")
    # What buyers see (bot.services.listings.VISIBLE): queries must say exactly this to
    # use the partial indexes.
    visible = "status = 'active' AND quantity_milli > 0"
    db.execute(f"CREATE INDEX listings_cheapest ON listings "
               f"(product_id, price, quantity_milli DESC, id DESC) WHERE {visible}")
    # A product's listings newest first (the catalog's default order; also what the
    # foreign key to products needs). It replaces listings_catalog, which led with the
    # status and so competed with listings_cheapest for CARI while sorting in memory.
    db.execute("CREATE INDEX listings_product ON listings (product_id, id)")
    db.execute("DROP INDEX listings_catalog")
    db.execute("CREATE INDEX contacts_village ON contacts (village COLLATE NOCASE)")
    db.execute("CREATE INDEX orders_seller_open ON orders (seller_id, id) "
               "WHERE status IN ('pending', 'accepted', 'shipped')")
    db.execute("CREATE INDEX orders_buyer_open ON orders (buyer_id, id) "
               "WHERE status IN ('pending', 'accepted', 'shipped')")
    # Also what the foreign key from orders to listings needs.
    db.execute("CREATE INDEX orders_listing ON orders (listing_id, id)")
    # A recipient's rows still to send (the per-recipient order of claim_for_delivery and
    # next_in_line). It replaces outbox_recipient_order, which held every row ever sent:
    # each reply and broadcast row paid a random insert into it.
    db.execute("CREATE INDEX outbox_recipient_waiting ON outbox (phone, channel, lane, id) "
               "WHERE status IN ('pending', 'sending')")
    db.execute("DROP INDEX outbox_recipient_order")
    # Smaller indexes on the webhook's own rows: only unprocessed messages (the sweep's
    # question), only broadcast rows. Every reply used to enter both.
    db.execute("DROP INDEX inbound_unprocessed")
    db.execute("CREATE INDEX inbound_new ON inbound (id) WHERE status = 'new'")
    db.execute("DROP INDEX outbox_broadcast")
    db.execute("CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status) "
               "WHERE broadcast_id IS NOT NULL")
    db.execute("CREATE TABLE catalog_counts (product_id INTEGER PRIMARY KEY, "
               "visible INTEGER NOT NULL)")
    db.execute(f"INSERT INTO catalog_counts (product_id, visible) SELECT product_id, COUNT(*) "
               f"FROM listings WHERE {visible} GROUP BY product_id")
    old = visible.replace("status", "OLD.status").replace("quantity_milli", "OLD.quantity_milli")
    new = visible.replace("status", "NEW.status").replace("quantity_milli", "NEW.quantity_milli")
    add = ("INSERT OR IGNORE INTO catalog_counts (product_id, visible) VALUES (NEW.product_id, 0);"
           " UPDATE catalog_counts SET visible = visible + 1 WHERE product_id = NEW.product_id;")
    remove = "UPDATE catalog_counts SET visible = visible - 1 WHERE product_id = OLD.product_id;"
    db.execute(f"CREATE TRIGGER listings_count_insert AFTER INSERT ON listings WHEN {new} "
               f"BEGIN {add} END")
    db.execute(f"CREATE TRIGGER listings_count_delete AFTER DELETE ON listings WHEN {old} "
               f"BEGIN {remove} END")
    db.execute(f"CREATE TRIGGER listings_count_hide AFTER UPDATE OF status, quantity_milli, "
               f"product_id ON listings WHEN ({old}) AND NOT ({new} AND NEW.product_id = "
               f"OLD.product_id) BEGIN {remove} END")
    db.execute(f"CREATE TRIGGER listings_count_show AFTER UPDATE OF status, quantity_milli, "
               f"product_id ON listings WHEN ({new}) AND NOT ({old} AND NEW.product_id = "
               f"OLD.product_id) BEGIN {add} END")
    # When the sweep last ran its housekeeping (`bot.storage.maintain`).
    db.execute("CREATE TABLE maintenance (task TEXT PRIMARY KEY, done_at TEXT NOT NULL)")
    # Planner statistics for what exists now; `bot.storage.maintain` keeps them current.
    db.execute("PRAGMA analysis_limit = 1000")
    db.execute("ANALYZE")


@migrations()
def m012_payout_approvals(db: sqlite_utils.Database) -> None:
    """Maker-checker for large payouts (PAYOUT_SECOND_APPROVAL_ABOVE): whether a payout
    needed a second coordinator's word when it was created, and who gave theirs."""
    db.execute("ALTER TABLE payouts ADD COLUMN approval_required INTEGER NOT NULL DEFAULT 0")
    db.execute(
        """
        CREATE TABLE payout_approvals (
            id INTEGER PRIMARY KEY,
            payout_id INTEGER NOT NULL REFERENCES payouts(id),
            actor TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (payout_id, actor)
        )
        """
    )


@migrations()
def m013_statements(db: sqlite_utils.Database) -> None:
    """Seller statements as issued: their figures (canonical JSON) and the HMAC that lets
    `GET /verify/<code>` tell an unchanged statement from an altered one."""
    db.execute(
        """
        CREATE TABLE statements (
            id INTEGER PRIMARY KEY,
            id_part TEXT NOT NULL UNIQUE,
            seller_contact_id INTEGER NOT NULL REFERENCES contacts(id),
            content TEXT NOT NULL,
            signature TEXT NOT NULL,
            issued_by TEXT NOT NULL,
            issued_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m014_payout_holds(db: sqlite_utils.Database) -> None:
    """Withdrawals held back by PAYOUT_ADVANCE_LIMIT until buyers' payments catch up."""
    db.execute("ALTER TABLE payouts ADD COLUMN held_for_payments INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX payouts_held ON payouts (id) WHERE held_for_payments = 1 AND status = 'pending'")


@migrations()
def m010_delivery_faults(db: sqlite_utils.Database) -> None:
    """Who holds a delivery claim, attempts whose outcome is unknown, and the sweep's heartbeat.

    `claimed_by` names the process that claimed an outbox row (boot, PID namespace, pid and
    start time), so the sweep can tell a dead worker from a slow one without waiting out the
    lease. `unknown_since` is set when a provider call timed out or was cut after the request
    went out: the row is looked up at the provider before it may be sent again.
    `heartbeats` holds one row per periodic activity (the sweep) for the delivery status.
    """
    db.execute("ALTER TABLE outbox ADD COLUMN claimed_by TEXT")
    db.execute("ALTER TABLE outbox ADD COLUMN unknown_since TEXT")
    db.execute(
        """
        CREATE TABLE heartbeats (
            name TEXT PRIMARY KEY,               -- 'sweep'
            at TEXT NOT NULL,                    -- when it last ran to the end
            detail TEXT                          -- JSON: what it found (and Redis's run id)
        )
        """
    )



@migrations()
def m006b_outbox_sent_by_recipient(db: sqlite_utils.Database) -> None:
    """A recipient's rows a provider accepted (`sent_provider_ids`, the lookup of an unknown
    outcome), which outbox_recipient_order used to serve before m006 dropped it. Partial:
    replies answered inline as TwiML carry no provider id and never enter it."""
    db.execute("CREATE INDEX outbox_recipient_sent ON outbox (phone, channel) "
               "WHERE provider_id IS NOT NULL")


@migrations()
def m008_desk(db: sqlite_utils.Database) -> None:
    """The coordinator's desk: who may sign in with which role, one-time codes and links,
    sessions, sign-in lockouts and throttling events, and consent to keep personal data."""
    db.execute(
        """
        CREATE TABLE desk_roles (
            contact_id INTEGER PRIMARY KEY REFERENCES contacts(id),
            role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'viewer')),
            granted_by TEXT NOT NULL,            -- phone of the admin, or 'cli'
            granted_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE desk_tokens (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            kind TEXT NOT NULL CHECK (kind IN ('code', 'link')),
            secret_hash TEXT NOT NULL,           -- salted SHA-256: the code or link is never kept
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT                         -- or superseded: a token works once
        )
        """
    )
    db.execute("CREATE INDEX desk_tokens_contact ON desk_tokens (contact_id, kind, id)")
    db.execute(
        """
        CREATE TABLE desk_sessions (
            token_hash TEXT PRIMARY KEY,         -- SHA-256 of the cookie's session token
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            client TEXT,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            ended_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE desk_lockouts (
            phone TEXT PRIMARY KEY,
            failed_attempts INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE desk_signin_events (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                  -- code_requested, code_wrong, signed_in
            phone TEXT NOT NULL,
            client TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX desk_signin_events_phone ON desk_signin_events (phone, kind, created_at)")
    db.execute("CREATE INDEX desk_signin_events_client ON desk_signin_events (client, kind, created_at)")
    db.execute("ALTER TABLE contacts ADD COLUMN consent_at TEXT")
    db.execute("ALTER TABLE contacts ADD COLUMN consent_source TEXT")  # sms, import
    db.execute("ALTER TABLE contacts ADD COLUMN erased_at TEXT")
    db.execute("ALTER TABLE broadcasts ADD COLUMN send_at TEXT")  # scheduled: not before then
    db.execute("CREATE INDEX IF NOT EXISTS desk_inbound_contact ON inbound (contact_id, id)")
    db.execute("CREATE INDEX IF NOT EXISTS desk_outbox_contact ON outbox (contact_id, id)")
    # The overview counts today's messages and the log lists the newest: by time, not by scan.
    db.execute("CREATE INDEX IF NOT EXISTS desk_inbound_time ON inbound (received_at)")
    # Messages that failed processing are rare: the log finds them without walking the year.
    db.execute("CREATE INDEX IF NOT EXISTS desk_inbound_failed ON inbound (received_at) "
               "WHERE status = 'failed'")
    db.execute("CREATE INDEX IF NOT EXISTS desk_outbox_time ON outbox (created_at)")
    db.execute("CREATE INDEX IF NOT EXISTS desk_orders_received ON orders (received_at)")
    # Orders by the hour they were placed and their status now, kept by triggers: the
    # overview's "orders today / this week by state" reads at most 168 hours a status
    # instead of counting every order of the week (Indonesian zones are whole hours off UTC).
    db.execute("CREATE TABLE desk_order_hours (hour TEXT NOT NULL, status TEXT NOT NULL, "
               "orders INTEGER NOT NULL, PRIMARY KEY (hour, status)) WITHOUT ROWID")
    db.execute("INSERT INTO desk_order_hours (hour, status, orders) SELECT substr(created_at, 1, 13), "
               "status, COUNT(*) FROM orders GROUP BY 1, 2")
    add = ("INSERT INTO desk_order_hours (hour, status, orders) VALUES (substr(NEW.created_at, 1, 13), "
           "NEW.status, 1) ON CONFLICT (hour, status) DO UPDATE SET orders = orders + 1;")
    remove = ("UPDATE desk_order_hours SET orders = orders - 1 WHERE hour = substr(OLD.created_at, 1, 13) "
              "AND status = OLD.status;")
    db.execute(f"CREATE TRIGGER desk_order_hours_insert AFTER INSERT ON orders BEGIN {add} END")
    db.execute(f"CREATE TRIGGER desk_order_hours_update AFTER UPDATE OF status ON orders "
               f"WHEN NEW.status IS NOT OLD.status BEGIN {remove} {add} END")


@migrations()
def m007_field_signals(db: sqlite_utils.Database) -> None:
    """WhatsApp username users (BSUID), provider opt-outs, the hub phone's health and
    SIM caps, incidents told to coordinators once, and the loop breaker's index.

    Contacts that an older version stored under a number made up from a BSUID (`From=
    whatsapp:ID.1502…` read as `+621502…`) are repaired from the inbound rows, which
    keep the original `From`: the contact, its inbound and outbox rows get the BSUID
    back, and anything still waiting to go by SMS to the made-up number is failed.
    """
    db.execute("ALTER TABLE contacts ADD COLUMN bsuid TEXT")  # WhatsApp business-scoped id
    db.execute("CREATE UNIQUE INDEX contacts_bsuid ON contacts (bsuid) WHERE bsuid IS NOT NULL")
    db.execute("ALTER TABLE contacts ADD COLUMN opted_out_reason TEXT")  # command, provider:21610
    db.execute("ALTER TABLE contacts ADD COLUMN opted_out_at TEXT")
    # Channels whose provider refuses this person (21610, 63014): "twilio_sms,twilio_whatsapp".
    db.execute("ALTER TABLE contacts ADD COLUMN blocked_channels TEXT")
    db.execute("ALTER TABLE inbound ADD COLUMN bsuid TEXT")
    db.execute("CREATE INDEX inbound_sender_recent ON inbound (phone, received_at)")
    db.execute("ALTER TABLE outbox ADD COLUMN sim_number INTEGER")  # gateway SIM slot used
    db.execute("CREATE INDEX outbox_recipient_recent ON outbox (phone, lane, next_attempt_at)")
    db.execute(
        """
        CREATE TABLE hub_devices (
            device_id TEXT PRIMARY KEY,          -- the gateway's deviceId, 'hub' when polled
            status TEXT,                         -- pass, warn, fail (GET /health), unreachable
            battery_level INTEGER,
            charging INTEGER,
            connection TEXT,
            failed_count INTEGER,
            last_seen_at TEXT,                   -- last answer or system:ping
            last_polled_at TEXT,
            last_error TEXT,
            details TEXT,                        -- the last health answer as JSON
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                  -- hub_silent, hub_battery, loop
            subject TEXT NOT NULL,               -- device id, phone
            opened_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            closed_at TEXT,
            details TEXT
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX incidents_open ON incidents (kind, subject) "
               "WHERE closed_at IS NULL")

    rows = db.execute(
        "SELECT id, phone, raw FROM inbound WHERE channel = 'twilio_whatsapp' ORDER BY id"
    ).fetchall()
    for inbound_id, phone, raw in rows:
        try:
            payload = json.loads(raw or "{}")
        except ValueError:
            continue
        sender = payload.get("From") if isinstance(payload, dict) else None
        external = payload.get("ExternalUserId") if isinstance(payload, dict) else None
        bsuid = parse_bsuid(sender if isinstance(sender, str) else None)
        if bsuid is None:
            linked = parse_bsuid(external if isinstance(external, str) else None)
            if linked:
                db.execute("UPDATE contacts SET bsuid = ? WHERE phone = ? AND bsuid IS NULL "
                           "AND NOT EXISTS (SELECT 1 FROM contacts WHERE bsuid = ?)",
                           [linked, phone, linked])
            continue
        db.execute("UPDATE inbound SET bsuid = ? WHERE id = ?", [bsuid, inbound_id])
        if phone == bsuid:
            continue
        # `phone` was made up from the BSUID: nobody with that number ever wrote to us.
        db.execute("UPDATE contacts SET phone = ?, bsuid = ? WHERE phone = ?", [bsuid, bsuid, phone])
        db.execute("UPDATE inbound SET phone = ? WHERE phone = ?", [bsuid, phone])
        db.execute(
            "UPDATE outbox SET status = 'failed', error_code = 'not_a_phone', lease_until = NULL, "
            "error_message = 'number was made up from a WhatsApp id (repaired by m007)' "
            "WHERE phone = ? AND channel <> 'twilio_whatsapp' AND status IN ('pending', 'sending')",
            [phone])
        db.execute("UPDATE outbox SET phone = ? WHERE phone = ?", [bsuid, phone])


@migrations()
def m020_statements_requests(db: sqlite_utils.Database) -> None:
    """Sellers' requests for a statement by text (`LAPORAN KEUANGAN`), which a coordinator
    issues; and the opt-in weekly summary (`LAPORAN MINGGUAN YA`), with when it is due."""
    db.execute(
        """
        CREATE TABLE statement_requests (
            id INTEGER PRIMARY KEY,
            seller_contact_id INTEGER NOT NULL REFERENCES contacts(id),
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'issued')),
            requested_at TEXT NOT NULL,
            statement_id INTEGER REFERENCES statements(id),
            handled_by TEXT,
            handled_at TEXT
        )
        """
    )
    # One open request per seller: asking again while one waits changes nothing.
    db.execute("CREATE UNIQUE INDEX statement_requests_open ON statement_requests (seller_contact_id) "
               "WHERE status = 'open'")
    db.execute("CREATE INDEX statements_issued ON statements (issued_at)")
    db.execute(
        """
        CREATE TABLE weekly_reports (
            contact_id INTEGER PRIMARY KEY REFERENCES contacts(id),
            next_due_at TEXT,
            changed_at TEXT NOT NULL,
            last_sent_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX weekly_reports_due ON weekly_reports (next_due_at) "
               "WHERE next_due_at IS NOT NULL")


@migrations()
def m021_stories(db: sqlite_utils.Database) -> None:
    """Sellers' stories (issue 17): one per listing (`CERITA kode teks`) and one per
    seller (`CERITA teks`), as published (phone numbers, links and e-mail addresses
    already taken out), shown or hidden by coordinators; photos sent with a seller's
    own story belong to it (`media.story_id`)."""
    db.execute(
        """
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            seller_id INTEGER NOT NULL REFERENCES contacts(id),
            listing_id INTEGER REFERENCES listings(id),  -- NULL: the seller's own story
            text TEXT NOT NULL,                  -- as published
            removed TEXT,                        -- what was taken out: phone,link,email
            status TEXT NOT NULL DEFAULT 'visible',  -- visible, hidden (by a coordinator)
            edited_by TEXT,                      -- the coordinator who last edited or hid it
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX stories_listing ON stories (listing_id) "
               "WHERE listing_id IS NOT NULL")
    db.execute("CREATE UNIQUE INDEX stories_seller ON stories (seller_id) WHERE listing_id IS NULL")
    db.execute("CREATE INDEX stories_recent ON stories (updated_at)")
    db.execute("ALTER TABLE media ADD COLUMN story_id INTEGER REFERENCES stories(id)")
    db.execute("CREATE INDEX media_story ON media (story_id) WHERE story_id IS NOT NULL")



#: Federation SQL shared by m024's triggers and m026's snapshot views (one definition).
_IS_HUB = "(SELECT role FROM federation_identity WHERE id = 1) = 'hub'"
_SELLER_OF = ("(SELECT json_object('id', c.id, 'name', c.name, 'village', c.village) "
              "FROM contacts c WHERE c.id = NEW.seller_id)")
_LISTING_PAYLOAD = (
    "json_object('id', NEW.id, 'code', NEW.code, 'status', NEW.status, "
    "'product', (SELECT name FROM products WHERE id = NEW.product_id), "
    "'product_text', NEW.product_text, 'quantity_milli', NEW.quantity_milli, 'unit', NEW.unit, "
    "'price', NEW.price, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at, "
    f"'withdrawn_at', NEW.withdrawn_at, 'seller', {_SELLER_OF})"
)
_SQL_NOW = "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'"  # bot.storage.to_db_time's width


@migrations()
def m024_federation(db: sqlite_utils.Database) -> None:
    """Hubs and a city (issue 18): who this deployment is in the federation, the hub's
    event outbox (written by triggers, so in the same transaction as every listing change,
    whichever path makes it), and at the city which hub a listing or seller comes from and
    which events were applied. A standalone deployment has no identity row: the triggers
    do nothing there (DECISIONS 276)."""
    db.execute(
        """
        CREATE TABLE federation_identity (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            role TEXT NOT NULL,                  -- standalone, hub, city
            hub_id TEXT,                         -- the hub's letter
            epoch INTEGER NOT NULL DEFAULT 1,    -- advanced by a restore (DECISIONS 279)
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE federation_events (
            id INTEGER PRIMARY KEY,
            epoch INTEGER NOT NULL,              -- the hub's epoch when written
            entity TEXT NOT NULL,                -- listing
            entity_id INTEGER NOT NULL,          -- the hub's own id
            entity_seq INTEGER NOT NULL,         -- 1, 2, ... per entity
            kind TEXT NOT NULL,                  -- listing.created, listing.updated, listing.withdrawn
            payload TEXT NOT NULL,               -- the entity as it is after the change (JSON)
            created_at TEXT NOT NULL,
            published_at TEXT                    -- JetStream acknowledged it
        )
        """
    )
    db.execute("CREATE INDEX federation_events_entity ON federation_events (entity, entity_id, entity_seq)")
    db.execute("CREATE INDEX federation_events_unpublished ON federation_events (id) "
               "WHERE published_at IS NULL")
    hub = _IS_HUB
    payload = _LISTING_PAYLOAD
    now = _SQL_NOW

    def insert(kind: str) -> str:
        return (
            "INSERT INTO federation_events (epoch, entity, entity_id, entity_seq, kind, payload, "
            "created_at) VALUES ((SELECT epoch FROM federation_identity WHERE id = 1), 'listing', "
            "NEW.id, (SELECT COALESCE(MAX(entity_seq), 0) + 1 FROM federation_events WHERE "
            f"entity = 'listing' AND entity_id = NEW.id), {kind}, {payload}, {now});"
        )

    db.execute(f"CREATE TRIGGER federation_listing_created AFTER INSERT ON listings WHEN {hub} "
               f"BEGIN {insert(repr('listing.created'))} END")
    columns = ("status", "quantity_milli", "price", "product_id", "product_text", "unit")
    changed = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in columns)
    kind = ("CASE WHEN NEW.status = 'withdrawn' AND OLD.status IS NOT 'withdrawn' "
            "THEN 'listing.withdrawn' ELSE 'listing.updated' END")
    db.execute(f"CREATE TRIGGER federation_listing_changed AFTER UPDATE OF {', '.join(columns)} "
               f"ON listings WHEN {hub} AND ({changed}) BEGIN {insert(kind)} END")

    # The city: where a listing and its seller come from, how far that listing is applied.
    for column in ("origin_hub TEXT", "origin_id INTEGER", "origin_epoch INTEGER", "origin_seq INTEGER"):
        db.execute(f"ALTER TABLE listings ADD COLUMN {column}")
    db.execute("CREATE UNIQUE INDEX listings_origin ON listings (origin_hub, origin_id) "
               "WHERE origin_hub IS NOT NULL")
    db.execute("ALTER TABLE contacts ADD COLUMN origin_hub TEXT")
    db.execute("ALTER TABLE contacts ADD COLUMN origin_id INTEGER")
    db.execute("CREATE UNIQUE INDEX contacts_origin ON contacts (origin_hub, origin_id) "
               "WHERE origin_hub IS NOT NULL")
    db.execute(
        """
        CREATE TABLE federation_applied (
            event_id TEXT PRIMARY KEY,           -- 'A-1-17': hub, epoch, the hub's event id
            hub_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            outcome TEXT NOT NULL,               -- applied, stale (a newer state was there)
            applied_at TEXT NOT NULL
        )
        """
    )
    # What the relay last saw of each link: at a hub the city (`city`), at the city each
    # hub's letter. For `jembatan hub status`; a link down is normal, not a failure.
    db.execute(
        """
        CREATE TABLE federation_links (
            peer TEXT PRIMARY KEY,               -- 'city', or a hub's letter
            link_up INTEGER NOT NULL,
            checked_at TEXT NOT NULL,
            last_up_at TEXT,
            lag INTEGER                          -- the city: messages its source has yet to copy
        )
        """
    )


def apply_migrations(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; return the names of those applied.

    Several processes start at once (gunicorn workers, the RQ worker), so the check and
    the changes run under one write lock: the first process migrates, the others wait
    and then find nothing pending.
    """
    with transaction(db):
        pending = [m.name for m in migrations.pending(db)]
        if pending:
            migrations.apply(db)
    return pending


@migrations()
def m022_buyers_demand(db: sqlite_utils.Database) -> None:
    """Buyers and demand (issue 17): orders counted by source for the desk, searches
    that found nothing or little counted per product and area, the demand texts sellers
    got (at most one a week), and a seller's opt-out of them."""
    # Orders by the hour they were placed and where they came from (page, text, api),
    # kept by a trigger like desk_order_hours: a source never changes once placed.
    db.execute("CREATE TABLE desk_order_sources (hour TEXT NOT NULL, source TEXT NOT NULL, "
               "orders INTEGER NOT NULL, PRIMARY KEY (hour, source)) WITHOUT ROWID")
    db.execute("INSERT INTO desk_order_sources (hour, source, orders) SELECT substr(created_at, 1, 13), "
               "source, COUNT(*) FROM orders GROUP BY 1, 2")
    db.execute("CREATE TRIGGER desk_order_sources_insert AFTER INSERT ON orders BEGIN "
               "INSERT INTO desk_order_sources (hour, source, orders) VALUES "
               "(substr(NEW.created_at, 1, 13), NEW.source, 1) "
               "ON CONFLICT (hour, source) DO UPDATE SET orders = orders + 1; END")
    db.execute(
        """
        CREATE TABLE demand_searches (
            day TEXT NOT NULL,                   -- UTC date of the searches: '2026-11-28'
            product_key TEXT NOT NULL,           -- 'p17' (catalogue product) or the name typed
            area TEXT NOT NULL,                  -- the place searched, lower case; '' anywhere
            product_id INTEGER REFERENCES products(id),  -- NULL: a name the catalogue lacks
            product_name TEXT NOT NULL,          -- as texts and the desk show it
            searches INTEGER NOT NULL DEFAULT 0, -- that found nothing or little
            unmet INTEGER NOT NULL DEFAULT 0,    -- of which found nothing at all
            by_text INTEGER NOT NULL DEFAULT 0,
            by_page INTEGER NOT NULL DEFAULT 0,
            by_api INTEGER NOT NULL DEFAULT 0,
            last_at TEXT NOT NULL,
            PRIMARY KEY (day, product_key, area)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE demand_notices (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            product_id INTEGER NOT NULL REFERENCES products(id),
            searches INTEGER NOT NULL,           -- the count the text gave
            outbox_id INTEGER REFERENCES outbox(id),
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX demand_notices_contact ON demand_notices (contact_id, created_at)")
    db.execute("ALTER TABLE contacts ADD COLUMN demand_opt_out_at TEXT")  # MINAT OFF


@migrations()
def m026_federation_ops(db: sqlite_utils.Database) -> None:
    """Federation operations (issue 18): sellers' profiles, stories and photos become hub
    events too (triggers, like listings'), one view per entity gives each event's payload
    to both its triggers and a snapshot (a database that becomes a hub, a restored hub:
    DECISIONS 320-324), the snapshot's epoch is remembered so it is written once, and at the
    city which hub seller, story or photo each local row stands for, at which version."""
    db.execute("ALTER TABLE federation_identity ADD COLUMN snapshot_epoch INTEGER")
    db.execute("CREATE INDEX federation_events_published ON federation_events (published_at) "
               "WHERE published_at IS NOT NULL")
    story = ("json_object('id', NEW.id, 'seller', " + _SELLER_OF + ", 'listing_id', NEW.listing_id, "
             "'text', NEW.text, 'status', NEW.status, 'updated_at', NEW.updated_at)")
    photo = ("json_object('id', NEW.id, 'seller_id', NEW.contact_id, 'listing_id', NEW.listing_id, "
             "'story_id', NEW.story_id, 'content_type', NEW.content_type, 'file_name', NEW.file_name, "
             "'size', NEW.size_bytes, 'stored_at', NEW.stored_at)")
    seller = ("json_object('id', NEW.id, 'name', NEW.name, 'village', NEW.village, "
              "'erased', NEW.erased_at IS NOT NULL)")
    for entity, table, payload in (("listing", "listings", _LISTING_PAYLOAD),
                                   ("seller", "contacts", seller), ("story", "stories", story),
                                   ("photo", "media", photo)):
        db.execute(f"CREATE VIEW federation_{entity}_payload AS SELECT NEW.id AS id, {payload} AS payload "
                   f"FROM {table} AS NEW")

    def insert(entity: str, kind: str) -> str:
        return (
            "INSERT INTO federation_events (epoch, entity, entity_id, entity_seq, kind, payload, "
            f"created_at) VALUES ((SELECT epoch FROM federation_identity WHERE id = 1), '{entity}', "
            "NEW.id, (SELECT COALESCE(MAX(entity_seq), 0) + 1 FROM federation_events WHERE "
            f"entity = '{entity}' AND entity_id = NEW.id), '{kind}', "
            f"(SELECT payload FROM federation_{entity}_payload WHERE id = NEW.id), {_SQL_NOW});"
        )

    seller_changed = "NEW.name IS NOT OLD.name OR NEW.village IS NOT OLD.village OR NEW.role IS NOT OLD.role"
    photo_ready = "NEW.status = 'stored' AND (NEW.listing_id IS NOT NULL OR NEW.story_id IS NOT NULL)"
    photo_changed = ("OLD.status IS NOT 'stored' OR NEW.listing_id IS NOT OLD.listing_id OR "
                     "NEW.story_id IS NOT OLD.story_id OR NEW.size_bytes IS NOT OLD.size_bytes")
    for name, when, what in (
        ("seller_created", "AFTER INSERT ON contacts", "NEW.role = 'seller'"),
        ("seller_changed", "AFTER UPDATE OF name, village, role ON contacts",
         f"NEW.role = 'seller' AND ({seller_changed})"),
        ("story_created", "AFTER INSERT ON stories", "1"),
        ("story_changed", "AFTER UPDATE OF text, status, listing_id ON stories",
         "NEW.text IS NOT OLD.text OR NEW.status IS NOT OLD.status OR NEW.listing_id IS NOT OLD.listing_id"),
        ("photo_stored", "AFTER UPDATE OF status, listing_id, story_id, size_bytes ON media",
         f"{photo_ready} AND ({photo_changed})"),
    ):
        entity, change = name.split("_")
        kind = f"{entity}.{'updated' if change == 'changed' else change}"
        db.execute(f"CREATE TRIGGER federation_{name} {when} WHEN {_IS_HUB} AND ({what}) "
                   f"BEGIN {insert(entity, kind)} END")
    # The city: which local row stands for a hub's seller, story or photo, at which version
    # (listings keep theirs on the row, m024).
    db.execute(
        """
        CREATE TABLE federation_versions (
            hub_id TEXT NOT NULL,
            entity TEXT NOT NULL,                -- seller, story, photo
            origin_id INTEGER NOT NULL,          -- the hub's id
            epoch INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            local_id INTEGER,                    -- contacts, stories or media id here
            PRIMARY KEY (hub_id, entity, origin_id)
        ) WITHOUT ROWID
        """
    )


@migrations()
def m027_villages(db: sqlite_utils.Database) -> None:
    """Villages with the same name in different provinces (issue 17, DECISIONS 335-): a
    village is its name and its province, and a seller keeps the province of theirs, so
    `/desa/<province>/<village>` and the time zone never mix two same-named villages."""
    db.execute(
        """
        CREATE TABLE villages_by_province (
            name TEXT NOT NULL COLLATE NOCASE,
            province TEXT NOT NULL COLLATE NOCASE,  -- as bot/data/provinces.csv spells it
            timezone TEXT NOT NULL,
            PRIMARY KEY (name, province)
        ) WITHOUT ROWID
        """
    )
    # Rows without a province carried only a zone; none was ever written that way. The
    # province is spelled as provinces.csv does (it was stored as typed).
    for name, province, zone in db.execute("SELECT name, province, timezone FROM villages "
                                           "WHERE province IS NOT NULL").fetchall():
        db.execute("INSERT OR REPLACE INTO villages_by_province (name, province, timezone) "
                   "VALUES (?, ?, ?)", [name, province_name(province) or province, zone])
    db.execute("DROP TABLE villages")
    db.execute("ALTER TABLE villages_by_province RENAME TO villages")
    # A seller's province (NULL: nobody recorded it; the storefront shows `indonesia`).
    # Until now a village name had one province at most: every seller of a recorded
    # village gets it.
    db.execute("ALTER TABLE contacts ADD COLUMN province TEXT")
    db.execute("UPDATE contacts SET province = (SELECT v.province FROM villages v "
               "WHERE v.name = contacts.village) "
               "WHERE EXISTS (SELECT 1 FROM villages v WHERE v.name = contacts.village)")


@migrations()
def m025_federation_orders(db: sqlite_utils.Database) -> None:
    """Orders flow down (issue 18): a city buyer's order for a hub listing is `requested`
    at the city until the hub answers (DECISIONS 300-319). The city keeps where each such
    order went and how far the hub's answers are applied; the city's request outbox is
    published by the relay like the hub's event outbox; the hub records every request it
    took (once, by request id) and its city-originated orders write their events by
    trigger, in the same transaction as each change."""
    # `requested` joins the lifecycle. SQLite cannot alter a CHECK constraint; widening
    # one changes nothing on disk, which is the case SQLite documents for editing the
    # schema text in place (https://sqlite.org/lang_altertable.html, "otherwise").
    for column in ("origin_hub TEXT", "origin_id INTEGER", "origin_code TEXT",
                   "origin_epoch INTEGER", "origin_seq INTEGER",
                   "city_request TEXT", "city_order_id INTEGER"):
        db.execute(f"ALTER TABLE orders ADD COLUMN {column}")
    old = "'received', 'declined', 'cancelled', 'expired'))"
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'orders'").fetchone()[0]
    if old not in sql:
        raise RuntimeError("m025: the orders table's status CHECK is not the one m005 wrote")
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'orders'",
               [sql.replace(old, "'received', 'declined', 'cancelled', 'expired', 'requested'))")])
    db.execute(f"PRAGMA schema_version = {version + 1}")
    db.execute("PRAGMA writable_schema = OFF")
    # The hub: one order per city request, whatever redelivers it.
    db.execute("CREATE UNIQUE INDEX orders_city_request ON orders (city_request) "
               "WHERE city_request IS NOT NULL")
    db.execute("CREATE INDEX orders_origin ON orders (origin_hub, origin_id) WHERE origin_hub IS NOT NULL")
    # The city's outbox of requests to hubs (an order, a buyer's cancel or receipt).
    db.execute(
        """
        CREATE TABLE federation_requests (
            id INTEGER PRIMARY KEY,
            epoch INTEGER NOT NULL,              -- the city's epoch when written
            hub_id TEXT NOT NULL,                -- the hub it goes to
            order_id INTEGER NOT NULL REFERENCES orders(id),  -- the city's order
            kind TEXT NOT NULL,                  -- order.request, order.cancel, order.receive
            payload TEXT NOT NULL,               -- JSON
            created_at TEXT NOT NULL,
            published_at TEXT                    -- JetStream acknowledged it
        )
        """
    )
    db.execute("CREATE INDEX federation_requests_unpublished ON federation_requests (id) "
               "WHERE published_at IS NULL")
    db.execute("CREATE INDEX federation_requests_order ON federation_requests (order_id)")  # its FK
    # The hub: every city request it took, once (its id is the key), and what came of it.
    db.execute(
        """
        CREATE TABLE federation_received (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL UNIQUE,     -- 'city-1-17'
            kind TEXT NOT NULL,
            outcome TEXT NOT NULL,               -- placed, declined, applied, refused
            order_id INTEGER REFERENCES orders(id),  -- the hub's order, when there is one
            received_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX federation_received_order ON federation_received (order_id)")  # its FK
    db.execute("CREATE INDEX orders_city_order ON orders (city_order_id) WHERE city_order_id IS NOT NULL")
    hub = "(SELECT role FROM federation_identity WHERE id = 1) = 'hub' AND NEW.city_request IS NOT NULL"
    payload = (
        "json_object('id', NEW.id, 'code', NEW.code, 'status', NEW.status, "
        "'request', NEW.city_request, 'city_order', NEW.city_order_id, "
        "'quantity_milli', NEW.quantity_milli, 'unit_price', NEW.unit_price, 'total', NEW.total, "
        "'expires_at', NEW.expires_at, 'accepted_at', NEW.accepted_at, 'shipped_at', NEW.shipped_at, "
        "'received_at', NEW.received_at, 'closed_at', NEW.closed_at, 'updated_at', NEW.updated_at)"
    )
    now = "strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'"
    insert = (
        "INSERT INTO federation_events (epoch, entity, entity_id, entity_seq, kind, payload, "
        "created_at) VALUES ((SELECT epoch FROM federation_identity WHERE id = 1), 'order', "
        "NEW.id, (SELECT COALESCE(MAX(entity_seq), 0) + 1 FROM federation_events WHERE "
        "entity = 'order' AND entity_id = NEW.id), 'order.' || NEW.status, " + payload + ", " + now + ");"
    )
    db.execute(f"CREATE TRIGGER federation_order_created AFTER INSERT ON orders WHEN {hub} "
               f"BEGIN {insert} END")
    db.execute(f"CREATE TRIGGER federation_order_changed AFTER UPDATE OF status ON orders "
               f"WHEN {hub} AND NEW.status IS NOT OLD.status BEGIN {insert} END")


@migrations()
def m028_federation_down(db: sqlite_utils.Database) -> None:
    """Issue 18, what still flows down (DECISIONS 420-429): buyers' payments for hub orders,
    requests replayed to a hub restored from a backup, and the city's applied-event record
    pruned with its counts kept."""
    # The city: a buyer's payment for a hub's order, sent down to the hub's ledger, and
    # the hub's answer (recorded, or refused with its reason).
    db.execute(
        """
        CREATE TABLE federation_payments (
            id INTEGER PRIMARY KEY,
            order_id INTEGER NOT NULL REFERENCES orders(id),
            reference TEXT NOT NULL UNIQUE,      -- as the ledger would key it (namespaced)
            amount INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount > 0),
            note TEXT,
            status TEXT NOT NULL DEFAULT 'forwarded'
                CHECK (status IN ('forwarded', 'recorded', 'refused')),
            reason TEXT,                         -- the hub's refusal: not_received, overpayment, ...
            amount_due INTEGER,                  -- what the hub's ledger says is still owed
            created_at TEXT NOT NULL,
            answered_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX federation_payments_order ON federation_payments (order_id)")  # its FK
    # The city: a replayed request names the request it sends again (the hub's key for it).
    db.execute("ALTER TABLE federation_requests ADD COLUMN replay_of TEXT")
    # The city: the newest epoch seen of each hub (a higher one means it was restored).
    db.execute(
        """
        CREATE TABLE federation_hub_epochs (
            hub_id TEXT PRIMARY KEY,
            epoch INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    # The city: counts of pruned `federation_applied` rows, so the report's totals stay.
    db.execute(
        """
        CREATE TABLE federation_applied_totals (
            hub_id TEXT NOT NULL,
            outcome TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (hub_id, outcome)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX federation_applied_age ON federation_applied (applied_at)")


@migrations()
def m029_federation_province(db: sqlite_utils.Database) -> None:
    """A hub's seller events carry the seller's province (issue 18 after issue 17, DECISIONS
    434): a village is its name and its province, so the city can put a hub seller on the
    right `/desa/<province>/<village>` page. The seller payload view (read by the seller
    triggers and the snapshot) gains `province`, and a change of province alone is an
    event too. Listing and story events keep their embedded seller as it was (id, name,
    village): the city takes the province from seller events only."""
    db.execute("DROP VIEW federation_seller_payload")
    db.execute("CREATE VIEW federation_seller_payload AS SELECT NEW.id AS id, "
               "json_object('id', NEW.id, 'name', NEW.name, 'village', NEW.village, "
               "'province', NEW.province, 'erased', NEW.erased_at IS NOT NULL) AS payload "
               "FROM contacts AS NEW")
    trigger = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
                         "name = 'federation_seller_changed'").fetchone()[0]
    widened = trigger
    for old, new in (("AFTER UPDATE OF name, village, role ON contacts",
                      "AFTER UPDATE OF name, village, province, role ON contacts"),
                     ("OR NEW.role IS NOT OLD.role",
                      "OR NEW.province IS NOT OLD.province OR NEW.role IS NOT OLD.role")):
        if trigger.count(old) != 1:
            raise RuntimeError("federation_seller_changed is not the trigger m026 wrote")
        widened = widened.replace(old, new)
    db.execute("DROP TRIGGER federation_seller_changed")
    db.execute(widened)


@migrations()
def m030_narrow_message_indexes(db: sqlite_utils.Database) -> None:
    """Fewer B-trees written per message (issue 13, DECISIONS 460-464). The webhook's commit
    stores an inbound row (processed) and its reply (sent inline, no provider id); each
    index either row enters costs a WAL page and, with two workers emptying each other's
    page cache, the reads of its root and leaf. After this, each row enters its table, its
    (channel, provider_id) key and one index of its contact:

    - `inbound_contact_time (contact_id, received_at)` replaces `desk_inbound_contact
      (contact_id, id)` and `inbound_sender_recent (phone, received_at)`: a person's
      conversation on the desk, and the loop breaker's look-back, by contact.
    - `outbox_contact_due (contact_id, lane, next_attempt_at)` replaces `desk_outbox_contact
      (contact_id, id)` and `outbox_recipient_recent (phone, lane, next_attempt_at)`: a
      person's rows on the desk, and the per-address cap, by contact.
    - `outbox_unsent (status, next_attempt_at) WHERE status <> 'sent'` replaces `outbox_due`:
      the sweep, the leases, `/healthz` and the desk's rare statuses never read sent rows.
    - `desk_inbound_time` and `desk_outbox_time` go: ids grow with time, so the desk walks
      the primary key newest first and finds "the first row since T" by halving it.

    Index builds and drops only (no table is rebuilt), then `ANALYZE` of the two tables
    within the usual bound."""
    db.execute("CREATE INDEX inbound_contact_time ON inbound (contact_id, received_at)")
    db.execute("DROP INDEX desk_inbound_contact")
    db.execute("DROP INDEX inbound_sender_recent")
    db.execute("DROP INDEX desk_inbound_time")
    db.execute("CREATE INDEX outbox_contact_due ON outbox (contact_id, lane, next_attempt_at)")
    db.execute("DROP INDEX desk_outbox_contact")
    db.execute("DROP INDEX outbox_recipient_recent")
    db.execute("CREATE INDEX outbox_unsent ON outbox (status, next_attempt_at) WHERE status <> 'sent'")
    db.execute("DROP INDEX outbox_due")
    db.execute("DROP INDEX desk_outbox_time")
    db.execute("PRAGMA analysis_limit = 1000")
    db.execute("ANALYZE inbound")
    db.execute("ANALYZE outbox")


@migrations()
def m031_big_reads(db: sqlite_utils.Database) -> None:
    """Two commands of the 100% mix read their answers from an index alone (issue 13,
    DECISIONS 481-482). With two web workers each transaction reads its B-trees' pages
    again (the other's commit emptied the page cache), so every table row an index walk
    visits is a page read from disk or WAL:

    - `listings_cheapest` also holds `status`: SQLite (3.40) reads a partial index as
      covering only if it holds every column the query names, and `CARI`'s walk names
      the status the index's WHERE already implies. The walk then reads index pages
      only, and only the listings shown are read from the table.
    - `ledger_entries_account` also holds `amount`: SALDO sums a seller's three accounts
      from the index, not from entry rows scattered over the table (a seller's history
      grows with every order; the index keeps a few hundred entries per page).

    Both are rebuilt with the statistics the planner needs (`ANALYZE` of each index)."""
    visible = "status = 'active' AND quantity_milli > 0"
    db.execute("DROP INDEX listings_cheapest")
    db.execute(f"CREATE INDEX listings_cheapest ON listings "
               f"(product_id, price, quantity_milli DESC, id DESC, status) WHERE {visible}")
    db.execute("DROP INDEX ledger_entries_account")
    db.execute("CREATE INDEX ledger_entries_account ON ledger_entries (account_id, created_at, amount)")
    db.execute("ANALYZE listings_cheapest")
    db.execute("ANALYZE ledger_entries_account")
