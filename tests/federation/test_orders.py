"""Orders flow down (issue 18) over real nats-server processes: a city buyer orders hub A's
listing, the city order is `requested`, the hub's relay takes the request (reserving the
stock, asking its seller) and the hub's answers come back as events. The link is cut by
stopping hub A's nats-server (its leaf connection goes with it); relays are SIGKILLed.
Every wait is on a condition; exactly-once is asserted by counting both sides.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.services import buyers, federation, orders
from bot.storage import transaction, utcnow
from tests.dialogs import BUDI, SITI, Conversation
from tests.federation.test_relay import WAIT, Federation
from tests.services.test_codes_and_counts import NOW
from tests.waiting import wait_until

TINI = "+6281311112222"


class OrderFederation(Federation):
    """Federation, with the city driven by texts too (its buyers write to it)."""

    def __init__(self, tmp_path):
        super().__init__(tmp_path)
        self.city.conn.close()
        self.talk = Conversation(tmp_path / "citytalk")
        # The city's clock is the real one, as the hub relay's is: a request carries the
        # time its hub must take it by (DECISIONS 422).
        self.talk.now = utcnow()
        self.city = self.talk.db
        self.city_env["DATABASE_PATH"] = str(tmp_path / "citytalk" / "dialogs.db")
        federation.sync_identity(self.city, self.city_env, NOW)

    def city_order(self, code: str) -> dict:
        return orders.find_order(self.city, code)

    def hub_orders(self) -> list[dict]:
        return list(self.hub.db.query("SELECT * FROM orders WHERE city_request IS NOT NULL ORDER BY id"))

    def decided(self) -> bool:
        """Every city order has the hub's answer; both outboxes are empty."""
        waiting = self.city.execute("SELECT COUNT(*) FROM orders WHERE status = 'requested'").fetchone()[0]
        return (waiting == 0 and federation.request_counts(self.city)["waiting"] == 0
                and federation.outbox_counts(self.hub.db)["waiting"] == 0)

    def wait_decided(self) -> None:
        wait_until(self.decided, timeout=WAIT, what="every city order decided by hub A",
                   detail=lambda: f"{self.counts()}\n{self.logs()}")
        self.wait_converged()  # listings equal on both sides, every event applied once
        self.assert_exactly_once()

    def assert_exactly_once(self) -> None:
        """One hub decision per city order: a hub order, or a declined request; never two."""
        city = {row["id"]: row for row in self.city.query("SELECT * FROM orders WHERE origin_hub = 'A'")}
        received = list(self.hub.db.query(
            "SELECT * FROM federation_received WHERE kind = 'order.request'"))
        assert len(received) == len(city) == len({row["request_id"] for row in received})
        hub = {row["city_order_id"]: row for row in self.hub_orders()}
        assert len(hub) == len(self.hub_orders())  # never two hub orders for one city order
        for order_id, row in city.items():
            if order_id in hub:
                assert row["status"] == hub[order_id]["status"], (row["code"], hub[order_id]["code"])
                assert row["origin_code"] == hub[order_id]["code"]
            else:  # refused: out of stock, withdrawn, or reached the hub too late (expired)
                assert row["status"] in ("declined", "expired")


@pytest.fixture
def fed(tmp_path):
    federation_ = OrderFederation(tmp_path)
    yield federation_
    federation_.close()


def _ready(fed: OrderFederation, stock: str = "50kg") -> None:
    """Relays up, Siti selling cabai at hub A (C2), Budi a buyer at the city, AC2 there."""
    fed.start_relay("hub")
    fed.start_relay("city")
    fed.hub.send(SITI, "DAFTAR Siti, Sukamaju")
    fed.hub.send(SITI, f"JUAL cabai {stock} 12rb")
    fed.talk.send(BUDI, "DAFTAR PEMBELI Warung Budi, Bandung")
    wait_until(lambda: fed.city_catalog() == ["AC2"], timeout=WAIT, what="AC2 in the city catalog",
               detail=fed.logs)
    fed.hub.notices()
    fed.talk.notices()


def _city_places(fed: OrderFederation, count: int, kg: int = 1) -> list[str]:
    """`count` city orders for AC2 straight through the service (what PESAN does)."""
    buyer = buyers.find_buyer_by_contact(
        fed.city, fed.city.execute("SELECT id FROM contacts WHERE phone = ?", [BUDI]).fetchone()[0])
    codes = []
    for _ in range(count):
        with transaction(fed.city):
            change = orders.place_order(fed.city, buyer=buyer, listing_code="AC2", quantity=Decimal(kg),
                                        unit=None, now=fed.talk.now, settings=fed.talk.settings,
                                        source="api")
        assert change.to_status == "requested"
        codes.append(change.order["code"])
    return codes


