"""A hub restored from its Litestream backup rejoins (issue 18): `jembatan hub restore`
brings the file back from the replica and advances the hub's epoch, so the events it
writes from then on are applied at the city, although their row ids and listing codes
repeat ones the city saw from the lost copy; it republishes what it holds under the new
epoch, so the city withdraws what the hub lost with its disk (DECISIONS 324)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.litestream import replicate_command
from bot.services import federation
from bot.storage import open_database
from tests.dialogs import SITI
from tests.federation.test_relay import BIN, WAIT, Federation, _running_with_one_listing
from tests.waiting import wait_until


def _events_in_replica(replica: str, probe: Path) -> int:
    probe.unlink(missing_ok=True)
    result = subprocess.run([str(BIN / "litestream"), "restore", "-o", str(probe), replica],
                            capture_output=True)
    if result.returncode != 0:
        return -1
    db = open_database(probe)
    try:
        return db.execute("SELECT COUNT(*) FROM federation_events WHERE published_at IS NOT NULL"
                          ).fetchone()[0]
    finally:
        db.conn.close()


def test_a_hub_restored_from_its_backup_rejoins_with_a_new_epoch(tmp_path):
    fed = Federation(tmp_path)
    backup = None
    try:
        replica = f"file://{tmp_path / 'replica'}"
        backup = subprocess.Popen(replicate_command(fed.hub_env["DATABASE_PATH"], replica),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _running_with_one_listing(fed)
        fed.hub.send(SITI, "JUAL bawang 10kg 30rb")
        fed.wait_converged()
        wait_until(lambda: _events_in_replica(replica, tmp_path / "probe.db") == 3, timeout=WAIT,
                   what="the replica to hold the hub's three published events")
        backup.terminate()
        backup.wait()
        # After the last backup: a listing the city sees and the hub is about to lose.
        assert "Kode: T2" in fed.hub.send(SITI, "JUAL tomat 5kg 8rb")
        fed.wait_converged()
        assert fed.city_listings()["AT2"] == ("active", 5_000, 8_000)

        fed.kill_relay("hub")  # the hub PC dies with its disk
        fed.hub.db.conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(fed.hub_env["DATABASE_PATH"] + suffix).unlink(missing_ok=True)
        restored = subprocess.run([str(BIN / "jembatan"), "hub", "restore", "--from", replica],
                                  env=fed.env("hub"), cwd=tmp_path, capture_output=True, text=True)
        assert restored.returncode == 0, restored.stderr
        assert '"epoch": 2' in restored.stdout
        fed.hub.db = open_database(fed.hub_env["DATABASE_PATH"])
        assert "AT2" not in fed.hub_listings()  # lost with the disk

        # It republishes what it holds under epoch 2 (Siti, C2, B2, then the marker): the
        # city converges on it, and AT2, which the restored hub never had, is withdrawn.
        assert '"snapshot_events": 4' in restored.stdout
        fed.start_relay("hub")

        def active(listings_: dict) -> dict:
            return {code: row for code, row in listings_.items() if row[0] == "active"}

        wait_until(lambda: fed.counts()["hub_waiting"] == 0
                   and active(fed.hub_listings()) == active(fed.city_listings())
                   and fed.city_listings()["AT2"][0] == "withdrawn",
                   timeout=WAIT, what="the city to converge on the restored hub", detail=fed.logs)
        assert sorted(fed.city_catalog()) == ["AB2", "AC2"]
        # The restored hub issues the lost listing's id and code again, for new stock.
        assert "Kode: T2" in fed.hub.send(SITI, "JUAL tomat 9kg 7rb")
        wait_until(lambda: fed.counts()["hub_waiting"] == 0 and fed.hub_listings() == fed.city_listings(),
                   timeout=WAIT, what="the city to agree with the restored hub", detail=fed.logs)
        assert fed.city_listings()["AT2"] == ("active", 9_000, 7_000)
        epoch_two = fed.city.execute("SELECT COUNT(*) FROM federation_applied WHERE event_id LIKE "
                                     "'A-2-%' AND outcome = 'applied'").fetchone()[0]
        assert epoch_two == 4 + 1
        assert federation.identity(fed.hub.db)["epoch"] == 2
    finally:
        if backup is not None and backup.poll() is None:
            backup.kill()
            backup.wait()
        fed.close()
