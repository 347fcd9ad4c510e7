"""What still flows down (issue 18, DECISIONS 420-423) over real nats-server processes and
`jembatan relay` processes: a city buyer's payment for a hub order, made while the link
is cut, reaches the hub's ledger once and the hub's answer comes back; a hub restored
through Litestream from a backup older than the orders it took is sent them again and
takes each once. Links are cut by stopping hub A's server; every wait is on a condition;
end states are counted on both sides."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.litestream import replicate_command
from bot.pipeline.order_timers import run_order_timers
from bot.services import federation, ledger, orders
from bot.storage import open_database, utcnow
from tests.dialogs import BUDI, SITI
from tests.federation.test_orders import OrderFederation, _ready
from tests.federation.test_relay import BIN, WAIT
from tests.federation.test_restore import _events_in_replica
from tests.money import make_coordinator
from tests.waiting import wait_until

ANI = "+6281377778888"  # the city's coordinator


def _payment_status(fed: OrderFederation) -> str | None:
    row = fed.city.execute("SELECT status FROM federation_payments").fetchone()
    return row[0] if row else None


def test_a_payment_made_while_the_link_is_cut_reaches_the_hubs_ledger_once(tmp_path):
    fed = OrderFederation(tmp_path)
    try:
        _ready(fed)
        fed.talk.send(BUDI, "PESAN AC2 10")
        wait_until(lambda: fed.city_order("AP2")["status"] == "pending", timeout=WAIT,
                   what="hub A to take AP2", detail=fed.logs)
        fed.hub.send(SITI, "YA")
        wait_until(lambda: fed.city_order("AP2")["status"] == "accepted", timeout=WAIT,
                   what="the city to hear AP2 accepted", detail=fed.logs)
        fed.hub_nats.stop(kill=True)  # the link is cut
        assert "AP2" in fed.talk.send(BUDI, "TERIMA AP2")
        # The city's coordinator records the buyer's transfer by text, as for any order.
        make_coordinator(fed.city, ANI, fed.talk.now)
        assert fed.talk.send(ANI, "LUNAS AP2 120rb") == (
            "Catat pembayaran Rp120.000 untuk pesanan AP2 dari Warung Budi? Balas YA AP2 atau BATAL")
        assert fed.talk.send(ANI, "YA AP2") == (
            "Tercatat: pembayaran Rp120.000 dari Warung Budi untuk pesanan AP2. Kami teruskan ke desa "
            "penjual untuk dibukukan di sana.")
        assert fed.talk.send(ANI, "LUNAS AP2 1rb").startswith("Pesanan AP2 sudah lunas")
        wait_until(lambda: federation.request_counts(fed.city)["waiting"] == 0, timeout=WAIT,
                   what="the city's requests to wait in its own stream", detail=fed.logs)
        assert fed.hub.db.execute("SELECT COUNT(*) FROM ledger_transactions WHERE kind = "
                                  "'buyer_payment'").fetchone()[0] == 0

        fed.hub_nats.start()
        wait_until(lambda: _payment_status(fed) == "recorded", timeout=WAIT,
                   what="the hub's answer about the payment at the city", detail=fed.logs)
        fed.wait_decided()
        hub_payments = list(fed.hub.db.query(
            "SELECT t.idempotency_key FROM ledger_transactions t WHERE t.kind = 'buyer_payment'"))
        assert len(hub_payments) == 1
        assert hub_payments[0]["idempotency_key"].startswith("buyer_payment:city-sms-AP2-120000-")
        assert ledger.order_receivable(fed.hub.db, "P2") == 0
        assert fed.city.execute("SELECT COUNT(*) FROM ledger_transactions").fetchone()[0] == 0
        taken = {row["kind"]: row["outcome"] for row in fed.hub.db.query(
            "SELECT kind, outcome FROM federation_received")}
        assert taken == {"order.request": "placed", "order.receive": "applied", "order.payment": "applied"}
        assert federation.request_counts(fed.city) == {"requests": 3, "published": 3, "waiting": 0}
    finally:
        fed.close()


def test_a_hub_restored_from_litestream_takes_again_once_the_orders_it_lost(tmp_path):
    fed = OrderFederation(tmp_path)
    backup = None
    try:
        replica = f"file://{tmp_path / 'replica'}"
        backup = subprocess.Popen(replicate_command(fed.hub_env["DATABASE_PATH"], replica),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _ready(fed)  # Siti and C2 (50 kg) published, AC2 at the city
        wait_until(lambda: _events_in_replica(replica, tmp_path / "probe.db") == 2, timeout=WAIT,
                   what="the replica to hold the hub's two published events")
        backup.terminate()
        backup.wait()
        # After the last backup: two city orders the hub takes, and the city hears of.
        fed.talk.send(BUDI, "PESAN AC2 10")
        fed.talk.send(BUDI, "PESAN AC2 15")
        wait_until(lambda: [fed.city_order(code)["status"] for code in ("AP2", "AP3")]
                   == ["pending", "pending"], timeout=WAIT, what="hub A to take both", detail=fed.logs)
        first_requests = [row["city_request"] for row in fed.hub_orders()]

        fed.kill_relay("hub")  # the hub PC dies with its disk
        fed.hub.db.conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(fed.hub_env["DATABASE_PATH"] + suffix).unlink(missing_ok=True)
        restored = subprocess.run([str(BIN / "jembatan"), "hub", "restore", "--from", replica],
                                  env=fed.env("hub"), cwd=tmp_path, capture_output=True, text=True)
        assert restored.returncode == 0, restored.stderr
        fed.hub.db = open_database(fed.hub_env["DATABASE_PATH"])
        assert fed.hub_orders() == [] and fed.hub_listings()["AC2"][1] == 50_000  # lost

        fed.start_relay("hub")  # the city sees epoch 2 and sends both requests again
        wait_until(lambda: len(fed.hub_orders()) == 2 and fed.counts()["hub_waiting"] == 0
                   and fed.hub_listings() == fed.city_listings(), timeout=WAIT,
                   what="the restored hub to take both orders again", detail=fed.logs)
        # (The restored hub's outbox no longer holds the epoch-1 events the city applied,
        # so the counts of `wait_converged` cannot match: decisions are counted instead.)
        wait_until(fed.decided, timeout=WAIT, what="every city order decided", detail=fed.logs)
        fed.assert_exactly_once()  # one hub order per city order, statuses equal on both sides
        assert [row["city_request"] for row in fed.hub_orders()] == first_requests
        assert fed.hub_listings()["AC2"][1] == 25_000 == fed.city_listings()["AC2"][1]
        assert {orders.find_order(fed.city, code)["origin_code"] for code in ("AP2", "AP3")} == {"P2", "P3"}
        replays = fed.city.execute("SELECT COUNT(*) FROM federation_requests WHERE replay_of IS NOT NULL"
                                   ).fetchone()[0]
        assert replays == 2
        [(phone, asked), (phone_again, asked_again)] = fed.hub.notices()
        assert phone == phone_again == SITI and "P2" in asked and "P3" in asked_again
    finally:
        if backup is not None and backup.poll() is None:
            backup.kill()
            backup.wait()
        fed.close()


def test_a_request_that_reaches_its_hub_too_late_is_never_taken(tmp_path):
    fed = OrderFederation(tmp_path)
    try:
        _ready(fed)
        fed.hub_nats.stop(kill=True)  # the link is cut before the hub can take it
        fed.talk.settings["JEMBATAN_REQUEST_WAIT_HOURS"] = "0"  # its time is up at once
        assert "teruskan ke desa" in fed.talk.send(BUDI, "PESAN AC2 10")
        report = run_order_timers(fed.city, fed.talk.settings, utcnow())
        assert report.unanswered == 1
        [(phone, told)] = fed.talk.notices()
        assert phone == BUDI and told.startswith("Maaf, desa belum menjawab pesanan AP2")

        fed.hub_nats.start()
        wait_until(lambda: fed.city_order("AP2")["status"] == "expired", timeout=WAIT,
                   what="the hub's too-late answer at the city", detail=fed.logs)
        fed.wait_decided()
        assert fed.hub_orders() == [] and fed.hub.notices() == []  # Siti was never asked
        assert fed.hub_listings()["AC2"][1] == 50_000
        [(_, expired)] = fed.talk.notices()
        assert expired.startswith("Maaf, pesanan AP2")
        assert run_order_timers(fed.city, fed.talk.settings, utcnow()).unanswered == 0
    finally:
        fed.close()
