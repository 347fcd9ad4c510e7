"""`jembatan coordinator|group|village|broadcast` through click's CliRunner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.storage import fetch_all, open_database


@pytest.fixture
def run(settings, redis_url):
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, list(args))
        return result

    return invoke


def test_coordinators_are_granted_listed_logged_and_revoked(run, settings):
    assert run("coordinator", "add", "0812-1111-2222", "--region", "Sukamaju").output.strip() == (
        "+6281211112222 is a coordinator for Sukamaju")
    assert "+6281211112222\tSukamaju" in run("coordinator", "list").output
    assert "coordinator.grant" in run("coordinator", "log").output
    assert run("coordinator", "remove", "+6281211112222").exit_code == 0
    again = run("coordinator", "remove", "+6281211112222")
    assert again.exit_code == 1 and "is not a coordinator" in again.output
    assert run("coordinator", "add", "nope").exit_code == 2


def test_groups_villages_and_broadcast_status(run, settings, monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "off")  # the wall clock decides otherwise (issue 12)
    assert run("group", "add", "Ketua", "081211112222", "081233334444").output.strip() == "added 2 to ketua"
    assert run("group", "list").output.strip() == "ketua\t2"
    assert run("village", "set", "Barru", "--province", "Sulawesi Selatan").output.strip() == (
        "Barru: Sulawesi Selatan (Asia/Makassar)")
    assert run("village", "set", "Barru", "--province", "Atlantis").exit_code == 2

    sent = run("broadcast", "send", "--group", "ketua", "--text", "Rapat Senin jam 9")
    assert sent.exit_code == 0 and sent.output.strip() == "broadcast 1 created"
    long = run("broadcast", "send", "--group", "ketua", "--text", "x" * 200)
    assert long.exit_code == 1 and "needs 2 SMS" in long.output
    unknown = run("broadcast", "send", "--group", "atlantis", "--text", "halo")
    assert unknown.exit_code == 1 and "no group, village or product" in unknown.output

    assert json.loads(run("broadcast", "plan", "1").output) == {"queued": 2, "skipped": 0, "expired": 0}
    status = json.loads(run("broadcast", "status", "1").output)
    assert (status["group"], status["status"], status["recipients"]) == ("ketua", "planned", 2)
    assert run("broadcast", "status", "99").exit_code == 1
    db = open_database(settings["DATABASE_PATH"])
    assert {r["action"] for r in fetch_all(db, "SELECT action FROM coordinator_actions")} == {
        "broadcast.create"}
    assert run("group", "remove", "ketua", "081211112222").output.strip() == "removed 1 from ketua"
