"""Fan-out on a real Redis, a real `rq worker` process and a local gateway: 500 unpaced
recipients get the broadcast exactly once, a farmer's reply queued mid-broadcast overtakes
it, and planning again or sweeping changes nothing.

Nothing here depends on how fast the machine is: the gateway itself holds the broadcast
in the middle (one request waits on an event) while the farmer writes, and the overtaking
follows from the batch looking at the replies queue and from queue priority. The pacer's
rate is specified in tests/test_pacing.py with an injected clock; throughput is measured
in bench/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import redis as redis_lib
from rq import Queue

from bot.jobs import REPLY_CHECK_INTERVAL
from bot.services.broadcasts import broadcast_report, create_broadcast
from bot.storage import to_db_time, transaction, utcnow
from tests.conftest import gateway_post, run_worker, sms_received
from tests.test_resilience import kill_process_tree
from tests.waiting import wait_until

FARMER = "+6285700000001"
BATCH_SIZE = 100
HELD_AT = 50  # the gateway holds the broadcast's 50th request until the farmer has written


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


def recipients(gateway) -> list[str]:
    """Who the gateway was asked to text, in the order it was asked."""
    return [request["json"]["phoneNumbers"][0] for request in gateway.requests]


def test_five_hundred_recipients_exactly_once_and_a_reply_overtakes_the_broadcast(
    app, db, settings, redis_url, fake_gateway, monkeypatch
):
    monkeypatch.setenv("QUIET_HOURS", "off")
    monkeypatch.setenv("BROADCAST_RATE_ANDROID_SMS", "0")  # unpaced: the pacer is tested apart
    monkeypatch.setenv("BROADCAST_BATCH_SIZE", str(BATCH_SIZE))
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "60")  # the held request must not time out
    phones = add_sellers(db, 505, opted_out_every=101)
    eligible = {p for n, p in enumerate(phones) if n % 101}
    assert len(eligible) == 500
    broadcast_id = create_broadcast(db, group="sukamaju", text="Panen raya hari Sabtu",
                                    created_by="cli", now=utcnow())
    held = threading.Event()
    fake_gateway.script = [None] * (HELD_AT - 1) + [held]
    connection = redis_lib.Redis.from_url(redis_url)
    queue = Queue("broadcasts", connection=connection)
    worker = start_worker(redis_url)
    try:
        queue.enqueue("bot.jobs.plan_broadcast_job", broadcast_id)
        queue.enqueue("bot.jobs.plan_broadcast_job", broadcast_id)  # a duplicated job
        wait_until(lambda: len(fake_gateway.requests) >= HELD_AT, timeout=120,
                   what=f"the broadcast's request {HELD_AT} to reach the gateway")
        # The worker is in the middle of a broadcast batch; the farmer writes now.
        gateway_post(app.test_client(), sms_received("mid-1", FARMER, "BANTUAN"))
        assert Queue("replies", connection=connection).count == 1, "the reply was not queued"
        # A batch looks at the replies queue at most every REPLY_CHECK_INTERVAL; holding the
        # request at least that long means it looks at its very next message.
        time.sleep(REPLY_CHECK_INTERVAL)
        held.set()
        wait_until(lambda: broadcast_report(db, broadcast_id)["sent"] == len(eligible), timeout=300,
                   what="every broadcast row to be recorded as sent")
        wait_until(lambda: db.execute("SELECT status FROM outbox WHERE phone = ? AND kind = 'reply'",
                                      [FARMER]).fetchone()[0] == "sent",
                   timeout=60, what="the farmer's reply to be recorded as sent")
    finally:
        held.set()
        kill_process_tree(worker.pid)
        worker.wait()

    order = recipients(fake_gateway)
    assert order.count(FARMER) == 1
    reply_at = order.index(FARMER)
    broadcast = order[:reply_at] + order[reply_at + 1:]
    assert sorted(broadcast) == sorted(eligible)  # each of them exactly once, nobody else
    assert len(fake_gateway.accepted) == len(eligible) + 1
    # The running batch gave way at its next message and the worker took the reply first.
    assert reply_at == HELD_AT, f"the reply went out as request {reply_at} of {len(order)}"
    report = broadcast_report(db, broadcast_id)
    assert (report["sent"], report["skipped"], report["queued"], report["failed"]) == (500, 5, 0, 0)

    # Planning once more, and sweeping, change nothing.
    queue.enqueue("bot.jobs.plan_broadcast_job", broadcast_id)
    Queue("default", connection=connection).enqueue("bot.jobs.sweep_job")
    run_worker(redis_url)
    assert recipients(fake_gateway) == order
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE lane = 'broadcast'").fetchone()[0] == 500
    assert broadcast_report(db, broadcast_id) == report
