"""The public storefront over HTTP: pages, SEO tags, sitemap, 410/OutOfStock, photo
caching, and a crawl of the whole public site that finds no seller phone number."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from tests.conftest import PUBLIC_BASE_URL
from tests.storefront.catalog import SELLER_PHONES, build


@pytest.fixture
def shop(client, db, httpserver, redis_url):
    return build(client, db, httpserver, redis_url)


class Page(HTMLParser):
    """Links, meta tags, JSON-LD blocks and the canonical link of one HTML page."""

    def __init__(self, html: str):
        super().__init__()
        self.links, self.meta, self.ld, self.canonical, self._in_ld = [], {}, [], None, False
        self.images = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "meta" and a.get("content") is not None:
            self.meta[a.get("property") or a.get("name")] = a["content"]
        elif tag == "link" and a.get("rel") == "canonical":
            self.canonical = a["href"]
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in_ld = True

    def handle_data(self, data):
        if self._in_ld:
            self.ld.append(json.loads(data))

    def handle_endtag(self, tag):
        self._in_ld = False if tag == "script" else self._in_ld


def get(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response


def test_home_lists_fresh_listings_by_product_and_village(client, shop):
    response = get(client, "/")
    html = response.get_data(as_text=True)
    page = Page(html)
    assert f"/l/{shop['photo']}" in page.links and f"/l/{shop['kangkung']}" in page.links
    assert f"/l/{shop['sold_out']}" not in page.links and f"/l/{shop['withdrawn']}" not in page.links
    assert "/produk/cabai" in page.links
    assert "/desa/jawa-barat/sukamaju" in page.links and "/desa/indonesia/cibodas" in page.links
    assert any(src.startswith("/media/") for src in page.images)
    assert "Baru masuk" in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "/toko/static/store.css" in html and get(client, "/toko/static/store.css").mimetype == "text/css"


def test_product_page_cheapest_first_with_synonyms_and_reference_price(client, shop):
    html = get(client, "/produk/cabe").get_data(as_text=True)  # a synonym's page
    page = Page(html)
    codes = [link.removeprefix("/l/") for link in page.links if link.startswith("/l/")]
    assert codes == [shop["photo"], shop["cabe"]]              # 12.000 before 40.000
    assert page.canonical == f"{PUBLIC_BASE_URL}/produk/cabai"
    assert "Harga acuan terbaru" in html and "Rp35.000/kg" in html
    get(client, "/produk/durian-montong", 404)


def test_listing_page_og_tags_json_ld_and_order_link(client, shop):
    code = shop["photo"]
    html = get(client, f"/l/{code.lower()}").get_data(as_text=True)
    page = Page(html)
    assert page.canonical == f"{PUBLIC_BASE_URL}/l/{code}"
    for key in ("og:url", "og:image", "twitter:image"):
        assert urlsplit(page.meta[key]).scheme == "https", key
        assert page.meta[key].startswith(PUBLIC_BASE_URL)
    assert page.meta["og:image"].startswith(f"{PUBLIC_BASE_URL}/media/")
    assert "Rp12.000/kg" in page.meta["og:description"] and "Sukamaju" in page.meta["og:description"]
    assert page.meta["twitter:card"] == "summary_large_image"
    (ld,) = page.ld
    assert ld["@type"] == "Product" and ld["offers"]["@type"] == "Offer"
    assert (ld["offers"]["price"], ld["offers"]["priceCurrency"]) == (12000, "IDR")
    assert ld["offers"]["availability"] == "https://schema.org/InStock"
    assert ld["offers"]["seller"]["name"] == "Siti"           # first name only
    assert "Aminah" not in html
    assert f"https://wa.me/14155238886?text=PESAN%20{code}%201%20%28web%29" in page.links
    assert not any(link.startswith("sms:") for link in page.links)  # no buyer SMS number set


def test_sms_link_only_when_a_buyer_sms_number_is_configured(settings, shop):
    from bot.web.app import create_app
    client = create_app(dict(settings, BUYER_SMS_NUMBER="+62 812-0000-1111")).test_client()
    page = Page(get(client, f"/l/{shop['photo']}").get_data(as_text=True))
    assert f"sms:+6281200001111?body=PESAN%20{shop['photo']}%201%20%28web%29" in page.links


def test_sold_out_listing_stays_with_out_of_stock(client, shop):
    page = Page(get(client, f"/l/{shop['sold_out']}").get_data(as_text=True))
    assert page.ld[0]["offers"]["availability"] == "https://schema.org/OutOfStock"
    assert not any("wa.me" in link for link in page.links)


def test_withdrawn_listing_is_gone_with_links_to_similar_ones(client, shop):
    response = get(client, f"/l/{shop['withdrawn']}", 410)
    page = Page(response.get_data(as_text=True))
    assert f"/l/{shop['tomat']}" in page.links and "/produk/tomat" in page.links
    assert page.meta["robots"] == "noindex"
    get(client, "/l/Z99", 404)


def test_village_pages_and_search_by_synonym(client, shop):
    links = Page(get(client, "/desa/jawa-barat/sukamaju").get_data(as_text=True)).links
    assert f"/l/{shop['photo']}" in links and f"/l/{shop['bawang']}" in links
    assert f"/l/{shop['cabe']}" not in links                  # Budi is in Cibodas
    get(client, "/desa/jawa-tengah/sukamaju", 404)
    found = Page(get(client, "/cari?q=shallot").get_data(as_text=True)).links
    assert f"/l/{shop['bawang']}" in found
    assert "Tidak ada yang cocok" in get(client, "/cari?q=durian").get_data(as_text=True)


def test_english_switch_is_remembered(client, shop):
    html = get(client, "/?lang=en").get_data(as_text=True)
    assert "Just in" in html and '<html lang="en">' in html
    assert "Just in" in get(client, "/").get_data(as_text=True)          # the cookie
    assert "Baru masuk" in get(client, "/?lang=id").get_data(as_text=True)


def test_sitemap_lists_every_active_listing_and_no_withdrawn_one(client, db, shop):
    response = get(client, "/sitemap.xml")
    assert response.mimetype == "application/xml"
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = {loc.text for loc in ElementTree.fromstring(response.data).findall("s:url/s:loc", ns)}
    active = {row[0] for row in db.execute("SELECT code FROM listings WHERE status = 'active'")}
    listed = {loc.removeprefix(f"{PUBLIC_BASE_URL}/l/") for loc in locs if "/l/" in loc}
    assert listed == active and shop["sold_out"] in listed and shop["withdrawn"] not in listed
    assert all(loc.startswith(PUBLIC_BASE_URL) for loc in locs)
    robots = get(client, "/robots.txt").get_data(as_text=True)
    assert f"Sitemap: {PUBLIC_BASE_URL}/sitemap.xml" in robots and "Disallow: /dashboard/" in robots


def test_photos_are_cached_with_an_etag_and_answer_304(client, shop):
    response = get(client, f"/media/{shop['photo']}")
    assert "max-age" in response.headers["Cache-Control"] and response.headers["ETag"]
    again = client.get(f"/media/{shop['photo']}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(f"/media/{shop['photo']}", headers={"If-None-Match": '"other"'}).status_code == 200


def phone_forms(phone: str) -> list[str]:
    """+6281234567890 as people write it: +62…, 62…, 08…, 8…, and with separators."""
    national = phone.removeprefix("+62")
    return [phone, phone[1:], "0" + national, national]


def test_no_seller_phone_number_anywhere_on_the_public_site(client, shop):
    seen, queue = set(), ["/", "/?lang=en", "/sitemap.xml", "/robots.txt", "/api/v1/listings",
                          "/cari?q=cabai", "/cari?q=sukamaju"]
    queue += [f"/l/{code}" for code in shop.values()]
    bodies = []
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        assert response.status_code in (200, 304, 404, 410), path
        if response.mimetype.startswith("image/"):
            continue
        text = response.get_data(as_text=True)
        bodies.append((path, text))
        if response.mimetype == "text/html":
            queue += [link for link in Page(text).links if link.startswith("/")]
        if path == "/sitemap.xml":
            queue += [loc.removeprefix(PUBLIC_BASE_URL) for loc in re.findall(r"<loc>([^<]+)</loc>", text)]
    assert len(seen) > 15
    for path, text in bodies:
        squeezed = re.sub(r"(?<=\d)[\s.\-()]+(?=\d)", "", text)  # 0812-3456 7890 -> 081234567890
        for phone in SELLER_PHONES:
            for form in phone_forms(phone):
                assert form not in squeezed, (path, form)
