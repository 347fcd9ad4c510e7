"""Webhook relays to a buyer's own system, against a local server playing it: signatures
verify with README's recipe; a server down for the first attempts gets every event later,
exactly once and in order; Redis down loses nothing; retries go on with backoff for at
least 24 hours and then show as failed; and no request path ever calls the network."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import redis as redis_lib
from click.testing import CliRunner
from rq import Queue

from bot.cli import main
from bot.pipeline.relays import deliver_webhook
from bot.pipeline.sweep import sweep
from bot.services import buyers, orders, webhooks
from bot.storage import from_db_time, transaction, utcnow
from bot.web.app import create_app
from tests.conftest import gateway_post, run_worker, sms_received, twilio_post
from tests.orders import FakeBuyerSystem, api_buyer, seller_listing, verify_relay

SITI = "+6281234567890"
TINI = "+6281311112222"


@pytest.fixture
def app(settings, monkeypatch):
    """The app with relay retries due at once (the backoff itself is tested on a clock)."""
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "0")
    return create_app(dict(settings, WEBHOOK_RETRY_BASE_SECONDS=0))


@pytest.fixture
def system(httpserver):
    buyer_system = FakeBuyerSystem()
    buyer_system.url = buyer_system.install(httpserver)
    return buyer_system


def make_shop(db, system) -> str:
    """Siti's chili (C2) and a buyer whose news goes to `system`; returns the API key."""
    now = utcnow()
    seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12000, now)
    return api_buyer(db, now, webhook_url=system.url)[1]


def secret(db) -> str:
    return db.execute("SELECT webhook_secret FROM buyers").fetchone()[0]


def walk_the_order(client, key: str) -> None:
    """Order by API, accept and ship by SMS, confirm receipt by API: four relays."""
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post("/api/v1/orders", json={"listing": "C2", "quantity": "20"},
                       headers=headers).status_code == 201
    for n, text in enumerate(("YA P2", "KIRIM P2")):
        assert gateway_post(client, sms_received(f"siti-{n}", SITI, text)).status_code == 200
    assert client.post("/api/v1/orders/P2/received", headers=headers).status_code == 200


def test_server_down_first_then_every_event_once_in_order_and_signed(
    app, client, db, system, fake_gateway, redis_url
):
    key = make_shop(db, system)
    system.script = [503, 503, 500]  # the buyer's server is down for the first three attempts
    walk_the_order(client, key)
    assert system.received == []  # nothing was posted from the requests themselves

    run_worker(redis_url)
    events = system.delivered()
    assert [(e["type"], e["sequence"], e["order"]["status"]) for e in events] == [
        ("order.created", 1, "pending"), ("order.accepted", 2, "accepted"),
        ("order.shipped", 3, "shipped"), ("order.received", 4, "received")]
    assert all(e["order"]["code"] == "P2" for e in events)
    # The three failures were the first event; nothing later went out before it succeeded.
    attempts = [r.event["sequence"] for r in system.received]
    assert attempts == [1, 1, 1, 1, 2, 3, 4]
    assert [r.status for r in system.received] == [503, 503, 500, 200, 200, 200, 200]
    # Exactly once per event, and the same event id on every attempt (header = body).
    assert len({e["id"] for e in events}) == 4
    for request in system.received:
        assert request.headers["X-Jembatan-Event-Id"] == request.event["id"]
        assert request.headers["X-Jembatan-Event-Type"] == request.event["type"]
        assert request.headers["Content-Type"] == "application/json"
    assert {r.event["id"] for r in system.received[:4]} == {events[0]["id"]}

    # The documented verification recipe accepts every request, and refuses tampering.
    for request in system.received:
        assert verify_relay(secret(db), request.headers, request.body)
    first = system.received[-1]
    assert not verify_relay(secret(db), first.headers, first.body.replace(b"240000", b"1"))
    assert not verify_relay("whsec_wrong", first.headers, first.body)

    rows = list(db.query("SELECT status, attempts, delivered_at FROM webhook_deliveries ORDER BY id"))
    assert [(r["status"], r["attempts"]) for r in rows] == [("delivered", 4), ("delivered", 1),
                                                            ("delivered", 1), ("delivered", 1)]
    # A sweep and duplicate jobs later: nothing is sent again.
    connection = redis_lib.Redis.from_url(redis_url)
    sweep(db, app.config, connection, now=utcnow() + timedelta(hours=1))
    for (delivery_id,) in db.execute("SELECT id FROM webhook_deliveries").fetchall():
        Queue("default", connection=connection).enqueue("bot.jobs.deliver_webhook_job", delivery_id)
    run_worker(redis_url)
    assert len(system.received) == 7


