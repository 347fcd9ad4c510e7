"""The inbound engine (`jembatan engine`, DECISIONS 496): a real engine process beside the
app, signed Twilio posts through the app's fast path, and the faults it must survive.

What must hold: the engine's answers and stored state are exactly what the web worker would
have produced itself; without an engine the worker does the work; an engine that hangs or
dies with a message is a 500 and the provider's retry is stored once; a bad frame closes
only its own connection; messages arriving together share one fsync, answered only after it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage import WalSync, open_database
from bot.web.app import create_app
from bot.web.engine import MAX_FRAME, Engine, EngineClient, encode_frame, engine_socket_path
from tests.conftest import twilio_post
from tests.waiting import wait_until

BIN = Path(sys.executable).parent


def start_engine(config: dict, log: Path) -> subprocess.Popen:
    """`jembatan engine` for the test's database (its settings are in the environment),
    once it answers on its socket."""
    engine = subprocess.Popen([str(BIN / "jembatan"), "engine"], env=dict(os.environ),
                              stdout=log.open("ab"), stderr=subprocess.STDOUT)
    path = engine_socket_path(config)

    def listening():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
            return True
        except OSError:
            return engine.poll() is not None  # died: reported below
        finally:
            probe.close()

    wait_until(listening, timeout=60, what="the engine to listen", detail=log.read_text)
    assert engine.poll() is None, log.read_text()
    return engine


def stop_engine(engine: subprocess.Popen, log: Path) -> str:
    """SIGTERM, wait, and the engine's output."""
    if engine.poll() is None:
        engine.send_signal(signal.SIGTERM)
        engine.wait(timeout=30)
    return log.read_text()


def sms(sid: str, phone: str, body: str) -> dict:
    return {"MessageSid": sid, "From": phone, "To": "+15005550006", "Body": body, "NumMedia": "0",
            "AccountSid": "AC" + "0" * 32}


def stored(config: dict, sid: str) -> int:
    db = open_database(config["DATABASE_PATH"])
    try:
        return db.execute("SELECT COUNT(*) FROM inbound WHERE provider_id = ?",
                          [sid]).fetchone()[0]
    finally:
        db.conn.close()


def state(config: dict, phone: str) -> dict:
    """What a message left behind for its sender: the contact and the replies queued."""
    db = open_database(config["DATABASE_PATH"])
    try:
        contact = db.execute("SELECT role, name, village FROM contacts WHERE phone = ?",
                             [phone]).fetchone()
        outbox = db.execute("SELECT kind, reply_id, body, status FROM outbox WHERE phone = ? ORDER BY id",
                            [phone]).fetchall()
        inbound = db.execute("SELECT body, status FROM inbound WHERE phone = ?", [phone]).fetchall()
        return {"contact": contact, "outbox": outbox, "inbound": inbound}
    finally:
        db.conn.close()


@pytest.fixture
def engine_log(tmp_path):
    return tmp_path / "engine.log"


@pytest.mark.parametrize("body", ["DAFTAR Siti, Sukamaju", "BANTUAN", "halo", "JUAL cabai 10kg 12rb"])
def test_the_engine_answers_and_stores_as_the_web_worker_would(settings, tmp_path, engine_log, body):
    by_engine = create_app(settings)
    by_worker = create_app(dict(settings, INBOUND_ENGINE="off"))
    engine = start_engine(settings, engine_log)
    try:
        answers = {}
        for name, app, phone in (("engine", by_engine, "+6281200000001"),
                                 ("worker", by_worker, "+6281200000002")):
            response = twilio_post(app.test_client(), "/twilio/messages", sms(f"SM{name}", phone, body))
            assert response.status_code == 200, response.text
            answers[name] = response.text
    finally:
        output = stop_engine(engine, engine_log)
    assert answers["engine"] == answers["worker"]
    assert "<Message>" in answers["engine"] or body == "halo"
    assert state(settings, "+6281200000001") == state(settings, "+6281200000002")
    assert "stopped after 1 messages" in output, output  # it was the engine that answered


def test_without_an_engine_the_web_worker_answers_itself(settings, app):
    assert not os.path.exists(engine_socket_path(settings))
    response = twilio_post(app.test_client(), "/twilio/messages", sms("SMalone", "+6281200000003", "BANTUAN"))
    assert response.status_code == 200 and "<Message>" in response.text
    assert stored(settings, "SMalone") == 1


