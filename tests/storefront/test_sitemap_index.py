"""Past the sitemap protocol's 50,000 URLs, `/sitemap.xml` is a sitemap index whose files
each stay within the limit and together list every active listing, never a withdrawn one."""

from __future__ import annotations

from urllib.parse import urlsplit
from xml.etree import ElementTree

from bot.storage import transaction, utcnow
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
    assert files == ["/sitemap/pages.xml", "/sitemap/listings-1.xml", "/sitemap/listings-2.xml"]
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
