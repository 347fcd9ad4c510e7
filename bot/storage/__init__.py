"""Open the SQLite database the way every process in Jembatan needs it.

Web workers, RQ workers and the CLI all share one file, so the connection is put in WAL
mode (readers never block the writer) with a generous busy timeout, and writes that read
before they write go through `transaction()`, which takes the write lock up front
(`BEGIN IMMEDIATE`) so two processes cannot both read stale stock and both decide.
"""

from __future__ import annotations

import fcntl
import logging
import operator
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
log = logging.getLogger(__name__)


#: `synchronous` for connections that acknowledge something to the outside world (the web
#: answering a provider's webhook, the CLI): FULL fsyncs the WAL at every commit, so a 200
#: survives a power cut. RQ jobs use NORMAL (`WORKER_SYNCHRONOUS`): what a power cut may
#: take from them is redone by the sweep, the provider lookup or the gateway's 409, and
#: an fsync per claim would cap broadcast throughput on an SD card. DECISIONS.md 70.
DURABLE_SYNCHRONOUS = "FULL"
WORKER_SYNCHRONOUS = "NORMAL"


class Connection(sqlite3.Connection):
    """A connection with its writer gate: a lock file beside the database
    (`<database>-writer`) that writers take before `BEGIN IMMEDIATE` (see `transaction`)."""

    writer_gate = None
    writer_gate_key = None  # the gate file's (device, inode)
    path = None  # the database file, for `sync_wal`


def open_database(path: str | Path, synchronous: str = DURABLE_SYNCHRONOUS, *,
                  autocheckpoint: int | None = None, group_commit: bool = False) -> sqlite_utils.Database:
    """Open (creating folders as needed) the SQLite file at `path`, ready for concurrent use.

    `synchronous` is FULL unless the caller says otherwise (see `DURABLE_SYNCHRONOUS`).
    `autocheckpoint` sets `PRAGMA wal_autocheckpoint` for this connection (pages; 0 = never):
    request-serving connections pass a large backstop or 0 so that checkpoints run in the
    sweep (or in Litestream), not in a webhook's COMMIT; see DECISIONS.md 101.

    `group_commit` (with FULL): the same guarantee, a committed `transaction()` is on disk
    when it returns, but the WAL's fsync happens after the write lock is released and is
    shared by the commits of this process's threads made meanwhile (`WalSync`; DECISIONS
    264). Writes outside `transaction()` are made durable by `sync_if_written`.
    """
    if synchronous not in (DURABLE_SYNCHRONOUS, WORKER_SYNCHRONOUS):
        raise ValueError(f"synchronous={synchronous!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we manage transactions ourselves (BEGIN IMMEDIATE), instead
    # of Python's implicit deferred BEGIN, which would upgrade locks mid-transaction.
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False,
                           factory=Connection)
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    # Group commit syncs the WAL file: a database that is not in WAL mode (a file system
    # without shared memory, another process holding it in another mode) keeps FULL.
    grouped = (group_commit and synchronous == DURABLE_SYNCHRONOUS and str(path) != ":memory:"
               and str(mode).lower() == "wal")
    # Grouped: SQLite syncs as with NORMAL (checkpoints, WAL resets) and we sync the WAL
    # after each commit, which is the one thing FULL adds.
    conn.execute(f"PRAGMA synchronous={WORKER_SYNCHRONOUS if grouped else synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(WRITE_LOCK_TIMEOUT * 1000)}")
    if autocheckpoint is not None:
        conn.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
    if str(path) != ":memory:":
        conn.path = str(path)
        conn.writer_gate = open(f"{path}-writer", "a+b")  # noqa: SIM115 (lives with the connection)
        conn.writer_gate_key = _gate_key(conn.writer_gate)
        _gated.add(conn)
    if grouped:
        conn.wal_sync = WalSync.of(path)
        conn.synced_changes = conn.total_changes
    return sqlite_utils.Database(conn)


