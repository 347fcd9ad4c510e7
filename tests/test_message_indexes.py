"""m030 took the time indexes and the per-phone indexes off the message tables (DECISIONS
460-465): what read them reads ids, contacts and the partial index of unsent rows instead,
and answers as before. Each test compares against the plain question asked of the rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.migrations import migrations
from bot.services import contacts, desk, inbox, loops, outbox
from bot.storage import open_database, to_db_time, transaction, utcnow

PHONES = ["+6281230000001", "+6281230000002", "+6281230000003"]
CHANNELS = ["twilio_sms", "android_sms", "twilio_whatsapp"]
OUT_STATUSES = ["sent", "sent", "pending", "failed", "sent", "expired", "sending"]
IN_STATUSES = ["processed", "processed", "new", "processed", "failed"]


def _messages(db, start, count: int, step: timedelta) -> None:
    """`count` messages in and replies out, `step` apart from `start`, in every channel and
    status, from three people."""
    with transaction(db):
        people = [contacts.resolve_contact(db, phone, start)["id"] for phone in PHONES]
        for i in range(count):
            now = start + i * step
            phone, contact_id = PHONES[i % 3], people[i % 3]
            inbound_id, _ = inbox.store_inbound(db, channel=CHANNELS[i % 3], provider_id=f"m{i}", phone=phone,
                                                body=f"teks {i}", raw=None, now=now)
            status = IN_STATUSES[i % len(IN_STATUSES)]
            db.execute("UPDATE inbound SET status = ?, contact_id = ? WHERE id = ?",
                       [status, None if status == "new" else contact_id, inbound_id])
            outbox_id = outbox.queue_message(
                db, phone=phone, channel=CHANNELS[(i + 1) % 3], body=f"balas {i}", kind="reply",
                now=now + timedelta(seconds=1),  # a second after: no ties between the two sides
                contact_id=contact_id, inbound_id=inbound_id,
                lane="broadcast" if i % 4 == 3 else "conversation")
            db.execute("UPDATE outbox SET status = ? WHERE id = ?",
                       [OUT_STATUSES[i % len(OUT_STATUSES)], outbox_id])


@pytest.fixture
def db(migrated_db):
    # Nine days until now, hourly: this week and today begin among them.
    _messages(migrated_db, utcnow() - timedelta(days=9), 9 * 24, timedelta(hours=1))
    return migrated_db


def _expected_log(db, *, contact_id=None, channel="", status="", direction="", offset=0) -> list:
    """The message log as the plain question: every row, filtered, newest first by time."""
    rows = []
    for name, table, at in (("in", "inbound", "received_at"), ("out", "outbox", "created_at")):
        if direction and direction != name:
            continue
        rows += [(row[0], name, row[1]) for row in db.execute(
            f"SELECT {at}, id FROM {table} WHERE (? IS NULL OR contact_id = ?) AND (? = '' OR channel = ?) "
            "AND (? = '' OR status = ?)", [contact_id, contact_id, channel, channel, status, status])]
    rows.sort(reverse=True)
    return [(direction, id_) for _, direction, id_ in rows[offset:offset + desk.PAGE_SIZE]]


@pytest.mark.parametrize("filters", [
    {}, {"offset": desk.PAGE_SIZE}, {"channel": "android_sms"}, {"direction": "in"}, {"direction": "out"},
    {"phone": PHONES[1]}, {"phone": PHONES[1], "offset": 10}, {"phone": PHONES[2], "direction": "out"},
    {"phone": PHONES[0], "status": "sent"},
] + [{"status": status} for status in desk.MESSAGE_STATUSES])
def test_the_message_log_lists_what_the_rows_say_newest_first(db, filters):
    shown = [(row["direction"], row["id"]) for row in desk.message_log(db, **filters)]
    asked = dict(filters)
    if "phone" in asked:
        asked["contact_id"] = contacts.find_contact_by_address(db, asked.pop("phone"))["id"]
    assert shown == _expected_log(db, **asked)
    assert shown  # every filter here has rows: an empty page would prove nothing


def test_the_overview_counts_the_messages_since_midnight_and_monday(db):
    now = utcnow()
    figures = desk.overview(db, now, "Asia/Jakarta", gateway_configured=False)
    for name, start in desk.period_starts(now, "Asia/Jakarta").items():
        since = to_db_time(start)
        expected = {"messages_in": db.execute("SELECT COUNT(*) FROM inbound WHERE received_at >= ?",
                                              [since]).fetchone()[0],
                    "messages_out": db.execute("SELECT COUNT(*) FROM outbox WHERE created_at >= ?",
                                               [since]).fetchone()[0]}
        assert {key: figures["periods"][name][key] for key in expected} == expected, name


def test_the_first_id_since_a_time_is_found_by_halving_the_ids(db):
    times = db.execute("SELECT id, received_at FROM inbound ORDER BY id").fetchall()
    for _, at in times[::7] + [(None, "0000"), (None, "9999")]:
        expected = next((id_ for id_, t in times if t >= at), times[-1][0] + 1)
        assert desk.first_id_since(db, "inbound", "received_at", at) == expected
    assert desk.rows_since(db, "inbound", "received_at", "9999") == 0
    assert desk.rows_since(db, "inbound", "received_at", "0000") == len(times)


def test_the_first_id_since_a_time_in_an_empty_table(migrated_db):
    assert desk.first_id_since(migrated_db, "outbox", "created_at", "0000") == 1
    assert desk.rows_since(migrated_db, "outbox", "created_at", "0000") == 0


def test_the_loop_breaker_counts_a_persons_earlier_messages_by_contact(db):
    now = utcnow()
    settings = {"LOOP_MAX_REPEATS": 3, "LOOP_WINDOW_MINUTES": 5}
    with transaction(db):
        person = contacts.resolve_contact(db, PHONES[0], now)["id"]
        other = contacts.resolve_contact(db, PHONES[1], now)["id"]
        ids = []
        for i, (contact_id, phone) in enumerate([(person, PHONES[0])] * 3 + [(other, PHONES[1])] * 2):
            inbound_id, _ = inbox.store_inbound(db, channel="twilio_sms", provider_id=f"loop{i}",
                                                phone=phone, body="Terima kasih!", raw=None,
                                                now=now - timedelta(minutes=1))
            inbox.mark_processed(db, inbound_id, contact_id, now)
            ids.append(inbound_id)
        later, _ = inbox.store_inbound(db, channel="twilio_sms", provider_id="loop-now", phone=PHONES[0],
                                       body="terima kasih", raw=None, now=now)
    assert loops.is_looping(db, person, "terima kasih", later, now, settings)
    # Three earlier ones, but not all before this one (ids), or not in the window.
    assert not loops.is_looping(db, person, "terima kasih", ids[2], now, settings)
    assert not loops.is_looping(db, person, "terima kasih", later, now + timedelta(minutes=5), settings)
    # Another person's two are theirs: the person's three do not count for them.
    assert not loops.is_looping(db, other, "terima kasih", later, now, settings)


def test_the_per_address_cap_counts_the_contacts_rows_with_or_without_its_id(migrated_db):
    db, now = migrated_db, utcnow()
    with transaction(db):
        person = contacts.resolve_contact(db, PHONES[0], now)["id"]
        outbox.queue_message(db, phone=PHONES[0], channel="twilio_sms", body="x", kind="reply", now=now,
                             contact_id=person, sent_inline=True)  # answered inline: counts, never delayed
        for _ in range(2):
            outbox.queue_message(db, phone=PHONES[0], channel="android_sms", body="x", kind="notification",
                                 now=now, contact_id=person, per_minute_cap=3)
        # Without the contact's id, the contact of the number is counted.
        late, other = (outbox.queue_message(db, phone=phone, channel="android_sms", body="x",
                                            kind="notification", now=now, per_minute_cap=3)
                       for phone in PHONES[:2])
    due = dict(db.execute("SELECT id, next_attempt_at FROM outbox WHERE id IN (?, ?)",
                          [late, other]).fetchall())
    assert due == {late: to_db_time(now + timedelta(minutes=1)), other: to_db_time(now)}


def test_m030_keeps_every_unsent_row_where_the_sweep_and_healthz_look(tmp_path):
    """Migrated from m029 with rows of every status: the partial index holds exactly the
    unsent ones, and the sweep's questions find them."""
    db = open_database(tmp_path / "old.db")
    with transaction(db):
        migrations.apply(db, stop_before="m030_narrow_message_indexes")
    now = utcnow()
    _messages(db, now - timedelta(hours=2), 28, timedelta(minutes=1))
    db.execute("UPDATE outbox SET lease_until = ? WHERE status = 'sending'",
               [to_db_time(now - timedelta(minutes=1))])
    with transaction(db):
        migrations.apply(db)
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                          "AND tbl_name IN ('inbound', 'outbox')")}
    assert {"inbound_contact_time", "outbox_contact_due", "outbox_unsent"} <= names
    gone = {"desk_inbound_time", "desk_outbox_time", "desk_inbound_contact", "desk_outbox_contact",
            "inbound_sender_recent", "outbox_recipient_recent", "outbox_due"}
    assert not names & gone
    unsent = db.execute("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'").fetchone()[0]
    assert db.execute("SELECT COUNT(*) FROM outbox INDEXED BY outbox_unsent WHERE status <> 'sent'"
                      ).fetchone()[0] == unsent > 0
    pending = [row[0] for row in db.execute("SELECT id FROM outbox WHERE status = 'pending' ORDER BY id")]
    assert [row["id"] for row in outbox.due_unqueued(db, now)] == pending
    sending = {row[0] for row in db.execute("SELECT id FROM outbox WHERE status = 'sending'")}
    assert {row["id"] for row in outbox.expired_leases(db, now)} == sending
    db.conn.close()
