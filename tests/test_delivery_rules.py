"""Issue 10's rules, one at a time: how long a message may hold a phone's later ones, which
provider failures leave the outcome unknown, what the delivery status says, how `jembatan
up` backs off. The fault tests (tests/test_delivery_faults.py) cause the faults for real."""

from __future__ import annotations

import os
import re
import socket
import socketserver
import struct
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import redis as redis_lib

from bot.liveness import is_dead, process_identity
from bot.pipeline.delivery import deliver_outbox_message
from bot.pipeline.dispatch import dispatch
from bot.pipeline.sweep import sweep
from bot.services import outbox
from bot.services.handover import Handover
from bot.services.outbox import LEASE
from bot.storage import from_db_time, to_db_time, transaction, utcnow
from bot.supervisor import Child, Supervisor
from tests.providers import Late
from tests.waiting import wait_until

SITI = "+6281234567890"


def queue(db, body="Pesanan P12 diterima", channel="android_sms", lane="conversation", now=None):
    with transaction(db):
        return outbox.queue_message(db, phone=SITI, channel=channel, body=body, kind="notification",
                                    now=now or utcnow(), lane=lane)


def test_a_slow_message_holds_the_next_one_for_at_most_its_lease(migrated_db):
    db, start = migrated_db, utcnow()
    first, second = queue(db, "satu", now=start), queue(db, "dua", now=start)
    with transaction(db):
        claimed = outbox.claim_for_delivery(db, first, start, claimed_by=process_identity())
        assert claimed is not None  # and its worker is slow: the provider has not answered
        later = start + timedelta(seconds=5)
        assert outbox.claim_for_delivery(db, second, later) is None
        assert outbox.blocked_until(db, second, later) == from_db_time(claimed["lease_until"])
        assert outbox.claim_for_delivery(db, second, start + LEASE + timedelta(seconds=1)) is not None


def test_a_retry_waiting_for_its_turn_holds_the_line_one_lease_after_its_try(migrated_db):
    db, start = migrated_db, utcnow()
    first, second = queue(db, "satu", now=start), queue(db, "dua", now=start)
    with transaction(db):
        outbox.claim_for_delivery(db, first, start)
        outbox.record_retryable_failure(db, first, "http_500", "boom", start, max_attempts=10,
                                        base_delay_seconds=3600)
        assert outbox.claim_for_delivery(db, second, start + timedelta(seconds=30)) is None
        assert outbox.blocked_until(db, second, start + timedelta(seconds=30)) == start + LEASE
        assert outbox.claim_for_delivery(db, second, start + LEASE + timedelta(seconds=1)) is not None


def test_an_untried_earlier_message_always_goes_first(migrated_db):
    db, start = migrated_db, utcnow()
    queue(db, "satu", now=start + timedelta(hours=8))  # e.g. held back until morning
    second = queue(db, "dua", now=start)
    later = start + LEASE * 10
    with transaction(db):
        assert outbox.claim_for_delivery(db, second, later) is None
        assert outbox.blocked_until(db, second, later) is None  # only the sweep or its turn frees it


def identity_of_a_finished_process() -> str:
    code = "from bot.liveness import process_identity; print(process_identity())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_liveness_tells_a_dead_process_from_a_live_one():
    assert not is_dead(process_identity())
    identity = identity_of_a_finished_process()
    assert identity and is_dead(identity)
    assert not is_dead("another-machine/1:1:1") and not is_dead(None)


def test_a_claim_whose_process_died_is_recovered_at_the_next_sweep(migrated_db, settings):
    db = migrated_db
    outbox_id = queue(db)
    dead = identity_of_a_finished_process()
    alive = queue(db, "dari pekerja yang hidup")
    with transaction(db):
        outbox.claim_for_delivery(db, outbox_id, utcnow(), claimed_by=dead)
        db.execute("UPDATE outbox SET phone = '+6285700000000' WHERE id = ?", [alive])
        outbox.claim_for_delivery(db, alive, utcnow(), claimed_by=process_identity())
    report = sweep(db, settings, None)
    assert report.released == 1
    assert [outbox.get_outbox_row(db, i)["status"] for i in (outbox_id, alive)] == ["pending", "sending"]


def test_twilio_refusing_the_connection_is_retried_without_a_lookup(db, app, closed_port):
    config = dict(app.config, TWILIO_API_BASE_URL=f"http://127.0.0.1:{closed_port}")  # nothing listens
    outbox_id = queue(db, channel="twilio_sms")
    assert deliver_outbox_message(db, config, outbox_id).status == "retry"
    row = outbox.get_outbox_row(db, outbox_id)
    assert (row["error_code"], row["unknown_since"]) == ("network", None)


