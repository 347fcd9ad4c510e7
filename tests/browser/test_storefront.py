"""The storefront in a real Chromium at 390 px and 1280 px: fresh listings with photos,
the WhatsApp order link, search by a synonym, the English switch, no sideways scroll."""

from __future__ import annotations

import pytest

from tests.browser.conftest import WIDTHS, check_layout
from tests.federation.test_province import city_with_hub_seller
from tests.storefront.catalog import build
from tests.test_media import whatsapp


@pytest.fixture
def shop(client, db, httpserver, redis_url):
    return build(client, db, httpserver, redis_url)


def no_sideways_scroll(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", WIDTHS)
def test_storefront_in_chromium(page, live, shop, width):
    base, _ = live
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/")
    card = page.locator(f".card:has(a[href='/l/{shop['photo']}'])")
    photo = card.locator("img")
    photo.wait_for()
    # the photo was really fetched and decoded, not just linked (waited for, not assumed)
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    assert page.locator(".card").count() >= 4
    no_sideways_scroll(page)
    check_layout(page, "store-home")

    card.locator("a").first.click()
    page.wait_for_url(f"{base}/l/{shop['photo']}")
    order = page.get_by_role("link", name="Pesan lewat WhatsApp")
    assert f"text=PESAN%20{shop['photo']}%20" in order.get_attribute("href")
    no_sideways_scroll(page)
    check_layout(page, "store-listing")

    page.get_by_role("searchbox").fill("shallot")           # a synonym of bawang merah
    page.get_by_role("button", name="Cari").click()
    page.wait_for_url("**/cari?q=shallot")
    assert page.locator(f"a[href='/l/{shop['bawang']}']").count() >= 1
    no_sideways_scroll(page)
    check_layout(page, "store-search")

    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", name="Search results: shallot").wait_for()
    page.goto(f"{base}/l/{shop['photo']}")                  # remembered by the cookie
    page.get_by_role("link", name="Order on WhatsApp").wait_for()
    no_sideways_scroll(page)
    check_layout(page, "store-listing-en")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_story_texted_in_this_test_shows_on_the_listing_page(page, live, client, shop, width):
    """Siti texts a story (with her number in it) over WhatsApp, as a seller would; the
    listing page shows it, without the number, and the seller's page has her own story."""
    base, _ = live
    code = shop["photo"]
    story = ("Cabai ini kami tanam di lereng Gunung Ciremai tanpa pestisida kimia, dipetik pagi "
             "hari oleh ibu-ibu tani.")
    assert "tersimpan" in whatsapp(client, f"CERITA {code} {story} Pesan: 0812-3456-7890")
    assert "tersimpan" in whatsapp(client, "CERITA Saya Siti, bertani cabai sejak 1998.")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/l/{code}")
    section = page.locator("section.story").first
    section.get_by_role("heading", name="Cerita").wait_for()
    assert section.inner_text().endswith(f"{story} Pesan")
    assert "0812" not in page.content()
    page.get_by_role("heading", name="Tentang Siti").wait_for()
    no_sideways_scroll(page)
    check_layout(page, "store-listing-story")
    page.get_by_role("link", name="Lihat penjual dan jualan lainnya").click()
    page.get_by_role("heading", name="Siti dari Sukamaju").wait_for()
    assert "bertani cabai sejak 1998" in page.locator("section.story").inner_text()
    no_sideways_scroll(page)
    check_layout(page, "store-seller")


@pytest.fixture
def city_live(settings):
    """A city's storefront on a free port, hub A's seller Siti of Sukamaju (Jawa Barat) and
    her listing in its catalog; (base URL, the listing's city code)."""
    import threading

    from werkzeug.serving import make_server

    app, code = city_with_hub_seller(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", code
    server.shutdown()
    thread.join()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_hub_sellers_listing_on_the_citys_village_page(page, city_live, width):
    """At the city, a hub's seller is on her village's page (DECISIONS 435): from the home
    page's village link to the page, to her listing, and in the sitemap."""
    base, code = city_live
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/")
    page.locator("a[href='/desa/jawa-barat/sukamaju']").first.click()
    page.wait_for_url(f"{base}/desa/jawa-barat/sukamaju")
    page.get_by_role("heading", name="Desa Sukamaju, Jawa Barat").wait_for()
    card = page.locator(f"a[href='/l/{code}']").first
    card.wait_for()
    no_sideways_scroll(page)
    check_layout(page, "store-village-hub-seller")
    card.click()
    page.wait_for_url(f"{base}/l/{code}")
    page.goto(f"{base}/sitemap.xml")
    assert f"/l/{code}" in page.content() and "/desa/jawa-barat/sukamaju" in page.content()
