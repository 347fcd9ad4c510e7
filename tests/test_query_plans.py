"""Every hot query uses an index that fits it: EXPLAIN QUERY PLAN, with real statistics.

The database is a generated population (bench/scale.py's bulk path at 1% of a real
cooperative: 1,000 sellers in 20 villages, 3,000 listings, 10,000 orders; the same
proportions as 100%) with `ANALYZE` run on it, so the planner decides as it would in
production. Each command runs through `accept_inbound_message` while every statement it
executes is recorded; each recorded statement is then explained, and a full-table scan
(or a full scan of an index) or a temporary B-tree fails the test unless it is listed
below with the reason it is cheap. No timings: speed lives in bench/.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from datetime import timedelta

import pytest

from bench.scale import build_population, buyer_phone, seller_phone, village_name
from bot.config import load_config
from bot.migrations import apply_migrations
from bot.pipeline.inbound import accept_inbound_message
from bot.services import (
    broadcasts,
    delivery_status,
    desk,
    inbox,
    listings,
    loops,
    media,
    orders,
    outbox,
    products,
)
from bot.storage import open_database, to_db_time, transaction, utcnow

#: Scans that are cheap by nature: table alias or name as the plan shows it -> why.
ALLOWED_SCANS = {
    "catalog_counts": "one row per product: the catalog's total",
    "villages": "broadcast planning reads the village zones once per broadcast",
    "half": "the steps of halving the ids for the first message since a time (~20 rows)",
}
#: Columns with a handful of values: an index searched on these alone is a scan in effect.
LOW_CARDINALITY = {"channel", "status", "lane", "kind", "role", "rowid"}
#: Statements (by a fragment) whose scan or sort is cheap -> why.
ALLOWED_STATEMENTS = {
    "l.quantity_milli > 0 ORDER BY l.id DESC LIMIT": "the newest listings: the primary key "
    "walked backwards, stopping at the page (most listings are visible)",
    "c.village = ": "a village's listings are its sellers' (~150 at 100%), sorted in memory",
    "WHERE status <> 'sent' AND status = 'pending' AND next_attempt_at <= ": "the sweep's due "
    "rows (off the request path, bounded by the backlog), sorted by id",
    "FROM media WHERE listing_id IN (": "the photos of one page's listings, sorted in memory",
    "FROM orders WHERE status = 'pending' AND ": "the order timers: the orders due now, sorted",
    "FROM outbox WHERE id BETWEEN ": "the rows one broadcast planning batch has just written "
    "(their ids allocated in one run under the write lock): the batch, at the table's end",
    # An INSERT ... RETURNING of a row other tables refer to: its plan lists SQLite's scans of
    # those tables for orphans, code guarded by FkIfZero that runs only when the statement
    # itself has left a foreign-key violation (never for a new inbound message or contact).
    "INSERT INTO inbound (channel, provider_id, phone, body, raw, received_at, bsuid, status":
    "the stored message read back with RETURNING (no read of its own; stored as processed, "
    "its contact by the phone's unique index)",
    "INSERT INTO contacts (phone, created_at) VALUES (": "a new contact read back with RETURNING",
    "UPDATE outbox SET enqueued_at = ": "rows handed to Redis, by runs of consecutive ids: each "
    "range holds only the rows named (outbox.id_runs)",
}


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """1% of a cooperative, generated; or, with JEMBATAN_PLAN_DB naming a population file
    (bench/scale.py's cache, e.g. the 100% one), a migrated copy of that: the same checks
    with the statistics of a full hub."""
    path = tmp_path_factory.mktemp("plans") / "population.db"
    if os.environ.get("JEMBATAN_PLAN_DB"):
        shutil.copyfile(os.environ["JEMBATAN_PLAN_DB"], path)
        db = open_database(path)
        apply_migrations(db)
        db.conn.close()
    else:
        build_population(path, 0.01)
    db = open_database(path)
    assert db.execute("SELECT COUNT(*) FROM sqlite_stat1").fetchone()[0] > 20
    yield db
    db.conn.close()


class Recorder:
    """Collects the statements a block executes on a connection."""

    def __init__(self, db):
        self.db, self.statements = db, []

    def __enter__(self):
        self.db.conn.set_trace_callback(self.statements.append)
        return self

    def __exit__(self, *exc):
        self.db.conn.set_trace_callback(None)


_SKIP = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA|--|EXPLAIN)", re.I)


def problems(db, statements: list[str]) -> list[str]:
    """Statements whose plan scans a table or sorts in a temporary B-tree (not allowed)."""
    found = []
    # Walking a partial index reads only the rows it was made for (the unprocessed
    # messages, the open orders...), so that is not a scan of the table.
    partial = {name for name, sql in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'")}
    for sql in dict.fromkeys(statements):
        if _SKIP.match(sql):
            continue
        if any(fragment in sql for fragment in ALLOWED_STATEMENTS):
            continue
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]
        for line in plan:
            scan = re.match(r"SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?", line)
            if (scan and scan.group(1) not in ALLOWED_SCANS and scan.group(2) not in partial
                    and "CONSTANT ROW" not in line):
                found.append(f"{line}\n    in: {sql}")
            if "TEMP B-TREE" in line:
                found.append(f"{line}\n    in: {sql}")
            search = re.match(r"SEARCH \w+ USING (?:COVERING )?(?:INDEX (\w+) )?.*?\((.*)\)", line)
            # A partial index holds only the rows it was made for (the unsent messages...):
            # searching it on a status is not reading a large part of the table.
            if search and search.group(1) not in partial:
                # An index searched only on a column of a few values (the channel, a status),
                # or a range of ids alone, reads a large part of the table: a scan in effect.
                selective = False
                for term in search.group(2).split(" AND "):
                    name = re.split(r"[=<>]", term)[0].strip()
                    ranged = "<" in term or ">" in term
                    if (name == "rowid" and not ranged) or name not in LOW_CARDINALITY:
                        selective = True
                if not selective:
                    found.append(f"{line}\n    in: {sql}")
    return found


@pytest.fixture(scope="module")
def config(population):
    return load_config({"DATABASE_PATH": "unused"})


_sids = itertools.count()


def send(db, config, phone: str, text: str):
    response, _ = accept_inbound_message(
        db, config, None, channel="twilio_sms", provider_id=f"SMplan{next(_sids):026d}", phone=phone,
        body=text, raw={"Body": text}, now=utcnow(), reply_inline=True)
    assert response is not None and response.reply
    return response.reply


def a_listing(db) -> str:
    return db.execute("SELECT code FROM listings WHERE status = 'active' AND quantity_milli "
                      ">= 100000 ORDER BY id DESC LIMIT 1").fetchone()[0]


@pytest.mark.parametrize("phone, text", [
    (seller_phone(7), "STOK"),
    (seller_phone(7), "SALDO"),
    (seller_phone(7), "STATUS"),
    (seller_phone(7), "JUAL cabai 10kg 12rb"),
    (seller_phone(7), "JUAL kentang 5kg 9rb"),
    (seller_phone(8), "CARI cabai"),
    (seller_phone(8), "CARI cabai di " + village_name(3)),
    (buyer_phone(3), "STATUS"),
    (buyer_phone(3), "CARI bawang merah"),
    (seller_phone(9), "BANTUAN"),
])
def test_commands_use_indexes(population, config, phone, text):
    with Recorder(population) as recorded:
        send(population, config, phone, text)
    assert recorded.statements
    assert problems(population, recorded.statements) == []


@pytest.mark.parametrize("phone, first, then", [
    (buyer_phone(4), "CARI cabai", "LAGI"),  # the next page of a product and its kinds
    (seller_phone(10), "STOK", "LAGI"),
    (seller_phone(10), "JUAL cabai 10kg 12rb", "JUAL cabai 5kg 12rb"),  # sanity, duplicate
])
def test_next_pages_and_second_listings_use_indexes(population, config, phone, first, then):
    send(population, config, phone, first)
    with Recorder(population) as recorded:
        send(population, config, phone, then)
    assert recorded.statements
    assert problems(population, recorded.statements) == []


def test_ordering_and_stock_use_indexes(population, config):
    code = a_listing(population)
    with Recorder(population) as recorded:
        send(population, config, buyer_phone(4), f"PESAN {code} 2kg")
        owner = population.execute("SELECT c.phone FROM listings l JOIN contacts c "
                                   "ON c.id = l.seller_id WHERE l.code = ?", [code]).fetchone()[0]
        send(population, config, owner, f"STOK {code} 300")
        send(population, config, owner, "STATUS")
        send(population, config, owner, "YA")
    assert problems(population, recorded.statements) == []


def test_catalog_reads_use_indexes(population):
    cabai = products.find_product(population, "cabai")["id"]
    village = village_name(5)
    with Recorder(population) as recorded:
        for kwargs in [{}, {"product_id": cabai}, {"product_id": cabai, "village": village},
                       {"village": village}, {"product_id": cabai, "order": "cheapest"},
                       {"product_id": cabai, "offset": 40}]:
            rows, _ = listings.search_catalog(population, **kwargs)
            media.listing_photos(population, [row["id"] for row in rows])
    assert problems(population, recorded.statements) == []


def test_worker_and_sweep_queries_use_indexes(population, config):
    now = utcnow()
    with transaction(population):
        outbox_id = outbox.queue_message(population, phone=seller_phone(11), channel="android_sms",
                                         body="x", kind="notification", now=now)
    with Recorder(population) as recorded:
        with transaction(population):
            row = outbox.claim_for_delivery(population, outbox_id, now)
        outbox.next_in_line(population, row)
        outbox.blocked_until(population, outbox_id, now)
        outbox.sent_provider_ids(population, row)
        outbox.due_unqueued(population, now)
        outbox.expired_leases(population, now + timedelta(hours=1))
        orders.due_reminders(population, now)
        orders.due_expiries(population, now)
        inbox.unprocessed_inbound_ids(population, now)
    health = ["SELECT status, COUNT(*) FROM outbox WHERE status <> 'sent' AND "
              "status IN ('pending', 'sending', 'failed') GROUP BY status",
              "SELECT COUNT(*) FROM inbound WHERE status = 'new'"]
    assert problems(population, health) == []
    assert problems(population, recorded.statements) == []


def test_broadcast_planning_uses_indexes(population, config):
    now = utcnow()
    broadcast_id = broadcasts.create_broadcast(population, group=village_name(2), text="Rapat",
                                               created_by="test", now=now)
    with Recorder(population) as recorded:
        report = broadcasts.plan_broadcast(population, config, broadcast_id, now)
    assert report.queued > 0
    assert problems(population, recorded.statements) == []


def test_the_check_catches_a_scan(population):
    """The test itself: an unindexed filter is reported, and so is an index searched on a
    column of a few values only."""
    assert problems(population, ["SELECT * FROM outbox o WHERE channel = 'twilio_sms' "
                                 "AND body = 'x'"])
    assert problems(population, ["SELECT * FROM orders WHERE total = 5"])
    assert problems(population, ["SELECT * FROM listings WHERE seller_id = 3 ORDER BY price"])


#: The desk's walks of the newest messages (m030: by id, no time index) and its sorts, which
#: read a page or a person's rows, or the rare statuses' rows, and are cheap for that.
DESK_WALKS = {
    "WITH RECURSIVE half(": "the first message since a time: some 20 seeks of one id each",
    "NOT INDEXED": "the newest messages: the primary key walked backwards, stopping at the page",
    "INDEXED BY ": "the message log names its index; the page of each side is merged by time",
    "UNION ALL SELECT 'out', id, body, reply_id, channel, created_at,": "one person's messages "
    "(both sides through their contact's index), merged by time",
    "FROM broadcasts b WHERE b.status = 'planning' OR EXISTS": "the broadcasts, one row each",
    "SELECT sent_at FROM outbox WHERE lane = 'broadcast' AND channel = ": "the newest broadcast row "
    "sent: the primary key walked backwards to it (before m030: every sent row, sorted)",
    "FROM inbound WHERE channel = 'android_sms' ORDER BY id DESC LIMIT 1": "the newest hub-phone SMS, "
    "the primary key walked backwards",
    "WHERE status <> 'sent' AND status = 'failed' AND created_at >= ": "the day's failures among the "
    "failed rows, sorted",
    "COUNT(*) AS due, MIN(next_attempt_at) AS oldest FROM outbox": "the due backlog grouped by "
    "channel and lane",
}


@pytest.fixture(scope="module")
def with_messages(population, tmp_path_factory):
    """The population with a month of messages from 300 people (every channel and status,
    ids in time order, as the webhook writes them) and statistics for them."""
    import random
    import sqlite3

    path = tmp_path_factory.mktemp("messages") / "population.db"
    source = sqlite3.connect(population.execute("PRAGMA database_list").fetchone()[2])
    target = sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    db = open_database(path)
    people = db.execute("SELECT id, phone FROM contacts ORDER BY id LIMIT 300").fetchall()
    pick, start = random.Random(13), utcnow() - timedelta(days=30)
    rows_in, rows_out = [], []
    for i in range(20_000):
        at = to_db_time(start + timedelta(seconds=i * 130))
        contact_id, phone = pick.choice(people)
        status_in = pick.choices(["processed", "new", "failed"], [98, 1, 1])[0]
        status_out = pick.choices(["sent", "pending", "failed", "expired", "sending"], [95, 2, 1, 1, 1])[0]
        channel, lane = pick.choice(["twilio_sms", "android_sms"]), pick.choice(["conversation", "broadcast"])
        rows_in.append((channel, f"m{i}", phone, contact_id, at, status_in))
        rows_out.append((contact_id, phone, lane, status_out, at, at))
    with transaction(db):
        db.conn.executemany("INSERT INTO inbound (channel, provider_id, phone, contact_id, body, "
                            "received_at, status) VALUES (?, ?, ?, ?, 'STOK', ?, ?)", rows_in)
        db.conn.executemany("INSERT INTO outbox (contact_id, phone, channel, lane, kind, body, status, "
                            "next_attempt_at, created_at) VALUES (?, ?, 'twilio_sms', ?, 'reply', 'x', ?, ?, "
                            "?)", rows_out)
    db.execute("ANALYZE")
    yield db
    db.conn.close()


def test_message_reads_use_the_indexes_m030_left(with_messages):
    """The desk's overview, a person's page and every message log filter; the loop
    breaker's look-back; the per-address cap; the delivery status: after m030 dropped the
    time and per-phone indexes of the message tables, nothing of theirs reads every row."""
    db, now = with_messages, utcnow()
    contact_id, phone = db.execute("SELECT contact_id, phone FROM inbound WHERE contact_id IS NOT NULL "
                                   "ORDER BY id DESC LIMIT 1").fetchone()
    with Recorder(db) as recorded:
        desk.overview(db, now, "Asia/Jakarta", gateway_configured=True)
        desk.person(db, contact_id)
        for filters in [{}, {"phone": phone}, {"phone": phone[-6:]}, {"channel": "android_sms"},
                        {"direction": "out", "offset": 50}] + [{"status": s} for s in desk.MESSAGE_STATUSES]:
            desk.message_log(db, **filters)
        loops.is_looping(db, contact_id, "STOK", 10**9, now, {"LOOP_MAX_REPEATS": 5})
        with transaction(db):
            for known in (contact_id, None):
                outbox.queue_message(db, phone=phone, channel="twilio_sms", body="x", kind="notification",
                                     now=now, contact_id=known, per_minute_cap=10)
        delivery_status.delivery_status(db, now, max_sweep_age=60, max_backlog_age=60)
    messages = [sql for sql in recorded.statements if re.search(r"\b(inbound|outbox)\b", sql)
                and not any(fragment in sql for fragment in DESK_WALKS)]
    assert len(messages) >= 8
    found = problems(db, messages)
    assert found == [], "\n".join(found)
    # What the walks allowed above read: never a scan of a time index that is gone, and
    # the one person's side in their index's order.
    plans = "\n".join(row[3] for sql in recorded.statements if not _SKIP.match(sql)
                      for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert "desk_inbound_time" not in plans and "desk_outbox_time" not in plans
    assert "SEARCH inbound USING INDEX inbound_contact_time (contact_id=? AND received_at>?)" in plans
    assert ("SEARCH outbox USING COVERING INDEX outbox_contact_due (contact_id=? AND lane=? AND "
            "next_attempt_at>?)") in plans


def _plan(db, sql: str) -> list[str]:
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]


def test_cari_and_saldo_read_their_answers_from_indexes(population, config):
    """With two web workers every transaction reads its pages again (DECISIONS 480): CARI
    of a product and its kinds walks each kind's cheapest-first index alone and reads only
    the page's listings (481); SALDO sums a seller's accounts from the entries' index (482)."""
    from conversations.flows.search import SEARCH_LIMIT

    with Recorder(population) as recorded:
        send(population, config, buyer_phone(5), "CARI cabai")
    walks = [sql for sql in recorded.statements if "SELECT l.price, l.quantity_milli, l.id " in sql]
    assert len(walks) == 1  # cabai and its kinds, one statement
    plan = _plan(population, walks[0])
    searches = [line for line in plan if line.startswith("SEARCH")]
    assert len(searches) > 1 and all("COVERING INDEX listings_cheapest" in line for line in searches), plan
    pages = [sql for sql in recorded.statements if "WHERE l.id IN (" in sql]
    assert len(pages) == 1 and pages[0].count(",", pages[0].index("l.id IN (")) < SEARCH_LIMIT
    with Recorder(population) as recorded:
        send(population, config, seller_phone(12), "SALDO")
    sums = [sql for sql in recorded.statements if "FROM ledger_accounts a JOIN ledger_entries e" in sql]
    assert len(sums) == 1
    assert any("COVERING INDEX ledger_entries_account" in line for line in _plan(population, sums[0]))


def test_status_lines_read_only_what_they_show(population, config):
    """A seller's STATUS lists each open order from the order and its product alone
    (DECISIONS 483), in the words the full order gives, and reads no listing or buyer."""
    from bot.services import orders as order_service
    from conversations.flows.orders import _line
    from conversations.news.orders import order_values

    seller = population.execute("SELECT seller_id FROM orders WHERE status = 'pending' "
                                "ORDER BY id LIMIT 1").fetchone()[0]
    lines = order_service.seller_order_lines(population, seller)
    full = order_service.seller_orders(population, seller)
    assert lines and [row["id"] for row in lines] == [row["id"] for row in full]
    for row, order in zip(lines, full, strict=True):
        values = order_values(order, "id")
        assert _line(row, "id") == f"{order['code']} {values['quantity']} {values['product']}"
        assert row["status"] == order["status"]
    phone = population.execute("SELECT phone FROM contacts WHERE id = ?", [seller]).fetchone()[0]
    with Recorder(population) as recorded:
        reply = send(population, config, phone, "STATUS")
    assert lines[0]["code"] in reply
    listed = [sql for sql in recorded.statements if "o.seller_id = " in sql]
    assert len(listed) == 1 and "JOIN listings" not in listed[0] and "JOIN buyers" not in listed[0]
    assert problems(population, listed) == []
