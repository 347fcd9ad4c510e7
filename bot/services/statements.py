"""Seller statements a lender can verify: one seller's sales, the buyers' payments for
them and the payouts they received, month by month, with a verification code.

A statement is a snapshot: its figures are computed from the ledger when it is issued
and stored as canonical JSON with an HMAC-SHA256 over it (keyed with SECRET_KEY, which
is not in the database). `GET /verify/<code>` recomputes the HMAC: a statement whose
stored figures were changed afterwards no longer verifies, and a code with a wrong check
part is not found. The verification code is `<id part>-<check part>`: the id part finds
the row, the check part is the start of the HMAC, so a mistyped or invented code fails.
The page shows what the printed statement shows and nothing more (no phone number).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.services import contacts
from bot.storage import fetch_all, fetch_one, from_db_time, to_db_time, transaction

#: Characters of the verification code: no 0/O, 1/I/L, so it can be read over the phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ID_PART, CHECK_PART = 6, 6


class StatementRefused(ValueError):
    """No statement can be issued (not a seller, a period that makes no sense)."""


class RequestAlreadyHandled(StatementRefused):
    """The request was answered meanwhile (another coordinator issued its statement)."""


@dataclass(frozen=True)
class VerifiedStatement:
    """A statement whose figures are exactly as issued."""

    code: str
    issued_at: datetime
    content: dict


def issue_statement(db: sqlite_utils.Database, seller_contact_id: int, *, months: int, now: datetime,
                    timezone: str, secret: str, issued_by: str,
                    request_id: int | None = None) -> VerifiedStatement:
    """Compute and store the statement of the last `months` whole local months plus the
    current one, and return it with its verification code.

    `request_id`: the seller's request this answers. It is claimed by a conditional UPDATE
    in the same transaction, so of two coordinators issuing it at once (by text and at
    the desk) one issues and the other gets `RequestAlreadyHandled` (DECISIONS 365)."""
    seller = contacts.get_contact(db, seller_contact_id)
    if seller is None or seller.get("role") != "seller":
        raise StatementRefused("not a seller")
    if not 1 <= months <= 24:
        raise StatementRefused("months must be 1..24")
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    year, month = local.year, local.month - months
    while month < 1:
        year, month = year - 1, month + 12
    start = datetime(year, month, 1, tzinfo=zone)
    content = {
        "seller": {"name": seller["name"], "village": seller["village"]},
        "period": {"from": start.date().isoformat(), "to": local.date().isoformat(), "timezone": timezone},
        "currency": "IDR",
        "months": _monthly_figures(db, seller_contact_id, start, now, zone),
    }
    content["totals"] = {key: sum(m[key] for m in content["months"])
                         for key in ("orders", "sales", "credited", "buyer_payments", "paid_out")}
    canonical = _canonical(content)
    with transaction(db):
        if request_id is not None and not db.execute(
                "UPDATE statement_requests SET status = 'issued', handled_by = ?, handled_at = ? "
                "WHERE id = ? AND seller_contact_id = ? AND status = 'open'",
                [issued_by, to_db_time(now), request_id, seller_contact_id]).rowcount:
            raise RequestAlreadyHandled(f"request {request_id} is no longer open")
        for _ in range(20):
            id_part = "".join(secrets.choice(CODE_ALPHABET) for _ in range(ID_PART))
            if fetch_one(db, "SELECT 1 AS taken FROM statements WHERE id_part = ?", [id_part]) is None:
                break
        cursor = db.execute(
            "INSERT INTO statements (id_part, seller_contact_id, content, signature, issued_by, issued_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [id_part, seller_contact_id, canonical, _sign(secret, id_part, canonical), issued_by,
             to_db_time(now)])
        # The seller's open request by text (if any) is answered by this statement.
        db.execute("UPDATE statement_requests SET status = 'issued', statement_id = ?, handled_by = ?, "
                   "handled_at = ? WHERE seller_contact_id = ? AND (status = 'open' OR id = ?)",
                   [cursor.lastrowid, issued_by, to_db_time(now), seller_contact_id, request_id])
    return VerifiedStatement(f"{id_part}-{_check(secret, id_part, canonical)}", now, content)


def verify_statement(db: sqlite_utils.Database, code: str, *, secret: str) -> VerifiedStatement | None:
    """The statement `code` names, if it exists and its stored figures are unchanged;
    None for an unknown code, a wrong check part or altered figures."""
    id_part, _, check = (code or "").strip().upper().partition("-")
    if len(id_part) != ID_PART or len(check) != CHECK_PART:
        return None
    row = fetch_one(db, "SELECT * FROM statements WHERE id_part = ?", [id_part])
    if row is None:
        return None
    expected = _sign(secret, id_part, row["content"])
    if not hmac.compare_digest(expected, row["signature"]):
        return None  # the figures were changed after the statement was issued
    if not hmac.compare_digest(_check(secret, id_part, row["content"]), check):
        return None
    return VerifiedStatement(f"{id_part}-{check}", from_db_time(row["issued_at"]), json.loads(row["content"]))


def request_statement(db: sqlite_utils.Database, seller_contact_id: int,
                      now: datetime) -> tuple[dict, bool]:
    """The seller's open request for a statement (`LAPORAN KEUANGAN` by text), made now
    unless one already waits; returns (request, whether it is new)."""
    with transaction(db):
        waiting = fetch_one(db, "SELECT id FROM statement_requests WHERE seller_contact_id = ? "
                                "AND status = 'open'", [seller_contact_id])
        if waiting is not None:
            return get_request(db, waiting["id"]), False
        cursor = db.execute("INSERT INTO statement_requests (seller_contact_id, requested_at) VALUES (?, ?)",
                            [seller_contact_id, to_db_time(now)])
        return get_request(db, cursor.lastrowid), True


_REQUESTS = ("SELECT r.*, c.name AS seller_name, c.village AS seller_village, c.phone AS seller_phone "
             "FROM statement_requests r JOIN contacts c ON c.id = r.seller_contact_id")


def get_request(db: sqlite_utils.Database, request_id: int) -> dict | None:
    """One request with its seller's name, village and phone."""
    return fetch_one(db, f"{_REQUESTS} WHERE r.id = ?", [request_id])


