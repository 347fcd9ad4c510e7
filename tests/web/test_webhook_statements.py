"""The webhook's one transaction, statement by statement (DECISIONS 400-401): a message is
stored already processed (no `UPDATE inbound` afterwards), savepoints reuse one compiled
statement, and a processing that fails leaves the row exactly as a new message is stored,
for the sweep."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from bot.storage import SAVEPOINT
from bot.web.db import thread_db
from bot.web.twilio import form_pairs, form_params
from tests.conftest import TWILIO_TOKEN
from tests.web.test_twilio_fast_path import post
from tests.web.test_twilio_webhooks import inbound_params

SENDER = "+6281200000077"


def recorded(app, client, sid: str, body: str, sender: str = SENDER) -> tuple[int, list[str]]:
    """POST one signed message; its HTTP status and the statements its connection ran."""
    conn = thread_db(app).conn  # the test client serves on this thread: the same connection
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        status = post(client, inbound_params(sid=sid, sender=sender, body=body)).status_code
    finally:
        conn.set_trace_callback(None)
    return status, [" ".join(sql.split()) for sql in statements]


def test_a_handled_message_is_stored_processed_without_an_update(app, client, db):
    assert recorded(app, client, "SM" + "1" * 32, "BANTUAN")[0] == 200  # a new sender
    status, statements = recorded(app, client, "SM" + "2" * 32, "BANTUAN")  # a known one
    assert status == 200
    assert [sql for sql in statements if sql.startswith("UPDATE inbound")] == []
    assert [sql.split(" (")[0] for sql in statements if sql.startswith("INSERT")] == [
        "INSERT INTO inbound", "INSERT INTO outbox"]
    rows = db.execute("SELECT i.status, i.contact_id = c.id, i.processed_at = i.received_at "
                      "FROM inbound i JOIN contacts c ON c.phone = i.phone ORDER BY i.id").fetchall()
    assert rows == [("processed", 1, 1), ("processed", 1, 1)]


def test_a_new_sender_gets_the_contact_on_the_message(app, client, db):
    status, statements = recorded(app, client, "SM" + "3" * 32, "BANTUAN", sender="+6281200000078")
    assert status == 200
    # Unknown at the insert: the contact is made while processing, then named on the row.
    assert sum(sql.startswith("UPDATE inbound SET status = 'processed'") for sql in statements) == 1
    (row,) = db.query("SELECT i.status, i.contact_id, c.id AS contact FROM inbound i "
                      "JOIN contacts c ON c.phone = i.phone")
    assert (row["status"], row["contact_id"]) == ("processed", row["contact"])


def test_a_known_number_brings_its_loop_and_dialog_flags_with_it(app, client, db):
    """DECISIONS 470: the contact's row comes with whether a loop incident or a dialog is
    open, so neither is looked up (nor the incident closed) when there is none: one read
    and one update of the contact, nothing else about it."""
    recorded(app, client, "SM" + "5" * 32, "DAFTAR Siti, Sukamaju")  # asks for nothing more
    status, statements = recorded(app, client, "SM" + "6" * 32, "BANTUAN")
    assert status == 200
    about_contact = ("SELECT *, EXISTS", "UPDATE contacts", "SELECT * FROM contacts")
    contact_statements = [prefix for sql in statements for prefix in about_contact
                          if sql.startswith(prefix)]
    assert contact_statements == ["SELECT *, EXISTS", "UPDATE contacts"]
    assert not [sql for sql in statements if sql.startswith(("UPDATE incidents", "SELECT * FROM dialogs"))]
    (row,) = db.query("SELECT last_inbound_at, sms_channel FROM contacts WHERE phone = ?", [SENDER])
    assert row["sms_channel"] == "twilio_sms" and row["last_inbound_at"]


def test_every_savepoint_is_one_statement_text(app, client):
    savepoints = set()
    for n in range(3):
        _, statements = recorded(app, client, f"SM{n:032d}", "BANTUAN")
        savepoints |= {sql for sql in statements if "SAVEPOINT" in sql or sql.startswith("RELEASE")}
    assert savepoints == {f"SAVEPOINT {SAVEPOINT}", f"RELEASE {SAVEPOINT}"}


def test_a_failed_processing_leaves_the_row_as_a_new_message(app, client, db):
    db.execute("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox "
               "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    assert recorded(app, client, "SM" + "4" * 32, "BANTUAN")[0] == 200
    (row,) = db.query("SELECT status, contact_id, processed_at, attempts FROM inbound")
    assert row == {"status": "new", "contact_id": None, "processed_at": None, "attempts": 1}


@pytest.mark.parametrize("pairs", [
    [],
    [("Body", "JUAL cabai 50kg 12rb"), ("From", "+6281200000077"), ("MessageSid", "SM1")],
    [("b", "2"), ("a", "1"), ("b", "1"), ("b", "2"), ("a", "")],  # repeats, a blank, unsorted
    [("Body", "Harga naik ☺ “kutip” é"), ("Zz", "x"), ("ZZ", "y"), ("_", "&=+%")],
])
def test_the_fast_signature_is_twilios(app, pairs):
    fast_path = app.wsgi_app
    url = "https://jembatan.example/twilio/messages?x=1"
    expected = RequestValidator(TWILIO_TOKEN).compute_signature(url, MultiDict(pairs))
    assert fast_path._signature(url, form_params(urlencode(pairs))) == expected


@pytest.mark.parametrize("body", [
    "", "&", "a", "a=", "=b", "a=1&&b=2&", "a=1=2", "a+b=c+d", "%41%2B=%20%zz%", "x=%E2%98%BA%ff",
    "Body=Harga+naik+%E2%98%BA+%E2%80%9Ckutip%E2%80%9D&From=%2B6281200000077&b=1&b=2&b=1",
    "a=%2", "%=%%", "a;b=c", "x=%C3", "ñ=é",
])
def test_the_fast_form_parse_is_werkzeugs(body):
    """DECISIONS 471: `form_pairs` reads a body as `parse_qsl` with werkzeug's options does;
    `form_params` keeps the order and the repeats as the Flask path's `form.lists()`."""
    assert form_pairs(body) == parse_qsl(body, keep_blank_values=True, errors="werkzeug.url_quote")
    form = MultiDict(parse_qsl(body, keep_blank_values=True, errors="werkzeug.url_quote"))
    assert form_params(body) == {key: values if len(values) > 1 else values[0]
                                 for key, values in form.lists()}
    assert list(form_params(body)) == list(form.keys())