class _HangUpAfterReading(socketserver.BaseRequestHandler):
    """Reads the whole request, then resets the connection without a word (a proxy or NAT
    dropping it after the request went out)."""

    def handle(self):
        self.request.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self.request.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += self.request.recv(65536)
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_a_connection_reset_after_the_request_went_out_is_an_unknown_outcome(db, app):
    server = socketserver.TCPServer(("127.0.0.1", 0), _HangUpAfterReading)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = dict(app.config, TWILIO_API_BASE_URL=f"http://127.0.0.1:{server.server_address[1]}")
        outbox_id = queue(db, channel="twilio_sms")
        assert deliver_outbox_message(db, config, outbox_id).status == "retry"
    finally:
        server.shutdown()
        server.server_close()
    row = outbox.get_outbox_row(db, outbox_id)
    assert row["error_code"] == "unknown_outcome" and row["unknown_since"] is not None


def test_twilio_answering_too_late_is_looked_up_not_resent(db, app, fake_twilio):
    config = dict(app.config, PROVIDER_TIMEOUT_SECONDS=1)
    fake_twilio.script = [Late(1.5)]
    outbox_id = queue(db, channel="twilio_sms")
    assert deliver_outbox_message(db, config, outbox_id).status == "retry"
    row = outbox.get_outbox_row(db, outbox_id)
    assert row["error_code"] == "unknown_outcome" and row["unknown_since"] == row["claimed_at"]
    assert deliver_outbox_message(db, config, outbox_id).status == "sent"
    assert outbox.get_outbox_row(db, outbox_id)["provider_id"] == fake_twilio.messages[0]["sid"]
    assert len(fake_twilio.requests) == 1  # looked up, not sent again


def test_the_same_text_twice_is_not_taken_for_the_first_one(db, app, fake_twilio):
    config = dict(app.config)
    first = queue(db, "Pesanan diterima", channel="twilio_sms")
    assert deliver_outbox_message(db, config, first).status == "sent"
    fake_twilio.script = [504]  # Twilio had an outage and created nothing ...
    second = queue(db, "Pesanan diterima", channel="twilio_sms")
    with transaction(db):  # ... after an unanswered try of the second (it timed out earlier)
        db.execute("UPDATE outbox SET unknown_since = ? WHERE id = ?", [to_db_time(utcnow()), second])
    assert deliver_outbox_message(db, config, second).status == "retry"
    assert deliver_outbox_message(db, config, second).status == "sent"
    assert len(fake_twilio.messages) == 2  # the first row's message was not taken for it


def test_delivery_status(client, db, settings):
    stalled = client.get("/healthz/delivery")
    assert stalled.status_code == 503 and stalled.get_json()["reasons"] == ["no sweep has run yet"]
    sweep(db, settings, None)
    fine = client.get("/healthz/delivery").get_json()
    assert fine["status"] == "ok" and fine["last_sweep_at"] and fine["backlog"] == {}
    old = utcnow() - timedelta(seconds=settings.get("DELIVERY_MAX_BACKLOG_AGE_SECONDS", 600) + 60)
    queue(db, now=old)
    queue(db, "harga cabai", lane="broadcast", now=old)
    answer = client.get("/healthz/delivery")
    report = answer.get_json()
    assert answer.status_code == 503
    assert report["backlog"]["android_sms"]["conversation"]["due"] == 1
    assert report["backlog"]["android_sms"]["broadcast"]["oldest_age_seconds"] >= 600
    assert len(report["reasons"]) == 2
    assert client.get("/healthz").status_code == 200  # liveness is another question


def test_supervisor_backs_off_and_resets_after_a_stable_run():
    said = []
    child = Child("flaky", lambda: subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"],
                                                    start_new_session=True))
    supervisor = Supervisor([child], said.append, backoff_min=0.01, backoff_max=0.04, stable_after=60)
    supervisor.start_all()
    for _ in range(4):
        child.process.wait()
        supervisor.poll()  # notices the exit
        while child.restart_at is not None:
            supervisor.poll()
    delays = [line.rsplit("in ", 1)[1] for line in said if "stopped" in line]
    assert delays == ["0.01 s", "0.02 s", "0.04 s", "0.04 s"]
    assert said[0] == "jembatan up: flaky stopped (exit code 3); restarting in 0.01 s"
    supervisor.stop_all()


