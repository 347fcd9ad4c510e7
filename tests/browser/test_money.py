"""Money at the desk in a real browser (issue 16): a large payout needs a second, different
coordinator; the books download for a date range and parse; a statement opens and its code
verifies signed out, and fails once its stored figures are changed."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.services import orders, payouts
from bot.storage import transaction, utcnow
from tests.browser.conftest import check_layout, signed_in
from tests.desk.test_money import large_payout
from tests.orders import api_buyer, seller_listing

ANI, EKO = "+6281100000001", "+6281100000002"


def test_a_large_payout_waits_for_a_second_coordinator(live, page, browser, db, settings):
    base, app = live
    payout = large_payout(db, settings)
    signed_in(page, base, db, ANI, "coordinator")
    page.goto(f"{base}/dashboard/penarikan")
    card = page.locator(f"#payout-{payout['code']}")
    check_layout(page, "payouts")
    card.get_by_label("Referensi transfer").fill("BRI-778")
    card.get_by_role("button", name="Minta persetujuan").click()
    page.get_by_text("Perlu koordinator kedua").first.wait_for()
    card = page.locator(f"#payout-{payout['code']}")
    # The one who asked has no button to mark it paid, and the payout stays pending.
    assert card.get_by_role("button", name=re.compile("dibayar")).count() == 0
    card.get_by_text("Anda sudah menyetujui").wait_for()
    assert card.get_attribute("data-status") == "pending"
    assert payouts.get_payout(db, payout["id"])["status"] == "pending"

    other = browser.new_context(viewport={"width": 390, "height": 844})
    second = signed_in(other.new_page(), base, db, EKO, "coordinator")
    second.goto(f"{base}/dashboard/penarikan")
    theirs = second.locator(f"#payout-{payout['code']}")
    assert theirs.get_by_label("Referensi transfer").input_value() == ""
    theirs.get_by_label("Referensi transfer").fill("BRI-778")
    theirs.get_by_role("button", name="Setujui dan catat dibayar").click()
    second.get_by_text("dicatat dibayar").first.wait_for()
    other.close()
    done = payouts.get_payout(db, payout["id"])
    assert done["status"] == "succeeded" and done["provider_reference"] == "BRI-778"
    assert payouts.approvers(db, payout["id"]) == [ANI, EKO]


def _an_order(db, settings, now):
    listing = seller_listing(db, "+6281234567899", "Siti", "Sukamaju", "cabai", "50", "kg", 12_000, now)
    buyer, _key = api_buyer(db, now, phone="+6285712345678")
    with transaction(db):
        return orders.place_order(db, buyer=buyer, listing_code=listing["code"], quantity=Decimal("2.5"),
                                  unit="kg", now=now, settings=settings, source="api").order


def test_download_orders_and_payouts_for_a_date_range(live, page, db, settings, tmp_path):
    base, app = live
    now = utcnow()
    order = _an_order(db, settings, now)
    payout = large_payout(db, settings, amount=500_000)
    today = now.astimezone(ZoneInfo("Asia/Jakarta")).date()
    signed_in(page, base, db, ANI, "coordinator")
    page.goto(f"{base}/dashboard/unduh")
    check_layout(page, "exports")

    def download(kind: str, fmt: str, start, end):
        page.get_by_label("Data").select_option(kind)
        page.get_by_label("Dari tanggal").fill(start.isoformat())
        page.get_by_label("Sampai tanggal").fill(end.isoformat())
        page.get_by_label("Berkas").select_option(fmt)
        with page.expect_download() as info:
            page.get_by_role("button", name="Unduh").last.click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        return path

    with download("orders", "csv", today, today).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = [(order["code"], "2.5", str(order["total"]))]
    assert [(r["code"], r["quantity"], r["total"]) for r in rows] == expected
    with download("payouts", "csv", today - timedelta(days=7), today).open(newline="", encoding="utf-8") as h:
        rows = list(csv.DictReader(h))
    assert [(r["code"], r["amount"], r["status"]) for r in rows] == [(payout["code"], "500000", "pending")]
    sheet = load_workbook(download("payouts", "xlsx", today, today), read_only=True).active
    values = list(sheet.values)
    assert values[0][0] == "code" and values[1][0] == payout["code"] and values[1][3] == 500_000
    # A range that holds nothing: the heading only.
    with download("orders", "csv", today - timedelta(days=30), today - timedelta(days=1)).open() as handle:
        assert len(list(csv.reader(handle))) == 1


def test_a_statement_opens_and_verifies_signed_out_until_it_is_changed(live, page, browser, db, settings):
    base, app = live
    payout = large_payout(db, settings, amount=500_000)
    signed_in(page, base, db, ANI, "coordinator")
    page.goto(f"{base}/dashboard/orang/{payout['seller_contact_id']}")
    page.get_by_label("Jumlah bulan").fill("3")
    page.get_by_role("button", name="Terbitkan laporan").click()
    page.wait_for_url(re.compile(r".*/verify/[A-Z0-9]+-[A-Z0-9]+"))
    code = page.url.rsplit("/", 1)[1]
    page.get_by_text("Siti Aminah").first.wait_for()
    check_layout(page, "statement")

    stranger = browser.new_context(viewport={"width": 390, "height": 844})
    lender = stranger.new_page()
    answer = lender.goto(f"{base}/verify/{code}")
    assert answer.status == 200
    lender.get_by_text("Laporan ini asli dan tidak diubah.").wait_for()
    assert "+62" not in lender.content()  # never a phone number
    with transaction(db):
        db.execute("UPDATE statements SET content = replace(content, '\"Siti Aminah\"', '\"Siti Amina\"')")
    answer = lender.goto(f"{base}/verify/{code}")
    assert answer.status == 404
    lender.get_by_text("tidak dapat diverifikasi").wait_for()
    stranger.close()