def open_requests(db: sqlite_utils.Database, limit: int = 100) -> list[dict]:
    """Requests that wait for a coordinator, oldest first."""
    return fetch_all(db, f"{_REQUESTS} WHERE r.status = 'open' ORDER BY r.id LIMIT ?", [limit])


def issued_statements(db: sqlite_utils.Database, *, secret: str, limit: int = 50,
                      offset: int = 0) -> list[dict]:
    """Issued statements, newest first: code, seller, period, when and by whom, and whether
    the stored figures still verify (an altered one is shown as such, never hidden)."""
    rows = fetch_all(
        db, "SELECT s.*, c.name AS seller_name, c.village AS seller_village FROM statements s "
            "JOIN contacts c ON c.id = s.seller_contact_id ORDER BY s.issued_at DESC, s.id DESC "
            "LIMIT ? OFFSET ?", [limit, offset])
    listed = []
    for row in rows:
        content = json.loads(row["content"])
        genuine = hmac.compare_digest(_sign(secret, row["id_part"], row["content"]), row["signature"])
        listed.append({
            "id": row["id"], "code": f"{row['id_part']}-{_check(secret, row['id_part'], row['content'])}",
            "seller_contact_id": row["seller_contact_id"], "seller_name": row["seller_name"],
            "seller_village": row["seller_village"], "period_from": content["period"]["from"],
            "period_to": content["period"]["to"], "issued_at": row["issued_at"],
            "issued_by": row["issued_by"], "genuine": genuine})
    return listed


def count_statements(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COUNT(*) FROM statements").fetchone()[0]


def _monthly_figures(db, seller_contact_id: int, start: datetime, end: datetime,
                     zone: ZoneInfo) -> list[dict]:
    """Per local month from `start`: orders received and their value, what the seller was
    credited, what buyers paid for those orders, and what was paid out to the seller."""
    months: dict[str, dict] = {}
    cursor = start
    while cursor <= end.astimezone(zone):
        key = f"{cursor.year:04d}-{cursor.month:02d}"
        months[key] = {"month": key, "orders": 0, "sales": 0, "credited": 0, "buyer_payments": 0,
                       "paid_out": 0}
        cursor = datetime(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1, tzinfo=zone)
    rows = fetch_all(
        db,
        """
        SELECT t.kind, t.created_at, a.kind AS account, e.amount
          FROM ledger_transactions t
          JOIN ledger_entries e ON e.transaction_id = t.id
          JOIN ledger_accounts a ON a.id = e.account_id
         WHERE t.created_at >= :start AND t.created_at <= :end
           AND (t.seller_contact_id = :seller
                OR t.payout_id IN (SELECT id FROM payouts WHERE seller_contact_id = :seller)
                OR (t.kind = 'buyer_payment' AND t.order_ref IN (
                        SELECT order_ref FROM ledger_transactions
                         WHERE kind = 'order_receipt' AND seller_contact_id = :seller)))
        """,
        {"start": to_db_time(start), "end": to_db_time(end), "seller": seller_contact_id},
    )
    for row in rows:
        month = from_db_time(row["created_at"]).astimezone(zone)
        figures = months.get(f"{month.year:04d}-{month.month:02d}")
        if figures is None:
            continue
        if row["kind"] == "order_receipt" and row["account"] == "buyer_receivables":
            figures["orders"] += 1
            figures["sales"] += row["amount"]
        elif row["kind"] == "order_receipt" and row["account"] == "available":
            figures["credited"] += -row["amount"]
        elif row["kind"] == "buyer_payment" and row["account"] == "cash":
            figures["buyer_payments"] += row["amount"]
        elif row["kind"] == "payout_succeeded" and row["account"] == "paid_out":
            figures["paid_out"] += -row["amount"]
        elif row["kind"] == "payout_reversed" and row["account"] == "paid_out":
            figures["paid_out"] -= row["amount"]
    return list(months.values())


def _canonical(content: dict) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _sign(secret: str, id_part: str, canonical: str) -> str:
    return hmac.new(secret.encode(), f"{id_part}:{canonical}".encode(), hashlib.sha256).hexdigest()


def _check(secret: str, id_part: str, canonical: str) -> str:
    """The check part of the code: the HMAC's first bits, written in the code alphabet."""
    digest = int(_sign(secret, id_part, canonical), 16)
    chars = []
    for _ in range(CHECK_PART):
        digest, index = divmod(digest, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)
