"""The browser simulator: off by default; on, it takes the webhook's path, the From field
always wins, bad numbers are refused, sensitive texts are masked, and only desk users see
every outgoing message."""

from __future__ import annotations

import re

from bot.web.app import create_app
from tests.desk.conftest import csrf_of, sign_in


def _sim(settings):
    return create_app(dict(settings, SIMULATOR="on"))


def _send(client, phone: str, text: str, page: str = "/simulator"):
    token = csrf_of(client.get(page))
    return client.post("/simulator", data={"phone": phone, "text": text, "csrf_token": token})


def test_simulator_is_off_by_default(client):
    assert client.get("/simulator").status_code == 404


def test_simulator_plays_a_conversation(settings, db):
    client = _sim(settings).test_client()
    sent = _send(client, "0812-3456-7890", "DAFTAR Siti, Sukamaju")
    assert sent.status_code == 302 and "phone=%2B6281234567890" in sent.headers["Location"]
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "DAFTAR Siti, Sukamaju" in page
    assert "Bapak/Ibu terdaftar sebagai penjual" in page
    assert 'name="viewport"' in page
    (inbound,) = db.query("SELECT * FROM inbound")
    assert (inbound["channel"], inbound["status"]) == ("simulator", "processed")
    # An invalid number is refused with a message and kept in the field, not replaced.
    bad = _send(client, "nobody", "halo")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "nobody bukan nomor telepon" in text and 'value="nobody"' in text
    assert db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == 1
    assert client.post("/simulator", data={"phone": "+6281234567890", "text": "x"}).status_code == 400


def test_the_from_field_wins_over_the_address(settings, db):
    client = _sim(settings).test_client()
    first = _send(client, "+6281234567890", "BANTUAN")
    # The next send comes from the page at ?phone=A, typed as B: it goes out as B.
    _send(client, "+6281299999999", "BANTUAN", page=first.headers["Location"])
    phones = [row["phone"] for row in db.query("SELECT phone FROM inbound ORDER BY id")]
    assert phones == ["+6281234567890", "+6281299999999"]


def test_every_outgoing_message_is_for_desk_users_only_and_masked(settings, db):
    app = _sim(settings)
    stranger = app.test_client()
    _send(stranger, "+6281234567890", "BANTUAN")
    assert 'id="outgoing"' not in stranger.get("/simulator").get_data(as_text=True)
    desk_user = sign_in(app.test_client(), db, "+6281100000001", "admin")
    stranger.post("/dashboard/masuk", data={"phone": "+6281100000001",
                                            "csrf_token": csrf_of(stranger.get("/dashboard/masuk"))})
    page = desk_user.get("/simulator?phone=%2B6281100000001").get_data(as_text=True)
    assert 'id="outgoing"' in page and "Kode masuk meja koordinator" in page
    assert not re.search(r"meja koordinator: \d{6}", page)


def test_messages_to_simulated_numbers_stay_in_the_simulator(settings, db):
    from bot.pipeline.delivery import deliver_outbox_message
    from bot.services import contacts
    from bot.storage import utcnow
    from conversations.news.notify import queue_notification

    app = _sim(settings)
    _send(app.test_client(), "+6281234567890", "BANTUAN")
    siti = contacts.find_contact_by_phone(db, "+6281234567890")
    outbox_id = queue_notification(db, app.config, siti, "start.done", utcnow())
    assert deliver_outbox_message(db, app.config, outbox_id).status == "sent"
    row = next(db.query("SELECT * FROM outbox WHERE id = ?", [outbox_id]))
    assert (row["channel"], row["provider_id"]) == ("simulator", f"sim-{outbox_id}")


def test_states_are_shown_honestly():
    from bot.web.simulator import delivery_state

    row = {"channel": "android_sms", "provider_status": None}
    assert delivery_state({**row, "status": "pending"}) == "queued"
    assert delivery_state({**row, "status": "sending"}) == "queued"
    assert delivery_state({**row, "status": "sent", "provider_status": "sent"}) == "sent"
    assert delivery_state({**row, "status": "sent", "provider_status": "delivered"}) == "delivered"
    assert delivery_state({**row, "status": "failed"}) == "failed"
    shown_here = {"channel": "simulator", "status": "sent", "provider_status": "twiml"}
    assert delivery_state(shown_here) == "delivered"
