"""Migration m007 repairs contacts an older version stored under a number made up from a
WhatsApp BSUID (`whatsapp:ID.1502576394655843` read as `+621502576394655843`)."""

from __future__ import annotations

import json

from bot.migrations import apply_migrations, migrations
from bot.storage import open_database

BSUID = "ID.1502576394655843"
MADE_UP = "+621502576394655843"
REAL = "+6281311112222"
LINKED_BSUID = "ID.77AbQ"
T = "2026-11-20T02:00:00.000000Z"


def test_repair_gives_the_bsuid_back_and_stops_sms_to_the_made_up_number(tmp_path):
    db = open_database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m007_field_signals")
    db.execute("INSERT INTO contacts (id, phone, role, name, created_at) VALUES "
               "(1, ?, 'buyer', 'Tini', ?), (2, ?, NULL, NULL, ?)", [MADE_UP, T, REAL, T])
    for inbound_id, phone, raw in (
            (1, MADE_UP, {"From": f"whatsapp:{BSUID}", "Body": "DAFTAR PEMBELI Tini, Bandung"}),
            (2, REAL, {"From": f"whatsapp:{REAL}", "ExternalUserId": f"whatsapp:{LINKED_BSUID}"})):
        db.execute("INSERT INTO inbound (id, channel, provider_id, phone, contact_id, body, raw, "
                   "received_at, status) VALUES (?, 'twilio_whatsapp', ?, ?, ?, 'x', ?, ?, "
                   "'processed')", [inbound_id, f"SM{inbound_id}", phone, inbound_id,
                                    json.dumps(raw), T])
    for outbox_id, channel, status in ((1, "twilio_whatsapp", "sent"), (2, "android_sms", "pending"),
                                       (3, "twilio_whatsapp", "pending")):
        db.execute("INSERT INTO outbox (id, contact_id, phone, channel, kind, body, status, "
                   "next_attempt_at, created_at) VALUES (?, 1, ?, ?, 'notification', 'x', ?, ?, ?)",
                   [outbox_id, MADE_UP, channel, status, T, T])
    db.conn.commit()

    assert apply_migrations(db)[0] == "m007_field_signals"  # later migrations follow it

    assert [(r["id"], r["phone"], r["bsuid"]) for r in db.query(
        "SELECT id, phone, bsuid FROM contacts ORDER BY id")] == [
        (1, BSUID, BSUID), (2, REAL, LINKED_BSUID)]
    assert [(r["phone"], r["bsuid"]) for r in db.query("SELECT phone, bsuid FROM inbound ORDER BY id")] == [
        (BSUID, BSUID), (REAL, None)]
    assert [(r["phone"], r["channel"], r["status"], r["error_code"]) for r in db.query(
        "SELECT * FROM outbox ORDER BY id")] == [
        (BSUID, "twilio_whatsapp", "sent", None),
        (BSUID, "android_sms", "failed", "not_a_phone"),
        (BSUID, "twilio_whatsapp", "pending", None)]
    assert db.execute("SELECT COUNT(*) FROM contacts WHERE phone = ?", [MADE_UP]).fetchone()[0] == 0