class WalSync:
    """Group commit for one database file in this process: `sync()` returns once the WAL
    is on disk up to the caller's last commit, with one fsync for all the commits that
    other threads made before it started.

    Each caller takes a ticket after its COMMIT; the thread that gets the lock fsyncs for
    every ticket given out so far (their commits are all in the WAL by then) and the
    others, finding their ticket covered, return without a system call of their own."""

    _files: dict[str, WalSync] = {}
    _files_lock = threading.Lock()

    def __init__(self, wal: str):
        self.wal = wal
        self._issuing = threading.Lock()
        self.issued = 0  # the last ticket given out
        self._lock = threading.Lock()
        self.synced = 0  # every ticket up to this one is on disk
        self.fsyncs = 0
        self.missing = 0  # syncs that found the WAL file gone (logged)
        self.checkpoints = 0  # ... and made the commits durable by a checkpoint
        # The WAL file kept open for its fsyncs (an open and a close less per commit),
        # with its (device, inode): reopened when the path names another file.
        self._fd: int | None = None
        self._fd_key: tuple[int, int] | None = None

    @classmethod
    def of(cls, path: str | Path) -> WalSync:
        key = os.path.realpath(path)
        with cls._files_lock:
            if key not in cls._files:
                cls._files[key] = cls(f"{key}-wal")
            return cls._files[key]

    def sync(self, conn: sqlite3.Connection | None = None) -> int:
        """Return once every commit made before the call is on disk; the caller's ticket.

        `conn` is the caller's connection (open, in WAL mode). While it is open SQLite never
        removes the WAL, so a missing file means something else did (a cleanup script, a
        restore): the commits live only in the unlinked file and would be lost at the next
        restart. They are then made durable by a checkpoint through `conn` (SQLite copies
        them into the database file and syncs it), and the incident is logged; if the
        checkpoint cannot complete, `NotDurable` is raised, so that nothing is
        acknowledged (DECISIONS 360)."""
        with self._issuing:
            self.issued += 1
            ticket = self.issued
        with self._lock:
            if self.synced >= ticket:
                return ticket  # another thread's fsync started after our commit
            covered = self.issued  # every commit that has taken a ticket so far
            fd = self._wal_fd()
            if fd is None:
                self._checkpoint_without_wal(conn)
                self.synced = covered
                return ticket
            os.fdatasync(fd)
            self.fsyncs += 1
            self.synced = covered
            return ticket

    def _wal_fd(self) -> int | None:
        """A descriptor of the file the WAL's path names now, or None if there is none.

        The descriptor is kept between syncs; a `stat` of the path tells whether it still
        names that file (same device and inode). If the WAL was removed, moved away or
        replaced (SQLite deletes it when the last connection closes and the next one
        makes a new one), the old descriptor is closed and the new file opened: an fsync
        of a file the path no longer names would make nothing durable."""
        try:
            stat = os.stat(self.wal)
        except FileNotFoundError:
            self._close_fd()
            return None
        if self._fd is not None and (stat.st_dev, stat.st_ino) == self._fd_key:
            return self._fd
        self._close_fd()
        try:
            fd = os.open(self.wal, os.O_RDONLY)
        except FileNotFoundError:
            return None
        opened = os.fstat(fd)
        self._fd, self._fd_key = fd, (opened.st_dev, opened.st_ino)
        return fd

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd, self._fd_key = self._fd, None, None
            with suppress(OSError):
                os.close(fd)

    def _checkpoint_without_wal(self, conn: sqlite3.Connection | None) -> None:
        self.missing += 1
        log.error("The WAL file %s is missing while the database is open (removed from outside "
                  "SQLite?); making the commits durable by a checkpoint", self.wal)
        if conn is None:
            raise NotDurable(f"{self.wal} is missing and no connection was given to checkpoint")
        busy, wal_frames, moved = conn.execute("PRAGMA wal_checkpoint(FULL)").fetchone()
        if busy or moved < wal_frames:
            raise NotDurable(f"{self.wal} is missing and the checkpoint could not complete "
                             f"(busy={busy}, {moved}/{wal_frames} frames)")
        self.checkpoints += 1


class NotDurable(sqlite3.OperationalError):
    """A commit could not be made durable (its WAL file was removed from outside SQLite and
    a checkpoint could not complete): the caller must not acknowledge it."""


def _new_wal_syncs_after_fork() -> None:
    for inherited in WalSync._files.values():
        inherited._close_fd()  # the child's copy of the descriptor; the parent's stays open
    WalSync._files = {}  # a lock held by a parent's thread at fork would never be released
    WalSync._files_lock = threading.Lock()
    for conn in list(_gated):
        if getattr(conn, "wal_sync", None) is not None:
            conn.wal_sync = WalSync.of(conn.wal_sync.wal.removesuffix("-wal"))


def sync_if_written(db: sqlite_utils.Database) -> None:
    """For a `group_commit` connection: make whatever it wrote outside `transaction()`
    (statements in autocommit) durable before the caller acknowledges anything."""
    conn = db.conn
    wal_sync = getattr(conn, "wal_sync", None)
    if wal_sync is not None and conn.total_changes != conn.synced_changes and not conn.in_transaction:
        wal_sync.sync(conn)
        conn.synced_changes = conn.total_changes


