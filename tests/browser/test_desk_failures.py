"""The overview's failed deliveries in a real browser, at 390 and 1280 px, in both desk
languages (DECISIONS 491)."""

from __future__ import annotations

from tests.browser.conftest import check_layout, signed_in
from tests.desk.test_delivery_words import _failed

ADMIN = "+6281100000001"


def test_failed_deliveries_read_as_words_at_both_widths(live, page, db):
    base, _app = live
    _failed(db, "+6281234567890", "android_sms", "not_configured")
    _failed(db, "+6281234567891", "twilio_whatsapp", "63016")
    _failed(db, "+6281234567892", "android_sms", "RESULT_ERROR_GENERIC_FAILURE_OF_A_LONG_NAME")
    signed_in(page, base, db, ADMIN)
    card = page.locator("#failed-deliveries")
    assert card.locator("li").count() == 3
    text = card.inner_text()
    assert ("SMS lewat HP hub: pengirim belum disiapkan (pengaturan kosong) android_sms · "
            "not_configured") in text
    assert "WhatsApp: lewat 24 jam WhatsApp dan tidak ada templat" in text
    assert "gagal terkirim (kode RESULT_ERROR_GENERIC_FAILURE_OF_A_LONG_NAME)" in text
    code = card.locator("li span.small").last  # newest first
    assert code.inner_text() == "android_sms · not_configured"
    check_layout(page, "overview-failed")
    page.goto(f"{base}/dashboard/bahasa/en?next=/dashboard/")
    assert "SMS via the hub phone: the sender is not set up (settings empty)" in card.inner_text()
    check_layout(page, "overview-failed-en")
    page.goto(f"{base}/dashboard/pesan?status=failed")
    log = page.locator("#message-log").inner_text()
    assert "the sender is not set up (settings empty) not_configured" in log
    check_layout(page, "messages-failed-en")
