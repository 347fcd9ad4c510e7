"""Hub A and a city over real nats-server processes (issue 18): the city's server takes leaf
connections, hub A's server is its leaf node with its own JetStream domain, and each side
runs `jembatan relay` as its own process on its own SQLite file. A seller texts hub A; the
city's catalog follows. Links are cut by killing processes (a server, a relay), never by
mocking NATS; every wait is on a condition, and convergence is asserted by counting both
sides: every hub event applied exactly once, every listing the same on both sides.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot.migrations import apply_migrations
from bot.nats_server import CITY_DOMAIN, NatsServer, hub_domain
from bot.redis_server import free_port
from bot.services import federation, listings, products
from bot.storage import open_database, transaction
from tests.dialogs import SITI, Conversation
from tests.services.test_codes_and_counts import NOW
from tests.waiting import wait_until

BIN = Path(sys.executable).parent
WAIT = 60  # seconds: only bounds a hang on a loaded 2-core machine
STATUS_POLL = 0.5  # seconds between `jembatan hub status` runs (a process each), not 0.05


class Federation:
    """The city and hub A: servers, databases, relays, and what each side holds."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        leaf_port = free_port()
        self.city_nats = NatsServer(tmp_path / "city-nats", free_port(), CITY_DOMAIN,
                                    leaf_port=leaf_port, users={"hub-a": "secret-a"}).start()
        self.hub_nats = NatsServer(tmp_path / "hub-nats", free_port(), hub_domain("A"),
                                   leaf_remote=f"nats-leaf://127.0.0.1:{leaf_port}",
                                   leaf_user="hub-a", leaf_password="secret-a").start()
        self.hub = Conversation(tmp_path / "hub")  # the hub's SQLite, driven by texts
        self.hub_env = {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "A",
                        "DATABASE_PATH": str(tmp_path / "hub" / "dialogs.db"),
                        "JEMBATAN_NATS_URL": self.hub_nats.url}
        federation.sync_identity(self.hub.db, self.hub_env, NOW)
        self.city_env = {"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A",
                         "DATABASE_PATH": str(tmp_path / "city" / "city.db"),
                         "JEMBATAN_NATS_URL": self.city_nats.url}
        self.city = open_database(self.city_env["DATABASE_PATH"])
        apply_migrations(self.city)  # the release step, `jembatan migrate`
        self.relays: dict[str, subprocess.Popen] = {}

    def env(self, side: str) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("JEMBATAN_", "REDIS_", "DATABASE_"))}
        return env | (self.hub_env if side == "hub" else self.city_env)

    def status(self, side: str) -> dict:
        """`jembatan hub status` on that side, as the operator sees it."""
        result = subprocess.run([str(BIN / "jembatan"), "hub", "status"], env=self.env(side),
                                cwd=self.tmp_path, capture_output=True, text=True, check=True)
        return json.loads(result.stdout)

    def start_relay(self, side: str) -> None:
        env = self.env(side)
        log = open(self.tmp_path / f"relay-{side}.log", "ab")  # noqa: SIM115
        with log:
            self.relays[side] = subprocess.Popen([str(BIN / "jembatan"), "relay"], env=env,
                                                 cwd=self.tmp_path, stdout=log, stderr=log,
                                                 start_new_session=True)

    def kill_relay(self, side: str) -> None:
        process = self.relays.pop(side)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}"
                         for path in sorted(self.tmp_path.glob("relay-*.log")))

    def hub_listings(self) -> dict[str, tuple]:
        return {"A" + row["code"]: (row["status"], row["quantity_milli"], row["price"])
                for row in self.hub.db.query("SELECT * FROM listings")}

    def city_listings(self) -> dict[str, tuple]:
        return {row["code"]: (row["status"], row["quantity_milli"], row["price"])
                for row in self.city.query("SELECT * FROM listings WHERE origin_hub = 'A'")}

    def city_catalog(self) -> list[str]:
        return sorted(row["code"] for row in listings.search_catalog(self.city, limit=1000)[0])

    def counts(self) -> dict:
        hub = federation.outbox_counts(self.hub.db)
        applied = self.city.execute("SELECT COUNT(*) FROM federation_applied").fetchone()[0]
        return {"hub_events": hub["events"], "hub_waiting": hub["waiting"], "city_applied": applied}

    def converged(self) -> bool:
        counts = self.counts()
        return (counts["hub_waiting"] == 0 and counts["city_applied"] == counts["hub_events"]
                and self.hub_listings() == self.city_listings())

    def wait_converged(self) -> None:
        wait_until(self.converged, timeout=WAIT, what="the city to converge with hub A",
                   detail=lambda: f"{self.counts()}\n{self.logs()}")
        # Exactly once: one applied row per hub event, none refused, none unknown.
        hub_ids = {federation.event_id("A", row["epoch"], row["id"])
                   for row in self.hub.db.query("SELECT id, epoch FROM federation_events")}
        city_ids = {row[0] for row in self.city.execute("SELECT event_id FROM federation_applied")}
        assert hub_ids == city_ids

    def close(self) -> None:
        for side in list(self.relays):
            self.kill_relay(side)
        self.hub_nats.stop()
        self.city_nats.stop()