def test_a_hung_then_killed_engine_is_a_500_and_the_retry_is_stored_once(settings, app, engine_log):
    engine = start_engine(settings, engine_log)
    message = sms("SMhung", "+6281200000004", "DAFTAR Siti, Sukamaju")
    try:
        os.kill(engine.pid, signal.SIGSTOP)  # hung: takes the connection, never answers
        app.wsgi_app.engine.timeout = 0.5  # instead of ANSWER_TIMEOUT's 10 s, for the test's sake
        response = twilio_post(app.test_client(), "/twilio/messages", message)
        assert response.status_code == 500
        os.kill(engine.pid, signal.SIGKILL)
        engine.wait(timeout=30)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait(timeout=30)
    assert stored(settings, "SMhung") == 0  # it never got to the database
    # Twilio posts it again: nobody listens on the socket now, so the worker stores it.
    retry = twilio_post(app.test_client(), "/twilio/messages", message)
    assert retry.status_code == 200 and "<Message>" in retry.text
    assert stored(settings, "SMhung") == 1
    # A new engine takes over the dead one's socket file; a third post is a repeat.
    engine = start_engine(settings, engine_log)
    try:
        app.wsgi_app.engine.timeout = 10.0
        again = create_app(settings)  # a fresh worker, connecting at once
        repeat = twilio_post(again.test_client(), "/twilio/messages", message)
        assert repeat.status_code == 200 and "<Message>" not in repeat.text
    finally:
        output = stop_engine(engine, engine_log)
    assert stored(settings, "SMhung") == 1
    assert "stopped after 1 messages" in output, output


def test_bad_frames_close_their_connection_and_the_engine_goes_on(settings, engine_log):
    create_app(settings)
    engine = start_engine(settings, engine_log)
    path = engine_socket_path(settings)
    bad_frames = {
        "longer than the limit": struct.pack(">I", MAX_FRAME + 1),
        "not JSON": struct.pack(">I", 5) + b"hello",
        "not UTF-8": struct.pack(">I", 2) + b"\xff\xfe",
        "nested past the parser": struct.pack(">I", 400_000) + b"[" * 400_000,
        "a list": encode_frame(["BANTUAN"]),
        "fields missing": encode_frame({"channel": "twilio_sms", "body": "BANTUAN"}),
        "a field of the wrong type": encode_frame({"channel": "twilio_sms", "provider_id": 5,
                                                   "phone": "+6281200000005", "body": "BANTUAN"}),
        "raw not an object": encode_frame({"channel": "twilio_sms", "provider_id": "SMraw",
                                           "phone": "+6281200000005", "body": "BANTUAN", "raw": "x"}),
    }
    try:
        for name, frame in bad_frames.items():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(30)
                sock.connect(path)
                sock.sendall(frame)
                assert sock.recv(16) == b"", f"{name}: the connection stayed open"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:  # half a frame, then gone
            sock.connect(path)
            sock.sendall(encode_frame({"channel": "twilio_sms"})[:7])
        answer = EngineClient(path).process({"channel": "twilio_sms", "provider_id": "SMafter",
                                             "phone": "+6281200000005", "body": "BANTUAN", "raw": {}})
        assert answer["reply"], answer
        assert engine.poll() is None
    finally:
        output = stop_engine(engine, engine_log)
    assert stored(settings, "SMraw") == 0 and stored(settings, "SMafter") == 1
    assert "Traceback" not in output, output


def test_messages_arriving_together_share_one_fsync_and_are_answered_after_it(settings, tmp_path):
    app = create_app(settings)
    engine = Engine(app, str(tmp_path / "batch.sock"))
    engine.listen()
    wal_sync = WalSync.of(settings["DATABASE_PATH"])
    clients = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
    try:
        for sock in clients:
            sock.connect(engine.path)
            sock.settimeout(30)
        wait_until(lambda: engine.serve_once(timeout=0.05) or len(engine.buffers) == 3, timeout=30,
                   what="the engine to accept three connections")
        fsyncs, rounds = wal_sync.fsyncs, engine.rounds
        for n, sock in enumerate(clients):
            sock.sendall(encode_frame({"channel": "twilio_sms", "provider_id": f"SMbatch{n}",
                                       "phone": f"+628120000001{n}", "body": "BANTUAN", "raw": {}}))
        engine.serve_once(timeout=5)  # all three are readable: one round
        assert engine.rounds == rounds + 1 and engine.messages == 3
        assert wal_sync.fsyncs == fsyncs + 1
        for sock in clients:
            (length,) = struct.unpack(">I", sock.recv(4))
            assert json.loads(sock.recv(length))["reply"]
    finally:
        for sock in clients:
            sock.close()
        engine.close()
    assert [stored(settings, f"SMbatch{n}") for n in range(3)] == [1, 1, 1]


def test_engine_command_refuses_a_second_engine_and_engine_off(settings, engine_log):
    create_app(settings)
    engine = start_engine(settings, engine_log)
    try:
        second = subprocess.run([str(BIN / "jembatan"), "engine"], capture_output=True, text=True,
                                timeout=60)
        assert second.returncode != 0 and "already listens" in second.stderr, second.stderr
        off = subprocess.run([str(BIN / "jembatan"), "engine"], capture_output=True, text=True,
                             timeout=60, env=dict(os.environ, INBOUND_ENGINE="off"))
        assert off.returncode != 0 and "INBOUND_ENGINE=off" in off.stderr, off.stderr
        assert engine.poll() is None
    finally:
        stop_engine(engine, engine_log)
    assert engine.returncode == 0
    assert not os.path.exists(engine_socket_path(settings))  # removed on the way out
