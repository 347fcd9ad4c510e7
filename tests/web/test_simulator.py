"""The browser simulator: off by default, and on it takes the webhook's path."""

from __future__ import annotations

from bot.web.app import create_app


def test_simulator_is_off_by_default(client):
    assert client.get("/simulator").status_code == 404


def test_simulator_plays_a_conversation(settings, db):
    app = create_app(dict(settings, SIMULATOR="on"))
    client = app.test_client()
    sent = client.post("/simulator", data={"phone": "0812-3456-7890", "text": "DAFTAR Siti, Sukamaju"})
    assert sent.status_code == 302 and "phone=%2B6281234567890" in sent.headers["Location"]
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "DAFTAR Siti, Sukamaju" in page
    assert "Anda sudah terdaftar sebagai penjual" in page
    (inbound,) = db.query("SELECT * FROM inbound")
    assert (inbound["channel"], inbound["status"]) == ("simulator", "processed")
    bad = client.post("/simulator", data={"phone": "nobody", "text": "halo"})
    assert "nobody is not a phone number" in bad.get_data(as_text=True)


def test_messages_to_simulated_numbers_stay_in_the_simulator(settings, db):
    from bot.pipeline.delivery import deliver_outbox_message
    from bot.services import contacts
    from bot.storage import utcnow
    from conversations.news.notify import queue_notification

    app = create_app(dict(settings, SIMULATOR="on"))
    app.test_client().post("/simulator", data={"phone": "+6281234567890", "text": "BANTUAN"})
    siti = contacts.find_contact_by_phone(db, "+6281234567890")
    outbox_id = queue_notification(db, app.config, siti, "start.done", utcnow())
    assert deliver_outbox_message(db, app.config, outbox_id).status == "sent"
    row = next(db.query("SELECT * FROM outbox WHERE id = ?", [outbox_id]))
    assert (row["channel"], row["provider_id"]) == ("simulator", f"sim-{outbox_id}")
