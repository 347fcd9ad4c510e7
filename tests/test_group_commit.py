"""Group commit on the web's connections (DECISIONS 264): a committed `transaction()` is
on disk when it returns, as with `synchronous=FULL`, but the fsync of the WAL happens
after the write lock is released and covers every commit made before it started.

Real SQLite files and real threads; the fsync itself is the kernel's.
"""

from __future__ import annotations

import threading

from bot.storage import WalSync, open_database, sync_if_written, transaction
from tests.waiting import wait_until


def test_web_connections_sync_after_commit_and_others_stay_full(tmp_path):
    grouped = open_database(tmp_path / "hub.db", group_commit=True)
    plain = open_database(tmp_path / "hub.db")
    assert grouped.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL + our fsync
    assert plain.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, as before
    grouped.execute("CREATE TABLE t (x)")
    wal_sync = grouped.conn.wal_sync
    before = wal_sync.fsyncs
    with transaction(grouped):
        grouped.execute("INSERT INTO t VALUES (1)")
    assert wal_sync.fsyncs == before + 1 and wal_sync.synced == wal_sync.issued
    with transaction(grouped), transaction(grouped):  # the inner one is a savepoint
        grouped.execute("INSERT INTO t VALUES (2)")  # the outer commit syncs, once
    assert wal_sync.fsyncs == before + 2


def test_commits_made_during_an_fsync_share_the_next_one(tmp_path):
    path = tmp_path / "hub.db"
    open_database(path).execute("CREATE TABLE t (x)")
    wal_sync = WalSync.of(path)
    returned: list[tuple[int, int]] = []  # (ticket, synced when the commit returned)
    lock = threading.Lock()

    def commit(n: int) -> None:
        db = open_database(path, group_commit=True)
        with transaction(db):
            db.execute("INSERT INTO t VALUES (?)", [n])
        with lock:
            returned.append((wal_sync.issued, wal_sync.synced))

    # An fsync "in progress": its lock is held while eight threads commit.
    wal_sync._lock.acquire()
    start = wal_sync.issued
    threads = [threading.Thread(target=commit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: wal_sync.issued == start + 8, timeout=30,
                   what="eight committed transactions waiting for the WAL's fsync")
        assert returned == []  # nobody is told "done" before its commit is on disk
        fsyncs = wal_sync.fsyncs
    finally:
        wal_sync._lock.release()
    for thread in threads:
        thread.join()
    assert len(returned) == 8
    assert wal_sync.fsyncs == fsyncs + 1  # one fsync for the eight
    assert wal_sync.synced >= start + 8


def test_writes_outside_a_transaction_are_synced_before_the_answer(tmp_path):
    db = open_database(tmp_path / "hub.db", group_commit=True)
    db.execute("CREATE TABLE t (x)")
    wal_sync = db.conn.wal_sync
    sync_if_written(db)
    before = wal_sync.fsyncs
    sync_if_written(db)  # nothing written since
    assert wal_sync.fsyncs == before
    db.execute("INSERT INTO t VALUES (1)")  # autocommit: no transaction() around it
    sync_if_written(db)
    assert wal_sync.fsyncs == before + 1 and wal_sync.synced == wal_sync.issued


def test_bookkeeping_commits_do_not_wait_for_an_fsync_of_their_own(tmp_path):
    """`outbox.mark_enqueued` commits with `sync=False`: no fsync of its own, and the
    request's closing check does not make one for it either; an unsynced write made
    before it still is."""
    db = open_database(tmp_path / "hub.db", group_commit=True)
    db.execute("CREATE TABLE t (x)")
    sync_if_written(db)
    wal_sync = db.conn.wal_sync
    before = wal_sync.fsyncs
    with transaction(db, sync=False):
        db.execute("INSERT INTO t VALUES (1)")
    sync_if_written(db)
    assert wal_sync.fsyncs == before
    db.execute("INSERT INTO t VALUES (2)")  # autocommit, unsynced ...
    with transaction(db, sync=False):
        db.execute("INSERT INTO t VALUES (3)")
    sync_if_written(db)  # ... so the request's check still syncs
    assert wal_sync.fsyncs == before + 1


def test_a_wal_removed_from_outside_is_not_taken_for_synced(tmp_path, caplog):
    """Review finding (DECISIONS 360): with the WAL file unlinked under an open connection,
    the commits live only in the removed file; the sync logs it and checkpoints them into
    the database file, so the database file alone holds them."""
    import shutil

    path = tmp_path / "hub.db"
    db = open_database(path, group_commit=True)
    db.execute("CREATE TABLE t (x)")
    with transaction(db):
        db.execute("INSERT INTO t VALUES (1)")
    (tmp_path / "hub.db-wal").unlink()  # the fault: a cleanup removes the WAL
    with caplog.at_level("ERROR", logger="bot.storage"), transaction(db):
        db.execute("INSERT INTO t VALUES (2)")
    wal_sync = db.conn.wal_sync
    assert wal_sync.missing == 1 and wal_sync.checkpoints == 1
    assert "is missing" in caplog.text
    # What a restart would find: the database file without the removed WAL.
    copy = tmp_path / "after" / "hub.db"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    assert [r[0] for r in open_database(copy).execute("SELECT x FROM t ORDER BY x")] == [1, 2]


def test_a_missing_wal_without_a_connection_to_checkpoint_is_not_durable(tmp_path):
    import pytest

    from bot.storage import NotDurable

    path = tmp_path / "hub.db"
    db = open_database(path, group_commit=True)
    db.execute("CREATE TABLE t (x)")
    (tmp_path / "hub.db-wal").unlink()
    db.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(NotDurable):
        db.conn.wal_sync.sync()


def test_the_wal_stays_open_between_syncs_and_is_reopened_when_replaced(tmp_path):
    """The WAL's descriptor is kept for its fsyncs; when the path names another file (SQLite
    deletes the WAL as the last connection closes, the next one makes a new file), the
    next sync opens that file: an fsync of the old one would make nothing durable."""
    import os

    path = tmp_path / "hub.db"
    wal = tmp_path / "hub.db-wal"
    db = open_database(path, group_commit=True)
    db.execute("CREATE TABLE t (x)")
    wal_sync = db.conn.wal_sync
    with transaction(db):
        db.execute("INSERT INTO t VALUES (1)")
    held = wal_sync._fd
    with transaction(db):
        db.execute("INSERT INTO t VALUES (2)")
    assert wal_sync._fd == held  # no open and close per commit
    assert os.fstat(held).st_ino == os.stat(wal).st_ino
    db.conn.close()  # the last connection: SQLite checkpoints and deletes the WAL
    assert not wal.exists()
    again = open_database(path, group_commit=True)
    assert again.conn.wal_sync is wal_sync
    with transaction(again):
        again.execute("INSERT INTO t VALUES (3)")
    # The new file's descriptor (the old, unlinked file would have no link left; while
    # it was held open its inode could not be reused for the new one).
    assert os.fstat(wal_sync._fd).st_ino == os.stat(wal).st_ino
    assert os.fstat(wal_sync._fd).st_nlink == 1
    assert wal_sync.missing == 0
    # A WAL moved away (not deleted) under an open connection is no longer the one synced.
    os.rename(wal, tmp_path / "moved-wal")
    with transaction(again):
        again.execute("INSERT INTO t VALUES (4)")
    assert wal_sync.missing == 1 and wal_sync._fd is None
