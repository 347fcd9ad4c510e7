"""The writer gate, the request connections' checkpoint setting, and the sweep's
housekeeping (checkpoint, planner statistics), on real SQLite files."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import threading
from datetime import timedelta

import pytest

from bot.storage import (
    maintain,
    open_database,
    request_autocheckpoint,
    transaction,
    utcnow,
)


def test_writers_take_turns_through_the_gate(migrated_db, tmp_path):
    path = migrated_db.conn.execute("PRAGMA database_list").fetchone()[2]
    first, second = open_database(path), open_database(path)
    order: list[str] = []
    waiting = threading.Event()

    def later():
        waiting.set()
        with transaction(second):
            order.append("second")

    with transaction(first):
        thread = threading.Thread(target=later)
        thread.start()
        waiting.wait()
        order.append("first")
    thread.join()
    assert order == ["first", "second"]
    # The gate is released after a rollback too.
    try:
        with transaction(first):
            raise RuntimeError
    except RuntimeError:
        pass
    with transaction(second):
        pass


def test_a_thread_cannot_wait_for_its_own_write_lock(migrated_db):
    path = migrated_db.conn.execute("PRAGMA database_list").fetchone()[2]
    other = open_database(path)
    with (transaction(migrated_db), pytest.raises(sqlite3.OperationalError, match="already holds"),
          transaction(other)):
        pass
    with transaction(other):  # free again
        pass


def test_a_forked_child_does_not_share_the_parents_gate(migrated_db, tmp_path):
    """An flock belongs to the open file, which fork shares: a child (an RQ work horse)
    must get gates of its own, or it would pass a gate its parent holds (even when some
    other connection's database folder is gone meanwhile)."""
    gone = [open_database(tmp_path / "gone" / f"old{n}.db") for n in range(5)]
    shutil.rmtree(tmp_path / "gone")
    path = migrated_db.conn.execute("PRAGMA database_list").fetchone()[2]
    db = open_database(path)
    with transaction(db):
        pid = os.fork()
        if pid == 0:  # the child: the parent holds the gate, so the child's must be taken
            try:
                fcntl.flock(db.conn.writer_gate.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os._exit(0)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    for old in gone:
        old.conn.close()


def test_request_connections_leave_checkpoints_to_others():
    assert request_autocheckpoint({"SQLITE_CHECKPOINTS": "external"}) == 0
    assert request_autocheckpoint({"SQLITE_CHECKPOINTS": "sweep"}) > 1000
    db = open_database(":memory:", autocheckpoint=0)
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


def test_maintenance_checkpoints_and_analyzes_now_and_then(migrated_db):
    now = utcnow()
    done = maintain(migrated_db, {"SQLITE_CHECKPOINTS": "sweep"}, now)
    assert done["analyze"] and "checkpoint" in done
    assert migrated_db.execute("SELECT COUNT(*) FROM sqlite_stat1").fetchone()[0] > 0
    assert "analyze" not in maintain(migrated_db, {}, now + timedelta(hours=1))
    assert maintain(migrated_db, {}, now + timedelta(hours=7))["analyze"]
    # Litestream owns checkpoints: we never run one.
    assert "checkpoint" not in maintain(migrated_db, {"SQLITE_CHECKPOINTS": "external"}, now)
