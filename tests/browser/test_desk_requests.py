"""Two desk pages in a real browser, at phone and laptop width: a statement a seller
asked for by text is issued from `/dashboard/laporan` and then listed (issue 16), and a
story is edited, then hidden, from `/dashboard/cerita` (issue 17)."""

from __future__ import annotations

import re

from bot.services import statements
from bot.storage import utcnow
from tests.browser.conftest import check_layout, signed_in
from tests.desk.test_stories import a_story
from tests.money import make_seller_with_money

ANI, SELLER = "+6281100000001", "+6281234567890"


def test_a_texted_statement_request_is_issued_and_listed(live, page, db, settings):
    base, _ = live
    seller = make_seller_with_money(db, SELLER, "DANA", "081234567890", 300_000, utcnow())
    statements.request_statement(db, seller, utcnow())
    signed_in(page, base, db, ANI, "coordinator")
    page.goto(f"{base}/dashboard/laporan")
    page.get_by_text("Siti Aminah").first.wait_for()
    check_layout(page, "desk-statements-waiting")
    page.get_by_label("Jumlah bulan").fill("3")
    page.get_by_role("button", name="Terbitkan laporan").click()
    page.wait_for_url(re.compile(r".*/verify/[A-Z0-9]+-[A-Z0-9]+"))
    code = page.url.rsplit("/", 1)[1]
    page.goto(f"{base}/dashboard/laporan")
    page.get_by_text("Tidak ada permintaan yang menunggu.").wait_for()
    assert page.locator(f'[data-statement="{code}"]').count() == 1
    assert page.locator(f'a[href="/verify/{code}"]').count() >= 1
    check_layout(page, "desk-statements-issued")


def test_a_story_is_edited_then_hidden_from_the_desk(live, page, db):
    base, _ = live
    story = a_story(db)
    signed_in(page, base, db, ANI, "coordinator")
    page.goto(f"{base}/dashboard/cerita")
    check_layout(page, "desk-stories")
    page.locator(f"#text-{story['id']}").fill("Cabai merah dipetik pagi. WA 0812 9999 8888")
    with page.expect_navigation():
        page.get_by_role("button", name="Simpan dan beri tahu penjual").click()
    assert page.locator(f"#text-{story['id']}").input_value() == "Cabai merah dipetik pagi. WA"
    with page.expect_navigation():
        page.get_by_role("button", name="Sembunyikan dari toko").click()
    page.get_by_role("button", name="Tampilkan lagi").wait_for()
    row = db.execute("SELECT text, status FROM stories WHERE id = ?", [story["id"]]).fetchone()
    assert tuple(row) == ("Cabai merah dipetik pagi. WA", "hidden")
