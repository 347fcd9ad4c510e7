"""Two `TARIK SEMUA` for one seller at the same moment: exactly one payout, never more
than the balance. Real concurrency: separate threads and separate processes, each with
its own SQLite connection to one file, through the same path a webhook takes."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from bot.config import load_config
from bot.migrations import apply_migrations
from bot.pipeline.inbound import accept_inbound_message
from bot.services import ledger, payout_accounts, payouts
from bot.services.reconciliation import check_ledger
from bot.storage import open_database, utcnow
from tests.money import credit, seller_id
from tests.waiting import join_all

PIN = "2580"
AMOUNT = 1_250_000


def settings_for(path: Path) -> dict:
    return load_config({}) | {"DATABASE_PATH": str(path)}


def send(db, settings, phone: str, text: str, message_id: str) -> str:
    """One SMS through the webhook's path (store, dialog, reply, all in one transaction)."""
    response, is_new = accept_inbound_message(
        db, settings, None, channel="android_sms", provider_id=message_id, phone=phone, body=text,
        raw=None, now=utcnow(), reply_inline=False)
    assert is_new and response is not None
    return response.reply


def prepare_seller(path: Path, phone: str) -> None:
    """A registered seller with money, an account and a PIN, made by SMS."""
    db = open_database(path)
    apply_migrations(db)
    settings = settings_for(path)
    send(db, settings, phone, "DAFTAR Siti, Sukamaju", f"{phone}-1")
    send(db, settings, phone, "REK DANA 081234567890 Siti", f"{phone}-2")
    send(db, settings, phone, f"PIN {PIN}", f"{phone}-3")
    credit(db, seller_id(db, phone), AMOUNT, utcnow())
    db.conn.close()


def withdraw_all(path: str, phone: str, lane: str, barrier) -> list[str]:
    """One phone's attempt: TARIK SEMUA, then the PIN, each step released together with the
    other attempt's. Runs in a thread or a process, always on its own connection."""
    db = open_database(path)
    settings = settings_for(Path(path))
    replies = []
    try:
        barrier.wait(timeout=30)
        replies.append(send(db, settings, phone, "TARIK SEMUA", f"{phone}-{lane}-tarik"))
        barrier.wait(timeout=30)
        replies.append(send(db, settings, phone, PIN, f"{phone}-{lane}-pin"))
    finally:
        db.conn.close()
    return replies


def assert_one_payout(path: Path, phone: str, replies: list[str]) -> None:
    db = open_database(path)
    try:
        sid = seller_id(db, phone)
        rows = list(db.query("SELECT * FROM payouts WHERE seller_contact_id = ?", [sid]))
        assert len(rows) == 1, (rows, replies)
        assert rows[0]["amount"] == AMOUNT
        assert ledger.seller_balance(db, sid) == ledger.SellerBalance(0, AMOUNT, 0, 0)
        created = [r for r in replies if r.startswith("Penarikan Rp1.250.000 ke DANA")]
        assert len(created) == 1, replies
        # Every message got exactly one reply.
        counts = list(db.query(
            "SELECT i.id, COUNT(o.id) AS n FROM inbound i LEFT JOIN outbox o "
            "ON o.inbound_id = i.id AND o.kind = 'reply' WHERE i.phone = ? GROUP BY i.id", [phone]))
        assert {row["n"] for row in counts} == {1}
        assert check_ledger(db).ok
    finally:
        db.conn.close()


@pytest.mark.parametrize("round_", range(4))
def test_two_simultaneous_withdrawals_in_threads_make_one_payout(tmp_path, round_):
    path = tmp_path / "race.db"
    phone = f"+62812345678{round_:02d}"
    prepare_seller(path, phone)
    barrier = threading.Barrier(2)
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def attempt(lane: str) -> None:
        try:
            results[lane] = withdraw_all(str(path), phone, lane, barrier)
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(lane,)) for lane in ("a", "b")]
    for thread in threads:
        thread.start()
    join_all(threads, timeout=120, what="both withdrawals to finish")
    assert not errors, errors
    assert_one_payout(path, phone, results["a"] + results["b"])


def test_two_simultaneous_withdrawals_in_processes_make_one_payout(tmp_path):
    path = tmp_path / "race.db"
    phone = "+6281234567899"
    prepare_seller(path, phone)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with context.Pool(2) as pool:
            results = pool.starmap(withdraw_all, [(str(path), phone, "a", barrier),
                                                  (str(path), phone, "b", barrier)])
    assert_one_payout(path, phone, results[0] + results[1])


def test_racing_withdrawals_never_take_more_than_the_balance(tmp_path):
    """Below the dialog: eight connections ask for the whole balance at once."""
    path = tmp_path / "race.db"
    prepare_seller(path, "+6281234567891")
    setup = open_database(path)
    sid = seller_id(setup, "+6281234567891")
    account = payout_accounts.get_account(setup, sid)
    setup.conn.close()
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt() -> None:
        db = open_database(path)
        try:
            barrier.wait(timeout=30)
            payouts.request_withdrawal(db, seller_contact_id=sid, amount=AMOUNT, account=account,
                                       provider="manual", settings=settings_for(path), now=utcnow(),
                                       timezone="Asia/Jakarta")
            outcomes.append("created")
        except payouts.WithdrawalRefused as refusal:
            outcomes.append(refusal.reason)
        finally:
            db.conn.close()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    join_all(threads, timeout=120, what="all eight withdrawals to finish")
    assert sorted(outcomes) == ["created"] + ["nothing_to_withdraw"] * 7
    db = open_database(path)
    assert ledger.seller_balance(db, sid).in_transit == AMOUNT
    assert check_ledger(db).ok
