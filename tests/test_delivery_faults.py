"""Issue 10: the faults a village hub meets, each caused for real and counted on both sides.

Redis SIGKILLed under a working worker and restarted on the same port; a provider that
accepts and answers after our timeout; `jembatan up` children killed; a web process
SIGKILLed right after it answered 200; a worker SIGKILLed mid-delivery. Processes are
real (`rq worker`, gunicorn, redis-server); providers are local HTTP servers.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis as redis_lib
import requests
from pytest_httpserver import HTTPServer

from bot.channels.android_gateway import compute_signature
from bot.pipeline.dispatch import enqueue_deliveries
from bot.redis_server import free_port
from bot.services import delivery_status, outbox
from bot.storage import from_db_time, open_database, transaction, utcnow
from bot.web.app import create_app
from bot.web.server import gunicorn_command
from tests.conftest import GATEWAY_KEY, gateway_post, make_settings, run_worker, sms_received
from tests.providers import FakeTwilio, Late
from tests.test_resilience import kill_process_tree
from tests.waiting import wait_until

BIN = Path(sys.executable).parent
REPLY = ("Terima kasih, Siti dari Sukamaju. Bapak/Ibu terdaftar sebagai penjual. Untuk jual: JUAL produk "
         "jumlah harga. Contoh: JUAL cabai 50kg 12rb")


def wait_for(condition, timeout: float, what: str, log: Path | None = None):
    """`wait_until`, failing with the tail of the process's log."""
    def tail() -> str:
        if log is None or not log.exists():
            return ""
        return "--- log tail ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])

    return wait_until(condition, timeout=timeout, what=what, detail=tail)


