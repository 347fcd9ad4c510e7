"""The desk's overview of a hub and of a city in a real browser (DECISIONS 325), at 390 px
and 1280 px: the hub's link goes down and comes back as the relay records it, the page
says so on the next load, in Indonesian and English."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from bot.services import federation
from bot.storage import open_database, utcnow
from bot.web.app import create_app
from tests.browser.conftest import check_layout, signed_in

ADMIN = "+6281100000001"


@pytest.fixture
def served(settings, request):
    """The app in the role the test names, on a free port."""
    app = create_app(dict(settings, **request.param))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    db = open_database(settings["DATABASE_PATH"])
    yield f"http://127.0.0.1:{server.server_port}", db
    db.conn.close()
    server.shutdown()
    thread.join()


@pytest.mark.parametrize("served", [{"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "A"}], indirect=True)
def test_a_hubs_link_down_then_up_on_the_overview(served, page):
    base, db = served
    federation.record_link(db, "city", up=False, now=utcnow())
    signed_in(page, base, db, ADMIN)
    card = page.locator("#federation")
    assert card.locator('[data-figure="link"]').get_attribute("data-up") == "0"
    assert "Wajar bila internet desa putus" in card.inner_text()
    check_layout(page, "federation-hub-down")
    federation.record_link(db, "city", up=True, now=utcnow())
    page.reload()
    assert card.locator('[data-figure="link"]').inner_text() == "Tersambung"
    assert "Wajar bila" not in card.inner_text()
    page.goto(f"{base}/dashboard/bahasa/en")
    page.goto(f"{base}/dashboard/")
    assert card.locator("h2").inner_text() == "Link to the city"
    check_layout(page, "federation-hub-up-en")


@pytest.mark.parametrize("served", [{"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A,B"}], indirect=True)
def test_the_citys_hubs_on_the_overview(served, page):
    base, db = served
    federation.record_link(db, "A", up=True, now=utcnow(), lag=12)
    federation.record_link(db, "B", up=False, now=utcnow())
    signed_in(page, base, db, ADMIN)
    rows = page.locator("#federation [data-hub]")
    assert rows.count() == 2
    assert page.locator('[data-hub="A"] [data-figure="lag"]').inner_text() == "12"
    assert page.locator('[data-hub="B"] [data-figure="link"]').inner_text() == "Tidak tersambung"
    check_layout(page, "federation-city")
