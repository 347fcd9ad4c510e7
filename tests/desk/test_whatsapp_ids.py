"""The desk shows WhatsApp username users by their WhatsApp id, never as a number."""

from __future__ import annotations

from tests.conftest import twilio_post

BSUID = "ID.1502576394655843"


def test_people_messages_and_person_show_the_whatsapp_id(admin, client, db):
    twilio_post(client, "/twilio/messages", {
        "MessageSid": "SM" + "7" * 32, "From": f"whatsapp:{BSUID}", "To": "whatsapp:+14155238886",
        "Body": "DAFTAR PEMBELI Warung Bu Tini, Bandung"})
    contact_id = db.execute("SELECT id FROM contacts WHERE phone = ?", [BSUID]).fetchone()[0]
    for path in ("/dashboard/orang", f"/dashboard/orang/{contact_id}", "/dashboard/pesan"):
        page = admin.get(path)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        assert f"WhatsApp {BSUID}" in text and "+62150" not in text, path
