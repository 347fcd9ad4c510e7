"""The cooperative's books as files: members, listings, orders, payments, payouts, ledger
entries and broadcast results, for any date range.

Each export is one SQL query read row by row from a cursor and written as it is read,
so 100,000 rows cost what one row costs: nothing is loaded whole into memory. The same
generator serves the command line (`jembatan export`) and, later, the desk's downloads.
Amounts are whole rupiah, quantities decimal strings, times the stored UTC text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import IO

import sqlite_utils
from openpyxl import Workbook

from bot.storage import to_db_time


@dataclass(frozen=True)
class Export:
    """One kind of export: its column headings and the query that yields its rows (the
    query filters `:start <= time < :end` on the column that dates a row)."""

    columns: tuple[str, ...]
    sql: str


EXPORTS: dict[str, Export] = {
    "members": Export(
        ("id", "role", "name", "village", "city", "phone", "locale", "opted_out", "coordinator",
         "registered_at", "created_at"),
        "SELECT id, role, name, village, city, phone, locale, opted_out, is_coordinator, registered_at, "
        "created_at FROM contacts WHERE created_at >= :start AND created_at < :end ORDER BY id"),
    "listings": Export(
        ("code", "product", "as_written", "quantity", "unit", "price", "status", "seller", "village",
         "created_at", "updated_at", "withdrawn_at"),
        "SELECT l.code, p.name, l.product_text, l.quantity_milli, l.unit, l.price, l.status, c.name, "
        "c.village, l.created_at, l.updated_at, l.withdrawn_at FROM listings l "
        "JOIN products p ON p.id = l.product_id JOIN contacts c ON c.id = l.seller_id "
        "WHERE l.created_at >= :start AND l.created_at < :end ORDER BY l.id"),
    "orders": Export(
        ("code", "status", "source", "listing", "product", "quantity", "unit", "unit_price", "total",
         "buyer", "buyer_city", "seller", "seller_village", "created_at", "accepted_at", "shipped_at",
         "received_at", "closed_at"),
        "SELECT o.code, o.status, o.source, l.code, p.name, o.quantity_milli, o.unit, o.unit_price, "
        "o.total, b.name, b.city, s.name, s.village, o.created_at, o.accepted_at, o.shipped_at, "
        "o.received_at, o.closed_at FROM orders o JOIN listings l ON l.id = o.listing_id "
        "JOIN products p ON p.id = o.product_id JOIN buyers b ON b.id = o.buyer_id "
        "JOIN contacts s ON s.id = o.seller_id "
        "WHERE o.created_at >= :start AND o.created_at < :end ORDER BY o.id"),
    "payments": Export(
        ("order", "amount", "reference", "note", "recorded_at"),
        "SELECT t.order_ref, e.amount, substr(t.idempotency_key, length('buyer_payment:') + 1), t.memo, "
        "t.created_at FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id "
        "JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'cash' "
        "WHERE t.kind = 'buyer_payment' AND t.created_at >= :start AND t.created_at < :end ORDER BY t.id"),
    "payouts": Export(
        ("code", "status", "provider", "amount", "seller", "seller_phone", "channel", "account_number",
         "account_holder", "provider_reference", "failure_code", "created_at", "settled_at"),
        "SELECT p.code, p.status, p.provider, p.amount, c.name, c.phone, p.channel, p.account_number, "
        "p.account_holder_name, p.provider_reference, p.failure_code, p.created_at, p.settled_at "
        "FROM payouts p JOIN contacts c ON c.id = p.seller_contact_id "
        "WHERE p.created_at >= :start AND p.created_at < :end ORDER BY p.id"),
    "ledger": Export(
        ("transaction", "kind", "account", "seller", "amount", "order", "payout", "memo", "posted_at"),
        "SELECT t.id, t.kind, a.kind, a.contact_id, e.amount, t.order_ref, t.payout_id, t.memo, "
        "t.created_at FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id "
        "JOIN ledger_accounts a ON a.id = e.account_id "
        "WHERE t.created_at >= :start AND t.created_at < :end ORDER BY e.id"),
    "broadcasts": Export(
        ("id", "kind", "group", "text", "status", "created_by", "created_at", "recipients", "sent",
         "delivered", "failed", "skipped"),
        "SELECT b.id, b.kind, b.group_name, b.text, b.status, b.created_by, b.created_at, "
        "(SELECT COUNT(*) FROM broadcast_recipients r WHERE r.broadcast_id = b.id), "
        "(SELECT COUNT(*) FROM outbox o WHERE o.broadcast_id = b.id AND o.status = 'sent'), "
        "(SELECT COUNT(*) FROM outbox o WHERE o.broadcast_id = b.id AND o.provider_status = 'delivered'), "
        "(SELECT COUNT(*) FROM outbox o WHERE o.broadcast_id = b.id AND o.status = 'failed'), "
        "(SELECT COUNT(*) FROM broadcast_recipients r WHERE r.broadcast_id = b.id "
        "AND r.status <> 'queued') "
        "FROM broadcasts b WHERE b.created_at >= :start AND b.created_at < :end ORDER BY b.id"),
}

#: Columns holding integer milli-units, written as exact decimal quantities.
_MILLI_COLUMNS = frozenset({"quantity"})


def export_rows(db: sqlite_utils.Database, kind: str, start: datetime, end: datetime) -> Iterator[tuple]:
    """The heading row, then every row of export `kind` dated in [start, end), one at a
    time from the cursor (KeyError for an unknown kind)."""
    export = EXPORTS[kind]
    yield export.columns
    milli = [i for i, name in enumerate(export.columns) if name in _MILLI_COLUMNS]
    cursor = db.conn.execute(export.sql, {"start": to_db_time(start), "end": to_db_time(end)})
    for row in cursor:
        if milli:
            row = list(row)
            for i in milli:
                row[i] = str(Decimal(row[i]) / 1000)
        yield tuple(row)


def write_csv(rows: Iterator[tuple], out: IO[str]) -> int:
    """Write rows as CSV (UTF-8, Excel-friendly quoting) as they come; returns the number of
    data rows written."""
    writer = csv.writer(out)
    written = -1  # the heading is not a data row
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
        written += 1
    return max(written, 0)


def write_xlsx(rows: Iterator[tuple], path: str) -> int:
    """Write rows as an Excel sheet in openpyxl's write-only mode (rows go to disk as they
    come, not held as cells); returns the number of data rows written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("jembatan")
    written = -1  # the heading is not a data row
    for row in rows:
        sheet.append(list(row))
        written += 1
    workbook.save(path)
    return max(written, 0)
