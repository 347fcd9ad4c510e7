"""`jembatan buyer …` (buyers with a preferred channel, webhooks, API keys shown once and
stored hashed), `jembatan order list`, and where a buyer's order news goes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.services import buyers
from bot.storage import utcnow
from tests.conftest import gateway_post, sms_received, twilio_post
from tests.orders import seller_listing

SITI = "+6281234567890"


@pytest.fixture
def runner(settings):
    return CliRunner()


def invoke(runner, *args) -> str:
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_buyer_add_list_and_webhook(runner, db):
    out = invoke(runner, "buyer", "add", "Resto Sunda", "--city", "Jakarta", "--webhook",
                 "https://resto.example/hooks/jembatan")
    assert out.startswith("buyer 1: Resto Sunda, Jakarta (news by webhook)\nwebhook signing secret: whsec_")
    secret = out.split("webhook signing secret: ")[1].split()[0]
    assert buyers.get_buyer(db, 1)["webhook_secret"] == secret
    invoke(runner, "buyer", "add", "Warung Bu Tini", "--city", "Bandung", "--phone", "0813-1111-2222",
           "--channel", "sms", "--locale", "en")
    assert invoke(runner, "buyer", "list").splitlines() == [
        "1\tResto Sunda\tJakarta\twebhook https://resto.example/hooks/jembatan\t-\t0 key(s)",
        "2\tWarung Bu Tini\tBandung\tsms\t+6281311112222\t0 key(s)"]

    rotated = invoke(runner, "buyer", "webhook", "1", "https://resto.example/v2", "--rotate-secret")
    new_secret = rotated.split("webhook signing secret: ")[1].split()[0]
    assert new_secret != secret and buyers.get_buyer(db, 1)["webhook_url"] == "https://resto.example/v2"
    kept = invoke(runner, "buyer", "webhook", "+6281311112222", "https://tini.example/hook")
    assert buyers.get_buyer(db, 2)["channel"] == "webhook" and "whsec_" in kept

    for bad in (["buyer", "add", "X", "--city", "Y", "--channel", "sms"],
                ["buyer", "add", "X", "--city", "Y", "--webhook", "ftp://x"],
                ["buyer", "add", "X", "--city", "Y", "--phone", "081311112222"],
                ["buyer", "key", "create", "99"]):
        result = runner.invoke(main, bad)
        assert result.exit_code != 0, bad
    assert len(buyers.list_buyers(db)) == 2


def test_api_key_is_shown_once_stored_hashed_and_revocable(runner, db, client):
    invoke(runner, "buyer", "add", "Resto Sunda", "--city", "Jakarta", "--phone", "081311112222")
    result = runner.invoke(main, ["buyer", "key", "create", "+6281311112222", "--label", "kasir"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("jbk_") and "cannot be shown again" in result.stderr
    stored = str(list(db.query("SELECT * FROM buyer_api_keys")))
    assert key not in stored and buyers.hash_api_key(key) in stored
    (line,) = invoke(runner, "buyer", "key", "list", "1").splitlines()
    for phone in ("081311112222", "6281311112222"):  # a phone in digits only is not an id
        assert invoke(runner, "buyer", "key", "list", phone).splitlines() == [line]
    assert line.startswith(f"1\t{key[:12]}...\tkasir\t") and line.endswith("\tactive") and key not in line

    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/orders", headers=headers).status_code == 200
    assert invoke(runner, "buyer", "key", "revoke", "1") == "key 1 revoked\n"
    assert client.get("/api/v1/orders", headers=headers).status_code == 401
    assert runner.invoke(main, ["buyer", "key", "revoke", "1"]).exit_code != 0


def test_order_list_for_coordinators(runner, db, client):
    seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12000, utcnow())
    invoke(runner, "buyer", "add", "Resto Sunda", "--city", "Jakarta", "--phone", "081311112222")
    key = invoke(runner, "buyer", "key", "create", "1").strip()
    client.post("/api/v1/orders", json={"listing": "C2", "quantity": "2.5"},
                headers={"Authorization": f"Bearer {key}"})
    (line,) = invoke(runner, "order", "list").splitlines()
    assert line.startswith("P2\tpending\t2.5 kg cabai\tRp30000\tResto Sunda\tSiti Aminah\t")
    assert invoke(runner, "order", "list", "--status", "received") == "no received orders\n"


@pytest.mark.parametrize("preferred,expected", [("whatsapp", "twilio_whatsapp"), ("sms", "android_sms")])
def test_order_news_goes_on_the_buyers_preferred_channel(runner, db, client, preferred, expected):
    seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12000, utcnow())
    invoke(runner, "buyer", "add", "Warung Bu Tini", "--city", "Bandung", "--phone", "081311112222",
           "--channel", preferred)
    # Tini orders over WhatsApp; her news still goes where the coordinator said.
    twilio_post(client, "/twilio/messages", {"MessageSid": "SM" + "b" * 32, "From": "whatsapp:+6281311112222",
                                              "To": "whatsapp:+1415", "Body": "PESAN C2 5"})
    gateway_post(client, sms_received("siti-1", SITI, "YA"))
    (row,) = db.query("SELECT * FROM outbox WHERE reply_id = 'order.accepted_buyer'")
    assert (row["phone"], row["channel"]) == ("+6281311112222", expected)
