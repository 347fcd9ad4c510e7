"""Open the SQLite database the way every process in Jembatan needs it.

Web workers, RQ workers and the CLI all share one file, so the connection is put in WAL
mode (readers never block the writer) with a generous busy timeout, and writes that read
before they write go through `transaction()`, which takes the write lock up front
(`BEGIN IMMEDIATE`) so two processes cannot both read stale stock and both decide.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open (creating folders as needed) the SQLite file at `path`, ready for concurrent use."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we manage transactions ourselves (BEGIN IMMEDIATE), instead
    # of Python's implicit deferred BEGIN, which would upgrade locks mid-transaction.
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return sqlite_utils.Database(conn)


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run the block in one write transaction, committed at the end or rolled back on error.

    Nested use joins the outer transaction, so a service function can demand atomicity
    without knowing whether its caller already holds one.
    """
    conn = db.conn
    if conn.in_transaction:
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_db_time(moment: datetime | None) -> str | None:
    """Format an aware datetime for storage: fixed-width UTC text that sorts correctly."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def from_db_time(text: str | None) -> datetime | None:
    """Parse a stored time back into an aware UTC datetime."""
    if not text:
        return None
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
