"""Open the SQLite database the way every process in Jembatan needs it.

Web workers, RQ workers and the CLI all share one file, so the connection is put in WAL
mode (readers never block the writer) with a generous busy timeout, and writes that read
before they write go through `transaction()`, which takes the write lock up front
(`BEGIN IMMEDIATE`) so two processes cannot both read stale stock and both decide.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


#: `synchronous` for connections that acknowledge something to the outside world (the web
#: answering a provider's webhook, the CLI): FULL fsyncs the WAL at every commit, so a 200
#: survives a power cut. RQ jobs use NORMAL (`WORKER_SYNCHRONOUS`): what a power cut may
#: take from them is redone by the sweep, the provider lookup or the gateway's 409, and
#: an fsync per claim would cap broadcast throughput on an SD card. DECISIONS.md 70.
DURABLE_SYNCHRONOUS = "FULL"
WORKER_SYNCHRONOUS = "NORMAL"


def open_database(path: str | Path, synchronous: str = DURABLE_SYNCHRONOUS) -> sqlite_utils.Database:
    """Open (creating folders as needed) the SQLite file at `path`, ready for concurrent use.

    `synchronous` is FULL unless the caller says otherwise (see `DURABLE_SYNCHRONOUS`)."""
    if synchronous not in (DURABLE_SYNCHRONOUS, WORKER_SYNCHRONOUS):
        raise ValueError(f"synchronous={synchronous!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we manage transactions ourselves (BEGIN IMMEDIATE), instead
    # of Python's implicit deferred BEGIN, which would upgrade locks mid-transaction.
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return sqlite_utils.Database(conn)


#: How long a writer waits for another process's write transaction before giving up.
WRITE_LOCK_TIMEOUT = 30.0
_savepoints = itertools.count()


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run the block in one write transaction, committed at the end or rolled back on error.

    Nested use becomes a savepoint inside the outer transaction: an error rolls back the
    inner block only, so a caller can keep what it wrote before (the stored inbound
    message) when processing fails.
    """
    conn = db.conn
    if conn.in_transaction:
        name = f"sp_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        else:
            conn.execute(f"RELEASE {name}")
        return
    _begin_immediate(conn)
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (a deferred foreign key, as the ledger uses) leaves the
            # transaction open; roll it back so the connection is usable again.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """Take the write lock, waiting in short steps while another process holds it.

    SQLite's own busy handler sleeps at least a millisecond per try, longer than a whole
    webhook transaction here; polling from 0.1 ms upwards keeps two web workers from
    idling on each other.
    """
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        delay, deadline = 0.0001, time.monotonic() + WRITE_LOCK_TIMEOUT
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.005)
    finally:
        conn.execute("PRAGMA busy_timeout = 30000")


def in_clause(column: str, values: tuple | list) -> tuple[str, list]:
    """`column IN (?, ?, ...)` and its parameters, for filters by a list of values."""
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def fetch_one(db: sqlite_utils.Database, sql: str, params=()) -> dict | None:
    """The first row of a query as a dict, or None (no savepoint: cheap on hot paths)."""
    cursor = db.conn.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


def fetch_all(db: sqlite_utils.Database, sql: str, params=()) -> list[dict]:
    """All rows of a query as dicts."""
    cursor = db.conn.execute(sql, params)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_db_time(moment: datetime | None) -> str | None:
    """Format an aware datetime for storage: fixed-width UTC text that sorts correctly."""
    if moment is None:
        return None
    m = moment.astimezone(UTC)
    # Same text as strftime(TIME_FORMAT), built directly: this runs several times per message.
    return (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
            f"{m.second:02d}.{m.microsecond:06d}Z")


def from_db_time(text: str | None) -> datetime | None:
    """Parse a stored time back into an aware UTC datetime."""
    if not text:
        return None
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