def test_a_city_order_is_asked_of_the_hub_seller_and_the_buyer_hears_each_answer(fed):
    _ready(fed)
    reply = fed.talk.send(BUDI, "PESAN AC2 10")
    assert reply.startswith("Pesanan AP2: 10 kg cabai") and "teruskan ke desa" in reply
    assert fed.city_order("AP2")["status"] == "requested"
    assert "menunggu desa" in fed.talk.send(BUDI, "STATUS AP2")

    wait_until(lambda: fed.hub_orders(), timeout=WAIT, what="hub A to take the request", detail=fed.logs)
    [hub_order] = fed.hub_orders()
    assert (hub_order["code"], hub_order["status"], hub_order["quantity_milli"]) == ("P2", "pending", 10_000)
    [(phone, asked)] = fed.hub.notices()
    assert phone == SITI and "P2" in asked and "Warung Budi" in asked
    wait_until(lambda: fed.city_order("AP2")["status"] == "pending", timeout=WAIT,
               what="the city to hear that the hub took AP2", detail=fed.logs)
    assert fed.city_order("AP2")["origin_code"] == "P2"

    assert "P2" in fed.hub.send(SITI, "YA")
    wait_until(lambda: fed.city_order("AP2")["status"] == "accepted", timeout=WAIT,
               what="the city to hear that Siti accepted", detail=fed.logs)
    [(phone, told)] = fed.talk.notices()
    assert phone == BUDI and told.startswith("Kabar baik: pesanan AP2 (10 kg cabai) disetujui Siti")
    fed.wait_converged()
    assert fed.city_listings()["AC2"][1] == 40_000  # the hub's reservation, seen at the city

    # The buyer's receipt goes down: the hub credits its seller, the city never does.
    assert "AP2" in fed.talk.send(BUDI, "TERIMA AP2")
    wait_until(lambda: fed.hub_orders()[0]["status"] == "received", timeout=WAIT,
               what="hub A to hear of the receipt", detail=fed.logs)
    [(phone, paid)] = fed.hub.notices()
    assert phone == SITI and "P2" in paid
    assert fed.city.execute("SELECT COUNT(*) FROM ledger_transactions").fetchone()[0] == 0
    fed.wait_decided()
    assert fed.status("city")["requests"] == {"requests": 2, "published": 2, "waiting": 0}
    assert fed.status("hub")["requests_taken"] == 2


def test_out_of_stock_at_the_hub_is_declined_at_the_city(fed):
    _ready(fed, stock="5kg")
    assert "teruskan ke desa" in fed.talk.send(BUDI, "PESAN AC2 10")  # the city does not refuse
    wait_until(lambda: fed.city_order("AP2")["status"] == "declined", timeout=WAIT,
               what="the hub's refusal at the city", detail=fed.logs)
    [(phone, told)] = fed.talk.notices()
    assert phone == BUDI and told.startswith("Maaf, pesanan AP2 (10 kg cabai) tidak dapat dipenuhi")
    assert fed.hub_orders() == [] and fed.hub.notices() == []
    fed.wait_decided()


def test_a_buyers_cancel_is_asked_of_the_hub(fed):
    _ready(fed)
    fed.talk.send(BUDI, "PESAN AC2 10")
    assert "teruskan ke desa" in fed.talk.send(BUDI, "BATAL AP2")
    wait_until(lambda: fed.city_order("AP2")["status"] == "cancelled", timeout=WAIT,
               what="the hub to cancel AP2", detail=fed.logs)
    assert fed.hub_orders()[0]["status"] == "cancelled"
    assert [told for _, told in fed.talk.notices()] == [
        "Pesanan AP2 (10 kg cabai) sudah dibatalkan sesuai permintaan Bapak/Ibu. Penjual sudah diberi tahu."]
    fed.wait_decided()
    assert fed.hub_listings()["AC2"][1] == 50_000  # the stock came back at the hub


