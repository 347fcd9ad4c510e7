"""Nothing lost, nothing twice: Redis stopped for real, a worker killed mid-delivery,
processing that crashes. Each test asserts the end state at the provider and in SQLite."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import redis as redis_lib
from rq import Queue

from bot.channels import send_outbox_row
from bot.liveness import is_dead
from bot.pipeline.sweep import sweep
from bot.services import contacts, outbox
from bot.services.outbox import LEASE
from bot.storage import from_db_time, to_db_time, utcnow
from tests.conftest import gateway_post, run_worker, sms_received, twilio_post
from tests.waiting import wait_until

PHONES = ["+6281234567890", "+6285711112222", "+6281399998888"]


def kill_process_tree(pid: int) -> None:
    """SIGKILL a process and its children (RQ runs each job in a forked work horse that
    starts its own session, so killing the process group is not enough)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                children.append(int(entry))
    for child in children:
        kill_process_tree(child)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def backdate_inbound(db, seconds: int) -> None:
    """Let time pass for stored messages (the sweep only takes ones older than its grace)."""
    for row in list(db.query("SELECT id, received_at FROM inbound")):
        earlier = from_db_time(row["received_at"]) - timedelta(seconds=seconds)
        db.execute("UPDATE inbound SET received_at = ? WHERE id = ?", [to_db_time(earlier), row["id"]])


def outbox_rows(db):
    return list(db.query("SELECT * FROM outbox ORDER BY id"))


def test_redis_down_inbound_still_answered_then_sweep_delivers_once(
    app_on_own_redis, own_redis, db, fake_gateway
):
    client = app_on_own_redis.test_client()
    own_redis.stop()

    for n, phone in enumerate(PHONES):
        response = gateway_post(client, sms_received(f"down-{n}", phone, "DAFTAR Siti, Sukamaju"))
        assert response.status_code == 200 and response.get_json()["status"] == "stored"
    # WhatsApp through Twilio is answered inline even with Redis gone.
    answer = twilio_post(client, "/twilio/messages", {
        "MessageSid": "SM" + "c" * 32, "From": "whatsapp:+6281122223333", "To": "whatsapp:+1415",
        "Body": "BANTUAN"})
    assert answer.status_code == 200 and "<Message>Perintah:" in answer.get_data(as_text=True)

    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["redis"].startswith("error") and health.get_json()["status"] == "degraded"
    waiting = [r for r in outbox_rows(db) if r["channel"] == "android_sms"]
    assert len(waiting) == 3
    assert {(r["status"], r["enqueued_at"]) for r in waiting} == {("pending", None)}
    assert fake_gateway.requests == []

    own_redis.start()  # empty: the restart lost everything
    connection = redis_lib.Redis.from_url(own_redis.url)
    Queue("default", connection=connection).enqueue("bot.jobs.sweep_job")
    run_worker(own_redis.url)
    recipients = [phone for m in fake_gateway.accepted.values() for phone in m["phoneNumbers"]]
    assert sorted(recipients) == sorted(PHONES)

    # Another sweep (and a duplicate job) change nothing.
    Queue("default", connection=connection).enqueue("bot.jobs.sweep_job")
    for row in outbox_rows(db):
        Queue("replies", connection=connection).enqueue("bot.jobs.deliver_outbox_job", row["id"])
    run_worker(own_redis.url)
    assert len(fake_gateway.requests) == 3
    assert {r["status"] for r in outbox_rows(db)} == {"sent"}
    # The sweep also put the next sweep on the schedule.
    assert connection.zcard("rq:scheduled:default") >= 1


def test_killed_worker_mid_delivery_is_delivered_after_the_sweep_not_twice(
    app_on_own_redis, own_redis, db, fake_gateway, settings, monkeypatch
):
    answering = threading.Event()
    fake_gateway.script = [answering]  # the phone holds the first request until we let it go
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "60")  # the worker must not give up first
    env = dict(os.environ)
    worker = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "rq"), "worker", "--url", own_redis.url,
         "--worker-class", "bot.worker.Worker", "replies", "default", "broadcasts"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        client = app_on_own_redis.test_client()
        gateway_post(client, sms_received("kill-1", PHONES[0], "DAFTAR Siti, Sukamaju"))
        wait_until(lambda: fake_gateway.requests, timeout=60,
                   what="the worker's first request at the gateway")
        kill_process_tree(worker.pid)  # mid-request, before the answer
        worker.wait()
    finally:
        if worker.poll() is None:
            kill_process_tree(worker.pid)
        answering.set()  # the phone finishes accepting the SMS the dead worker asked for
    (row,) = outbox_rows(db)
    assert row["status"] == "sending"
    wait_until(lambda: fake_gateway.accepted, timeout=30,
               what="the phone to accept the SMS the dead worker asked for")

    # The process that claimed the row is gone: the sweep need not wait out the lease. (A
    # SIGKILLed process takes a moment to leave the process table on a loaded machine:
    # the premise is waited for, not assumed.)
    wait_until(lambda: is_dead(row["claimed_by"]), timeout=30,
               what="the killed work horse to leave the process table")
    connection = redis_lib.Redis.from_url(own_redis.url)
    report = sweep(db, app_on_own_redis.config, connection)
    assert report.released == 1 and report.enqueued == 1
    run_worker(own_redis.url)

    (row,) = outbox_rows(db)
    assert row["status"] == "sent"
    assert len(fake_gateway.requests) == 2  # the resend carried the same id ...
    assert len(fake_gateway.accepted) == 1  # ... so the phone sent one SMS