def start_worker(redis_url: str, log: Path, env: dict) -> subprocess.Popen:
    """A real `rq worker` with our class and its scheduler, as the Procfile runs it."""
    return subprocess.Popen(
        [str(BIN / "rq"), "worker", "--with-scheduler", "--url", redis_url,
         "--worker-class", "bot.worker.Worker", "--maintenance-interval", "2",
         "replies", "default", "broadcasts"],
        env=env, start_new_session=True, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def register(client, message_id: str, phone: str):
    return gateway_post(client, sms_received(message_id, phone, "DAFTAR Siti, Sukamaju"))


def sweeps_run(db) -> int:
    return delivery_status.last_heartbeat(db, delivery_status.SWEEP)[1].get("count", 0)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        kill_process_tree(process.pid)
        process.wait(timeout=10)


@pytest.fixture
def fault_env(settings, monkeypatch):
    """Short intervals so that faults play out in seconds; exported for the processes."""
    extra = {"SWEEP_INTERVAL_SECONDS": "5", "DELIVERY_MAX_SWEEP_AGE_SECONDS": "30",
             "DELIVERY_MAX_BACKLOG_AGE_SECONDS": "2"}
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    return {key: int(value) for key, value in extra.items()}


# -- 1. Redis SIGKILLed while replies are being delivered ---------------------------------


def test_redis_killed_mid_delivery_worker_recovers_by_itself(
        settings, fault_env, own_redis, fake_gateway, tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    app = create_app(dict(settings, **fault_env, REDIS_URL=own_redis.url))
    client = app.test_client()
    db = open_database(settings["DATABASE_PATH"])
    log = tmp_path / "worker.log"
    fake_gateway.delay = 0.4  # each SMS takes the phone a moment: jobs are running at the kill
    worker = start_worker(own_redis.url, log, dict(os.environ))
    try:
        wait_for(lambda: sweeps_run(db) >= 1, 60, "the worker's start-up sweep", log)
        phones = [f"+62812000000{n:02d}" for n in range(10)]
        for n, phone in enumerate(phones[:6]):
            assert register(client, f"r-{n}", phone).status_code == 200
        wait_for(lambda: fake_gateway.requests, 30, "the first reply at the phone", log)

        own_redis.process.kill()  # SIGKILL, no persistence: the jobs in it are gone
        own_redis.process.wait()
        for n, phone in enumerate(phones[6:], start=6):  # inbound goes on without Redis
            assert register(client, f"r-{n}", phone).status_code == 200
        health = client.get("/healthz")
        assert health.status_code == 200 and health.get_json()["status"] == "degraded"
        stalled = wait_for(lambda: (r := client.get("/healthz/delivery")).status_code == 503 and r, 30,
                           "the delivery status to say stalled")
        assert stalled.get_json()["backlog"]["android_sms"]["conversation"]["due"] >= 4
        assert worker.poll() is None, "the worker quit when Redis went away"

        fake_gateway.delay = 0.0
        own_redis.start()  # same port, empty
        before = sweeps_run(db)
        wait_for(lambda: len(fake_gateway.accepted) == len(phones), 60,
                 "every reply at the phone after Redis returned", log)
        # Handed over by the sweep the worker ran when Redis returned (at most one more).
        assert sweeps_run(db) - before <= 2
        wait_for(lambda: client.get("/healthz/delivery").status_code == 200, 30,
                 "the delivery status to recover", log)
        # The scheduler is back too: scheduled sweeps keep coming without anyone's help.
        after = sweeps_run(db)
        wait_for(lambda: sweeps_run(db) >= after + 2, 30, "two more scheduled sweeps", log)
        assert worker.poll() is None, "the worker had to be restarted"
    finally:
        stop(worker)
    assert sorted(p for m in fake_gateway.accepted.values() for p in m["phoneNumbers"]) == sorted(phones)
    assert all(fake_gateway.texts_to(phone) == [REPLY] for phone in phones)
    assert {r["status"] for r in db.query("SELECT status FROM outbox")} == {"sent"}
    assert client.get("/healthz").get_json()["status"] == "ok"
    db.conn.close()


# -- 2. A provider that accepts and answers after the timeout ------------------------------


@pytest.fixture
def threaded_provider():
    """A provider server that answers requests concurrently (a late answer does not hold
    up the lookup that follows it, as with the real Twilio)."""
    server = HTTPServer(host="127.0.0.1", port=free_port(), threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_twilio_answering_after_the_timeout_is_never_sent_twice_nor_lost(
        tmp_path, redis_url, threaded_provider, monkeypatch):
    settings = make_settings(tmp_path, redis_url, threaded_provider.url_for("").rstrip("/"))
    settings["PROVIDER_TIMEOUT_SECONDS"] = 1
    for key, value in settings.items():
        monkeypatch.setenv(key, str(value))
    twilio = FakeTwilio()
    twilio.install(threaded_provider, settings["TWILIO_ACCOUNT_SID"])
    # 30% of requests: Twilio creates the message, and answers 1.5 s after our timeout.
    twilio.script = [Late(2.5) if n % 10 in (0, 3, 7) else None for n in range(40)]
    create_app(settings)  # migrates
    db = open_database(settings["DATABASE_PATH"])
    now = utcnow()
    wanted = [(f"+6281300000{n % 14:03d}", f"Pesanan P{n} diterima") for n in range(18)]
    wanted += [("+6281300000001", "Pesanan diterima")] * 2  # the same text twice to one phone
    with transaction(db):
        ids = [outbox.queue_message(db, phone=phone, channel="twilio_sms", body=body,
                                    kind="notification", now=now) for phone, body in wanted]
    enqueue_deliveries(redis_lib.Redis.from_url(redis_url), db, [outbox.get_outbox_row(db, i) for i in ids],
                       now)
    run_worker(redis_url)

    rows = [outbox.get_outbox_row(db, i) for i in ids]
    assert [r["status"] for r in rows] == ["sent"] * len(ids)
    assert sum(1 for r in rows if r["unknown_since"]) >= 3, "the late answers did not happen"
    created = collections.Counter((m["to"], m["body"]) for m in twilio.messages)
    assert created == collections.Counter((phone, f"Jembatan: {body}") for phone, body in wanted)
    assert sorted(r["provider_id"] for r in rows) == sorted(m["sid"] for m in twilio.messages)
    db.conn.close()


# -- 3. A `jembatan up` child killed ----------------------------------------------------


def children_of(pid: int) -> dict[int, str]:
    """Direct children of `pid` and their command lines."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry)] = cmdline
    return found


def child_pid(up: subprocess.Popen, marker: str) -> int | None:
    return next((pid for pid, cmd in children_of(up.pid).items() if marker in cmd), None)


def test_jembatan_up_restarts_a_killed_child_and_the_bot_answers_again(
        tmp_path, fake_gateway, httpserver, monkeypatch):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL",)}
    env.update(DATABASE_PATH=str(tmp_path / "var" / "jembatan.db"), SIMULATOR="off",
               ANDROID_GATEWAY_URL=httpserver.url_for("").rstrip("/"), ANDROID_GATEWAY_USER="sms",
               ANDROID_GATEWAY_PASSWORD="secret", ANDROID_GATEWAY_SIGNING_KEY=GATEWAY_KEY,
               TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    log = tmp_path / "up.log"
    up = subprocess.Popen([str(BIN / "jembatan"), "up", "--port", str(port), "--web-workers", "1"],
                          env=env, cwd=tmp_path, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    web = requests.Session()

    def healthy():
        try:
            return web.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def texted(phone: str, n: int):
        event = sms_received(f"up-{phone}-{n}", phone, "DAFTAR Siti, Sukamaju")
        response = gateway_post_http(web, base, event)
        assert response.status_code == 200, response.text
        wait_for(lambda: fake_gateway.texts_to(phone) == [REPLY], 60, f"the reply to {phone}", log)

    try:
        wait_for(healthy, 60, "jembatan up to answer /healthz", log)
        # A newcomer's trial (DECISIONS 452): the desk link names the port `up` serves, and
        # commands do not warn about webhooks as if they were the server.
        for command in (["desk", "grant", "+6281211110009", "--role", "admin"],
                        ["desk", "link", "+6281211110009"]):
            done = subprocess.run([str(BIN / "jembatan"), *command], env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0 and "WARNING" not in done.stderr, done.stderr
        assert done.stdout.startswith(f"{base}/dashboard/masuk/tautan/"), done.stdout
        worker = wait_for(lambda: child_pid(up, "rq worker"), 30, "the worker child", log)
        texted("+6281211110001", 1)

        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: child_pid(up, "rq worker") not in (None, worker), 60, "a new worker child", log)
        texted("+6281211110002", 2)  # sent by the new worker

        gunicorn = child_pid(up, "gunicorn")
        os.kill(gunicorn, signal.SIGKILL)
        wait_for(lambda: child_pid(up, "gunicorn") not in (None, gunicorn), 60, "a new web child", log)
        wait_for(healthy, 60, "the new web to answer", log)
        texted("+6281211110003", 3)

        engine = wait_for(lambda: child_pid(up, "jembatan engine"), 30, "the engine child", log)
        os.kill(engine, signal.SIGKILL)
        wait_for(lambda: child_pid(up, "jembatan engine") not in (None, engine), 60, "a new engine child",
                 log)

        redis, worker = child_pid(up, "redis-server"), child_pid(up, "rq worker")
        os.kill(redis, signal.SIGKILL)  # the worker waits for it; `up` restarts it on its port
        wait_for(lambda: "jembatan up: redis restarted" in log.read_text(), 60, "Redis restarted", log)
        texted("+6281211110004", 4)
        assert child_pid(up, "rq worker") == worker, "the worker did not survive the Redis restart"
        output = log.read_text()
        assert "jembatan up: worker stopped (killed by SIGKILL); restarting in 1 s" in output
        assert "jembatan up: web stopped (killed by SIGKILL)" in output
        assert "jembatan up: redis stopped (killed by SIGKILL)" in output
        assert "jembatan up: engine stopped (killed by SIGKILL)" in output
        assert up.poll() is None
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill_process_tree(up.pid)
            raise
    assert up.returncode == 0
    assert not children_of(up.pid)
    assert not (tmp_path / "var" / "web.url").exists()  # a stopped `up` leaves no address


def gateway_post_http(session: requests.Session, base: str, event: dict) -> requests.Response:
    """`gateway_post` over real HTTP: the same signed body, to a running server."""
    body = json.dumps(event).encode()
    stamp = str(int(time.time()))
    return session.post(f"{base}/gateway/android", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Timestamp": stamp,
        "X-Signature": compute_signature(GATEWAY_KEY, body, stamp)})


# -- 4. A web process SIGKILLed right after answering 200 ----------------------------------

KILL_AFTER_ANSWER = """
import os, signal

def post_request(worker, req, environ, resp):
    # The answer has been written to the socket: die now, before anything else happens.
    if req.path == "/gateway/android":
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_web_killed_right_after_its_200_keeps_the_message_and_it_is_processed(
        settings, redis_url, fake_gateway, tmp_path):
    create_app(settings)  # migrates
    hook = tmp_path / "kill_after_answer.py"
    hook.write_text(KILL_AFTER_ANSWER)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    command = gunicorn_command(str(BIN / "gunicorn"), f"127.0.0.1:{port}", workers=1, threads=2)
    web = subprocess.Popen(  # the Procfile's web process, plus the hook
        command[:-1] + ["-c", str(hook), command[-1]], env=dict(os.environ), start_new_session=True,
        stdout=log.open("ab"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    try:
        def answering():
            try:
                return session.get(f"{base}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answering, 60, "gunicorn to answer", log)
        (serving,) = children_of(web.pid)
        answer = gateway_post_http(session, base, sms_received("power-1", "+6281244445555",
                                                                "DAFTAR Siti, Sukamaju"))
        assert answer.status_code == 200 and answer.json()["status"] == "stored"
        wait_for(lambda: not Path(f"/proc/{serving}").exists() or
                 "Z" in Path(f"/proc/{serving}/stat").read_text().rsplit(")", 1)[1][:3],
                 30, "the web worker to die", log)
    finally:
        kill_process_tree(web.pid)  # and the master: nothing of the web is left
        web.wait(timeout=10)
    assert "WORKER TIMEOUT" not in log.read_text()

    db = open_database(settings["DATABASE_PATH"])  # as a restarted process sees the file
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: fsync at every commit
    (inbound,) = db.query("SELECT * FROM inbound")
    # (issue 12: gateway SMS are keyed by sender, text and received time, not messageId)
    assert (json.loads(inbound["raw"])["payload"]["messageId"], inbound["status"]) == (
        "power-1", "processed")
    (reply,) = db.query("SELECT * FROM outbox")
    assert (reply["inbound_id"], reply["status"]) == (inbound["id"], "pending")
    run_worker(redis_url)  # the job the web handed to Redis before it died
    assert fake_gateway.texts_to("+6281244445555") == [REPLY]
    db.conn.close()


# -- 5. A worker SIGKILLed mid-delivery ---------------------------------------------------


def test_worker_killed_mid_delivery_sends_once_and_the_next_message_does_not_wait_the_lease(
        settings, fault_env, own_redis, fake_gateway, tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    app = create_app(dict(settings, **fault_env, REDIS_URL=own_redis.url))
    db = open_database(settings["DATABASE_PATH"])
    connection = redis_lib.Redis.from_url(own_redis.url)
    phone = "+6281277778888"
    answering = threading.Event()
    fake_gateway.script = [answering]  # the phone holds the first SMS until we let it go
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "60")  # the worker must not give up first
    log = tmp_path / "worker.log"
    first = start_worker(own_redis.url, log, dict(os.environ))
    second = None
    try:
        gateway_post(app.test_client(), sms_received("kill-a", phone, "DAFTAR Siti, Sukamaju"))
        wait_for(lambda: fake_gateway.requests, 60, "the worker to reach the phone", log)
        kill_process_tree(first.pid)  # worker and work horse, mid-request
        first.wait()
        answering.set()  # the phone goes on to send the SMS the dead worker asked for
        (reply,) = db.query("SELECT * FROM outbox")
        assert reply["status"] == "sending"
        lease_until = from_db_time(reply["lease_until"])
        with transaction(db):  # the same phone's next message
            later = outbox.queue_message(db, phone=phone, channel="android_sms", body="Pesanan P2 masuk",
                                         kind="notification", now=utcnow())
        enqueue_deliveries(connection, db, [outbox.get_outbox_row(db, later)], utcnow())

        second = start_worker(own_redis.url, log, dict(os.environ))  # what a supervisor does
        wait_for(lambda: fake_gateway.texts_to(phone) == [REPLY, "Pesanan P2 masuk"], 60,
                 "both messages at the phone", log)
        assert utcnow() < lease_until, "the next message waited out the dead worker's lease"
        wait_for(lambda: {r["status"] for r in db.query("SELECT status FROM outbox")} == {"sent"}, 30,
                 "the worker to record both as sent", log)
    finally:
        answering.set()
        stop(first)
        if second is not None:
            stop(second)
    assert len(fake_gateway.accepted) == 2  # the reply's resend carried its id: one SMS
    db.conn.close()
