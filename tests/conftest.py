"""Shared fixtures: a real Redis, a fresh app on a temporary SQLite file, signed requests.

Nothing here mocks our own code. Providers are local HTTP servers (pytest-httpserver)
speaking their protocol; the app reaches them through the configured base URLs.
"""

from __future__ import annotations

import atexit
import json
import shutil
import socket
import tempfile
import time
from functools import cache
from pathlib import Path

import pytest
import redis as redis_lib
from rq import Queue, SimpleWorker
from twilio.request_validator import RequestValidator

from bot.channels.android_gateway import compute_signature
from bot.migrations import apply_migrations
from bot.pipeline.dispatch import QUEUES
from bot.redis_server import RedisServer, free_port
from bot.storage import open_database
from bot.web.app import create_app
from tests.providers import FakeAndroidGateway, FakeTwilio

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "test-auth-token"
GATEWAY_KEY = "gateway-signing-key"
PUBLIC_BASE_URL = "https://jembatan.example.org"


@cache
def _migrated_template() -> Path:
    """A database file migrated once per test process (each xdist worker builds its own),
    closed so that everything is in the main file (the last close checkpoints the WAL)."""
    folder = Path(tempfile.mkdtemp(prefix="jembatan-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    database = open_database(folder / "migrated.db")
    apply_migrations(database)
    database.conn.close()
    return folder / "migrated.db"


def migrated_copy(path: Path) -> Path:
    """Unless a database is already at `path`, put a freshly migrated one there: a copy of
    the file that `open_database` plus `apply_migrations` produce, made once per process.
    Migrating takes ~0.1 s of CPU (the schema and the seeded catalogue) and hundreds of
    tests start from a new database; the copy costs a millisecond (DECISIONS 441). Callers
    still run `apply_migrations` (create_app does), which then finds nothing pending."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_template(), path)
    return path


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory):
    """One real redis-server for the session (no persistence); tests flush it."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), free_port(), persistent=False).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(shared_redis):
    connection = redis_lib.Redis.from_url(shared_redis.url)
    connection.flushall()
    yield shared_redis.url
    connection.flushall()


@pytest.fixture
def own_redis(tmp_path):
    """A Redis this test may stop and restart (no persistence: a restart loses everything)."""
    server = RedisServer(tmp_path / "own-redis", free_port(), persistent=False).start()
    yield server
    server.stop()


@pytest.fixture
def app_on_own_redis(settings, own_redis, monkeypatch):
    """The app (and RQ jobs, through the environment) on `own_redis`."""
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    return create_app(dict(settings, REDIS_URL=own_redis.url))


@pytest.fixture
def fake_twilio(httpserver):
    provider = FakeTwilio()
    provider.install(httpserver, TWILIO_SID)
    return provider


@pytest.fixture
def fake_gateway(httpserver):
    provider = FakeAndroidGateway()
    provider.install(httpserver)
    return provider


def make_settings(tmp_path: Path, redis_url: str | None, provider_url: str) -> dict:
    """Settings for one test: its own database, the local providers, immediate retries;
    provider timeouts only where a test causes one."""
    return {
        "DATABASE_PATH": str(tmp_path / "jembatan.db"),
        "REDIS_URL": redis_url,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_API_BASE_URL": provider_url,
        "TWILIO_SMS_FROM": "Jembatan",
        "TWILIO_WHATSAPP_FROM": "+14155238886",
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
        "TWILIO_WHATSAPP_TEMPLATE_SID": "HX" + "2" * 32,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "ANDROID_GATEWAY_URL": provider_url,
        "ANDROID_GATEWAY_USER": "sms",
        "ANDROID_GATEWAY_PASSWORD": "secret",
        "ANDROID_GATEWAY_SIGNING_KEY": GATEWAY_KEY,
        "OUTBOX_RETRY_BASE_SECONDS": 0,
        "PROVIDER_TIMEOUT_SECONDS": 30,  # a loaded machine must not turn into a retry
    }


def export_settings(monkeypatch, values: dict) -> dict:
    """Put `values` in the environment, as strings, where RQ jobs read their settings; `values`."""
    for key, value in values.items():
        monkeypatch.setenv(key, str(value))
    return values


@pytest.fixture
def settings(tmp_path, redis_url, httpserver, monkeypatch):
    """The test's settings, also exported to the environment for RQ jobs."""
    values = make_settings(tmp_path, redis_url, httpserver.url_for("").rstrip("/"))
    migrated_copy(Path(values["DATABASE_PATH"]))  # create_app then finds nothing pending
    return export_settings(monkeypatch, values)


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def migrated_db(tmp_path):
    """A fresh, migrated SQLite file and no app: for tests of services and dialogs."""
    database = open_database(migrated_copy(tmp_path / "jembatan.db"))
    apply_migrations(database)
    yield database
    database.conn.close()


@pytest.fixture
def db(app):
    database = open_database(app.config["DATABASE_PATH"])
    yield database
    database.conn.close()


def twilio_post(client, path: str, params: dict, token: str = TWILIO_TOKEN, signature=None):
    """POST form `params` to `path` signed exactly as Twilio signs (URL + sorted params)."""
    url = PUBLIC_BASE_URL + path
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def gateway_post(client, event: dict, key: str = GATEWAY_KEY, timestamp: int | None = None,
                 signature: str | None = None):
    """POST a gateway webhook event signed as the Android app signs it."""
    body = json.dumps(event).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    if signature is None:
        signature = compute_signature(key, body, stamp)
    return client.post("/gateway/android", data=body, content_type="application/json",
                       headers={"X-Timestamp": stamp, "X-Signature": signature})


def sms_received(message_id: str, phone: str, text: str) -> dict:
    """An `sms:received` event exactly as the gateway sends it."""
    return {
        "id": f"evt-{message_id}", "webhookId": "jembatan", "deviceId": "hub-phone-1",
        "event": "sms:received",
        "payload": {"messageId": message_id, "message": text, "phoneNumber": phone,
                    "simNumber": 1, "receivedAt": "2026-11-28T09:41:31.000+07:00"},
    }


class BurstWorker(SimpleWorker):
    """RQ's in-process worker without its command channel: nothing sends commands to a
    burst worker in a test, and closing the channel costs a second per run (RQ joins the
    listening thread with a one-second timeout)."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def run_worker(redis_url: str) -> None:
    """Run a burst RQ worker in this process until the queues are empty."""
    connection = redis_lib.Redis.from_url(redis_url)
    queues = [Queue(name, connection=connection) for name in QUEUES]
    BurstWorker(queues, connection=connection).work(burst=True)


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 that refuses connections for the whole test: bound and never
    listening. `free_port()` only finds a port free *now*; another xdist worker's server
    could take it before the test connects, and the test would reach that server instead
    of nothing (DECISIONS 494). A port this socket holds cannot be bound by anyone else."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
