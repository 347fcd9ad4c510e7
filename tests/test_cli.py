"""The `jembatan` command, driven with click's CliRunner against a real SQLite file."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.storage import open_database


@pytest.fixture
def runner(settings, monkeypatch):
    return CliRunner()


def test_parse_one_text(runner):
    result = runner.invoke(main, ["parse", "DAFTAR Siti Aminah, Sukamaju"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"command": "register", "name": "Siti Aminah",
                                         "village": "Sukamaju"}


def test_parse_stdin_one_json_per_line(runner):
    result = runner.invoke(main, ["parse", "-"], input="BATAL\nBAHASA en\n\n")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines == [{"command": "cancel"}, {"command": "language", "language": "en"},
                     {"command": "empty"}]


def test_parse_shows_what_would_be_asked(runner):
    """A value the bot would ask about is under "missing", with readings to offer back."""
    result = runner.invoke(main, ["parse", "JUAL cabai 5 ons 8rb"])
    assert json.loads(result.output) == {"command": "sell", "product": "cabai", "quantity": 0.5,
                                         "unit": "kg", "price_options": [8000, 80000],
                                         "missing": ["price"]}


def test_chat_takes_the_webhook_path(runner, settings):
    result = runner.invoke(main, ["chat", "--from", "0812-3456-7890", "DAFTAR Siti, Sukamaju"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        "> DAFTAR Siti, Sukamaju",
        "< Terima kasih, Siti dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL produk "
        "jumlah harga. Contoh: JUAL cabai 50kg 12rb",
    ]
    db = open_database(settings["DATABASE_PATH"])
    (inbound,) = db.query("SELECT * FROM inbound")
    assert (inbound["channel"], inbound["phone"], inbound["status"]) == (
        "simulator", "+6281234567890", "processed")
    result = runner.invoke(main, ["chat", "--from", "+6281234567890", "BAHASA en"])
    assert "< OK, replies are now in English." in result.output


def test_chat_rejects_a_bad_number(runner):
    result = runner.invoke(main, ["chat", "--from", "nobody", "hi"])
    assert result.exit_code == 2 and "not a phone number" in result.output


def test_migrate_is_idempotent(runner):
    first = runner.invoke(main, ["migrate"])
    assert first.exit_code == 0 and "up to date" in first.output  # create_app applied them


def test_sweep_command_reports(runner, settings, redis_url):
    result = runner.invoke(main, ["sweep"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"released": 0, "reprocessed": 0, "enqueued": 0,
                                         "redis_ok": True, "orders_reminded": 0,
                                         "orders_expired": 0, "relays_enqueued": 0,
                                         "media_enqueued": 0, "payouts_enqueued": 0}
