"""The desk's stories page (issue 17): a coordinator edits a seller's story (cleaned like
the seller's own text) or hides it from the shop; the seller is told; viewers and forged
posts change nothing."""

from __future__ import annotations

from decimal import Decimal

from bot.services import contacts, listings, products, stories
from bot.storage import transaction, utcnow
from tests.desk.conftest import post

SITI = "+6281234567890"


def a_story(db, listing: bool = True) -> dict:
    now = utcnow()
    with transaction(db):
        seller = contacts.register_seller(
            db, contacts.get_or_create_contact(db, SITI, now)["id"], "Siti Aminah", "Sukamaju", now)
        product, _ = products.resolve_product(db, "cabai", now)
        made = listings.create_listing(db, seller_id=seller["id"], product=product, product_text="cabai",
                                       quantity=Decimal(10), unit="kg", price=12000, now=now)
        return stories.save_story(db, seller["id"], made["id"] if listing else None,
                                  stories.clean_story("Cabai dipetik pagi."), now)


def told(db) -> list[str]:
    return [row["body"] for row in db.query("SELECT body FROM outbox WHERE phone = ? AND kind <> 'reply' "
                                            "ORDER BY id", [SITI])]


def test_a_coordinator_edits_a_story_and_the_seller_is_told(admin, db, client):
    story = a_story(db)
    page = admin.get("/dashboard/cerita")
    assert page.status_code == 200 and "Cabai dipetik pagi." in page.get_data(as_text=True)
    answer = post(admin, f"/dashboard/cerita/{story['id']}",
                  {"text": "Cabai merah dipetik pagi. WA 0812 9999 8888"}, "/dashboard/cerita")
    assert answer.status_code == 302
    assert stories.get_story(db, story["id"])["text"] == "Cabai merah dipetik pagi. WA"
    assert told(db) == ["Koordinator merapikan cerita jualan C2 di toko online. Ketik CERITA untuk "
                        "menggantinya."]
    assert "Cabai merah dipetik pagi. WA" in client.get("/l/C2").get_data(as_text=True)
    audit = [row["action"] for row in db.query("SELECT action FROM coordinator_actions")]
    assert "story.edit" in audit


def test_a_coordinator_hides_and_shows_a_story(admin, db, client):
    story = a_story(db, listing=False)
    post(admin, f"/dashboard/cerita/{story['id']}/sembunyikan", {"hide": "1"}, "/dashboard/cerita")
    assert stories.get_story(db, story["id"])["status"] == "hidden"
    assert told(db) == ["Koordinator menyembunyikan cerita profil Bapak/Ibu dari toko online. "
                        "Tanyakan koordinator bila perlu."]
    assert "Cabai dipetik pagi." not in client.get("/l/C2").get_data(as_text=True)
    post(admin, f"/dashboard/cerita/{story['id']}/sembunyikan", {"hide": "0"}, "/dashboard/cerita")
    assert stories.get_story(db, story["id"])["status"] == "visible"
    assert len(told(db)) == 1  # showing it again needs no text
    assert "Cabai dipetik pagi." in client.get("/l/C2").get_data(as_text=True)


def test_an_empty_edit_is_refused(admin, db):
    story = a_story(db)
    answer = post(admin, f"/dashboard/cerita/{story['id']}", {"text": "https://x.com"}, "/dashboard/cerita")
    assert answer.status_code == 302 and stories.get_story(db, story["id"])["text"] == "Cabai dipetik pagi."
    assert "cerita kosong" in admin.get("/dashboard/cerita").get_data(as_text=True)


def test_viewers_and_forged_posts_change_nothing(admin, viewer, db):
    story = a_story(db)
    assert "<textarea" not in viewer.get("/dashboard/cerita").get_data(as_text=True)
    assert post(viewer, f"/dashboard/cerita/{story['id']}/sembunyikan", {"hide": "1"},
                "/dashboard/cerita").status_code == 403
    assert admin.post(f"/dashboard/cerita/{story['id']}", data={"text": "x"}).status_code == 400
    assert stories.get_story(db, story["id"]) == story
    missing = post(admin, "/dashboard/cerita/999/sembunyikan", {"hide": "1"}, "/dashboard/cerita")
    assert missing.status_code == 404
