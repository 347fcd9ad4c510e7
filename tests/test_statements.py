"""Seller statements: figures from the ledger month by month, a verification code, and
`GET /verify/<code>` that confirms an unchanged statement, shows only what it shows (no
phone number), and refuses altered figures, a wrong check part and unknown codes alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import secret_key
from bot.services import ledger, payouts, statements
from bot.services.reconciliation import check_ledger
from bot.storage import transaction
from tests.money import credit
from tests.test_cli_money import SITI, manual_payout, seller  # noqa: F401

NOW = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


@pytest.fixture
def history(db, settings, seller):  # noqa: F811
    """Siti: Rp1.250.000 credited (the fixture's order P12), Rp400.000 more in November,
    the buyer of P12 paid Rp1.000.000, and Rp500.000 paid out to her."""
    credit(db, seller, 400_000, datetime(2026, 11, 10, 3, 0, tzinfo=UTC), order_ref="P44")
    ledger.record_buyer_payment(db, order_ref="P12", amount=1_000_000, reference="BCA-9", now=NOW)
    payout = manual_payout(db, seller, settings)
    with transaction(db):
        payouts.apply_payout_event(db, payout["id"], "succeeded", NOW, source="cli")
    return seller


def issue(db, settings, seller_id, months=2):
    return statements.issue_statement(db, seller_id, months=months, now=NOW, timezone="Asia/Jakarta",
                                      secret=secret_key(settings), issued_by="test")


def test_figures_by_month_from_the_ledger(db, settings, history):
    statement = issue(db, settings, history)
    content = statement.content
    assert content["seller"] == {"name": "Siti Aminah", "village": "Sukamaju"}
    assert content["period"] == {"from": "2026-10-01", "to": "2026-12-02", "timezone": "Asia/Jakarta"}
    by_month = {m["month"]: m for m in content["months"]}
    assert list(by_month) == ["2026-10", "2026-11", "2026-12"]
    assert by_month["2026-11"] == {"month": "2026-11", "orders": 1, "sales": 400_000, "credited": 400_000,
                                   "buyer_payments": 0, "paid_out": 0}
    december = by_month["2026-12"]
    assert (december["buyer_payments"], december["paid_out"]) == (1_000_000, 500_000)
    assert content["totals"]["credited"] == 400_000 + december["credited"]
    assert check_ledger(db).ok


def test_verify_shows_the_statement_and_nothing_more(client, db, settings, history):
    statement = issue(db, settings, history)
    page = client.get(f"/verify/{statement.code}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Laporan ini asli dan tidak diubah." in html and "Siti Aminah" in html and "Sukamaju" in html
    assert "Rp400.000" in html and "Rp500.000" in html and statement.code in html
    assert SITI not in html and SITI[3:] not in html and "81234567890" not in html
    english = client.get(f"/verify/{statement.code.lower()}?lang=en").get_data(as_text=True)
    assert "This statement is genuine and unchanged." in english


def test_an_altered_statement_does_not_verify(client, db, settings, history):
    statement = issue(db, settings, history)
    id_part, check = statement.code.split("-")
    row = db.execute("SELECT content FROM statements WHERE id_part = ?", [id_part]).fetchone()[0]
    content = json.loads(row)
    content["totals"]["sales"] *= 10  # a seller who wants a bigger loan
    db.execute("UPDATE statements SET content = ? WHERE id_part = ?",
               [json.dumps(content, sort_keys=True, separators=(",", ":")), id_part])
    page = client.get(f"/verify/{statement.code}")
    assert page.status_code == 404 and "tidak dapat diverifikasi" in page.get_data(as_text=True)


@pytest.mark.parametrize("code", ["", "ABCDEF", "ABCDEF-ABCDEF", "x" * 500, "../../etc/passwd"])
def test_unknown_and_malformed_codes_are_404(client, db, settings, history, code):
    issue(db, settings, history)
    assert client.get(f"/verify/{code}").status_code == 404


def test_a_wrong_check_part_is_404(client, db, settings, history):
    statement = issue(db, settings, history)
    id_part, check = statement.code.split("-")
    wrong = "A" * 6 if check != "A" * 6 else "B" * 6
    assert client.get(f"/verify/{id_part}-{wrong}").status_code == 404


def test_the_cli_issues_a_statement(db, history, monkeypatch):
    # Without PUBLIC_BASE_URL, a running `jembatan up --port 5450` wrote where it listens
    # (DECISIONS 452).
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    (Path(db_path(db)).parent / "web.url").write_text("http://127.0.0.1:5450")
    result = CliRunner().invoke(main, ["statement", "issue", SITI, "--months", "1"])
    assert result.exit_code == 0, result.output
    assert "for Siti Aminah" in result.output and "http://127.0.0.1:5450/verify/" in result.output
    code = result.output.rsplit("/verify/", 1)[1].strip()
    assert statements.verify_statement(db, code, secret=secret_key({"DATABASE_PATH": db_path(db)}))


def db_path(db) -> str:
    return db.execute("PRAGMA database_list").fetchone()[2]


def test_the_secret_key_is_made_once_and_kept(tmp_path):
    config = {"DATABASE_PATH": str(tmp_path / "hub" / "jembatan.db")}
    first = secret_key(config)
    assert len(first) == 64 and secret_key(config) == first
    assert (tmp_path / "hub" / "secret.key").stat().st_mode & 0o077 == 0  # its owner's only
    assert secret_key(dict(config, SECRET_KEY="from-the-environment")) == "from-the-environment"


def test_two_coordinators_issuing_one_request_at_once_issue_it_once(db, settings, history):
    """Review finding 6 (DECISIONS 365): two threads, each with its own connection, issue
    the same request at the same moment; the conditional UPDATE lets one through."""
    import threading

    from bot.storage import open_database, utcnow

    request_row, _ = statements.request_statement(db, history, utcnow())
    path = db.execute("PRAGMA database_list").fetchone()[2]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def coordinator(phone: str) -> None:
        own = open_database(path, group_commit=True)
        start.wait()
        try:
            statements.issue_statement(own, history, months=2, now=utcnow(), timezone="Asia/Jakarta",
                                       secret=secret_key(settings), issued_by=phone,
                                       request_id=request_row["id"])
            outcomes.append("issued")
        except statements.RequestAlreadyHandled:
            outcomes.append("already handled")
        finally:
            own.conn.close()

    threads = [threading.Thread(target=coordinator, args=(phone,))
               for phone in ("+6281399990001", "+6281399990002")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already handled", "issued"]
    assert db.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == 1
    answered = statements.get_request(db, request_row["id"])
    assert answered["status"] == "issued" and answered["statement_id"] is not None
