"""The storefront in a real Chromium at 390 px and 1280 px: fresh listings with photos,
the WhatsApp order link, search by a synonym, the English switch, no sideways scroll."""

from __future__ import annotations

import pytest

from tests.browser.conftest import WIDTHS, check_layout
from tests.storefront.catalog import build


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