@pytest.fixture
def fed(tmp_path):
    federation_ = Federation(tmp_path)
    yield federation_
    federation_.close()


def _list(fed: Federation, count: int, start: int = 0) -> None:
    """`count` listings straight through the service (what JUAL does), one transaction each."""
    seller = fed.hub.db.execute("SELECT id FROM contacts WHERE role = 'seller'").fetchone()[0]
    for n in range(start, start + count):
        with transaction(fed.hub.db):
            product, _ = products.resolve_product(fed.hub.db, "cabai", NOW)
            listings.create_listing(fed.hub.db, seller_id=seller, product=product,
                                    product_text=f"cabai {n}", quantity=Decimal(n + 1), unit="kg",
                                    price=10_000 + n, now=NOW)


def _running_with_one_listing(fed: Federation) -> None:
    """Both relays up, Siti registered at hub A with C2 listed, the city caught up."""
    fed.start_relay("hub")
    fed.start_relay("city")
    fed.hub.send(SITI, "DAFTAR Siti, Sukamaju")
    fed.hub.send(SITI, "JUAL cabai 50kg 12rb")
    fed.wait_converged()


def test_a_listing_texted_to_the_hub_appears_in_the_city_and_leaves_when_withdrawn(fed):
    fed.start_relay("hub")
    fed.start_relay("city")
    fed.hub.send(SITI, "DAFTAR Siti, Sukamaju")
    assert "Kode: C2" in fed.hub.send(SITI, "JUAL cabai 50kg 12rb")
    wait_until(lambda: fed.city_catalog() == ["AC2"], timeout=WAIT, what="AC2 in the city catalog",
               detail=fed.logs)
    row = listings.find_listing(fed.city, "AC2")
    assert (row["product_name"], row["quantity_milli"], row["price"]) == ("cabai", 50_000, 12_000)

    assert "dihapus" in fed.hub.send(SITI, "HAPUS C2")
    wait_until(lambda: fed.city_catalog() == [], timeout=WAIT, what="AC2 gone from the city catalog",
               detail=fed.logs)
    fed.wait_converged()
    # Siti's profile, C2 listed, C2 withdrawn.
    assert fed.counts() == {"hub_events": 3, "hub_waiting": 0, "city_applied": 3}
    wait_until(lambda: (fed.status("hub").get("link") or {}).get("link_up"), timeout=WAIT,
               what="hub status to see the link up", detail=fed.logs, interval=STATUS_POLL)
    hub = fed.status("hub")
    assert {k: hub[k] for k in ("role", "hub_id", "epoch", "events", "published", "waiting",
                                "lag_seconds")} == {
        "role": "hub", "hub_id": "A", "epoch": 1, "events": 3, "published": 3, "waiting": 0,
        "lag_seconds": 0}
    assert hub["last_published"] == "A-1-3"
    wait_until(lambda: (fed.status("city")["hubs"].get("A", {}).get("link") or {}).get("link_up"),
               timeout=WAIT, what="city status to see hub A's link up", detail=fed.logs,
               interval=STATUS_POLL)
    city = fed.status("city")["hubs"]["A"]
    assert (city["applied"], city["stale"], city["link"]["lag"]) == (3, 0, 0)


