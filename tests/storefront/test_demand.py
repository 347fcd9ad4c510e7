"""Searches on the storefront's pages and through the catalog API that find nothing or
little are counted for the demand texts (issue 17): in Redis, since a public request never
takes the hub's write lock, and into SQLite by the sweep. The desk's overview lists the
week's top ones with where they came from."""

from __future__ import annotations

import re

import pytest

from bot.pipeline.dispatch import connect_redis
from bot.pipeline.sweep import sweep
from bot.services import demand
from bot.storage import utcnow
from tests.desk.conftest import VIEWER, sign_in
from tests.storefront.catalog import build


@pytest.fixture
def shop(client, db, httpserver, redis_url):
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
        ("durian", "", 4, 4, 0, 2, 2),       # the page twice (any case), the API by product and q
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
        "durian · dicari 4 · tanpa hasil 4 (teks 0, halaman toko 2, API 2)")


def test_a_search_page_answers_while_redis_is_down(settings, shop, app_on_own_redis, own_redis, db):
    own_redis.stop()
    client = app_on_own_redis.test_client()
    for path in ("/cari?q=durian", "/api/v1/listings?product=durian"):
        assert client.get(path).status_code == 200, path  # the count is lost, the answer is not
    assert counted(db) == []
