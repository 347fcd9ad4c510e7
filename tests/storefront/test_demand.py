"""Searches on the storefront's pages and through the catalog API that find nothing or
little are counted for the demand texts (issue 17): in Redis, since a public request never
takes the hub's write lock, and into SQLite by the sweep. The desk's overview lists the
week's top ones with where they came from."""

from __future__ import annotations

import re

import pytest

from bot.pipeline.demand import SEEN_KEY
from bot.pipeline.dispatch import connect_redis
from bot.pipeline.sweep import sweep
from bot.services import demand
from bot.storage import utcnow
from tests.desk.conftest import VIEWER, sign_in
from tests.storefront.catalog import build


@pytest.fixture
def shop(client, db, httpserver, redis_url):
    # Redis is shared by the session: today's "already counted" digests of earlier tests
    # (the same test client, the same searches) must not hide this test's searches.
    connection = connect_redis(redis_url)
    for key in connection.scan_iter(match=SEEN_KEY.format(day="*")):
        connection.delete(key)
    return build(client, db, httpserver, redis_url)


def counted(db) -> list[tuple]:
    return [(row["product"], row["area"], row["searches"], row["unmet"], row["by_text"], row["by_page"],
             row["by_api"]) for row in demand.top_unmet(db, utcnow())]


def test_page_and_api_searches_that_find_little_are_counted_and_shown_on_the_desk(app, client, db, shop,
                                                                                redis_url):
    for path in ("/cari?q=durian", "/cari?q=Durian", "/cari?q=cabe", "/cari?q=Sukamaju",
                 "/cari?q=bawang+merah", "/api/v1/listings?product=durian",
                 "/api/v1/listings?product=durian&village=Cibodas", "/api/v1/listings?q=durian",
                 "/api/v1/listings?product=durian&offset=20", "/api/v1/listings?village=Cibodas"):
        assert client.get(path).status_code == 200, path
    assert counted(db) == []  # nothing written by the requests themselves
    sweep(db, app.config, connect_redis(redis_url))
    sweep(db, app.config, connect_redis(redis_url))  # folded once: a second sweep adds nothing
    assert counted(db) == [
        ("durian", "", 2, 2, 0, 1, 1),       # the page once (any case), the API once (by product or q):
                                             # one visitor's same search, once a day (DECISIONS 364)
        ("durian", "cibodas", 1, 1, 0, 0, 1),  # found nothing, so before those that found little
        ("bawang merah", "", 1, 0, 0, 1, 0),  # one listing (brambang) found
        ("cabai", "", 1, 0, 0, 1, 0),        # a synonym: two listings found, "little"
    ]  # a village's name is a place, a next page is no new search, no product no search

    desk = sign_in(app.test_client(), db, VIEWER, "viewer")
    html = desk.get("/dashboard/").get_data(as_text=True)
    section = html[html.index('id="unmet-searches"'):]
    section = section[:section.index("</section>")]
    items = re.findall(r'data-unmet="([^"]*)">(.*?)</li>', section)
    assert [key for key, _ in items] == ["durian|", "durian|cibodas", "bawang merah|", "cabai|"]
    assert re.sub(r"<[^>]+>", "", items[0][1]) == (
        "durian · dicari 2 · tanpa hasil 2 (teks 0, halaman toko 1, API 1)")


def test_a_search_page_answers_while_redis_is_down(settings, shop, app_on_own_redis, own_redis, db):
    own_redis.stop()
    client = app_on_own_redis.test_client()
    for path in ("/cari?q=durian", "/api/v1/listings?product=durian"):
        assert client.get(path).status_code == 200, path  # the count is lost, the answer is not
    assert counted(db) == []


def test_a_visitor_reloading_a_search_counts_once_a_day_and_nothing_personal_is_kept(
        app, client, db, shop, redis_url):
    """Review finding 5 (DECISIONS 364): a page view or refresh is not a new search."""
    for _ in range(3):  # the same visitor reloads, in any case
        assert client.get("/cari?q=durian").status_code == 200
    assert client.get("/cari?q=Durian").status_code == 200
    other = app.test_client()  # another visitor: another address, another browser
    other.environ_base.update(REMOTE_ADDR="10.20.30.40", HTTP_USER_AGENT="Mozilla/5.0 (Android 13)")
    assert other.get("/cari?q=durian").status_code == 200
    same_address = app.test_client()  # a second phone behind the same address: another browser
    same_address.environ_base.update(HTTP_USER_AGENT="Opera Mini")
    assert same_address.get("/cari?q=durian").status_code == 200
    assert client.get("/api/v1/listings?product=durian").status_code == 200
    assert client.get("/api/v1/listings?product=durian").status_code == 200
    connection = connect_redis(redis_url)
    kept: list[bytes] = []  # every key and member the counting left in Redis
    for key in connection.scan_iter(match="jembatan:demand*"):
        kind = connection.type(key)
        kept += [key, *(connection.smembers(key) if kind == b"set" else
                        connection.hgetall(key) if kind == b"hash" else [])]
    assert not [item for item in kept if b"10.20.30.40" in item or b"127.0.0.1" in item
                or b"Android" in item or b"Opera" in item]
    sweep(db, app.config, connection)
    assert counted(db)[0] == ("durian", "", 4, 4, 0, 3, 1)


def test_the_same_search_counts_again_the_next_day(redis_url):
    from datetime import timedelta

    from bot.pipeline.demand import COUNTS_KEY, count_search

    connection = connect_redis(redis_url)
    now = utcnow() + timedelta(days=30)  # a day of its own in the shared Redis
    key = ["durian", "", 0, "page"]
    for moment in (now, now, now + timedelta(days=1)):
        count_search(connection, key, moment, visitor="192.0.2.7\nMozilla")
    count_search(connection, key, now, visitor="192.0.2.8\nMozilla")
    days = [COUNTS_KEY.format(day=(now + timedelta(days=n)).date().isoformat()) for n in (0, 1)]
    assert [sum(int(v) for v in connection.hgetall(day).values()) for day in days] == [2, 1]
    connection.delete(*days)