def test_supervisor_stops_redis_and_nats_only_after_the_rest(tmp_path):
    """Ctrl-C on `jembatan up`: the worker's warm shutdown still reaches Redis, because
    children marked `stops_last` get SIGTERM only once the others have exited."""
    infra_pid, seen = tmp_path / "infra.pid", tmp_path / "seen"
    infra = [sys.executable, "-c", "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
             "time.sleep(120)", str(infra_pid)]
    app = [sys.executable, "-c",
           "import os, signal, sys, time\n"
           "def stop(*_):\n"
           "    pid = int(open(sys.argv[1]).read())\n"
           "    try:\n"
           "        os.kill(pid, 0); alive = 'alive'\n"
           "    except ProcessLookupError:\n"
           "        alive = 'gone'\n"
           "    open(sys.argv[2], 'w').write(alive); sys.exit(0)\n"
           "signal.signal(signal.SIGTERM, stop)\n"
           "open(sys.argv[2] + '.ready', 'w').close()\n"
           "time.sleep(120)\n", str(infra_pid), str(seen)]
    children = [Child("redis", lambda: subprocess.Popen(infra, start_new_session=True), stops_last=True),
                Child("worker", lambda: subprocess.Popen(app, start_new_session=True))]
    supervisor = Supervisor(children, print)
    supervisor.start_all()
    wait_until(lambda: infra_pid.exists() and infra_pid.read_text() and Path(f"{seen}.ready").exists(),
               timeout=30, what="both children to start")
    supervisor.stop_all()
    assert seen.read_text() == "alive"
    assert all(child.process.poll() is not None for child in children)


def test_a_row_put_back_after_its_lease_still_goes_first(migrated_db):
    db, start = migrated_db, utcnow()
    first, second = queue(db, "satu", now=start), queue(db, "dua", now=start)
    with transaction(db):
        outbox.claim_for_delivery(db, first, start)  # its worker died; nobody could tell
        later = start + LEASE + timedelta(minutes=5)
        outbox.release_leases(db, [first])  # what the sweep does once the lease ran out
        assert outbox.claim_for_delivery(db, second, later) is None
        assert outbox.blocked_until(db, second, later) is None
        assert outbox.claim_for_delivery(db, first, later) is not None


def test_the_worker_class_loads_the_job_code_before_any_fork():
    code = ("import sys, bot.worker\n"
            "from conversations.i18n import load_translations\n"
            "print(all(m in sys.modules for m in ('bot.jobs', 'bot.pipeline.payouts', 'twilio.rest')),"
            " load_translations.cache_info().currsize)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "2"]


def test_a_held_back_message_is_swept_as_soon_as_the_hold_ends(migrated_db):
    db, start = migrated_db, utcnow()
    first, second = queue(db, "satu", now=start), queue(db, "dua", now=start)
    with transaction(db):
        claimed = outbox.claim_for_delivery(db, first, start, claimed_by=process_identity())
        outbox.mark_enqueued(db, [second], start)
    lease_until = from_db_time(claimed["lease_until"])
    assert deliver_outbox_message(db, {}, second, now=start + timedelta(seconds=1)).status == "skipped"
    before, after = lease_until - timedelta(seconds=1), lease_until + timedelta(seconds=1)
    assert second not in [r["id"] for r in outbox.due_unqueued(db, before)]
    assert second in [r["id"] for r in outbox.due_unqueued(db, after)]


@pytest.mark.parametrize(("worker_class", "forks"), [("bot.worker.Worker", False),
                                                    ("bot.worker.ForkingWorker", True)])
def test_the_procfile_worker_runs_jobs_in_its_own_process(db, settings, redis_url, fake_gateway,
                                                          worker_class, forks):
    """The Procfile's worker class does not fork per job (DECISIONS 263): the row is
    claimed by the worker process itself; `ForkingWorker` claims it in a work horse."""
    with transaction(db):
        row = outbox.queue_message(db, phone="+6281234567890", channel="android_sms", body="Halo",
                                   kind="notification", now=utcnow())
    dispatch(redis_lib.Redis.from_url(redis_url), db, Handover(outbox_ids=[row]), utcnow())
    worker = subprocess.run(
        [str(Path(sys.executable).parent / "rq"), "worker", "--burst", "--url", redis_url,
         "--worker-class", worker_class, "replies", "default", "broadcasts"],
        env=dict(os.environ), capture_output=True, timeout=120, check=True)
    sent = outbox.get_outbox_row(db, row)
    assert sent["status"] == "sent", worker.stdout.decode(errors="replace")[-2000:]
    worker_pid = re.search(rb"started with PID (\d+)", worker.stdout + worker.stderr).group(1).decode()
    assert (sent["claimed_by"].split(":")[-2] != worker_pid) is forks