@contextmanager
def syncs_deferred(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Within the block, a group-commit connection's commits do not wait for their fsync
    and stay unsynced; the caller then makes them all durable with one `sync_if_written`
    before it acknowledges any of them or acts on them outside the database (the inbound
    engine's batches, DECISIONS 496). Not nestable."""
    conn = db.conn
    conn.defer_sync = True
    try:
        yield db
    finally:
        conn.defer_sync = False


def sync_wal(db: sqlite_utils.Database) -> None:
    """Make every commit in the database's WAL durable, whoever made it, before acting in the
    outside world on what was read: a web request's commit is visible to other processes
    from its COMMIT on, but on disk only once its fsync (`WalSync`) is done, and a power cut
    in between takes it back. Any connection; one fsync shared like a commit's (DECISIONS
    361)."""
    path = getattr(db.conn, "path", None)
    if path is not None:
        WalSync.of(path).sync(db.conn)


#: How long a writer outside the gate may hold the write lock before we give up (the
#: connection's busy timeout, seconds).
WRITE_LOCK_TIMEOUT = 30.0
#: One name for every savepoint: they nest strictly (one `with` inside another, one thread
#: per connection) and SQLite's `ROLLBACK TO` / `RELEASE` take the most recent savepoint of
#: a name, so each block still reaches its own. A fixed text is compiled once and then
#: found in the connection's statement cache; a fresh name per savepoint was compiled
#: (and cached, pushing out others) every time, twice per message (DECISIONS 400).
SAVEPOINT = "jembatan_sp"


@contextmanager
def transaction(db: sqlite_utils.Database, *, sync: bool = True) -> Iterator[sqlite_utils.Database]:
    """Run the block in one write transaction, committed at the end or rolled back on error.

    Nested use becomes a savepoint inside the outer transaction: an error rolls back the
    inner block only, so a caller can keep what it wrote before (the stored inbound
    message) when processing fails.

    `sync=False`: on a group-commit connection, do not wait for this commit's fsync (for
    bookkeeping whose loss the sweep repairs, such as `outbox.mark_enqueued`); the next
    synced commit, or SQLite's next checkpoint, makes it durable.
    """
    conn = db.conn
    if conn.in_transaction:
        conn.execute(f"SAVEPOINT {SAVEPOINT}")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {SAVEPOINT}")
                conn.execute(f"RELEASE {SAVEPOINT}")
            raise
        else:
            conn.execute(f"RELEASE {SAVEPOINT}")
        return
    wal_sync = getattr(conn, "wal_sync", None)
    clean = wal_sync is not None and conn.total_changes == conn.synced_changes
    _begin_immediate(conn)
    committed = False
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
        committed = True
    finally:
        _release_gate(conn)
    if committed and wal_sync is not None and not getattr(conn, "defer_sync", False):
        if sync:
            # Outside the write lock: the next writer goes on while this commit's fsync runs.
            wal_sync.sync(conn)
            conn.synced_changes = conn.total_changes
        elif clean:
            # Nothing else unsynced was pending: `sync_if_written` need not sync for this.
            conn.synced_changes = conn.total_changes


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """Take the write lock: first the connection's writer gate, then `BEGIN IMMEDIATE`.

    The gate is an flock on `<database>-writer` that every Jembatan writer takes first.
    The kernel hands it over the moment its holder commits, whereas SQLite's own busy
    handler sleeps at least a millisecond per try (longer than a whole webhook
    transaction) and polling costs CPU and oversleeps. With the gate held, `BEGIN
    IMMEDIATE` normally succeeds at once; a writer outside the gate (the sqlite3 shell, a
    backup tool) is waited for by SQLite's busy timeout (30 s). No PRAGMA is toggled per
    transaction. A thread that already holds the gate through another connection to the
    same file would wait for itself forever, so that raises at once instead.
    """
    gate = getattr(conn, "writer_gate", None)
    if gate is not None:
        held = _gates_held.__dict__.setdefault("names", set())
        key = conn.writer_gate_key
        if key in held:
            raise sqlite3.OperationalError(
                f"this thread already holds the write lock of {gate.name} on another connection")
        fcntl.flock(gate.fileno(), fcntl.LOCK_EX)
        held.add(key)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except BaseException:
        _release_gate(conn)
        raise


_gates_held = threading.local()
#: Connections with a gate, so that a forked child (an RQ work horse) gets gates of its
#: own: an flock belongs to the open file, which fork shares with the parent, so a parent
#: and a child using one inherited gate would not exclude each other.
_gated: weakref.WeakSet = weakref.WeakSet()


def _new_gates_after_fork() -> None:
    global _gates_held
    _gates_held = threading.local()
    for conn in list(_gated):
        inherited = conn.writer_gate
        if inherited is None:
            continue
        try:
            conn.writer_gate = open(inherited.name, "a+b")  # noqa: SIM115
        except OSError:  # its database is gone (a removed folder): it cannot write anyway
            conn.writer_gate = None
        inherited.close()  # the parent's lock, if it holds one, stays the parent's


os.register_at_fork(after_in_child=_new_gates_after_fork)
os.register_at_fork(after_in_child=_new_wal_syncs_after_fork)


def _release_gate(conn: sqlite3.Connection) -> None:
    gate = getattr(conn, "writer_gate", None)
    if gate is not None:
        fcntl.flock(gate.fileno(), fcntl.LOCK_UN)
        _gates_held.__dict__.setdefault("names", set()).discard(conn.writer_gate_key)


def _gate_key(gate) -> tuple[int, int]:
    """The gate file's identity (device, inode), whatever path opened it."""
    stat = os.fstat(gate.fileno())
    return stat.st_dev, stat.st_ino


def in_clause(column: str, values: tuple | list) -> tuple[str, list]:
    """`column IN (?, ?, ...)` and its parameters, for filters by a list of values."""
    return f"{column} IN ({', '.join('?' * len(values))})", list(values)


def where_in(column: str, values: tuple | list | None) -> tuple[str, list]:
    """`WHERE column IN (...)` and its parameters, or nothing when `values` is empty: the
    optional status filter of the listing commands."""
    if not values:
        return "", []
    condition, params = in_clause(column, values)
    return f"WHERE {condition}", params


#: A column's name in `cursor.description` (taken in C: a wide row such as a contact's
#: 27 columns cost a Python loop per column in every `SELECT *` of the webhook).
_column_name = operator.itemgetter(0)


def fetch_one(db: sqlite_utils.Database, sql: str, params=()) -> dict | None:
    """The first row of a query as a dict, or None (no savepoint: cheap on hot paths)."""
    cursor = db.conn.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip(map(_column_name, cursor.description), row, strict=True))


def fetch_all(db: sqlite_utils.Database, sql: str, params=()) -> list[dict]:
    """All rows of a query as dicts."""
    cursor = db.conn.execute(sql, params)
    names = tuple(map(_column_name, cursor.description))
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


_last_formatted: tuple = (None, None)


def to_db_time(moment: datetime | None) -> str | None:
    """Format an aware datetime for storage: fixed-width UTC text that sorts correctly."""
    global _last_formatted
    if moment is None:
        return None
    # A message formats its one `now` several times: the last answer is remembered (by
    # identity; datetimes are immutable).
    last = _last_formatted
    if last[0] is moment:
        return last[1]
    m = moment.astimezone(UTC)
    # Same text as strftime(TIME_FORMAT), built directly: this runs several times per message.
    text = (f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:"
            f"{m.second:02d}.{m.microsecond:06d}Z")
    _last_formatted = (moment, text)
    return text


def from_db_time(text: str | None) -> datetime | None:
    """Parse a stored time back into an aware UTC datetime."""
    if not text:
        return None
    # fromisoformat reads TIME_FORMAT (Z included, Python 3.11) about 20 times faster than
    # strptime, which showed in every delivery and webhook profile.
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


#: `SQLITE_CHECKPOINTS=sweep` (default): request connections checkpoint only past this
#: many WAL pages (a backstop if no worker runs); the sweep checkpoints every 30 s.
REQUEST_AUTOCHECKPOINT_PAGES = 10_000
#: How often the sweep refreshes the planner's statistics (ANALYZE, bounded per index).
ANALYZE_EVERY = timedelta(hours=6)
ANALYSIS_LIMIT = 1000


def request_autocheckpoint(config: dict) -> int:
    """`wal_autocheckpoint` for connections that serve requests: 0 when something else
    (Litestream) owns checkpoints, else a backstop far above what the sweep lets build up."""
    return 0 if config.get("SQLITE_CHECKPOINTS") == "external" else REQUEST_AUTOCHECKPOINT_PAGES


def maintain(db: sqlite_utils.Database, config: dict, now: datetime) -> dict:
    """Housekeeping the sweep runs off the request path: a PASSIVE WAL checkpoint (unless
    `SQLITE_CHECKPOINTS=external`: Litestream wants to own checkpoints), and every
    ANALYZE_EVERY a bounded `ANALYZE` so the planner's statistics follow the data.
    Returns what it did."""
    done: dict = {}
    if config.get("SQLITE_CHECKPOINTS") != "external":
        busy, wal_pages, moved = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        done["checkpoint"] = {"busy": busy, "wal_pages": wal_pages, "checkpointed": moved}
    with transaction(db):
        last = db.execute("SELECT done_at FROM maintenance WHERE task = 'analyze'").fetchone()
        if last is None or from_db_time(last[0]) <= now - ANALYZE_EVERY:
            db.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
            db.execute("ANALYZE")
            db.execute("INSERT INTO maintenance (task, done_at) VALUES ('analyze', ?) "
                       "ON CONFLICT(task) DO UPDATE SET done_at = excluded.done_at",
                       [to_db_time(now)])
            done["analyze"] = True
    return done
