"""bot.web.guards beyond the hostile table: the API-key throttle (per client, shared
through Redis, never a lock-out for good), absolute URLs that never echo an unchecked
Host header, the page policy on HTML, and the parsing rules on their own."""

from __future__ import annotations

import pytest
import redis as redis_lib

from bot.storage import utcnow
from bot.web.app import create_app
from bot.web.guards import Malformed, json_depth_exceeds, parse_json
from tests.orders import api_buyer, seller_listing
from tests.waiting import wait_until

SITI = "+6281234567890"
GUESSER = {"REMOTE_ADDR": "203.0.113.9"}
BUYER = {"REMOTE_ADDR": "198.51.100.20"}


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def key(db):
    return api_buyer(db, utcnow(), phone="+6281311112222")[1]


def throttle_key(client_address: str) -> str:
    return f"jembatan:api-key-failures:{client_address}"


def test_failed_keys_are_throttled_per_client_and_across_processes(settings, db, key, redis_url):
    limit = 5
    first = create_app(dict(settings, API_KEY_MAX_FAILURES=limit)).test_client()
    second = create_app(dict(settings, API_KEY_MAX_FAILURES=limit)).test_client()  # another web process
    for attempt in range(limit):
        web = first if attempt % 2 else second
        answer = web.get("/api/v1/orders", headers=auth(f"jbk_guess{attempt}"), environ_base=GUESSER)
        assert answer.status_code == 401, answer.get_json()
    for web in (first, second):
        answer = web.get("/api/v1/orders", headers=auth(key), environ_base=GUESSER)  # even a valid key
        assert answer.status_code == 429 and answer.get_json()["error"] == "too_many_attempts"
        assert 0 < int(answer.headers["Retry-After"]) <= 300
        assert answer.headers["Cache-Control"] == "no-store"
    # Another client with a valid key is served, by either process.
    for web in (first, second):
        assert web.get("/api/v1/orders", headers=auth(key), environ_base=BUYER).status_code == 200
    # Requests while locked out are not counted, so they cannot stretch the window.
    connection = redis_lib.Redis.from_url(redis_url)
    ttl = connection.ttl(throttle_key(GUESSER["REMOTE_ADDR"]))
    assert 0 < ttl <= 300
    for _ in range(20):
        first.post("/api/v1/orders", headers=auth("jbk_more"), environ_base=GUESSER)
    assert int(connection.get(throttle_key(GUESSER["REMOTE_ADDR"]))) == limit
    assert connection.ttl(throttle_key(GUESSER["REMOTE_ADDR"])) <= ttl


def test_the_lockout_ends_with_its_window(settings, db, key):
    web = create_app(dict(settings, API_KEY_MAX_FAILURES=2, API_KEY_FAILURE_WINDOW_SECONDS=1)).test_client()
    for _ in range(2):
        web.get("/api/v1/orders", headers=auth("jbk_guess"), environ_base=GUESSER)
    assert web.get("/api/v1/orders", headers=auth(key), environ_base=GUESSER).status_code == 429
    # Redis expires the window (1 s); the timeout is generous for a busy machine.
    wait_until(lambda: web.get("/api/v1/orders", headers=auth(key), environ_base=GUESSER).status_code
               != 429, timeout=30, interval=0.2, what="the lock-out to end with its window")
    assert web.get("/api/v1/orders", headers=auth(key), environ_base=GUESSER).status_code == 200


def test_a_counter_without_expiry_is_given_one(settings, db, key, redis_url):
    """Whatever left a counter without a TTL (a restore, a hand edit), it cannot lock out."""
    connection = redis_lib.Redis.from_url(redis_url)
    connection.set(throttle_key(GUESSER["REMOTE_ADDR"]), 99)
    web = create_app(dict(settings, API_KEY_MAX_FAILURES=3)).test_client()
    assert web.get("/api/v1/orders", headers=auth(key), environ_base=GUESSER).status_code == 200
    assert web.get("/api/v1/orders", headers=auth("jbk_guess"), environ_base=GUESSER).status_code == 401
    assert 0 < connection.ttl(throttle_key(GUESSER["REMOTE_ADDR"])) <= 300


