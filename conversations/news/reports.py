"""What a seller is told about statements and summaries, whichever path caused it: a
statement issued from the desk or by a coordinator's text, the weekly summary the sweep
sends, `LAPORAN` on demand.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.services import contacts, reports
from bot.services.reports import Summary
from conversations.i18n import format_money, format_unit_price
from conversations.news.notify import queue_notification, recipient_locale


def verify_link(settings: dict, code: str) -> str | None:
    """The public address where a lender checks the statement, or None without
    PUBLIC_BASE_URL (a text cannot carry a link whose host we do not know)."""
    base = (settings.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/verify/{code}" if base else None


def statement_news(settings: dict, code: str) -> tuple[str, dict]:
    """(reply id, values) telling a seller their statement was issued."""
    link = verify_link(settings, code)
    if link is None:
        return "statement.issued_no_link", {"code": code}
    return "statement.issued", {"code": code, "link": link}


def notify_statement_issued(db: sqlite_utils.Database, settings: dict, seller_contact_id: int, code: str,
                            now: datetime) -> int:
    """Queue the seller's text with the statement's code and link (caller's transaction)."""
    reply_id, values = statement_news(settings, code)
    seller = contacts.get_contact(db, seller_contact_id)
    return queue_notification(db, settings, seller, reply_id, now, **values)


def summary_reply(reply_id: str, price_reply_id: str, summary: Summary, locale: str) -> tuple[str, dict]:
    """(reply id, values) of a summary: `reply_id`, or `price_reply_id` when the seller has
    a price to compare with the reference price (that takes the room of the hint)."""
    values = {"sales": format_money(summary.sales, locale), "orders": summary.orders,
              "waiting": summary.waiting, "available": format_money(summary.available, locale)}
    if summary.price is None:
        return reply_id, values
    check = summary.price
    return price_reply_id, {**values, "product": check.product,
                                 "price": format_unit_price(check.price, check.unit, locale),
                                 "reference": format_unit_price(check.reference, check.unit, locale)}


def queue_weekly_report(db: sqlite_utils.Database, settings: dict, contact: dict, now: datetime, *,
                        not_before: datetime) -> int:
    """Queue the seller's Monday summary (figures as of `now`), to go at `not_before`."""
    summary = reports.seller_summary(db, contact["id"], now)
    reply_id, values = summary_reply("report.weekly", "report.weekly_price", summary,
                                     recipient_locale(contact, settings))
    return queue_notification(db, settings, contact, reply_id, now, not_before=not_before, **values)
