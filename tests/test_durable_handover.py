"""Review finding 2 (DECISIONS 361): a web request's commit is visible to other
connections from its COMMIT on, but on disk only once its group-commit fsync is done. The
sweep must not hand over a row it found before that fsync: if a power cut took the commit
back, the provider would retry the message and its reply would go out twice.

Real SQLite file, real Redis; the fsync "in progress" is the WAL sync's lock, held.
"""

from __future__ import annotations

import threading

import redis as redis_lib

from bot.pipeline.sweep import sweep
from bot.services import outbox
from bot.storage import WalSync, open_database, transaction, utcnow
from tests.waiting import wait_until


def test_the_sweep_hands_over_a_reply_only_after_its_commit_is_on_disk(app, db, settings, redis_url):
    path = app.config["DATABASE_PATH"]
    web = open_database(path, group_commit=True)  # as bot.web.db opens it
    wal_sync = WalSync.of(path)
    committed = threading.Event()
    report: list = []

    def webhook() -> None:
        with transaction(web):
            outbox.queue_message(web, phone="+6281234567801", channel="android_gateway",
                                 body="Terima kasih", kind="reply", now=utcnow())
        committed.set()  # the webhook answers 200 only after this

    def worker_sweep() -> None:  # as the RQ worker runs it, on its own connection
        worker = open_database(path, "NORMAL")
        report.append(sweep(worker, settings, redis_lib.Redis.from_url(redis_url)))
        worker.conn.close()

    wal_sync._lock.acquire()  # the webhook's fsync is still running
    start = wal_sync.issued
    threads = [threading.Thread(target=webhook)]
    try:
        threads[0].start()
        wait_until(lambda: wal_sync.issued == start + 1, timeout=30,
                   what="the webhook's commit waiting for its fsync")
        (row,) = db.execute("SELECT id, enqueued_at FROM outbox").fetchall()  # visible already
        threads.append(threading.Thread(target=worker_sweep))
        threads[1].start()
        wait_until(lambda: wal_sync.issued == start + 2, timeout=30,
                   what="the sweep waiting for the WAL's fsync before handing the row over")
        assert not committed.is_set() and report == []
        assert db.execute("SELECT enqueued_at FROM outbox WHERE id = ?", [row[0]]).fetchone()[0] is None
    finally:
        wal_sync._lock.release()
    for thread in threads:
        thread.join()
    assert committed.is_set() and report[0].enqueued == 1
    assert db.execute("SELECT enqueued_at FROM outbox WHERE id = ?", [row[0]]).fetchone()[0] is not None
    assert wal_sync.synced >= start + 2


def test_a_gateway_reply_is_enqueued_only_after_the_webhooks_fsync(app, client, db, redis_url, fake_gateway):
    """The web path itself: the webhook's reply job reaches Redis only once the commit
    holding the message and its reply is on disk."""
    from rq import Queue

    from tests.conftest import gateway_post, sms_received

    wal_sync = WalSync.of(app.config["DATABASE_PATH"])
    replies = Queue("replies", connection=redis_lib.Redis.from_url(redis_url))
    gateway_post(client, sms_received("warm-1", "+6281234567802", "BANTUAN"))  # the app's connection open
    before = len(replies.job_ids)
    answers: list[int] = []
    wal_sync._lock.acquire()
    start = wal_sync.issued
    thread = threading.Thread(target=lambda: answers.append(
        gateway_post(client, sms_received("held-1", "+6281234567801", "DAFTAR Siti, Sukamaju")).status_code))
    try:
        thread.start()
        wait_until(lambda: wal_sync.issued > start, timeout=30,
                   what="the webhook's commit waiting for its fsync")
        assert db.execute("SELECT COUNT(*) FROM outbox WHERE phone = '+6281234567801'").fetchone()[0] == 1
        assert len(replies.job_ids) == before and answers == []  # committed, not yet handed over
    finally:
        wal_sync._lock.release()
    thread.join()
    assert answers == [200] and len(replies.job_ids) == before + 1