def test_link_cut_buyers_wait_sellers_work_and_nothing_is_oversold(fed):
    _ready(fed, stock="10kg")
    fed.hub_nats.stop(kill=True)  # hub A's server, and with it the leaf link, gone
    for name, phone in (("Warung Tini", TINI), ("Warung Budi", BUDI)):
        if phone == TINI:
            fed.talk.send(TINI, f"DAFTAR PEMBELI {name}, Bandung")
        assert "teruskan ke desa" in fed.talk.send(phone, "PESAN AC2 4")
    codes = ["AP2", "AP3", *_city_places(fed, 2, kg=4)]  # 16 kg asked of 10 kg
    wait_until(lambda: federation.request_counts(fed.city)["waiting"] == 0, timeout=WAIT,
               what="the city's requests to wait in its own stream", detail=fed.logs)
    # The hub's sellers carry on without the city.
    assert "Kode: B2" in fed.hub.send(SITI, "JUAL bawang 10kg 30rb")
    assert "dihapus" in fed.hub.send(SITI, "HAPUS B2")
    assert all(fed.city_order(code)["status"] == "requested" for code in codes)

    fed.hub_nats.start()
    fed.wait_decided()
    statuses = sorted(fed.city_order(code)["status"] for code in codes)
    assert statuses == ["declined", "declined", "pending", "pending"]  # 2 x 4 kg of 10 kg
    assert fed.hub_listings()["AC2"][1] == 2_000 == fed.city_listings()["AC2"][1]
    assert sum(row["quantity_milli"] for row in fed.hub_orders()) == 8_000
    for hub_order in fed.hub_orders():
        assert hub_order["code"] in fed.hub.send(SITI, f"YA {hub_order['code']}")
    wait_until(lambda: sorted(fed.city_order(code)["status"] for code in codes)
               == ["accepted", "accepted", "declined", "declined"], timeout=WAIT,
               what="both acceptances at the city", detail=fed.logs)
    fed.wait_decided()


def test_the_hub_relay_killed_mid_consume_still_decides_each_order_once(fed):
    _ready(fed, stock="120kg")
    fed.kill_relay("hub")
    codes = _city_places(fed, 150)
    wait_until(lambda: federation.request_counts(fed.city)["waiting"] == 0, timeout=WAIT,
               what="the city to publish its requests", detail=fed.logs)
    fed.start_relay("hub")
    wait_until(lambda: fed.hub.db.execute("SELECT COUNT(*) FROM federation_received").fetchone()[0] > 0,
               timeout=WAIT, what="hub A to start taking requests", detail=fed.logs)
    fed.kill_relay("hub")  # SIGKILL: taken requests may not be acknowledged yet
    fed.start_relay("hub")
    fed.wait_decided()
    statuses = [fed.city_order(code)["status"] for code in codes]
    assert statuses.count("pending") == 120 and statuses.count("declined") == 30
    assert len(fed.hub_orders()) == 120
    assert fed.hub_listings()["AC2"][1] == 0 == fed.city_listings()["AC2"][1]


def test_the_city_relay_killed_mid_publish_still_makes_one_hub_order_each(fed):
    _ready(fed, stock="80kg")
    fed.kill_relay("city")
    codes = _city_places(fed, 100)
    fed.start_relay("city")
    wait_until(lambda: federation.request_counts(fed.city)["published"] > 0, timeout=WAIT,
               what="the city's relay to start publishing", detail=fed.logs)
    fed.kill_relay("city")  # SIGKILL: acknowledged requests may not be marked published yet
    fed.start_relay("city")
    fed.wait_decided()
    statuses = [fed.city_order(code)["status"] for code in codes]
    assert statuses.count("pending") == 80 and statuses.count("declined") == 20


def test_the_city_relay_hands_the_buyers_news_to_the_workers_queue(fed, redis_url):
    fed.hub_env["REDIS_URL"] = fed.city_env["REDIS_URL"] = redis_url
    _ready(fed, stock="5kg")
    fed.talk.send(BUDI, "PESAN AC2 10")
    wait_until(lambda: fed.city_order("AP2")["status"] == "declined", timeout=WAIT,
               what="the hub's refusal at the city", detail=fed.logs)
    # The buyer's news row, committed with the answer, was handed to RQ by the relay itself.
    wait_until(lambda: fed.city.execute("SELECT enqueued_at FROM outbox WHERE phone = ? AND kind <> 'reply'",
                                        [BUDI]).fetchone()[0], timeout=WAIT,
               what="the city relay to enqueue the buyer's news", detail=fed.logs)
