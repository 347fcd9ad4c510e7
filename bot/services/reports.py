"""A seller's week in one SMS (`LAPORAN`): sales of the last seven days, orders that wait
for them, their balance and, when there is one, their price beside the reference price;
and the opt-in weekly summary (`LAPORAN MINGGUAN YA`).

The weekly summary is due every Monday at `WEEKLY_AT` in the seller's own zone; each
subscription keeps when it is next due (`weekly_reports.next_due_at`, indexed), so the
sweep finds the due ones without looking at anybody else. Quiet hours are applied when
the message is queued (`bot.services.schedule.next_send_time`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.services import ledger, listings
from bot.storage import fetch_all, fetch_one, to_db_time, transaction

#: When the weekly summary is due, in the seller's zone: Monday morning.
WEEKLY_DAY, WEEKLY_AT = 0, time(7, 0)
#: "This week" is the last seven days (the same on a Monday and on a Friday).
WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class PriceCheck:
    """The seller's price beside the latest reference price, in the same unit."""

    product: str
    unit: str
    price: int
    reference: int


@dataclass(frozen=True)
class Summary:
    """What one seller's summary says."""

    sales: int  # rupiah, orders received in the window
    orders: int  # how many orders that was
    waiting: int  # orders that wait for the seller (to accept, or to ship)
    available: int  # balance they can withdraw
    price: PriceCheck | None = None  # their newest listing in stock that has a reference price


def seller_summary(db: sqlite_utils.Database, seller_contact_id: int, now: datetime) -> Summary:
    """The seller's last seven days (orders received), open orders waiting on them, and
    their balance; read through `orders_seller` and the ledger's account codes."""
    sold = db.execute(
        "SELECT COALESCE(SUM(total), 0), COUNT(*) FROM orders WHERE seller_id = ? AND status = 'received' "
        "AND received_at >= ?", [seller_contact_id, to_db_time(now - WINDOW)]).fetchone()
    waiting = db.execute(
        "SELECT COUNT(*) FROM orders WHERE seller_id = ? AND status IN ('pending', 'accepted')",
        [seller_contact_id]).fetchone()[0]
    balance = ledger.seller_balance(db, seller_contact_id)
    return Summary(sales=sold[0], orders=sold[1], waiting=waiting, available=balance.available,
                   price=price_check(db, seller_contact_id))


def price_check(db: sqlite_utils.Database, seller_contact_id: int) -> PriceCheck | None:
    """The seller's newest listing in stock whose product has a reference price in the
    listing's unit, with that price (a seller has a few listings; each lookup is one
    step of `reference_prices_latest`)."""
    for listing in listings.seller_listings(db, seller_contact_id):
        if not listing["quantity_milli"]:
            continue
        reference = fetch_one(db, "SELECT price FROM reference_prices WHERE product_id = ? AND unit = ? "
                                  "ORDER BY recorded_at DESC, id DESC LIMIT 1",
                              [listing["product_id"], listing["unit"]])
        if reference is not None:
            return PriceCheck(listing["product_name"], listing["unit"], listing["price"], reference["price"])
    return None


def next_weekly_due(now: datetime, timezone: str) -> datetime:
    """The first Monday `WEEKLY_AT` in `timezone` strictly after `now` (in UTC)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - WEEKLY_DAY) % 7)
    due = datetime.combine(day, WEEKLY_AT, tzinfo=zone)
    while due <= local:
        due = datetime.combine(due.date() + timedelta(days=7), WEEKLY_AT, tzinfo=zone)
    return due.astimezone(UTC)


def weekly_on(db: sqlite_utils.Database, contact_id: int) -> bool:
    """Whether the contact receives the weekly summary."""
    row = fetch_one(db, "SELECT next_due_at FROM weekly_reports WHERE contact_id = ?", [contact_id])
    return bool(row and row["next_due_at"])


def set_weekly(db: sqlite_utils.Database, contact_id: int, on: bool, now: datetime, timezone: str) -> None:
    """Start (due next Monday morning) or stop the contact's weekly summary."""
    due = to_db_time(next_weekly_due(now, timezone)) if on else None
    with transaction(db):
        db.execute(
            "INSERT INTO weekly_reports (contact_id, next_due_at, changed_at) VALUES (?, ?, ?) "
            "ON CONFLICT(contact_id) DO UPDATE SET next_due_at = excluded.next_due_at, "
            "changed_at = excluded.changed_at",
            [contact_id, due, to_db_time(now)])


def due_weekly(db: sqlite_utils.Database, now: datetime, limit: int = 500) -> list[dict]:
    """Subscriptions due by `now`, with their contact (oldest due first)."""
    return fetch_all(
        db, "SELECT c.*, w.next_due_at FROM weekly_reports w JOIN contacts c ON c.id = w.contact_id "
            "WHERE w.next_due_at IS NOT NULL AND w.next_due_at <= ? ORDER BY w.next_due_at LIMIT ?",
        [to_db_time(now), limit])


def mark_weekly_done(db: sqlite_utils.Database, contact_id: int, now: datetime, timezone: str,
                     *, sent: bool) -> None:
    """This week's summary is handled (sent, or skipped for an opted-out contact): due
    again next Monday morning. In the caller's transaction."""
    db.execute("UPDATE weekly_reports SET next_due_at = ?, last_sent_at = CASE WHEN ? THEN ? "
               "ELSE last_sent_at END WHERE contact_id = ?",
               [to_db_time(next_weekly_due(now, timezone)), sent, to_db_time(now), contact_id])
