"""The overview's failed deliveries say why in words, with the code small beside them
(DECISIONS 491): every code the adapters and PROVIDERS.md's classification know has words
in both desk languages; any other code a generic phrase that names it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import g

from bot.channels.twilio_common import PERMANENT_TWILIO_CODES, RETRYABLE_TWILIO_CODES
from bot.services import outbox
from bot.storage import transaction, utcnow
from bot.web.dashboard.delivery_words import FAILURE_WORDS, channel_words, failure_words

CHANNELS = Path(__file__).resolve().parents[2] / "bot" / "channels"


def adapter_codes() -> set[str]:
    """Every literal code our adapters raise (`PermanentSendError("not_configured", ...)`)."""
    found = set()
    for source in CHANNELS.glob("*.py"):
        found |= set(re.findall(r'SendError\("([A-Za-z0-9_]+)"', source.read_text()))
    return found


#: PROVIDERS.md: 63018 (WhatsApp rate limit) is retryable by its HTTP status, not listed.
KNOWN = ({str(code) for code in PERMANENT_TWILIO_CODES | set(RETRYABLE_TWILIO_CODES)} | adapter_codes()
         | {"63018", "unknown_outcome", "lookup", "sim_daily_limit"})


def test_the_walk_finds_the_adapters_codes():
    assert {"not_configured", "network", "not_a_phone", "unknown_channel", "63016"} <= adapter_codes()


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_known_code_has_words(app, language):
    with app.test_request_context("/dashboard/"):
        g.desk = {"l": language}
        generic = failure_words("zz_unknown")
        for code in sorted(KNOWN):
            words = failure_words(code)
            assert code in FAILURE_WORDS or code.startswith("http_"), code
            assert words != generic.replace("zz_unknown", code), code
            assert code not in words, (code, words)  # the code is shown beside, not as the words
        assert failure_words("http_503") != failure_words("http_400")
        assert "HTTP 503" in failure_words("http_503") and "zz_unknown" in generic
        assert failure_words(None) and channel_words("android_sms") != "android_sms"


def _failed(db, phone: str, channel: str, code: str) -> None:
    now = utcnow()
    with transaction(db):
        row_id = outbox.queue_message(db, phone=phone, channel=channel, body="Halo", kind="notice", now=now)
        outbox.record_permanent_failure(db, row_id, code, "from the provider", now)


def test_the_overview_says_why_in_words_with_the_code_small(admin, db):
    _failed(db, "+6281234567890", "android_sms", "not_configured")
    _failed(db, "+6281234567891", "twilio_sms", "30005")
    _failed(db, "+6281234567892", "twilio_whatsapp", "http_503")
    _failed(db, "+6281234567893", "android_sms", "RESULT_ERROR_RADIO_OFF")  # the phone's own words
    card = _card(admin.get("/dashboard/").get_data(as_text=True))
    assert ("SMS lewat HP hub: pengirim belum disiapkan (pengaturan kosong) "
            '<span class="small">android_sms · not_configured</span>') in card
    assert 'SMS lewat Twilio: nomor tidak dikenal operator <span class="small">twilio_sms · 30005' in card
    assert "WhatsApp: penyedia sedang sibuk atau bermasalah (HTTP 503)" in card
    assert "SMS lewat HP hub: gagal terkirim (kode RESULT_ERROR_RADIO_OFF)" in card
    admin.get("/dashboard/bahasa/en")
    card = _card(admin.get("/dashboard/").get_data(as_text=True))
    assert ("SMS via the hub phone: the sender is not set up (settings empty) "
            '<span class="small">android_sms · not_configured</span>') in card
    assert "SMS via Twilio: the carrier does not know the number" in card
    assert "not delivered (code RESULT_ERROR_RADIO_OFF)" in card
    # the message log says it the same way for a failed message
    log = admin.get("/dashboard/pesan?status=failed&direction=out").get_data(as_text=True)
    assert ('<span class="bad">the carrier does not know the number</span> '
            '<span class="small">30005</span>') in log


def _card(page: str) -> str:
    card = page[page.index('id="failed-deliveries"'):]
    return card[:card.index("</ul>")]