def test_a_day_without_the_city_converges_with_nothing_lost_or_doubled(fed):
    _running_with_one_listing(fed)

    fed.city_nats.stop(kill=True)  # the uplink's far end is gone
    # The hub's sellers carry on; their replies never needed the city.
    assert "Kode: B2" in fed.hub.send(SITI, "JUAL bawang 10kg 30rb")
    assert "Kode: T2" in fed.hub.send(SITI, "JUAL tomat 5kg 8rb")
    fed.hub.send(SITI, "STOK C2 20")
    fed.hub.send(SITI, "HAPUS B2")
    _list(fed, 20)
    # Stored and forwarded by the hub's own JetStream: its outbox empties all the same.
    wait_until(lambda: fed.counts()["hub_waiting"] == 0, timeout=WAIT,
               what="hub A's relay to publish into its own stream", detail=fed.logs)
    assert fed.city_catalog() == ["AC2"]  # the city still shows what it knew
    wait_until(lambda: (fed.status("hub").get("link") or {}).get("link_up") == 0, timeout=WAIT,
               what="hub status to see the link down", detail=fed.logs, interval=STATUS_POLL)

    fed.city_nats.start()
    fed.wait_converged()
    assert "AT2" in fed.city_catalog() and "AB2" not in fed.city_catalog()
    assert fed.counts()["hub_events"] == 2 + 4 + 20  # Siti and C2, the day's four, 20 more


def test_the_hubs_own_server_down_keeps_events_in_sqlite(fed):
    _running_with_one_listing(fed)

    fed.hub_nats.stop(kill=True)
    fed.hub.send(SITI, "JUAL bawang 10kg 30rb")
    fed.hub.send(SITI, "STOK C2 7")
    assert fed.counts()["hub_waiting"] == 2  # nowhere to go: they wait in the outbox
    fed.hub_nats.start()
    fed.wait_converged()
    assert fed.city_listings()["AC2"] == ("active", 7_000, 12_000)


def test_relays_killed_mid_stream_still_apply_each_event_once(fed):
    fed.hub.send(SITI, "DAFTAR Siti, Sukamaju")
    _list(fed, 400)
    fed.start_relay("hub")
    wait_until(lambda: fed.counts()["hub_waiting"] < 400, timeout=WAIT,
               what="hub A's relay to start publishing", detail=fed.logs)
    fed.kill_relay("hub")  # SIGKILL: acknowledged rows may not be marked published yet
    fed.start_relay("city")
    wait_until(lambda: fed.counts()["city_applied"] > 0, timeout=WAIT,
               what="the city's relay to start applying", detail=fed.logs)
    fed.kill_relay("city")  # applied rows may not be acknowledged to JetStream yet
    fed.start_relay("hub")
    fed.start_relay("city")
    fed.wait_converged()
    assert len(fed.city_catalog()) == 400


def test_the_citys_server_killed_mid_sync(fed):
    fed.hub.send(SITI, "DAFTAR Siti, Sukamaju")
    _list(fed, 300)
    fed.start_relay("hub")
    fed.start_relay("city")
    wait_until(lambda: fed.counts()["city_applied"] > 0, timeout=WAIT,
               what="the city to start applying", detail=fed.logs)
    fed.city_nats.stop(kill=True)
    _list(fed, 10, start=300)
    fed.city_nats.start()
    fed.wait_converged()
    assert len(fed.city_catalog()) == 310
