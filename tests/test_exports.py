"""Exports of the books: each kind's rows for a date range, CSV and Excel, through
`jembatan export`; and 100,000 rows streamed in constant memory (measured by memory,
with tracemalloc, never by time)."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import main
from bot.services import exports
from bot.storage import to_db_time, utcnow
from tests.test_cli_money import SITI, manual_payout, seller  # noqa: F401


def rows_of(output: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(output)))


def test_every_kind_exports_with_its_heading(db, seller):  # noqa: F811
    today = utcnow()
    for kind, export in exports.EXPORTS.items():
        rows = list(exports.export_rows(db, kind, today - timedelta(days=1), today + timedelta(days=1)))
        assert rows[0] == export.columns, kind
        assert all(len(row) == len(export.columns) for row in rows), kind


def test_payouts_and_payments_for_a_date_range_through_the_cli(db, settings, seller, tmp_path):  # noqa: F811
    payout = manual_payout(db, seller, settings)
    runner = CliRunner()
    assert runner.invoke(main, ["payment", "record", "P12", "1000000", "--ref", "BCA-1"]).exit_code == 0
    today = datetime.now(ZoneInfo("Asia/Jakarta")).strftime("%Y-%m-%d")  # days are the cooperative's
    result = runner.invoke(main, ["export", "payouts", "--from", today, "--to", today])
    assert result.exit_code == 0, result.output
    (heading, row) = rows_of(result.output)
    assert heading[:4] == ["code", "status", "provider", "amount"]
    assert row[:4] == [payout["code"], "pending", "manual", "500000"]
    assert row[6:9] == ["BRI", "123456789012345", "Siti Aminah"]
    payments = rows_of(runner.invoke(main, ["export", "payments", "--from", today, "--to", today]).output)
    assert payments[1][:3] == ["P12", "1000000", "BCA-1"]
    # Another range: nothing but the heading.
    empty = runner.invoke(main, ["export", "payouts", "--from", "2020-01-01", "--to", "2020-01-31"])
    assert rows_of(empty.output) == [heading]
    # Excel, parsed back.
    target = tmp_path / "orders.xlsx"
    result = runner.invoke(main, ["export", "ledger", "--from", today, "--to", today, "--format", "xlsx",
                                  "-o", str(target)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(target, read_only=True).active
    values = list(sheet.values)
    assert values[0] == exports.EXPORTS["ledger"].columns
    assert {row[1] for row in values[1:]} == {"order_receipt", "buyer_payment", "withdrawal"}
    assert sum(row[4] for row in values[1:]) == 0  # every transaction sums to zero


def test_a_bad_range_or_format_is_a_usage_error(db):
    runner = CliRunner()
    days = ["--from", "2026-12-01", "--to", "2026-12-02"]
    backwards = ["--from", "2026-12-02", "--to", "2026-12-01"]
    assert runner.invoke(main, ["export", "orders", *backwards]).exit_code == 2
    assert runner.invoke(main, ["export", "orders", *days, "--format", "xlsx"]).exit_code == 2
    assert runner.invoke(main, ["export", "shoes", *days]).exit_code == 2


def _members(db, count: int, start: int) -> None:
    stamp = to_db_time(datetime(2026, 1, 1, tzinfo=UTC))
    db.conn.executemany(
        "INSERT INTO contacts (phone, role, name, village, locale, opted_out, created_at) "
        "VALUES (?, 'seller', ?, 'Sukamaju', 'id', 0, ?)",
        [(f"+62812{start + i:08d}", f"Petani nomor {start + i} dari desa yang jauh", stamp)
         for i in range(count)])


def _peak_while_exporting(db, path, file_format) -> int:
    rows = exports.export_rows(db, "members", datetime(2025, 12, 1, tzinfo=UTC),
                               datetime(2026, 2, 1, tzinfo=UTC))
    tracemalloc.start()
    try:
        if file_format == "csv":
            with open(path, "w", newline="", encoding="utf-8") as handle:
                written = exports.write_csv(rows, handle)
        else:
            written = exports.write_xlsx(rows, str(path))
        return written, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("file_format, small, large", [("csv", 10_000, 100_000), ("xlsx", 1_000, 5_000)])
def test_exports_stream_in_constant_memory(migrated_db, tmp_path, file_format, small, large):
    _members(migrated_db, small, 0)
    written, peak_small = _peak_while_exporting(migrated_db, tmp_path / f"small.{file_format}", file_format)
    assert written == small
    _members(migrated_db, large - small, small)
    written, peak_large = _peak_while_exporting(migrated_db, tmp_path / f"large.{file_format}", file_format)
    assert written == large
    # Five or ten times the rows, not that many times the memory: a loaded list of them would be
    # tens of megabytes; streamed, the peak barely moves.
    assert peak_large < peak_small * 2 + 1_000_000, (peak_small, peak_large)
