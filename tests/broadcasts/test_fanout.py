"""Fan-out on a real Redis, a real worker and a local gateway: 10,000 recipients exactly
once, planning run twice changes nothing, pacing holds its rate at the provider, and a
reply overtakes the broadcast."""

from __future__ import annotations

import os
import subprocess
import sys
import time

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


def start_worker(redis_url: str) -> subprocess.Popen:
    """A real `rq worker` process with our worker class, as the Procfile runs it."""
    return subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "rq"), "worker", "--url", redis_url,
         "--worker-class", "bot.worker.Worker", "replies", "default", "broadcasts"],
        env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_ten_thousand_recipients_exactly_once_at_the_configured_pace_and_replies_first(
    app, db, settings, redis_url, fake_gateway, monkeypatch
):
    """The issue's fan-out test in one run: 10,000 eligible sellers (and 100 who said
    BERHENTI), the planning job queued twice, a real worker paced at 250 segments/s, a
    farmer's message in the middle of it; then planning again and a sweep."""
    rate, farmer = 250, "+6285700000001"
    monkeypatch.setenv("QUIET_HOURS", "off")
    monkeypatch.setenv("BROADCAST_RATE_ANDROID_SMS", str(rate))
    phones = add_sellers(db, 10_100, opted_out_every=101)
    eligible = {p for n, p in enumerate(phones) if n % 101}
    broadcast_id = create_broadcast(db, group="sukamaju", text="Panen raya hari Sabtu",
                                    created_by="cli", now=utcnow())
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue("broadcasts", connection=connection)
    worker = start_worker(redis_url)
    try:
        queue.enqueue("bot.jobs.plan_broadcast_job", broadcast_id)
        queue.enqueue("bot.jobs.plan_broadcast_job", broadcast_id)  # a duplicated job
        wait_for(lambda: len(fake_gateway.requests) >= 2_500, 60)
        gateway_post(app.test_client(), sms_received("mid-1", farmer, "BANTUAN"))
        wait_for(lambda: len(fake_gateway.requests) >= len(eligible) + 1, 120)
    finally:
        kill_process_tree(worker.pid)
        worker.wait()

    order = [r["json"]["phoneNumbers"][0] for r in fake_gateway.requests]
    broadcast = [r for r in fake_gateway.requests if r["json"]["phoneNumbers"][0] != farmer]
    assert sorted(order[:order.index(farmer)] + order[order.index(farmer) + 1:]) == sorted(eligible)
    assert len(fake_gateway.accepted) == len(eligible) + 1  # each of them exactly once
    assert order.index(farmer) < len(eligible) - 1000, "the reply waited for the broadcast"
    measured = (len(broadcast) - 1) / (broadcast[-1]["at"] - broadcast[0]["at"])
    assert rate * 0.9 <= measured <= rate * 1.1, f"measured {measured:.1f}/s for {rate}/s"
    report = broadcast_report(db, broadcast_id)
    assert (report["sent"], report["skipped"], report["queued"], report["failed"]) == (10_000, 100, 0, 0)

    # Planning once more, and sweeping, change nothing.
    queue.enqueue("bot.jobs.plan_broadcast_job", broadcast_id)
    Queue("default", connection=connection).enqueue("bot.jobs.sweep_job")
    run_worker(redis_url)
    assert len(fake_gateway.requests) == len(eligible) + 1
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE lane = 'broadcast'").fetchone()[0] == 10_000
