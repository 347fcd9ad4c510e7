"""Exports of the books: each kind's rows for a date range, CSV and Excel, through
`jembatan export`; and 100,000 rows streamed in constant memory (measured by memory,
with tracemalloc, never by time)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import main
from bot.services import exports
from bot.storage import utcnow
from tests.test_cli_money import SITI, manual_payout, seller  # noqa: F401
from tests.test_lint import ROOT


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


#: One export in a process of its own: build `count` members in a fresh database, export
#: them, and print how many rows were written and the process's peak resident memory.
_EXPORT_IN_A_PROCESS = """
import resource, sys
from datetime import UTC, datetime
from bot.migrations import apply_migrations
from bot.services import exports
from tests.test_lint import ROOT
from bot.storage import open_database, transaction

path, count, target, file_format = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
db = open_database(path)
apply_migrations(db)
with transaction(db):  # one commit: row by row, 100,000 fsyncs took minutes (the same rows)
    db.conn.executemany(
        "INSERT INTO contacts (phone, role, name, village, locale, opted_out, created_at) "
        "VALUES (?, 'seller', ?, 'Sukamaju', 'id', 0, '2026-01-01T00:00:00.000000Z')",
        ((f"+62812{i:08d}", f"Petani nomor {i} dari desa yang jauh") for i in range(count)))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = exports.export_rows(db, "members", datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
if file_format == "csv":
    with open(target, "w", newline="", encoding="utf-8") as handle:
        written = exports.write_csv(rows, handle)
else:
    written = exports.write_xlsx(rows, target)
print(written, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _export_in_a_process(tmp_path, count: int, file_format: str) -> tuple[int, int]:
    """(rows written, how much the peak resident memory grew while exporting, in KiB)."""
    result = subprocess.run(
        [sys.executable, "-c", _EXPORT_IN_A_PROCESS, str(tmp_path / f"{count}.db"), str(count),
         str(tmp_path / f"{count}.{file_format}"), file_format],
        capture_output=True, text=True, cwd=ROOT, check=True)
    written, before, after = (int(x) for x in result.stdout.split())
    return written, after - before


@pytest.mark.parametrize("file_format, small, large", [("csv", 10_000, 100_000), ("xlsx", 2_000, 20_000)])
def test_exports_stream_in_constant_memory(tmp_path, file_format, small, large):
    written, grew_small = _export_in_a_process(tmp_path, small, file_format)
    assert written == small
    written, grew_large = _export_in_a_process(tmp_path, large, file_format)
    assert written == large
    # Ten times the rows, not ten times the memory: holding 100,000 rows of members would
    # take tens of megabytes; streamed, the peak barely moves (allowance: 8 MiB of noise).
    assert grew_large < grew_small * 2 + 8 * 1024, (grew_small, grew_large)
