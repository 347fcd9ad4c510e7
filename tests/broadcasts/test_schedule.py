"""Quiet hours in each recipient's own zone (WIB, WITA, WIT), with a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services.schedule import (
    contact_timezone,
    next_send_time,
    parse_quiet_hours,
    province_timezones,
)

QUIET = parse_quiet_hours("21:00-06:00")


@pytest.mark.parametrize("now,zone,expected", [
    # 14:30 UTC is 21:30 WIB, 22:30 WITA, 23:30 WIT: quiet everywhere, morning differs.
    (datetime(2026, 11, 28, 14, 30, tzinfo=UTC), "Asia/Jakarta", datetime(2026, 11, 28, 23, 0, tzinfo=UTC)),
    (datetime(2026, 11, 28, 14, 30, tzinfo=UTC), "Asia/Makassar", datetime(2026, 11, 28, 22, 0, tzinfo=UTC)),
    (datetime(2026, 11, 28, 14, 30, tzinfo=UTC), "Asia/Jayapura", datetime(2026, 11, 28, 21, 0, tzinfo=UTC)),
    # 22:30 UTC: 05:30 WIB (still quiet), 06:30 WITA and 07:30 WIT (awake).
    (datetime(2026, 11, 28, 22, 30, tzinfo=UTC), "Asia/Jakarta", datetime(2026, 11, 28, 23, 0, tzinfo=UTC)),
    (datetime(2026, 11, 28, 22, 30, tzinfo=UTC), "Asia/Makassar", datetime(2026, 11, 28, 22, 30, tzinfo=UTC)),
    (datetime(2026, 11, 28, 22, 30, tzinfo=UTC), "Asia/Jayapura", datetime(2026, 11, 28, 22, 30, tzinfo=UTC)),
    # 07:00 UTC is 14:00 WIB: daytime, send now.
    (datetime(2026, 11, 28, 7, 0, tzinfo=UTC), "Asia/Jakarta", datetime(2026, 11, 28, 7, 0, tzinfo=UTC)),
    # Exactly 21:00 WIB is quiet; exactly 06:00 WIB is not.
    (datetime(2026, 11, 28, 14, 0, tzinfo=UTC), "Asia/Jakarta", datetime(2026, 11, 28, 23, 0, tzinfo=UTC)),
    (datetime(2026, 11, 28, 23, 0, tzinfo=UTC), "Asia/Jakarta", datetime(2026, 11, 28, 23, 0, tzinfo=UTC)),
])
def test_next_send_time(now, zone, expected):
    assert next_send_time(now, zone, QUIET) == expected


def test_daytime_window_and_off():
    lunch = parse_quiet_hours("12.00-13.00")
    noon_wib = datetime(2026, 11, 28, 5, 30, tzinfo=UTC)  # 12:30 WIB
    assert next_send_time(noon_wib, "Asia/Jakarta", lunch) == datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    assert parse_quiet_hours("off") is None
    assert next_send_time(noon_wib, "Asia/Jakarta", None) == noon_wib


def test_zone_comes_from_contact_then_village_then_default():
    villages = {"sukamaju": "Asia/Makassar"}
    assert contact_timezone({"timezone": "Asia/Jayapura", "village": "Sukamaju"}, villages,
                            "Asia/Jakarta") == "Asia/Jayapura"
    assert contact_timezone({"village": "SUKAMAJU"}, villages, "Asia/Jakarta") == "Asia/Makassar"
    assert contact_timezone({"village": "Lain"}, villages, "Asia/Jakarta") == "Asia/Jakarta"


def test_every_province_has_a_zone():
    zones = province_timezones()
    assert len(zones) == 38
    assert set(zones.values()) == {"Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura"}
    assert zones["bali"] == "Asia/Makassar" and zones["papua"] == "Asia/Jayapura"
