"""`jembatan hub` and how people known only by a WhatsApp id are shown on the command line."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.storage import utcnow
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


def test_broadcast_send_says_when_quiet_hours_release_it(runner, monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "00:00-23:59")  # quiet all day but its last minute
    if utcnow().astimezone(ZoneInfo("Asia/Jakarta")).strftime("%H:%M") >= "23:58":
        pytest.skip("the CLI reads the wall clock; too close to the window's end")
    assert runner.invoke(main, ["group", "add", "Ketua", "081211112222"]).exit_code == 0
    sent = runner.invoke(main, ["broadcast", "send", "--group", "ketua", "--text", "Rapat Senin"])
    assert sent.output.strip() == "broadcast 1 created; quiet hours: goes out at 23.59 WIB"
    runner.invoke(main, ["broadcast", "plan", "1"])
    status = json.loads(runner.invoke(main, ["broadcast", "status", "1"]).output)
    assert status["queued"] == 1 and status["waiting_until"].endswith("16:59:00.000000Z")
