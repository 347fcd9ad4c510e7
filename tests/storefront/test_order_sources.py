"""Every order keeps its source (issue 17): one placed through a listing page's WhatsApp
link records `page` (here by a first-time buyer, who is registered on the way), one typed
by hand `text`, one from a buyer's system `api`; the desk's overview counts them."""

from __future__ import annotations

import itertools
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.storage import utcnow
from tests.conftest import TWILIO_SID, twilio_post
from tests.desk.conftest import ADMIN, sign_in
from tests.orders import api_buyer
from tests.storefront.catalog import build
from tests.storefront.test_pages import Page, get

TINI = "+6281311112222"
_sids = itertools.count(1)


@pytest.fixture
def shop(client, db, httpserver, redis_url):
    return build(client, db, httpserver, redis_url)


def whatsapp_from(client, phone: str, body: str) -> str:
    """`body` sent to the bot over WhatsApp from `phone`; the TwiML reply's text."""
    params = {"MessageSid": f"SM{next(_sids):032d}", "AccountSid": TWILIO_SID,
              "From": f"whatsapp:{phone}", "To": "whatsapp:+14155238886", "Body": body,
              "NumMedia": "0", "WaId": phone[1:]}
    response = twilio_post(client, "/twilio/messages", params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def sources(db) -> dict[str, str]:
    return {code: source for code, source in db.execute("SELECT code, source FROM orders ORDER BY id")}


def test_orders_from_a_page_link_by_text_and_by_api_keep_their_source(app, client, db, shop):
    page = Page(get(client, f"/l/{shop['photo']}").get_data(as_text=True))
    (link,) = [link for link in page.links if link.startswith("https://wa.me/")]
    (text,) = parse_qs(urlsplit(link).query)["text"]
    assert text == f"PESAN {shop['photo']} 1 (web)"

    # A first-time buyer taps the link and sends the text WhatsApp filled in (quantity edited).
    asked = whatsapp_from(client, TINI, text.replace(" 1 ", " 3 "))
    assert "Apa nama usaha Bapak/Ibu?" in asked
    placed = whatsapp_from(client, TINI, "Warung Bu Tini, Bandung")
    assert "Terdaftar: Warung Bu Tini, Bandung. Pesanan P2: 3 kg cabai" in placed
    # The same buyer types the next order by hand.
    assert "Pesanan P3: 1 kg cabai @Rp40.000" in whatsapp_from(client, TINI, f"PESAN {shop['cabe']} 1")
    # A buyer's system orders through the API.
    _, key = api_buyer(db, utcnow(), phone="+6281377778888")
    response = client.post("/api/v1/orders", json={"listing": shop["kangkung"], "quantity": "2"},
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201, response.get_json()
    assert sources(db) == {"P2": "page", "P3": "text", response.get_json()["order"]["code"]: "api"}
    assert [row[0] for row in db.execute("SELECT source FROM order_events WHERE event = 'place' "
                                         "ORDER BY id")] == ["page", "text", "api"]

    desk = sign_in(app.test_client(), db, ADMIN, "admin")
    html = desk.get("/dashboard/").get_data(as_text=True)
    for period in ("today", "week"):
        card = html[html.index(f'data-period="{period}"'):]
        figure = re.search(r'data-figure="sources">([^<]*)<', card).group(1)
        assert figure == "Sumber pesanan: halaman toko 1 · teks 1 · API 1", (period, figure)
