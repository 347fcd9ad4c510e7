"""Past the sitemap protocol's 50,000 URLs (or 50 MiB), `/sitemap.xml` is a sitemap index
whose files each stay within both limits and together list every page and every active
listing, never a withdrawn one. The pages' share is split like the listings' (smaller
limits are injected through the app's config)."""

from __future__ import annotations

from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from bot.services import stories
from bot.storage import transaction, utcnow
from bot.web.app import create_app
from bot.web.storefront.blueprint import SITEMAP_MAX_URLS
from tests.orders import seller_listing
from tests.storefront.test_pages import get

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def locs(response, tag: str) -> list[str]:
    root = ElementTree.fromstring(response.get_data())
    return [urlsplit(loc.text).path for loc in root.findall(f"s:{tag}/s:loc", NS)]


def test_more_than_50000_urls_make_a_sitemap_index(client, db):
    first = seller_listing(db, "+6281234567890", "Siti", "Sukamaju", "cabai", "50", "kg", 12000, utcnow())
    with transaction(db):  # 50,001 more: one file is not enough for them and the pages
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO listings (code, seller_id, product_id, product_text, quantity_milli, unit, price, "
            "status, created_at, updated_at) SELECT 'S' || i, seller_id, product_id, product_text, "
            "quantity_milli, unit, price, CASE WHEN i = 7 THEN 'withdrawn' ELSE 'active' END, created_at, "
            "updated_at FROM n, listings WHERE listings.id = ?", [SITEMAP_MAX_URLS + 1, first["id"]])
    files = locs(get(client, "/sitemap.xml"), "sitemap")
    assert files == ["/sitemap/pages-1.xml", "/sitemap/listings-1.xml", "/sitemap/listings-2.xml"]
    assert locs(get(client, files[0]), "url") == ["/", "/produk/cabai", "/desa/indonesia/sukamaju"]
    listed = []
    for path in files[1:]:
        urls = locs(get(client, path), "url")
        assert 0 < len(urls) <= SITEMAP_MAX_URLS
        listed += urls
    assert len(listed) == len(set(listed)) == SITEMAP_MAX_URLS + 1  # the first, and all but S7
    assert f"/l/{first['code']}" in listed and "/l/S7" not in listed and "/l/S8" in listed
    get(client, "/sitemap/listings-3.xml", 404)
    get(client, "/sitemap/listings-0.xml", 404)
    assert locs(get(client, "/sitemap/pages.xml"), "url") == locs(get(client, files[0]), "url")
    get(client, "/sitemap/pages-2.xml", 404)


def shop_of(db, sellers: int) -> set[str]:
    """`sellers` sellers in as many villages, each with a listing of another product and
    a story of their own (so a page of their own): the paths a sitemap must list."""
    now, paths = utcnow(), {"/"}
    names = ["cabai", "tomat", "kangkung", "bawang merah", "kentang", "wortel", "kopi", "beras"]
    for n in range(sellers):
        listing = seller_listing(db, f"+62812340000{n:02d}", f"Tani {n}", f"Desa Nomor {n}", names[n],
                                 "5", "kg", 10000 + n, now)
        stories.save_story(db, listing["seller_id"], None, stories.clean_story(f"Kebun ke-{n}"), now)
        paths |= {f"/l/{listing['code']}", f"/desa/indonesia/desa-nomor-{n}",
                  f"/penjual/{listing['seller_id']}"}
        paths.add("/produk/" + names[n].replace(" ", "-"))
    return paths


def crawl(client) -> tuple[list[str], list[str], list[bytes]]:
    """(the index's files, every URL path they list, each file's bytes)."""
    files = locs(get(client, "/sitemap.xml"), "sitemap")
    listed, bodies = [], []
    for path in files:
        response = get(client, path)
        bodies.append(response.get_data())
        listed += locs(response, "url")
    return files, listed, bodies


@pytest.fixture
def small_limits():
    return {}


@pytest.fixture
def app(settings, small_limits):
    return create_app(dict(settings, **small_limits))


@pytest.mark.parametrize("small_limits", [{"SITEMAP_MAX_URLS": 3}])
def test_the_pages_share_is_split_at_the_url_limit_too(client, db, small_limits):
    expected = shop_of(db, 5)  # 1 home + 5 products + 5 villages + 5 sellers = 16 pages
    files, listed, _ = crawl(client)
    assert files == [f"/sitemap/pages-{n}.xml" for n in range(1, 7)] + [
        f"/sitemap/listings-{n}.xml" for n in range(1, 3)]
    for path in files:
        assert 0 < len(locs(get(client, path), "url")) <= 3
    assert len(listed) == len(set(listed)) and set(listed) == expected
    get(client, "/sitemap/pages-7.xml", 404)
    get(client, "/sitemap/listings-3.xml", 404)


@pytest.mark.parametrize("small_limits", [{"SITEMAP_MAX_BYTES": 600}])
def test_every_file_stays_within_the_byte_limit(client, db, small_limits):
    expected = shop_of(db, 8)
    files, listed, bodies = crawl(client)
    assert len(files) > 2 and all(len(body) <= 600 for body in bodies)
    assert len(listed) == len(set(listed)) and set(listed) == expected


def test_within_both_limits_the_sitemap_stays_one_file(client, db):
    expected = shop_of(db, 3)
    root = ElementTree.fromstring(get(client, "/sitemap.xml").get_data())
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    assert set(locs(get(client, "/sitemap.xml"), "url")) == expected