def test_processing_crash_leaves_the_message_for_the_sweep(client, db, app, redis_url, fake_gateway):
    # A real storage failure, injected in SQLite itself: the outbox refuses rows for a while.
    db.execute("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox "
               "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    response = gateway_post(client, sms_received("crash-1", PHONES[0], "DAFTAR Siti, Sukamaju"))
    assert response.status_code == 200
    (inbound,) = db.query("SELECT * FROM inbound")
    assert (inbound["status"], inbound["attempts"]) == ("new", 1)
    assert db.execute("SELECT COUNT(*) FROM contacts WHERE role = 'seller'").fetchone()[0] == 0

    db.execute("DROP TRIGGER outbox_down")
    connection = redis_lib.Redis.from_url(redis_url)
    assert sweep(db, app.config, connection).reprocessed == 0  # the webhook may still be on it
    backdate_inbound(db, seconds=31)
    report = sweep(db, app.config, connection)
    assert report.reprocessed == 1
    run_worker(redis_url)
    assert fake_gateway.texts_to(PHONES[0]) == [
        "Terima kasih, Siti dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL produk "
        "jumlah harga. Contoh: JUAL cabai 50kg 12rb"]


def test_message_that_keeps_crashing_gets_one_apology(client, db, app, redis_url, fake_gateway):
    db.execute("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox WHEN NEW.reply_id != "
               "'error.internal' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    gateway_post(client, sms_received("crash-2", PHONES[1], "DAFTAR Siti, Sukamaju"))
    connection = redis_lib.Redis.from_url(redis_url)
    backdate_inbound(db, seconds=31)
    sweep(db, app.config, connection)
    sweep(db, app.config, connection)
    run_worker(redis_url)
    (inbound,) = db.query("SELECT * FROM inbound")
    assert (inbound["status"], inbound["attempts"]) == ("failed", 3)
    assert fake_gateway.texts_to(PHONES[1]) == [
        "Maaf, ada gangguan saat memproses pesan Bapak/Ibu. Mohon kirim ulang beberapa saat lagi."]
    sweep(db, app.config, connection)
    run_worker(redis_url)
    assert len(fake_gateway.requests) == 1


def _crashed_after_twilio_accepted(db, settings, fake_twilio, body):
    """A row Twilio accepted, whose worker died before recording the SID: it is left
    `sending` with an expired lease and no provider id (the state a SIGKILL leaves)."""
    now = utcnow()
    contact = contacts.get_or_create_contact(db, PHONES[0], now)
    outbox_id = outbox.queue_message(db, phone=PHONES[0], channel="twilio_sms", body=body,
                                     kind="notification", now=now, contact_id=contact["id"])
    outbox.claim_for_delivery(db, outbox_id, now)
    return outbox_id


def test_twilio_row_whose_worker_died_after_sending_is_not_sent_twice(db, settings, fake_twilio,
                                                                       redis_url):
    outbox_id = _crashed_after_twilio_accepted(db, settings, fake_twilio, "Pesanan P2 diterima")
    send_outbox_row(settings, outbox.get_outbox_row(db, outbox_id), None)  # Twilio got it ...
    assert len(fake_twilio.requests) == 1  # ... and the worker died before writing it down
    later = utcnow() + LEASE + timedelta(seconds=1)
    report = sweep(db, settings, redis_lib.Redis.from_url(redis_url), now=later)
    run_worker(redis_url)
    row = outbox.get_outbox_row(db, outbox_id)
    assert report.released == 0
    assert (row["status"], row["provider_id"]) == ("sent", fake_twilio.messages[0]["sid"])
    assert len(fake_twilio.requests) == 1


def test_twilio_row_whose_worker_died_before_sending_is_sent_once(db, settings, fake_twilio,
                                                                   redis_url):
    outbox_id = _crashed_after_twilio_accepted(db, settings, fake_twilio, "Pesanan P3 diterima")
    later = utcnow() + LEASE + timedelta(seconds=1)
    assert sweep(db, settings, redis_lib.Redis.from_url(redis_url), now=later).released == 1
    run_worker(redis_url)
    assert outbox.get_outbox_row(db, outbox_id)["status"] == "sent"
    assert [m["body"] for m in fake_twilio.messages] == ["Jembatan: Pesanan P3 diterima"]
