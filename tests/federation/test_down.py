"""What still flows down (issue 18, DECISIONS 420-424), message by message with no NATS:
a city buyer's payment for a hub order reaches the hub's ledger once and the hub's answer
comes back (recorded, or refused and kept out of every ledger); a request the hub did not
take in time is refused by the hub and its buyer told once; a hub restored from a backup
is sent again what it lost; the city's record of applied events is pruned without any
old event applying twice. The messages are handed across as the relays publish them."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.pipeline.federation import apply_hub_event
from bot.pipeline.order_timers import run_order_timers
from bot.services import federation, ledger, orders
from bot.services.coordinators import grant_coordinator
from bot.storage import open_database, transaction, utcnow
from tests.federation.test_order_requests import CITY, auth, publish_events, requests, take
from tests.federation.test_outbox import HUB, NOW, listing, seller
from tests.orders import api_buyer


@pytest.fixture
def settings(settings):
    return settings | CITY


@pytest.fixture
def hub(tmp_path):
    from bot.migrations import apply_migrations

    db = open_database(tmp_path / "hub.db")
    apply_migrations(db)
    federation.sync_identity(db, HUB, NOW)
    listing(db, seller(db), quantity=50)  # C2, 50 kg at Rp12.000
    return db


def _hub_order(hub) -> dict:
    [row] = hub.query("SELECT * FROM orders")
    return row


def _received_hub_order(client, db, hub, settings, *, deliver_receipt: bool = True) -> str:
    """AP2 (5 kg, Rp60.000) ordered through the API, taken and accepted at hub A, received by
    the buyer at the city (the receipt taken at the hub unless `deliver_receipt` is False)."""
    publish_events(hub, db, settings)
    _, key = api_buyer(db, NOW, webhook_url="http://127.0.0.1:9/hook")
    assert client.post("/api/v1/orders", json={"listing": "AC2", "quantity": "5"},
                       headers=auth(key)).status_code == 202
    assert take(hub, requests(db)[0], settings) == "placed"
    with transaction(hub):
        orders.apply_order_event(hub, _hub_order(hub)["id"], "accept", NOW, settings=settings, source="text")
    publish_events(hub, db, settings)
    assert client.post("/api/v1/orders/AP2/received", headers=auth(key)).status_code == 200
    [receipt] = requests(db)
    if deliver_receipt:
        assert take(hub, receipt, settings) == "applied"
        publish_events(hub, db, settings)
    return key


def _buyer_payments(db) -> int:
    return db.execute("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'buyer_payment'").fetchone()[0]


def test_a_city_buyers_payment_reaches_the_hubs_ledger_once_and_its_answer_comes_back(
        client, db, hub, settings):
    key = _received_hub_order(client, db, hub, settings)
    assert ledger.order_receivable(hub, "P2") == 60_000  # the hub credited Siti on the receipt
    paid = client.post("/api/v1/orders/AP2/payments", json={"amount": 60_000, "reference": "TRF-1"},
                       headers=auth(key))
    assert paid.status_code == 202, paid.get_json()
    assert paid.get_json()["payment"]["status"] == "forwarded" and paid.get_json()["amount_due"] == 0
    again = client.post("/api/v1/orders/AP2/payments", json={"amount": 60_000, "reference": "TRF-1"},
                        headers=auth(key))
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    # More than the order's total, at the city, is refused there: nothing goes down.
    more = client.post("/api/v1/orders/AP2/payments", json={"amount": 1, "reference": "TRF-2"},
                       headers=auth(key))
    assert more.status_code == 422 and more.get_json()["error"] == "overpayment"

    [request] = requests(db)  # one request for the two POSTs of TRF-1
    assert (request["kind"], request["data"]["amount"]) == ("order.payment", 60_000)
    assert take(hub, request, settings) == "applied"
    assert take(hub, request, settings) == "duplicate"  # redelivered
    assert _buyer_payments(hub) == 1 and ledger.order_receivable(hub, "P2") == 0
    assert _buyer_payments(db) == 0  # the city keeps no ledger for a hub's order

    assert publish_events(hub, db, settings) == ["applied"]  # the hub's answer
    [payment] = db.query("SELECT * FROM federation_payments")
    assert (payment["status"], payment["amount_due"], payment["reason"]) == ("recorded", 0, None)
    answered = client.post("/api/v1/orders/AP2/payments", json={"amount": 60_000, "reference": "TRF-1"},
                           headers=auth(key)).get_json()
    assert answered["payment"]["status"] == "recorded"
    report = federation.status(db, utcnow())
    assert (report["payments"], report["requests_overdue"]) == ({"recorded": 1}, 0)


def test_a_payment_the_hub_refuses_stays_out_of_every_ledger_and_a_new_one_can_follow(
        client, db, hub, settings):
    key = _received_hub_order(client, db, hub, settings, deliver_receipt=False)
    client.post("/api/v1/orders/AP2/payments", json={"amount": 60_000, "reference": "TRF-1"},
                headers=auth(key))
    [payment] = requests(db)
    coordinator = grant_coordinator(db, "+6281300001111", None, NOW)
    assert take(hub, payment, settings) == "refused"  # the hub has not heard of the receipt
    publish_events(hub, db, settings)
    [row] = db.query("SELECT * FROM federation_payments")
    assert (row["status"], row["reason"]) == ("refused", "not_received")
    assert _buyer_payments(hub) == _buyer_payments(db) == 0
    # Money in no ledger: the city's coordinators are told, once (DECISIONS 393).
    [answer] = [r for r in hub.query("SELECT * FROM federation_events ORDER BY id")
                if r["entity"] == "payment"]
    assert apply_hub_event(db, settings, federation.message_of("A", answer), from_hub="A",
                           now=utcnow())[0] == "duplicate"
    [told] = db.query("SELECT * FROM outbox WHERE reply_id = 'payment.refused_by_hub'")
    assert told["contact_id"] == coordinator["id"]
    assert "Rp60.000" in told["body"] and "AP2 ditolak desa: belum tercatat diterima" in told["body"]
    # The city owes the hub the whole total again; paying again needs a new reference.
    retry = client.post("/api/v1/orders/AP2/payments", json={"amount": 60_000, "reference": "TRF-1"},
                        headers=auth(key))
    assert retry.status_code == 200 and retry.get_json()["payment"]["status"] == "refused"
    assert retry.get_json()["amount_due"] == 60_000


def test_a_request_the_hub_did_not_take_in_time_is_refused_there_and_the_buyer_told_once(
        tmp_path, hub):
    from tests.dialogs import Conversation

    city = Conversation(tmp_path / "city")
    federation.sync_identity(city.db, CITY, NOW)
    publish_events(hub, city.db, city.settings)
    phone = "+6281399990000"
    city.send(phone, "DAFTAR PEMBELI Warung Ani, Bandung")
    assert "teruskan ke desa" in city.send(phone, "PESAN AC2 10")
    order = orders.find_order(city.db, "AP2")
    take_by = order["expires_at"]
    late = city.now + timedelta(hours=25)
    assert run_order_timers(city.db, city.settings, city.now + timedelta(hours=23)).unanswered == 0
    assert run_order_timers(city.db, city.settings, late).unanswered == 1
    assert run_order_timers(city.db, city.settings, late + timedelta(hours=1)).unanswered == 0  # once
    [(to, told)] = city.notices()
    assert to == phone and told.startswith("Maaf, desa belum menjawab pesanan AP2")
    assert orders.find_order(city.db, "AP2")["status"] == "requested"  # only the hub decides

    [request] = requests(city.db)
    assert request["data"]["take_by"] == take_by
    assert take_city_request_late(hub, request, city.settings, late) == "declined"
    assert hub.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0  # never taken
    assert take_city_request_late(hub, request, city.settings, late) == "duplicate"
    publish_events(hub, city.db, city.settings)
    assert orders.find_order(city.db, "AP2")["status"] == "expired"
    [(_, expired)] = city.notices()
    assert expired.startswith("Maaf, pesanan AP2")


def take_city_request_late(hub, request, settings, now) -> str:
    from bot.pipeline.federation import take_city_request

    return take_city_request(hub, settings, request, hub_id="A", now=now)[0]


def test_a_hub_restored_from_a_backup_is_sent_again_what_it_lost(client, db, hub, settings, tmp_path):
    publish_events(hub, db, settings)
    backup = open_database(tmp_path / "backup.db")
    hub.conn.commit()
    hub.conn.backup(backup.conn)  # the backup: before any order
    _, key = api_buyer(db, NOW, webhook_url="http://127.0.0.1:9/hook")
    for quantity in ("5", "7"):
        client.post("/api/v1/orders", json={"listing": "AC2", "quantity": quantity}, headers=auth(key))
    first, second = requests(db)
    assert take(hub, first, settings) == "placed"
    publish_events(hub, db, settings)
    assert orders.find_order(db, "AP2")["status"] == "pending"
    # The hub dies; its backup comes back under a new epoch (`jembatan hub restore`), taking
    # nothing the city asked after the backup; the second request was still on its way.
    restored = backup
    assert federation.advance_epoch(restored, NOW) == 2
    federation.write_snapshot(restored, NOW)
    assert "applied" in publish_events(restored, db, settings)
    replays = requests(db)
    assert [r["id"] for r in replays] == [first["id"], second["id"]]  # under their first ids
    # The hub had taken AP2 in time: its replay has no deadline, so a restore a day later
    # places it again rather than expiring an order under way; AP3 keeps its deadline.
    assert "take_by" not in replays[0]["data"]
    assert replays[1]["data"]["take_by"] == second["data"]["take_by"]
    assert take_city_request_late(restored, replays[0], settings, utcnow() + timedelta(hours=30)) == "placed"
    assert take(restored, second, settings) == "placed"  # arriving after all
    assert take(restored, replays[1], settings) == "duplicate"  # the restored hub took it once
    publish_events(restored, db, settings)
    assert {o["code"]: o["status"] for o in db.query("SELECT * FROM orders")} == {
        "AP2": "pending", "AP3": "pending"}
    hub_orders = list(restored.query("SELECT city_order_id, quantity_milli FROM orders ORDER BY id"))
    assert [o["quantity_milli"] for o in hub_orders] == [5_000, 7_000]
    assert restored.execute("SELECT quantity_milli FROM listings").fetchone()[0] == 38_000
    # The replays happen once per new epoch.
    publish_events(restored, db, settings)
    assert requests(db) == []


def test_pruned_applied_events_delivered_again_do_not_apply_again(client, db, hub, settings):
    key = _received_hub_order(client, db, hub, settings)
    client.post("/api/v1/orders/AP2/payments", json={"amount": 60_000, "reference": "TRF-1"},
                headers=auth(key))
    take(hub, requests(db)[0], settings)
    federation.advance_epoch(hub, NOW)
    federation.write_snapshot(hub, NOW)  # a snapshot marker too
    old = federation.unpublished(hub, 1000)  # not yet published: the pending ones
    publish_events(hub, db, settings)
    every = [federation.message_of("A", row) for row in hub.query("SELECT * FROM federation_events")]
    requests(db)  # the replays the new epoch caused
    before = federation.applied_counts(db)
    city_state = _city_state(db)

    assert federation.prune_applied(db, utcnow() + timedelta(days=6), 7) == 0
    pruned = federation.prune_applied(db, utcnow() + timedelta(days=8), 7)
    assert pruned == len(every) and db.execute("SELECT COUNT(*) FROM federation_applied").fetchone()[0] == 0
    assert federation.applied_counts(db) == before  # the report's totals stay
    outcomes = [apply_hub_event(db, settings, message, from_hub="A", now=utcnow())[0] for message in every]
    assert set(outcomes) == {"stale"} and len(old) > 0
    assert _city_state(db) == city_state
    assert requests(db) == []  # no second replay: the epoch was already known
    counts = federation.applied_counts(db)["A"]
    assert (counts["applied"], counts["stale"]) == (before["A"]["applied"], before["A"]["stale"] + len(every))


def _city_state(db) -> tuple:
    return (list(db.query("SELECT code, status, quantity_milli, origin_epoch, origin_seq FROM listings")),
            list(db.query("SELECT code, status, origin_epoch, origin_seq FROM orders")),
            list(db.query("SELECT status, amount_due FROM federation_payments")),
            db.execute("SELECT COUNT(*) FROM webhook_deliveries").fetchone()[0])


def test_m028_payments_table_keeps_money_whole(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO federation_payments (order_id, reference, amount, created_at) "
                   "VALUES (1, 'x', 1.5, 'now')")


def test_jembatan_payment_record_at_a_city_sends_a_hub_orders_payment_down(
        client, app, db, hub, settings, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    _received_hub_order(client, db, hub, settings)
    for name, value in CITY.items():  # the CLI reads the deployment's own settings
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["payment", "record", "AP2", "60rb", "--ref", "BCA-1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent to hub A: Rp60.000 for order AP2 (ref BCA-1)")
    again = CliRunner().invoke(main, ["payment", "record", "ap2", "60000", "--ref", "BCA-1"])
    assert again.output.startswith("already forwarded")
    more = CliRunner().invoke(main, ["payment", "record", "AP2", "1", "--ref", "BCA-2"])
    assert more.exit_code != 0 and "still owed" in more.output
    [request] = requests(db)
    assert take(hub, request, settings) == "applied" and _buyer_payments(hub) == 1
    assert _buyer_payments(db) == 0


def test_the_citys_desk_lists_orders_waiting_on_a_hub_and_says_a_payment_went_down(
        client, db, hub, settings):
    from tests.desk.conftest import ADMIN, post, sign_in

    key = _received_hub_order(client, db, hub, settings)
    client.post("/api/v1/orders", json={"listing": "AC2", "quantity": "3"}, headers=auth(key))
    assert orders.find_order(db, "AP3")["status"] == "requested"
    desk = sign_in(client, db, ADMIN, "admin")
    # Open orders by default include those the hub has not answered yet (DECISIONS 396).
    assert "AP3" in desk.get("/dashboard/pesanan").get_data(as_text=True)
    post(desk, "/dashboard/pembayaran", {"order": "AP2", "amount": "60000", "reference": "BRI-9"},
         "/dashboard/penarikan")
    page = desk.get("/dashboard/penarikan").get_data(as_text=True)
    assert "Pembayaran Rp60.000 untuk AP2 diteruskan ke desa" in page and "AP2 dicatat" not in page
    [payment] = db.query("SELECT * FROM federation_payments")
    assert payment["status"] == "forwarded"