def test_without_redis_keys_still_work(settings, db, key, closed_port):
    web = create_app(dict(settings, REDIS_URL=f"redis://127.0.0.1:{closed_port}/0",
                          API_KEY_MAX_FAILURES=1)).test_client()
    for _ in range(3):
        assert web.get("/api/v1/orders", headers=auth("jbk_guess"), environ_base=GUESSER).status_code == 401
    assert web.get("/api/v1/orders", headers=auth(key), environ_base=GUESSER).status_code == 200


@pytest.fixture
def two_listings(db):
    now = utcnow()
    seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12000, now)
    seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "tomat", "20", "kg", 8000, now)


def test_links_never_echo_an_unchecked_host(settings, db, two_listings):
    web = create_app(dict(settings, PUBLIC_BASE_URL=None)).test_client()
    page = web.get("/api/v1/listings?limit=1", headers={"Host": "evil.example"}).get_json()
    assert page["next"] == "/api/v1/listings?limit=1&offset=1"

    trusted = create_app(dict(settings, PUBLIC_BASE_URL=None,
                              TRUSTED_HOSTS="bot.example.org, 192.168.1.10")).test_client()
    answer = trusted.get("/api/v1/listings?limit=1", headers={"Host": "evil.example"})
    assert answer.status_code == 400 and answer.get_json()["error"] == "bad_request"
    page = trusted.get("/api/v1/listings?limit=1", headers={"Host": "bot.example.org"}).get_json()
    assert page["next"] == "http://bot.example.org/api/v1/listings?limit=1&offset=1"
    assert trusted.get("/healthz", headers={"Host": "192.168.1.10:5000"}).status_code == 200

    public = create_app(settings).test_client()  # PUBLIC_BASE_URL wins over any Host
    page = public.get("/api/v1/listings?limit=1", headers={"Host": "evil.example"}).get_json()
    assert page["next"].startswith(settings["PUBLIC_BASE_URL"] + "/api/v1/listings?")


def test_html_pages_get_the_page_policy(settings):
    web = create_app(dict(settings, SIMULATOR="on")).test_client()
    page = web.get("/simulator")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    for rule in ("default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"):
        assert rule in policy
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("text,value", [
    (b'{"a": [1, 2.5, "x"]}', {"a": [1, 2.5, "x"]}),
    (b'"\\ud83d\\ude00"', "\U0001F600"),  # a proper pair stays an emoji
    (b'"a\\ud800b"', "a\ufffdb"),  # a lone surrogate does not
    (b'{"\\udc00": 1}', {"\ufffd": 1}),
    (b'"[[[["', "[[[["),
    (("[" * 20 + "]" * 20).encode(), [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]),
])
def test_parse_json_accepts(text, value):
    assert parse_json(text) == value


@pytest.mark.parametrize("text", [
    b"NaN", b"[Infinity]", b"-Infinity", b"1e999999999", b"1" * 41, b"0." + b"1" * 40,
    ("[" * 21 + "]" * 21).encode(), b"[" * 100_000, b'{"a":' * 50, b"\xff", b"", b"[1,]",
    '"\u00e9"'.encode("latin-1"), b"\"unterminated \\\" " * 1000,
])
def test_parse_json_refuses(text):
    with pytest.raises(Malformed):
        parse_json(text)


def test_depth_scan_is_linear_on_unclosed_escapes():
    # One string that never ends, full of escaped quotes: scanned once. A scan that
    # restarted at every quote would take hours here instead of milliseconds.
    assert not json_depth_exceeds(b'"' + b'\\"' * 200_000)
    assert json_depth_exceeds(b'"a\\"b", ' * 1000 + b"[" * 21)
