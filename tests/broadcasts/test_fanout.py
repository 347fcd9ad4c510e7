"""Fan-out on a real Redis against a local gateway: 10,000 recipients exactly once, planning
run twice changes nothing, pacing holds its rate at the provider, replies overtake."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import redis as redis_lib
from rq import Queue

from bot.services.broadcasts import broadcast_report, create_broadcast
from bot.storage import to_db_time, transaction, utcnow
from tests.conftest import gateway_post, run_worker, sms_received
from tests.test_resilience import kill_process_tree


def add_sellers(db, count: int, village: str = "Sukamaju", opted_out_every: int = 0) -> list[str]:
    """Registered sellers reachable through the gateway (test set-up, straight into SQLite)."""
    stamp = to_db_time(utcnow())
    phones = [f"+6281{n:09d}" for n in range(count)]
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO contacts (phone, role, name, village, sms_channel, opted_out, created_at) "
            "VALUES (?, 'seller', 'Penjual', ?, 'android_sms', ?, ?)",
            [(phone, village, int(bool(opted_out_every) and n % opted_out_every == 0), stamp)
             for n, phone in enumerate(phones)],
        )
    return phones


@pytest.fixture
def broadcast_env(settings, monkeypatch):
    monkeypatch.setenv("QUIET_HOURS", "off")
    monkeypatch.setenv("BROADCAST_RATE_ANDROID_SMS", "0")
    return settings


def test_ten_thousand_recipients_each_get_exactly_one(app, db, broadcast_env, redis_url, fake_gateway):
    phones = add_sellers(db, 10_100, opted_out_every=101)  # 100 opted out
    broadcast_id = create_broadcast(db, group="sukamaju", text="Panen raya hari Sabtu",
                                    created_by="cli", now=utcnow())
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue("broadcasts", connection=connection)
    queue.enqueue("bot.jobs.plan_broadcast_job", broadcast_id)
    queue.enqueue("bot.jobs.plan_broadcast_job", broadcast_id)  # a duplicated job
    run_worker(redis_url)

    delivered = [m["phoneNumbers"][0] for m in fake_gateway.accepted.values()]
    eligible = {p for n, p in enumerate(phones) if n % 101}
    assert len(delivered) == len(eligible) == 10_000
    assert set(delivered) == eligible
    assert len(fake_gateway.requests) == 10_000
    report = broadcast_report(db, broadcast_id)
    assert (report["sent"], report["skipped"], report["queued"], report["failed"]) == (10_000, 100, 0, 0)

    # Planning once more, and sweeping, change nothing.
    queue.enqueue("bot.jobs.plan_broadcast_job", broadcast_id)
    Queue("default", connection=connection).enqueue("bot.jobs.sweep_job")
    run_worker(redis_url)
    assert len(fake_gateway.requests) == 10_000
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 10_000


def test_pacing_holds_the_rate_and_a_reply_overtakes_the_broadcast(
    app, db, settings, redis_url, fake_gateway, monkeypatch
):
    rate, count = 40, 160
    monkeypatch.setenv("QUIET_HOURS", "off")
    monkeypatch.setenv("BROADCAST_RATE_ANDROID_SMS", str(rate))
    monkeypatch.setenv("BROADCAST_BATCH_SIZE", "50")
    add_sellers(db, count)
    broadcast_id = create_broadcast(db, group="sukamaju", text="Info harga pupuk", created_by="cli",
                                    now=utcnow())
    connection = redis_lib.Redis.from_url(redis_url)
    worker = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "rq"), "worker", "--url", redis_url,
         "--worker-class", "bot.worker.Worker", "replies", "default", "broadcasts"],
        env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        Queue("broadcasts", connection=connection).enqueue("bot.jobs.plan_broadcast_job", broadcast_id)
        deadline = time.monotonic() + 30
        while len(fake_gateway.requests) < count // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        # A farmer writes in the middle of the broadcast.
        client = app.test_client()
        gateway_post(client, sms_received("mid-1", "+6285700000001", "BANTUAN"))
        while len(fake_gateway.requests) < count + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        kill_process_tree(worker.pid)
        worker.wait()

    assert len(fake_gateway.requests) == count + 1
    order = [r["json"]["phoneNumbers"][0] for r in fake_gateway.requests]
    reply_position = order.index("+6285700000001")
    assert reply_position < count * 0.75, f"the reply waited until position {reply_position}"
    times = [r["at"] for r in fake_gateway.requests if r["json"]["phoneNumbers"][0] != "+6285700000001"]
    measured = (len(times) - 1) / (times[-1] - times[0])
    assert rate * 0.9 <= measured <= rate * 1.1, f"measured {measured:.1f}/s for {rate}/s"
    assert broadcast_report(db, broadcast_id)["sent"] == count
