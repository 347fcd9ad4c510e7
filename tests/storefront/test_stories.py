"""Stories on the public pages (issue 17): texted by the seller, shown on the listing
page and the seller's page without phone numbers, links or e-mail addresses; a photo
sent with the seller's own story is published without its EXIF; hidden stories vanish."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.services import stories
from bot.storage import utcnow
from tests.conftest import PUBLIC_BASE_URL, run_worker
from tests.storefront.catalog import SELLER_PHONES, build, png
from tests.storefront.test_pages import Page, get
from tests.test_media import FakeTwilioMedia, gps_exif, jpeg, whatsapp


@pytest.fixture
def shop(client, db, httpserver, redis_url):
    return build(client, db, httpserver, redis_url)


def seller_id(db, phone=SELLER_PHONES[0]) -> int:
    return db.execute("SELECT id FROM contacts WHERE phone = ?", [phone]).fetchone()[0]


def test_a_texted_story_appears_on_the_listing_page_without_the_number(client, db, shop):
    code = shop["photo"]
    reply = whatsapp(client, f"CERITA {code} Cabai dipetik pagi di lereng Ciremai.\n\n"
                             "Pesan: WA 0812-3456-7890 atau tokositi.com")
    assert f"Cerita untuk jualan {code} tersimpan" in reply and "tanpa nomor telepon dan tautan" in reply
    html = get(client, f"/l/{code}").get_data(as_text=True)
    assert "Cabai dipetik pagi di lereng Ciremai." in html and "<h2>Cerita</h2>" in html
    assert "0812" not in html and "tokositi" not in html
    assert '<p>Pesan: WA atau</p>' in html  # paragraphs kept, the number and link gone
    english = get(client, f"/l/{code}?lang=en").get_data(as_text=True)
    assert "<h2>Story</h2>" in english


def test_the_sellers_own_story_is_on_the_listing_and_the_seller_page(client, db, shop):
    whatsapp(client, "CERITA Saya <b>Siti</b>, petani cabai sejak 1998.")
    listing = get(client, f"/l/{shop['photo']}").get_data(as_text=True)
    assert "Tentang Siti" in listing and "&lt;b&gt;Siti&lt;/b&gt;" in listing  # escaped, not markup
    page = Page(listing)
    seller_path = f"/penjual/{seller_id(db)}"
    assert seller_path in page.links
    seller = get(client, seller_path)
    html = seller.get_data(as_text=True)
    assert "Siti dari Sukamaju" in html and "petani cabai sejak 1998" in html
    assert f"/l/{shop['photo']}" in Page(html).links and f"/l/{shop['tomat']}" not in Page(html).links
    assert Page(html).canonical == f"{PUBLIC_BASE_URL}{seller_path}"
    assert f"<loc>{PUBLIC_BASE_URL}{seller_path}</loc>" in get(client, "/sitemap.xml").get_data(as_text=True)


def test_seller_pages_exist_only_for_sellers_with_something_to_show(client, db, shop):
    whatsapp_buyer = db.execute("SELECT MAX(id) FROM contacts").fetchone()[0] + 1
    for path in (f"/penjual/{whatsapp_buyer}", "/penjual/0", "/penjual/99999999999999", "/penjual/x"):
        get(client, path, 404)
    # Ani sells (tomat, bawang): her page lists them although she told no story
    html = get(client, f"/penjual/{seller_id(db, SELLER_PHONES[2])}").get_data(as_text=True)
    assert f"/l/{shop['tomat']}" in Page(html).links


def test_a_hidden_story_leaves_the_pages(client, db, shop):
    whatsapp(client, f"CERITA {shop['photo']} Dipetik pagi.")
    whatsapp(client, "CERITA Petani sejak 1998.")
    for row in list(db.query("SELECT id FROM stories")):
        stories.set_hidden(db, row["id"], True, utcnow(), "+6281100000002", None)
    html = get(client, f"/l/{shop['photo']}").get_data(as_text=True)
    assert "Dipetik pagi." not in html and "Petani sejak 1998." not in html
    assert "Petani sejak 1998." not in get(client, f"/penjual/{seller_id(db)}").get_data(as_text=True)
    assert f"/penjual/{seller_id(db)}" not in get(client, "/sitemap.xml").get_data(as_text=True)


def test_a_photo_with_the_sellers_story_is_published_without_exif(client, db, httpserver, redis_url,
                                                                  shop):
    httpserver.clear_all_handlers()  # the catalog's photo answered the same Twilio path
    provider = FakeTwilioMedia(httpserver, (200, "image/jpeg", jpeg(2000, 1500, gps_exif()), True))
    whatsapp(client, "CERITA Kebun kami di lereng gunung.", provider.url)
    run_worker(redis_url)
    html = get(client, f"/penjual/{seller_id(db)}").get_data(as_text=True)
    (story_photo,) = db.execute("SELECT id FROM media WHERE story_id IS NOT NULL").fetchall()
    src = f"/media/{story_photo[0]}"
    assert Page(html).images[0] == src  # the story's photo first, then the listings' cards
    photo = client.get(src)
    assert photo.status_code == 200 and "max-age" in photo.headers["Cache-Control"]
    image = Image.open(io.BytesIO(photo.data))
    assert dict(image.getexif()) == {} and b"Pixel 7" not in photo.data and max(image.size) == 1280
    again = client.get(src, headers={"If-None-Match": photo.headers["ETag"]})
    assert again.status_code == 304
    # hidden story: its photo is no longer served
    stories.set_hidden(db, db.execute("SELECT id FROM stories").fetchone()[0], True, utcnow(),
                       "+6281100000002", None)
    assert client.get(src).status_code == 404


# --- A photo sent alone during the CERITA dialog (DECISIONS 341) ----------------------------

def _media_rows(db) -> list[dict]:
    return list(db.query("SELECT id, listing_id, story_id, status FROM media WHERE inbound_id IN "
                         "(SELECT id FROM inbound WHERE body = '') ORDER BY id"))


def test_a_photo_sent_alone_before_the_text_is_kept_with_the_sellers_story(client, db, httpserver,
                                                                            redis_url, shop):
    httpserver.clear_all_handlers()
    provider = FakeTwilioMedia(httpserver, (200, "image/jpeg", jpeg(640, 480, gps_exif()), True))
    assert "Ceritakan asal-usul" in whatsapp(client, "CERITA")
    assert "Foto diterima. Sekarang mohon balas dengan ceritanya" in whatsapp(client, "", provider.url)
    assert "Cerita untuk profil Bapak/Ibu tersimpan" in whatsapp(client, "Kebun kami di lereng gunung.")
    run_worker(redis_url)
    (photo,) = _media_rows(db)
    assert photo["status"] == "stored" and photo["listing_id"] is None and photo["story_id"] is not None
    images = Page(get(client, f"/penjual/{seller_id(db)}").get_data(as_text=True)).images
    assert images[0] == f"/media/{photo['id']}"
    assert dict(Image.open(io.BytesIO(client.get(images[0]).data)).getexif()) == {}


def test_a_photo_sent_alone_after_a_listings_story_joins_that_listing(client, db, httpserver,
                                                                     redis_url, shop):
    """Not the newest listing (a photo alone outside the dialog would go there): the one
    whose story was just told."""
    code = shop["kangkung"]  # Budi's; he tells its story and then sends a photo alone
    httpserver.clear_all_handlers()
    provider = FakeTwilioMedia(httpserver, (200, "image/png", png(), True))
    budi = SELLER_PHONES[1]
    assert "tersimpan" in whatsapp(client, f"CERITA {code} Kangkung dari sawah sendiri.", sender=budi)
    assert f"Foto ditambahkan ke cerita jualan {code}" in whatsapp(client, "", provider.url, "image/png",
                                                                  sender=budi)
    run_worker(redis_url)
    (photo,) = _media_rows(db)
    listing_id = db.execute("SELECT id FROM listings WHERE code = ?", [code]).fetchone()[0]
    assert (photo["status"], photo["listing_id"], photo["story_id"]) == ("stored", listing_id, None)
    page = get(client, f"/l/{code}").get_data(as_text=True)
    assert f"/media/{photo['id']}" in Page(page).images and "Kangkung dari sawah sendiri." in page