def test_redis_down_relays_wait_in_sqlite_then_go_out_in_order(
    app_on_own_redis, own_redis, db, system, fake_gateway
):
    client = app_on_own_redis.test_client()
    key = make_shop(db, system)
    own_redis.stop()
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post("/api/v1/orders", json={"listing": "C2", "quantity": "5"},
                       headers=headers).status_code == 201
    assert gateway_post(client, sms_received("siti-1", SITI, "YA P2")).status_code == 200
    assert [r["status"] for r in db.query("SELECT status FROM webhook_deliveries")] == ["pending", "pending"]

    own_redis.start()  # empty: whatever was queued is gone
    connection = redis_lib.Redis.from_url(own_redis.url)
    report = sweep(db, app_on_own_redis.config, connection, now=utcnow() + webhooks.ENQUEUE_GRACE * 2)
    assert report.relays_enqueued == 1  # the first in line; the next follows it
    run_worker(own_redis.url)
    assert [e["type"] for e in system.delivered()] == ["order.created", "order.accepted"]
    assert len(system.received) == 2


def test_backoff_for_at_least_a_day_then_failed_listed_and_retried(app, db, system, settings):
    config = dict(app.config, WEBHOOK_RETRY_BASE_SECONDS=30)
    start = utcnow()
    first, second = _two_events(db, system, config, start)
    system.script = [500] * 200

    moment, delays, outcome = start, [], None
    while True:
        outcome = deliver_webhook(db, config, first, now=moment)
        if outcome.status != "retry":
            break
        # The next event of the order waits while the first is still being retried.
        assert deliver_webhook(db, config, second, now=moment).status == "skipped"
        delays.append((outcome.retry_at - moment).total_seconds())
        moment = outcome.retry_at
    assert outcome.status == "failed" and outcome.next_delivery_id == second
    assert delays[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert set(delays[7:]) == {3600}
    assert moment - start >= timedelta(hours=24)  # tried for at least a day
    assert moment - start < timedelta(hours=25)
    row = webhooks.get_delivery(db, first)
    assert row["status"] == "failed" and row["last_status_code"] == 500
    assert row["attempts"] == len(system.received) == len(delays) + 1
    assert from_db_time(row["give_up_after"]) - start == timedelta(hours=24)

    runner = CliRunner()
    listed = runner.invoke(main, ["webhook", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"{first}\tP2#1\torder.created\tfailed\t{row['attempts']} tries" in listed.output
    assert "order.cancelled" not in listed.output  # pending, not failed

    system.script = []  # the buyer fixed their server
    retried = runner.invoke(main, ["webhook", "retry", str(first)])
    assert retried.exit_code == 0, retried.output
    assert deliver_webhook(db, config, second).status == "skipped"  # still behind the first
    assert deliver_webhook(db, config, first).status == "delivered"
    assert deliver_webhook(db, config, second).status == "delivered"
    assert [e["type"] for e in system.delivered()] == ["order.created", "order.cancelled"]
    assert runner.invoke(main, ["webhook", "retry", str(first)]).exit_code != 0  # not failed


def test_request_paths_never_call_the_network(client, db, httpserver, system, redis_url, fake_gateway,
                                              fake_twilio):
    """Inbound webhooks and API calls only write rows and enqueue: no provider and no buyer
    system is called until a worker runs."""
    key = make_shop(db, system)
    with transaction(db):  # a text buyer on WhatsApp too, so relays go both ways
        buyers.create_buyer(db, name="Warung Bu Tini", city="Bandung", channel="whatsapp", now=utcnow(),
                            phone=TINI)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post("/api/v1/orders", json={"listing": "C2", "quantity": "5"},
                       headers=headers).status_code == 201
    answer = twilio_post(client, "/twilio/messages", {"MessageSid": "SM" + "a" * 32,
                                                      "From": f"whatsapp:{TINI}", "To": "whatsapp:+1415",
                                                      "Body": "PESAN C2 3"})
    assert "Pesanan P3" in answer.get_data(as_text=True)
    for n, text in enumerate(("YA P2", "YA P3", "KIRIM P3")):
        assert gateway_post(client, sms_received(f"siti-{n}", SITI, text)).status_code == 200
    assert client.post("/api/v1/orders/P2/cancel", headers=headers).status_code == 409
    assert httpserver.log == []  # not one outgoing request so far
    waiting = list(db.query("SELECT channel, status FROM outbox WHERE kind = 'notification'"))
    assert {row["status"] for row in waiting} == {"pending"}
    assert {row["channel"] for row in waiting} == {"android_sms", "twilio_whatsapp"}

    run_worker(redis_url)
    assert [e["type"] for e in system.delivered()] == ["order.created", "order.accepted"]
    to_tini = [m["Body"] for m in fake_twilio.sent if m["To"] == f"whatsapp:{TINI}"]
    assert to_tini == [
        "Kabar baik: pesanan P3 (3 kg cabai) disetujui Siti Aminah, Sukamaju. Kami kabari lagi saat barang "
        "dikirim.",
        "Pesanan P3 (3 kg cabai) sudah dikirim oleh Siti Aminah. Setelah barang sampai, balas TERIMA P3"]
    assert json.loads(system.received[0].body)["order"]["buyer"] == {"name": "Resto Sunda", "city": "Jakarta"}


def test_expiry_is_relayed_to_a_webhook_buyer_and_told_to_the_seller(app, db, system):
    make_shop(db, system)
    (buyer,) = db.query("SELECT * FROM buyers")
    start = utcnow()
    with transaction(db):
        orders.place_order(db, buyer=buyer, listing_code="C2", quantity=Decimal(5), unit=None, now=start,
                           settings=app.config, source="api")
    later = start + timedelta(minutes=app.config["ORDER_EXPIRY_MINUTES"])
    report = sweep(db, app.config, None, now=later)  # the periodic job's path, Redis or not
    assert (report.orders_reminded, report.orders_expired) == (0, 1)
    for (delivery_id,) in db.execute("SELECT id FROM webhook_deliveries ORDER BY id").fetchall():
        assert deliver_webhook(db, app.config, delivery_id, now=later).status == "delivered"
    assert [(e["type"], e["order"]["status"]) for e in system.delivered()] == [
        ("order.created", "pending"), ("order.expired", "expired")]
    assert [row["body"] for row in db.query("SELECT body FROM outbox WHERE phone = ?", [SITI])][-1] == (
        "Pesanan P2 (5 kg cabai) batal karena tidak dijawab. Stok kembali ke jualan C2.")


def _two_events(db, system, config, start):
    """An order created then cancelled at `start`: two relays, in order (ids)."""
    make_shop(db, system)
    (buyer,) = db.query("SELECT * FROM buyers")
    with transaction(db):
        change = orders.place_order(db, buyer=buyer, listing_code="C2", quantity=Decimal(5),
                                    unit=None, now=start, settings=config, source="api")
    with transaction(db):
        second = orders.apply_order_event(db, change.order["id"], "cancel", start, settings=config,
                                          source="api").webhook_ids[0]
    return change.webhook_ids[0], second


def test_a_relay_that_waited_behind_another_still_gets_a_full_day(app, db, system, settings):
    config = dict(app.config, WEBHOOK_RETRY_BASE_SECONDS=30)
    start = utcnow()
    first, second = _two_events(db, system, config, start)
    system.script = [500] * 400
    moment, outcome = start, None
    while (outcome := deliver_webhook(db, config, first, now=moment)).status == "retry":
        moment = outcome.retry_at
    assert outcome.status == "failed"
    waited_until = moment
    while (outcome := deliver_webhook(db, config, second, now=moment)).status == "retry":
        moment = outcome.retry_at
    assert outcome.status == "failed"
    assert moment - waited_until >= timedelta(hours=24)  # its own day, from its first try


def test_a_late_answer_from_an_expired_claim_changes_nothing(app, db, system, settings):
    config = dict(app.config)
    first, _ = _two_events(db, system, config, utcnow())
    stale = webhooks.claim(db, first, utcnow())  # worker A, whose lease then runs out
    webhooks.release_expired_leases(db, utcnow() + webhooks.LEASE + timedelta(seconds=1))
    fresh = webhooks.claim(db, first, utcnow())  # worker B takes it over
    webhooks.record_delivered(db, fresh, 200, utcnow())
    assert webhooks.record_failure(db, stale, None, "network: ReadTimeoutError", utcnow(),
                                   base_delay_seconds=0) is None
    assert webhooks.get_delivery(db, first)["status"] == "delivered"


def test_backoff_never_overflows_on_a_long_retry_window(app, db, system, settings):
    config = dict(app.config)
    first, _ = _two_events(db, system, config, utcnow())
    claimed = webhooks.claim(db, first, utcnow(), retry_hours=24 * 365)
    db.execute("UPDATE webhook_deliveries SET attempts = 500 WHERE id = ?", [first])
    claimed = dict(claimed, attempts=500)
    due = webhooks.record_failure(db, claimed, 500, "http_500", utcnow(), base_delay_seconds=30)
    assert due - utcnow() <= timedelta(hours=1, seconds=1)
