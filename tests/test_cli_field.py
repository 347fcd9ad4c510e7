"""`jembatan hub` and how people known only by a WhatsApp id are shown on the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import gateway_post, twilio_post

BSUID = "ID.1502576394655843"


@pytest.fixture
def runner(settings):
    return CliRunner()


def test_hub_shows_the_phone_as_last_heard(runner, client):
    gateway_post(client, {"id": "p1", "webhookId": "w", "deviceId": "hub-phone-1",
                          "event": "system:ping", "payload": {}})
    result = runner.invoke(main, ["hub"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert [d["device_id"] for d in shown["devices"]] == ["hub-phone-1"]
    assert shown["silent_minutes"] == 0 and shown["open_incidents"] == []


def test_a_username_buyer_is_listed_by_whatsapp_id_not_a_number(runner, client):
    twilio_post(client, "/twilio/messages", {
        "MessageSid": "SM" + "5" * 32, "From": f"whatsapp:{BSUID}", "To": "whatsapp:+14155238886",
        "Body": "DAFTAR PEMBELI Warung Bu Tini, Bandung"})
    result = runner.invoke(main, ["buyer", "list"])
    assert result.exit_code == 0, result.output
    assert f"WhatsApp {BSUID}" in result.output and "+62150" not in result.output
