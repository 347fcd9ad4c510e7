"""The weekly seller summary on a controllable clock: due Monday 07:00 in the seller's own
zone, once a week, never in the quiet hours, never to an opted-out seller. Real SQLite,
the real engine for the opt-in, the sweep's own step (`send_weekly_reports`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.pipeline.reports import send_weekly_reports
from bot.pipeline.sweep import sweep
from bot.services import schedule
from bot.storage import from_db_time
from tests.conversations.test_payment_dialogs import received_order
from tests.conversations.test_report_dialogs import SECRET
from tests.dialogs import SITI, Conversation

# Monday 30 November 2026, 07:00 WIB (UTC+7)
MONDAY_7_WIB = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
WEEKLY_ID = ("Laporan mingguan, 7 hari terakhir: laku Rp240.000 ({orders} pesanan). Pesanan menunggu: 0. "
             "Saldo Rp240.000. Tak perlu lagi: LAPORAN MINGGUAN TIDAK")


@pytest.fixture
def chat(tmp_path):
    chat = Conversation(tmp_path, SECRET_KEY=SECRET)  # Saturday 28 November, 09:00 WIB
    received_order(chat)
    return chat


def weekly_rows(chat):
    return [(row["phone"], row["body"], from_db_time(row["next_attempt_at"])) for row in chat.db.query(
        "SELECT phone, body, next_attempt_at FROM outbox WHERE reply_id LIKE 'report.weekly%' ORDER BY id")]


def test_once_a_week_on_monday_morning(chat):
    chat.send(SITI, "LAPORAN MINGGUAN YA")
    assert not send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB - timedelta(minutes=1))
    assert weekly_rows(chat) == []
    handover = send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB)
    assert weekly_rows(chat) == [(SITI, WEEKLY_ID.format(orders=1), MONDAY_7_WIB)]
    assert len(handover.outbox_ids) == 1  # due now: handed over at once
    # The same morning again (the next sweep): nothing more this week.
    assert not send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB + timedelta(hours=3))
    assert not send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB + timedelta(days=6, hours=23))
    # The next Monday: the second one; the sale is older than seven days by then.
    send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB + timedelta(days=7, minutes=5))
    rows = weekly_rows(chat)
    assert len(rows) == 2 and rows[1][1].startswith("Laporan mingguan, 7 hari terakhir: laku Rp0 (0 pesanan)")


def test_a_late_sweep_at_night_waits_for_the_morning(chat):
    chat.send(SITI, "LAPORAN MINGGUAN YA")
    night = MONDAY_7_WIB + timedelta(hours=15, minutes=30)  # Monday 22:30 WIB: quiet hours (21-06)
    handover = send_weekly_reports(chat.db, chat.settings, night)
    tuesday_6_wib = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert weekly_rows(chat) == [(SITI, WEEKLY_ID.format(orders=1), tuesday_6_wib)]
    assert not handover  # not due yet: a later sweep hands it over in the morning


def test_in_the_sellers_own_zone(chat):
    schedule.set_village_province(chat.db, "Sukamaju", "Papua")  # WIT, UTC+9
    chat.send(SITI, "LAPORAN MINGGUAN YA")
    monday_7_wit = MONDAY_7_WIB - timedelta(hours=2)
    assert not send_weekly_reports(chat.db, chat.settings, monday_7_wit - timedelta(seconds=1))
    send_weekly_reports(chat.db, chat.settings, monday_7_wit)
    assert [at for _, _, at in weekly_rows(chat)] == [monday_7_wit]


def test_none_after_berhenti_or_tidak_and_again_after_mulai(chat):
    chat.send(SITI, "LAPORAN MINGGUAN YA")
    chat.send(SITI, "BERHENTI")
    send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB)
    assert weekly_rows(chat) == []
    chat.send(SITI, "MULAI")
    send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB + timedelta(hours=1))
    assert weekly_rows(chat) == []  # that week was skipped, not postponed
    send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB + timedelta(days=7))
    assert len(weekly_rows(chat)) == 1
    chat.send(SITI, "LAPORAN MINGGUAN TIDAK")
    send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB + timedelta(days=14))
    assert len(weekly_rows(chat)) == 1


def test_in_english_through_the_sweep(chat):
    chat.send(SITI, "LANGUAGE en")
    chat.send(SITI, "WEEKLY REPORT YES")
    sweep(chat.db, chat.settings, None, now=MONDAY_7_WIB)
    english = ("Weekly report, last 7 days: sales Rp240.000 (orders: 1). Orders waiting: 0. Balance "
               "Rp240.000. To end: WEEKLY REPORT NO")
    assert weekly_rows(chat) == [(SITI, english, MONDAY_7_WIB)]


def test_with_a_reference_price(chat):
    chat.send("+6281377778888", "HARGA cabai 11rb")  # the coordinator's reference price
    chat.send(SITI, "LAPORAN MINGGUAN YA")
    send_weekly_reports(chat.db, chat.settings, MONDAY_7_WIB)
    assert [body for _, body, _ in weekly_rows(chat)] == [
        "Mingguan: laku Rp240.000 (1 pesanan). Menunggu: 0. Saldo Rp240.000. cabai Rp12.000/kg, acuan "
        "Rp11.000/kg. Tak perlu: LAPORAN MINGGUAN TIDAK"]
