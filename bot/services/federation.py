"""Hubs and a city (issue 18): the hub's event outbox and the city's application of it.

A hub is the only writer of its sellers' listings. Every change a city must know is an
event row in `federation_events`, written by the triggers of migration m024 in the same
transaction as the change (whatever path makes it: a seller's JUAL, an order taking stock,
the desk, an erasure); the relay (`bot.relay`) publishes those rows to the hub's JetStream
stream and marks them published when JetStream acknowledged them. At the city the relay
hands each event to `apply_event`, which records its id (a repeat changes nothing) and
writes the listing's newest state into the city's own `listings`, under the hub-prefixed
code (`A` + `C7` = `AC7`). Events carry the whole entity, so applying the newest one is
enough: an older one arriving late (epoch, then per-entity sequence) is recorded stale.

Orders flow down (DECISIONS 300-319): a city buyer's order for a hub listing is
`requested` at the city, its request written to the city's outbox `federation_requests`
in the same transaction (`bot.services.orders`); the relay publishes it to the hub's
subject, and the hub's relay hands it to `take_request`, which in one hub transaction
records the request id (a redelivery changes nothing), reserves the stock and creates the
hub order, or refuses it with a declined event. The hub's order events (m025's triggers)
come back like listing events; `apply_event` moves the city order with them. Buyers'
payments for such orders go down the same way and the hub's ledger books them; a request
carries the time its hub must take it by; a hub's new epoch (a restore) makes the city
replay what the restored copy may have lost (DECISIONS 420-424).

The domain has no idea of NATS: the subjects and stream names are here only because the
hub and city must agree on them, and they are plain strings.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils

from bot.config import role_of
from bot.services import buyers, images, listings, orders, payments
from bot.storage import fetch_all, fetch_one, from_db_time, to_db_time, transaction

#: The city's stream: it sources every hub's stream (DECISIONS 277).
CITY_STREAM = "JEMBATAN_CITY"
#: The city's durable consumer of `CITY_STREAM`.
CITY_CONSUMER = "city-apply"
#: Contacts the city holds for hub sellers: never texted, never a city seller (278).
REMOTE_SELLER = "remote_seller"
#: Contacts a hub holds for city buyers: never texted (their news goes up as events).
REMOTE_BUYER = "remote_buyer"
#: Contacts that live at another site: nothing here texts them.
REMOTE_ROLES = frozenset({REMOTE_SELLER, REMOTE_BUYER})
#: The city's stream of requests to hubs (`jembatan.city.A.orders`, ...).
CITY_REQUESTS_STREAM = "JEMBATAN_CITY_REQUESTS"
CITY_REQUESTS_SUBJECTS = "jembatan.city.>"
#: A hub's durable consumer of its requests stream.
HUB_CONSUMER = "hub-requests"


class FederationMismatch(RuntimeError):
    """The database belongs to another hub than the configuration says."""


def hub_stream(hub_id: str) -> str:
    """`JEMBATAN_HUB_A`: hub A's stream of events."""
    return f"JEMBATAN_HUB_{hub_id}"


def hub_subjects(hub_id: str) -> str:
    """Every subject of hub A's stream: `jembatan.hub.A.>`."""
    return f"jembatan.hub.{hub_id}.>"


def event_subject(hub_id: str, entity: str) -> str:
    """`jembatan.hub.A.events.listing`."""
    return f"jembatan.hub.{hub_id}.events.{entity}"


def request_subject(hub_id: str) -> str:
    """`jembatan.city.A.orders`: the city's requests to hub A."""
    return f"jembatan.city.{hub_id}.orders"


def hub_requests_stream(hub_id: str) -> str:
    """`JEMBATAN_HUB_A_REQUESTS`: hub A's copy of the city's requests to it (sourced)."""
    return f"JEMBATAN_HUB_{hub_id}_REQUESTS"


def hub_of_subject(subject: str) -> str | None:
    """The hub a subject belongs to (`jembatan.hub.A.events.listing` -> `A`)."""
    parts = subject.split(".")
    return parts[2] if len(parts) >= 4 and parts[:2] == ["jembatan", "hub"] else None


def identity(db: sqlite_utils.Database) -> dict | None:
    """The deployment's federation identity (role, hub_id, epoch), None if never set."""
    return fetch_one(db, "SELECT role, hub_id, epoch FROM federation_identity WHERE id = 1")


def sync_identity(db: sqlite_utils.Database, config: dict, now: datetime) -> dict | None:
    """Record the configured role (and hub letter) in the database, where the outbox
    triggers read it. A standalone deployment that never was anything else writes nothing.
    A hub's letter cannot change once it has events: they were published under it."""
    role = role_of(config)
    hub_id = config.get("JEMBATAN_HUB_ID") if role == "hub" else None
    current = identity(db)
    if current is None and role == "standalone":
        return None
    if current is not None and (current["role"], current["hub_id"]) == (role, hub_id):
        write_snapshot(db, now)
        return current
    with transaction(db):
        current = identity(db)
        if (current is not None and current["hub_id"] and current["hub_id"] != hub_id
                and db.execute("SELECT 1 FROM federation_events LIMIT 1").fetchone()):
            raise FederationMismatch(
                f"this database is hub {current['hub_id']}'s (its events were published under "
                f"that letter); JEMBATAN_HUB_ID says {hub_id!r}")
        db.execute(
            "INSERT INTO federation_identity (id, role, hub_id, updated_at) VALUES (1, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET role = excluded.role, hub_id = excluded.hub_id, "
            "updated_at = excluded.updated_at", [role, hub_id, to_db_time(now)])
    write_snapshot(db, now)
    return identity(db)


def advance_epoch(db: sqlite_utils.Database, now: datetime) -> int:
    """A restored hub's new epoch: its events from now on outrank everything the city saw
    from the copy it was restored from (DECISIONS 279). Returns the new epoch."""
    with transaction(db):
        db.execute("UPDATE federation_identity SET epoch = epoch + 1, updated_at = ? WHERE id = 1",
                   [to_db_time(now)])
        row = identity(db)
    if row is None:
        raise FederationMismatch("no federation identity: this database was never a hub")
    return row["epoch"]


def event_id(hub_id: str, epoch: int, row_id: int) -> str:
    """`A-1-17`: unique across hubs and restores; JetStream's `Nats-Msg-Id` and the city's key."""
    return f"{hub_id}-{epoch}-{row_id}"


def unpublished(db: sqlite_utils.Database, limit: int) -> list[dict]:
    """The oldest events JetStream has not acknowledged yet."""
    return fetch_all(db, "SELECT * FROM federation_events WHERE published_at IS NULL "
                         "ORDER BY id LIMIT ?", [limit])


def message_of(hub_id: str, row: dict) -> dict:
    """The published form of an event row."""
    return {
        "id": event_id(hub_id, row["epoch"], row["id"]), "hub": hub_id, "epoch": row["epoch"],
        "entity": row["entity"], "entity_id": row["entity_id"], "seq": row["entity_seq"],
        "kind": row["kind"], "at": row["created_at"], "data": json.loads(row["payload"]),
    }


def mark_published(db: sqlite_utils.Database, row_ids: list[int], now: datetime) -> None:
    """JetStream acknowledged these events."""
    _mark_published(db, "federation_events", row_ids, now)


def outbox_counts(db: sqlite_utils.Database) -> dict:
    """Events written, published and waiting at a hub."""
    return _published_counts(db, "federation_events", "events")


def _mark_published(db: sqlite_utils.Database, table: str, row_ids: list[int], now: datetime) -> None:
    """Set `published_at` on these rows of an outbox table (events or requests)."""
    if not row_ids:
        return
    with transaction(db):
        db.execute(f"UPDATE {table} SET published_at = ? WHERE id IN "
                   f"({', '.join('?' * len(row_ids))}) AND published_at IS NULL",
                   [to_db_time(now), *row_ids])


def _published_counts(db: sqlite_utils.Database, table: str, total_key: str) -> dict:
    """Rows written, published and waiting in an outbox table, the total under `total_key`."""
    total, waiting = db.execute(
        f"SELECT COUNT(*), COUNT(*) - COUNT(published_at) FROM {table}").fetchone()
    return {total_key: total, "published": total - waiting, "waiting": waiting}


class InvalidEvent(ValueError):
    """An event the city cannot apply (malformed, or from another hub than its subject's)."""


def apply_event(db: sqlite_utils.Database, message: dict, *, from_hub: str, now: datetime,
                media_root: Path | None = None) -> str:
    """Apply one hub event at the city, in one transaction: `applied`, `stale` (a newer
    state of the entity is already there) or `duplicate` (this event id was applied).
    `from_hub` is the hub whose subject carried it; an event naming another is refused."""
    return apply_event_change(db, message, from_hub=from_hub, now=now, media_root=media_root)[0]


def apply_event_change(db: sqlite_utils.Database, message: dict, *, from_hub: str, now: datetime,
                       settings: dict | None = None, media_root: Path | None = None,
                       ) -> tuple[str, orders.OrderChange | None]:
    """`apply_event`, also returning the city order's change an order event made (for
    its buyer's news, which the caller queues in this same transaction)."""
    if not isinstance(message, dict) or message.get("hub") != from_hub:
        raise InvalidEvent(f"event from hub {from_hub} names hub {message.get('hub')!r}"
                           if isinstance(message, dict) else "event is not an object")
    entity = message.get("entity")
    apply = _APPLIERS.get(entity)
    if (apply is None and entity not in _ORDER_ENTITIES) or not isinstance(message.get("data"), dict):
        raise InvalidEvent(f"unknown entity {message.get('entity')!r}")
    if not str(message.get("id", "")).startswith(f"{from_hub}-{message.get('epoch')}-"):
        raise InvalidEvent(f"event id {message.get('id')!r} is not hub {from_hub}'s")
    with transaction(db):
        inserted = db.execute(
            "INSERT INTO federation_applied (event_id, hub_id, kind, outcome, applied_at) "
            "VALUES (?, ?, ?, 'applied', ?) ON CONFLICT(event_id) DO NOTHING RETURNING 1",
            [message["id"], from_hub, message["kind"], to_db_time(now)]).fetchall()
        if not inserted:
            return "duplicate", None
        _note_epoch(db, from_hub, int(message["epoch"]), now)
        change = None
        if apply is not None:
            applied = apply(db, from_hub, message, now, media_root)
        else:
            change = _apply_order(db, from_hub, message, now, settings or {})
            applied = change is not None
        if not applied:
            db.execute("UPDATE federation_applied SET outcome = 'stale' WHERE event_id = ?",
                       [message["id"]])
            return "stale", None
        return "applied", change


def _note_epoch(db: sqlite_utils.Database, hub_id: str, epoch: int, now: datetime) -> None:
    """Remember the newest epoch of each hub; the first event of a higher one (the hub was
    restored from a backup) replays the requests the restored copy may have lost."""
    known = db.execute("SELECT epoch FROM federation_hub_epochs WHERE hub_id = ?", [hub_id]).fetchone()
    if known is not None and known[0] >= epoch:
        return
    db.execute("INSERT INTO federation_hub_epochs (hub_id, epoch, updated_at) VALUES (?, ?, ?) "
               "ON CONFLICT(hub_id) DO UPDATE SET epoch = excluded.epoch, updated_at = excluded.updated_at",
               [hub_id, epoch, to_db_time(now)])
    if known is not None:
        replay_requests(db, hub_id, now)


def replay_requests(db: sqlite_utils.Database, hub_id: str, now: datetime) -> int:
    """At the city, in the caller's transaction: send hub `hub_id` again every published
    request of the orders still waiting on it (requested, pending, accepted, shipped) and
    of payments it has not answered, oldest first, each under its first id, so the hub's
    `federation_received` takes once what it lost and drops what it kept (DECISIONS 423).
    Returns how many were queued."""
    waiting = ", ".join(f"'{status}'" for status in orders.WAITING_STATUSES)
    return db.execute(
        f"INSERT INTO federation_requests (epoch, hub_id, order_id, kind, payload, created_at, replay_of) "
        f"SELECT COALESCE((SELECT epoch FROM federation_identity WHERE id = 1), 1), r.hub_id, "
        # An order the hub had taken in time (pending, accepted, shipped) is replayed with no
        # deadline: a restore later than take_by must place it again, not expire it (395).
        f"r.order_id, r.kind, CASE WHEN r.kind = 'order.request' AND o.status != 'requested' "
        f"THEN json_remove(r.payload, '$.take_by') ELSE r.payload END, ?, "
        f"'city-' || r.epoch || '-' || r.id "
        f"FROM federation_requests r JOIN orders o ON o.id = r.order_id "
        f"WHERE r.hub_id = ? AND r.replay_of IS NULL AND r.published_at IS NOT NULL "
        f"AND (o.status IN ({waiting}) OR (r.kind = 'order.payment' AND EXISTS (SELECT 1 FROM "
        f"federation_payments p WHERE p.id = json_extract(r.payload, '$.payment') "
        f"AND p.status = 'forwarded'))) ORDER BY r.id", [to_db_time(now), hub_id]).rowcount


def _apply_payment(db: sqlite_utils.Database, hub_id: str, message: dict, now: datetime,
                   media_root: Path | None = None) -> bool:
    """The hub's answer about a payment the city sent down: recorded in its ledger, or
    refused (DECISIONS 420). Once: a payment already answered stays as it is."""
    data = message["data"]
    row = db.execute("SELECT p.id FROM federation_payments p JOIN orders o ON o.id = p.order_id "
                     "WHERE p.id = ? AND o.origin_hub = ?", [data.get("payment"), hub_id]).fetchone()
    if row is None or data.get("status") not in ("recorded", "refused"):
        raise InvalidEvent(f"hub {hub_id} answers for payment {data.get('payment')!r}, not its own")
    return bool(db.execute(
        "UPDATE federation_payments SET status = ?, reason = ?, amount_due = ?, answered_at = ? "
        "WHERE id = ? AND status = 'forwarded'",
        [data["status"], data.get("reason"), data.get("amount_due"), to_db_time(now), row[0]]).rowcount)


def _apply_order(db: sqlite_utils.Database, hub_id: str, message: dict, now: datetime,
                 settings: dict) -> orders.OrderChange | None:
    """A hub's answer about a city order: only one placed for that hub's listing."""
    data = message["data"]
    row = db.execute("SELECT id FROM orders WHERE id = ? AND origin_hub = ?",
                     [data.get("city_order"), hub_id]).fetchone()
    if row is None:
        raise InvalidEvent(f"hub {hub_id} answers for order {data.get('city_order')!r}, not its own")
    return orders.apply_hub_answer(db, row[0], data, (int(message["epoch"]), int(message["seq"])),
                                   now, settings=settings)


def _apply_listing(db: sqlite_utils.Database, hub_id: str, message: dict, now: datetime,
                   media_root: Path | None = None) -> bool:
    data = message["data"]
    version = (int(message["epoch"]), int(message["seq"]))
    current = fetch_one(db, "SELECT id, origin_epoch, origin_seq FROM listings "
                            "WHERE origin_hub = ? AND origin_id = ?", [hub_id, data["id"]])
    if current is not None and (current["origin_epoch"], current["origin_seq"]) >= version:
        return False
    seller_id = _remote_seller(db, hub_id, data["seller"], now)
    product_id = _product(db, data["product"], now)
    values = {
        "code": hub_id + data["code"], "seller_id": seller_id, "product_id": product_id,
        "product_text": data["product_text"], "quantity_milli": data["quantity_milli"],
        "unit": data["unit"], "price": data["price"], "status": data["status"],
        "created_at": data["created_at"], "updated_at": data["updated_at"],
        "withdrawn_at": data["withdrawn_at"], "origin_epoch": version[0], "origin_seq": version[1],
    }
    if current is None:
        values.update(origin_hub=hub_id, origin_id=data["id"])
        db.execute(f"INSERT INTO listings ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                   list(values.values()))
    else:
        db.execute(f"UPDATE listings SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                   [*values.values(), current["id"]])
    return True


def _remote_seller(db: sqlite_utils.Database, hub_id: str, seller: dict, now: datetime) -> int:
    """The city's contact for a hub's seller: name, village and province for the catalog, a
    phone column that is no phone (`hub:A:12`), so nothing at the city can text them. A
    seller without `province` (listing and story events, a hub before m029) keeps the
    province the city holds (DECISIONS 434)."""
    row = db.execute("SELECT id FROM contacts WHERE origin_hub = ? AND origin_id = ?",
                     [hub_id, seller["id"]]).fetchone()
    if row is not None:
        db.execute("UPDATE contacts SET name = ?, village = ?, province = CASE WHEN ? THEN ? "
                   "ELSE province END WHERE id = ?",
                   [seller["name"], seller["village"], "province" in seller, seller.get("province"),
                    row[0]])
        return row[0]
    return db.execute(
        "INSERT INTO contacts (phone, role, name, village, province, origin_hub, origin_id, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [f"hub:{hub_id}:{seller['id']}", REMOTE_SELLER, seller["name"], seller["village"],
         seller.get("province"), hub_id, seller["id"], to_db_time(now)]).lastrowid


def _product(db: sqlite_utils.Database, name: str, now: datetime) -> int:
    """The city's product of this canonical name (created, marked `hub`, if the city's
    catalogue lacks it)."""
    row = db.execute("SELECT product_id FROM product_names WHERE name = ?", [name]).fetchone()
    if row is not None:
        return row[0]
    product_id = db.execute("INSERT INTO products (name, source, created_at) VALUES (?, 'hub', ?)",
                            [name, to_db_time(now)]).lastrowid
    db.execute("INSERT INTO product_names (name, product_id, created_at) VALUES (?, ?, ?)",
               [name, product_id, to_db_time(now)])
    return product_id


def applied_counts(db: sqlite_utils.Database) -> dict[str, dict[str, int]]:
    """At the city, per hub: events applied and stale."""
    counts: dict[str, dict[str, int]] = {}
    for hub_id, outcome, count in db.execute(
            "SELECT hub_id, outcome, SUM(n) FROM (SELECT hub_id, outcome, COUNT(*) AS n FROM "
            "federation_applied GROUP BY 1, 2 UNION ALL SELECT hub_id, outcome, count FROM "
            "federation_applied_totals) GROUP BY 1, 2").fetchall():
        counts.setdefault(hub_id, {"applied": 0, "stale": 0})[outcome] = count
    return counts


def record_link(db: sqlite_utils.Database, peer: str, *, up: bool, now: datetime,
                lag: int | None = None) -> None:
    """What the relay saw of a link just now (`peer`: `city`, or a hub's letter)."""
    stamp = to_db_time(now)
    with transaction(db):
        db.execute(
            "INSERT INTO federation_links (peer, link_up, checked_at, last_up_at, lag) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(peer) DO UPDATE SET link_up = excluded.link_up, "
            "checked_at = excluded.checked_at, lag = excluded.lag, "
            "last_up_at = COALESCE(excluded.last_up_at, federation_links.last_up_at)",
            [peer, int(up), stamp, stamp if up else None, lag])


def links(db: sqlite_utils.Database) -> dict[str, dict]:
    """Every link the relay reported, by peer."""
    return {row["peer"]: row for row in fetch_all(db, "SELECT * FROM federation_links ORDER BY peer")}


def status(db: sqlite_utils.Database, now: datetime) -> dict:
    """What `jembatan hub status` shows: at a hub its outbox (written, published, waiting,
    the oldest waiting event's age) and its link to the city; at the city, per hub, the
    events applied and its link. A link down is normal for a hub, never a failure."""
    me = identity(db)
    role = me["role"] if me else "standalone"
    report: dict = {"role": role}
    if role == "hub":
        oldest = db.execute("SELECT MIN(created_at) FROM federation_events "
                            "WHERE published_at IS NULL").fetchone()[0]
        last_sent = fetch_one(db, "SELECT id, epoch, published_at FROM federation_events "
                                  "WHERE published_at IS NOT NULL ORDER BY id DESC LIMIT 1")
        report.update(
            hub_id=me["hub_id"], epoch=me["epoch"], **outbox_counts(db),
            last_published=(event_id(me["hub_id"], last_sent["epoch"], last_sent["id"])
                            if last_sent else None),
            last_published_at=last_sent["published_at"] if last_sent else None,
            lag_seconds=(int((now - from_db_time(oldest)).total_seconds()) if oldest else 0),
            link=links(db).get("city"),
            requests_taken=db.execute("SELECT COUNT(*) FROM federation_received").fetchone()[0])
    elif role == "city":
        applied = applied_counts(db)
        last = {hub_id: at for hub_id, at in db.execute(
            "SELECT hub_id, MAX(applied_at) FROM federation_applied GROUP BY 1")}
        seen = links(db)
        hubs = sorted(set(applied) | set(seen))
        report["hubs"] = {hub_id: {**applied.get(hub_id, {"applied": 0, "stale": 0}),
                                   "last_applied_at": last.get(hub_id), "link": seen.get(hub_id)}
                          for hub_id in hubs}
        report["requests"] = request_counts(db)  # orders and buyers' actions sent down
        # Orders past the time their hub had to take them by (DECISIONS 422), and buyers'
        # payments sent down, by the hub's answer (420).
        report["requests_overdue"] = db.execute(
            "SELECT COUNT(*) FROM orders WHERE status = 'requested' AND expires_at <= ?",
            [to_db_time(now)]).fetchone()[0]
        report["payments"] = dict(db.execute(
            "SELECT status, COUNT(*) FROM federation_payments GROUP BY 1").fetchall())
    return report


# --- orders flow down: the city's requests and the hub taking them -----------------------


def request_id(epoch: int, row_id: int) -> str:
    """`city-1-17`: a city request's id, `Nats-Msg-Id` and the hub's key for it."""
    return f"city-{epoch}-{row_id}"


def unpublished_requests(db: sqlite_utils.Database, limit: int) -> list[dict]:
    """The city's oldest requests JetStream has not acknowledged yet."""
    return fetch_all(db, "SELECT * FROM federation_requests WHERE published_at IS NULL "
                         "ORDER BY id LIMIT ?", [limit])


def request_message_of(row: dict) -> dict:
    """The published form of a city request row. A replay (DECISIONS 423) carries the id
    of the request it sends again, the hub's key for it; its `Nats-Msg-Id` is its own
    (`request_msg_id`), so JetStream's duplicate window does not drop it."""
    return {"id": row.get("replay_of") or request_id(row["epoch"], row["id"]), "hub": row["hub_id"],
            "kind": row["kind"], "at": row["created_at"], "data": json.loads(row["payload"])}


def request_msg_id(row: dict) -> str:
    """The `Nats-Msg-Id` a request row is published with: its own row's id."""
    return request_id(row["epoch"], row["id"])


def mark_requests_published(db: sqlite_utils.Database, row_ids: list[int], now: datetime) -> None:
    """JetStream acknowledged these requests."""
    _mark_published(db, "federation_requests", row_ids, now)


def request_counts(db: sqlite_utils.Database) -> dict:
    """Requests written, published and waiting at a city."""
    return _published_counts(db, "federation_requests", "requests")


def take_request(db: sqlite_utils.Database, message: dict, *, hub_id: str, now: datetime,
                 settings: dict) -> tuple[str, orders.OrderChange | None]:
    """At hub `hub_id`, in one transaction: take one city request. Returns the outcome
    (`duplicate`, `placed`, `declined`, `applied`, `refused`) and the hub order's change
    (for its seller's news, which the caller queues in this transaction).

    An order request reserves the stock and creates the hub order, whose clock starts
    now; one it cannot take (out of stock, withdrawn, unknown) writes a declined event.
    A buyer's cancel or receipt moves the hub order if its status allows, else is
    `refused` (the hub's own events have told the city what happened instead)."""
    if not isinstance(message, dict) or message.get("hub") != hub_id or not isinstance(
            message.get("data"), dict) or not str(message.get("id", "")).startswith("city-"):
        raise InvalidEvent(f"request for hub {message.get('hub') if isinstance(message, dict) else None!r}"
                           f" reached hub {hub_id}")
    kind, data = message["kind"], message["data"]
    with transaction(db):
        inserted = db.execute(
            "INSERT INTO federation_received (request_id, kind, outcome, received_at) "
            "VALUES (?, ?, 'placed', ?) ON CONFLICT(request_id) DO NOTHING RETURNING id",
            [message["id"], kind, to_db_time(now)]).fetchall()
        if not inserted:
            return "duplicate", None
        received = inserted[0][0]
        if kind == "order.request":
            outcome, change = _take_order(db, message["id"], received, data, now, settings)
        elif kind in ("order.cancel", "order.receive"):
            outcome, change = _take_action(db, message["id"], kind, data, now, settings)
        elif kind == "order.payment":
            outcome, change = _take_payment(db, message["id"], received, data, now)
        else:
            raise InvalidEvent(f"unknown request {kind!r}")
        db.execute("UPDATE federation_received SET outcome = ?, order_id = ? WHERE id = ?",
                   [outcome, change.order["id"] if change else None, received])
        return outcome, change


def _take_order(db, request: str, received: int, data: dict, now: datetime,
                settings: dict) -> tuple[str, orders.OrderChange | None]:
    if data.get("take_by") and to_db_time(now) > data["take_by"]:
        # The city's buyer was told the village had not answered; taking it now would be
        # an order the city no longer waits for (DECISIONS 422). Never taken, once.
        _answer_request(db, received, "order.expired", {
            "request": request, "city_order": data["city_order"], "status": "expired",
            "reason": "too_late"}, now)
        return "declined", None
    row = db.execute("SELECT code FROM listings WHERE id = ?", [data["listing_id"]]).fetchone()
    try:
        if row is None:
            raise orders.OrderRefused("listing_not_found", code=data.get("listing"))
        with transaction(db):  # a savepoint: a refusal leaves the received row
            change = orders.place_order(
                db, buyer=_remote_buyer(db, data["buyer"], now), listing_code=row[0],
                quantity=listings.from_milli(int(data["quantity_milli"])), unit=data["unit"],
                now=now, settings=settings, source=data.get("source") or "text",
                city_request=(request, int(data["city_order"])))
    except orders.OrderRefused as refusal:
        _answer_request(db, received, "order.declined", {
            "request": request, "city_order": data["city_order"], "status": "declined",
            "reason": refusal.reason}, now)
        return "declined", None
    return "placed", change


def _answer_request(db, received: int, kind: str, payload: dict, now: datetime,
                    entity: str = "request") -> None:
    """The hub's answer to a request that made no order change (a refusal, a payment):
    an event of its own, numbered by the received request's row."""
    db.execute(
        "INSERT INTO federation_events (epoch, entity, entity_id, entity_seq, kind, payload, "
        "created_at) VALUES ((SELECT epoch FROM federation_identity WHERE id = 1), ?, ?, 1, ?, ?, ?)",
        [entity, received, kind, json.dumps(payload), to_db_time(now)])


def _take_payment(db, request: str, received: int, data: dict,
                  now: datetime) -> tuple[str, orders.OrderChange | None]:
    """A city buyer's payment for a hub order, into the hub's ledger once (the request id
    here, the ledger's reference `city-<reference>` there), and the hub's answer."""
    row = db.execute("SELECT id FROM orders WHERE city_order_id = ? AND city_request IS NOT NULL",
                     [data["city_order"]]).fetchone()
    answer = {"request": request, "city_order": data["city_order"], "payment": data["payment"],
              "reference": data["reference"], "amount": data["amount"]}
    try:
        if row is None:
            raise payments.PaymentRefused("order_not_found", "no such order here")
        with transaction(db):  # a savepoint: a refusal leaves the received row
            recorded = payments.record_order_payment(
                db, orders.get_order(db, row[0]), amount=int(data["amount"]),
                reference=f"city-{data['reference']}", now=now,
                note=data.get("note") or "reported at the city")
    except payments.PaymentRefused as refusal:
        _answer_request(db, received, "payment.refused", {**answer, "status": "refused",
                                                           "reason": refusal.reason}, now, "payment")
        return "refused", None
    _answer_request(db, received, "payment.recorded", {**answer, "status": "recorded",
                                                        "amount_due": recorded.amount_due}, now, "payment")
    return "applied", None


def _take_action(db, request: str, kind: str, data: dict, now: datetime,
                 settings: dict) -> tuple[str, orders.OrderChange | None]:
    row = db.execute("SELECT id FROM orders WHERE city_order_id = ? AND city_request IS NOT NULL",
                     [data["city_order"]]).fetchone()
    if row is None:  # its order request was refused: nothing to act on
        return "refused", None
    event = "cancel" if kind == "order.cancel" else "receive"
    try:
        change = orders.apply_order_event(db, row[0], event, now, settings=settings, source="city")
    except orders.IllegalOrderTransition:
        return "refused", None
    return "applied", change


def _remote_buyer(db: sqlite_utils.Database, buyer: dict, now: datetime) -> dict:
    """The hub's buyer row for a city buyer: its contact's phone is no phone
    (`city:7`), so nothing at the hub texts them; their news goes up as events."""
    phone = f"city:{int(buyer['id'])}"
    stamp = to_db_time(now)
    contact = db.execute("SELECT id FROM contacts WHERE phone = ?", [phone]).fetchone()
    if contact is None:
        contact_id = db.execute(
            "INSERT INTO contacts (phone, role, name, created_at) VALUES (?, ?, ?, ?)",
            [phone, REMOTE_BUYER, buyer["name"], stamp]).lastrowid
    else:
        contact_id = contact[0]
    row = buyers.find_buyer_by_contact(db, contact_id)
    if row is None:
        db.execute("INSERT INTO buyers (contact_id, name, city, source, created_at, updated_at) "
                   "VALUES (?, ?, ?, 'city', ?, ?)",
                   [contact_id, buyer["name"], buyer["city"], stamp, stamp])
    else:
        db.execute("UPDATE buyers SET name = ?, city = ? WHERE id = ?",
                   [buyer["name"], buyer["city"], row["id"]])
    return buyers.find_buyer_by_contact(db, contact_id)


# --- Operations (DECISIONS 320-334): sellers, stories and photos; snapshots; pruning. ---

#: A photo travels as chunks of this many bytes, each its own message before its event
#: (JetStream's default message limit is 1 MiB; a published photo is a few hundred kB).
CHUNK_BYTES = 256 * 1024
#: Where the city keeps chunks of photos whose event has not arrived yet (in MEDIA_DIR).
INCOMING = "federation-incoming"
#: Deleted at most this many pruned events per transaction (the write lock stays short).
PRUNE_BATCH = 5000


class EventNotReady(RuntimeError):
    """An event the city cannot apply yet (a photo whose chunks, or a story whose listing,
    have not arrived): redelivered later, never recorded."""


def write_snapshot(db: sqlite_utils.Database, now: datetime) -> int:
    """At a hub whose current epoch has no snapshot yet (it just became a hub, or was
    restored and its epoch advanced): write every seller, active listing, story and photo
    as an event, then, after a restore, a `hub.snapshot` marker that tells the city to
    withdraw what this hub no longer has. Once per epoch; returns the events written."""
    me = identity(db)
    if me is None or me["role"] != "hub" or _snapshot_epoch(db) == me["epoch"]:
        return 0
    with transaction(db):
        me = identity(db)
        if _snapshot_epoch(db) == me["epoch"]:
            return 0
        before = db.execute("SELECT COALESCE(MAX(id), 0) FROM federation_events").fetchone()[0]
        for entity, table, where in (
                ("seller", "contacts", "role = 'seller'"),
                ("listing", "listings", "status = 'active'"),
                ("story", "stories", "listing_id IS NULL OR listing_id IN "
                                     "(SELECT id FROM listings WHERE status = 'active')"),
                ("photo", "media", "status = 'stored' AND (story_id IS NOT NULL OR listing_id IN "
                                   "(SELECT id FROM listings WHERE status = 'active'))")):
            db.execute(
                f"INSERT INTO federation_events (epoch, entity, entity_id, entity_seq, kind, payload, "
                f"created_at) SELECT ?, '{entity}', v.id, (SELECT COALESCE(MAX(entity_seq), 0) + 1 "
                f"FROM federation_events e WHERE e.entity = '{entity}' AND e.entity_id = v.id), "
                f"'{entity}.snapshot', v.payload, ? FROM federation_{entity}_payload v "
                f"WHERE v.id IN (SELECT id FROM {table} WHERE {where}) ORDER BY v.id",
                [me["epoch"], to_db_time(now)])
        if me["epoch"] > 1:  # at epoch 1 the city has nothing older to withdraw
            db.execute(
                "INSERT INTO federation_events (epoch, entity, entity_id, entity_seq, kind, payload, "
                "created_at) VALUES (?, 'hub', 0, (SELECT COALESCE(MAX(entity_seq), 0) + 1 FROM "
                "federation_events WHERE entity = 'hub'), 'hub.snapshot', ?, ?)",
                [me["epoch"], json.dumps({"epoch": me["epoch"]}), to_db_time(now)])
        db.execute("UPDATE federation_identity SET snapshot_epoch = epoch WHERE id = 1")
        return db.execute("SELECT COALESCE(MAX(id), 0) FROM federation_events").fetchone()[0] - before


def _snapshot_epoch(db: sqlite_utils.Database) -> int | None:
    return db.execute("SELECT snapshot_epoch FROM federation_identity WHERE id = 1").fetchone()[0]


def prune_events(db: sqlite_utils.Database, now: datetime, retention_days: int) -> int:
    """Delete events JetStream acknowledged more than `retention_days` ago, except each
    entity's newest (its `entity_seq` is where the next event's count goes on). The hub's
    stream keeps them a month more; the city needs only the newest. Returns how many."""
    cutoff = to_db_time(now - timedelta(days=retention_days))
    pruned = 0
    while True:
        with transaction(db, sync=False):
            deleted = db.execute(
                "DELETE FROM federation_events WHERE id IN (SELECT e.id FROM federation_events e "
                "WHERE e.published_at IS NOT NULL AND e.published_at < ? AND EXISTS (SELECT 1 FROM "
                "federation_events newer WHERE newer.entity = e.entity AND newer.entity_id = e.entity_id "
                "AND newer.entity_seq > e.entity_seq) LIMIT ?)", [cutoff, PRUNE_BATCH]).rowcount
        pruned += deleted
        if deleted < PRUNE_BATCH:
            return pruned


def prune_applied(db: sqlite_utils.Database, now: datetime, retention_days: int) -> int:
    """At the city: forget which events were applied more than `retention_days` ago
    (their counts kept in `federation_applied_totals`). Safe because each entity's
    version (epoch, sequence) is kept where it was applied (`listings`, `orders`,
    `federation_versions`, a payment's answered status): such an event redelivered later
    is recorded again and found `stale`, never applied twice (DECISIONS 424)."""
    cutoff = to_db_time(now - timedelta(days=retention_days))
    pruned = 0
    while True:
        with transaction(db, sync=False):  # one writer: both statements see the same batch
            batch = ("SELECT event_id FROM federation_applied WHERE applied_at < ? "
                     "ORDER BY applied_at, event_id LIMIT ?")
            db.execute(
                f"INSERT INTO federation_applied_totals (hub_id, outcome, count) SELECT hub_id, outcome, "
                f"COUNT(*) FROM federation_applied WHERE event_id IN ({batch}) GROUP BY 1, 2 "
                f"ON CONFLICT DO UPDATE SET count = count + excluded.count", [cutoff, PRUNE_BATCH])
            deleted = db.execute(f"DELETE FROM federation_applied WHERE event_id IN ({batch})",
                                 [cutoff, PRUNE_BATCH]).rowcount
        pruned += deleted
        if deleted < PRUNE_BATCH:
            return pruned


def photo_parts(media_root: Path, message: dict) -> list[bytes]:
    """At a hub, a photo event's bytes in chunks, its `data` given their count and
    SHA-256 (the file as stored, already without EXIF: DECISIONS 236). A file that is gone
    is sent as `missing`, with no chunks."""
    data = message["data"]
    try:
        content = (media_root / Path(data.get("file_name") or "").name).read_bytes()
    except OSError:
        data.update(missing=True, chunks=0)
        return []
    parts = [content[i:i + CHUNK_BYTES] for i in range(0, len(content), CHUNK_BYTES)] or [b""]
    data.update(chunks=len(parts), sha256=hashlib.sha256(content).hexdigest())
    return parts


def chunk_subject(hub_id: str, event: str, index: int) -> str:
    """`jembatan.hub.A.chunks.A-1-17.0`: chunk 0 of event A-1-17's photo."""
    return f"jembatan.hub.{hub_id}.chunks.{event}.{index}"


def chunk_of_subject(subject: str) -> tuple[str, int] | None:
    """(event id, chunk index) of a chunk subject, None for any other subject."""
    parts = subject.split(".")
    if len(parts) != 6 or parts[3] != "chunks" or not parts[5].isdigit():
        return None
    return parts[4], int(parts[5])


def store_chunk(db: sqlite_utils.Database, media_root: Path, subject: str, content: bytes) -> None:
    """At the city, keep a chunk until its photo event arrives (a chunk of an event
    already applied, redelivered, is dropped)."""
    event, index = chunk_of_subject(subject)
    if db.execute("SELECT 1 FROM federation_applied WHERE event_id = ?", [event]).fetchone():
        return
    folder = media_root / INCOMING
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(folder / f"{event}.{index}", content)


def _write_atomically(path: Path, content: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def _version_newer(db: sqlite_utils.Database, hub_id: str, entity: str, origin_id: int,
                   message: dict) -> tuple[bool, int | None]:
    """Whether the event is newer than what the city holds of the entity, and the local
    row that stands for it (None: none yet)."""
    row = fetch_one(db, "SELECT epoch, seq, local_id FROM federation_versions WHERE hub_id = ? "
                        "AND entity = ? AND origin_id = ?", [hub_id, entity, origin_id])
    if row is None:
        return True, None
    return (row["epoch"], row["seq"]) < (int(message["epoch"]), int(message["seq"])), row["local_id"]


def _record_version(db: sqlite_utils.Database, hub_id: str, entity: str, origin_id: int,
                    message: dict, local_id: int | None) -> None:
    db.execute("INSERT INTO federation_versions (hub_id, entity, origin_id, epoch, seq, local_id) "
               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET epoch = excluded.epoch, "
               "seq = excluded.seq, local_id = excluded.local_id",
               [hub_id, entity, origin_id, int(message["epoch"]), int(message["seq"]), local_id])


def _apply_seller(db: sqlite_utils.Database, hub_id: str, message: dict, now: datetime,
                  media_root: Path | None = None) -> bool:
    data = message["data"]
    newer, _ = _version_newer(db, hub_id, "seller", data["id"], message)
    if not newer:
        return False
    local = _remote_seller(db, hub_id, data, now)
    _record_version(db, hub_id, "seller", data["id"], message, local)
    return True


def _local_listing(db: sqlite_utils.Database, hub_id: str, origin_id: int | None) -> int | None:
    if origin_id is None:
        return None
    row = db.execute("SELECT id FROM listings WHERE origin_hub = ? AND origin_id = ?",
                     [hub_id, origin_id]).fetchone()
    if row is None:
        raise EventNotReady(f"hub {hub_id}'s listing {origin_id} is not here yet")
    return row[0]


def _apply_story(db: sqlite_utils.Database, hub_id: str, message: dict, now: datetime,
                 media_root: Path | None = None) -> bool:
    data = message["data"]
    newer, local = _version_newer(db, hub_id, "story", data["id"], message)
    if not newer:
        return False
    seller = _remote_seller(db, hub_id, data["seller"], now)
    listing = _local_listing(db, hub_id, data["listing_id"])
    values = [seller, listing, data["text"], data["status"], data["updated_at"]]
    if local is None:
        local = db.execute("INSERT INTO stories (seller_id, listing_id, text, status, updated_at, "
                           "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           [*values, data["updated_at"]]).lastrowid
    else:
        db.execute("UPDATE stories SET seller_id = ?, listing_id = ?, text = ?, status = ?, "
                   "updated_at = ? WHERE id = ?", [*values, local])
    _record_version(db, hub_id, "story", data["id"], message, local)
    return True


def _apply_photo(db: sqlite_utils.Database, hub_id: str, message: dict, now: datetime,
                 media_root: Path | None = None) -> bool:
    """A hub's photo, assembled from its chunks, cleaned again (whatever a hub sends, the
    city publishes no EXIF) and stored as the city's own media row of the listing or story."""
    data = message["data"]
    newer, local = _version_newer(db, hub_id, "photo", data["id"], message)
    if not newer:
        return False
    if media_root is None:
        raise InvalidEvent("a photo needs the city's media folder")
    listing = _local_listing(db, hub_id, data.get("listing_id"))
    story = None
    if data.get("story_id") is not None:
        known = fetch_one(db, "SELECT local_id FROM federation_versions WHERE hub_id = ? AND "
                              "entity = 'story' AND origin_id = ?", [hub_id, data["story_id"]])
        if known is None:
            raise EventNotReady(f"hub {hub_id}'s story {data['story_id']} is not here yet")
        story = known["local_id"]
    if data.get("missing"):
        if local is not None:
            db.execute("UPDATE media SET status = 'failed', error = 'gone at the hub' WHERE id = ?", [local])
        _record_version(db, hub_id, "photo", data["id"], message, local)
        return True
    chunks = [media_root / INCOMING / f"{message['id']}.{i}" for i in range(int(data["chunks"]))]
    if not all(path.exists() for path in chunks):
        raise EventNotReady(f"photo {message['id']}: chunks still on their way")
    content = b"".join(path.read_bytes() for path in chunks)
    if hashlib.sha256(content).hexdigest() != data.get("sha256"):
        raise InvalidEvent(f"photo {message['id']}: its bytes do not match its SHA-256")
    try:
        published = images.publishable(content)
    except images.NotAPicture as error:
        raise InvalidEvent(f"photo {message['id']}: {error.reason}") from error
    file_name = f"hub-{hub_id}-{data['id']}{_EXTENSIONS.get(published.content_type, '.jpg')}"
    media_root.mkdir(parents=True, exist_ok=True)
    _write_atomically(media_root / file_name, published.content)
    seller = db.execute("SELECT id FROM contacts WHERE origin_hub = ? AND origin_id = ?",
                        [hub_id, data["seller_id"]]).fetchone()
    seller_id = seller[0] if seller else _remote_seller(
        db, hub_id, {"id": data["seller_id"], "name": None, "village": None}, now)
    stamp = to_db_time(now)
    values = [listing, story, published.content_type, file_name, len(published.content), stamp]
    if local is None:
        local = db.execute(
            "INSERT INTO media (contact_id, inbound_id, media_index, provider_url, listing_id, story_id, "
            "content_type, file_name, size_bytes, stored_at, status, next_attempt_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'stored', ?, ?)",
            [seller_id, _hub_inbound(db, hub_id, now), data["id"], f"hub:{hub_id}:media:{data['id']}",
             *values, stamp, stamp]).lastrowid
    else:
        db.execute("UPDATE media SET listing_id = ?, story_id = ?, content_type = ?, file_name = ?, "
                   "size_bytes = ?, stored_at = ?, status = 'stored', error = NULL WHERE id = ?",
                   [*values, local])
    _record_version(db, hub_id, "photo", data["id"], message, local)
    return True  # its chunks are cleared after the commit (clear_applied_chunks)


def clear_applied_chunks(db: sqlite_utils.Database, media_root: Path) -> int:
    """Delete kept chunks whose photo event is applied: called after the commit, so a
    rollback never leaves an event without the chunks it needs. Returns how many."""
    folder = media_root / INCOMING
    if not folder.is_dir():
        return 0
    cleared = 0
    for path in folder.iterdir():
        event = path.name.split(".")[0]
        if db.execute("SELECT 1 FROM federation_applied WHERE event_id = ?", [event]).fetchone():
            path.unlink(missing_ok=True)
            cleared += 1
    return cleared


_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def _hub_inbound(db: sqlite_utils.Database, hub_id: str, now: datetime) -> int:
    """The one inbound row the city's media of hub photos hang on (a media row names the
    message that brought it; these came over the federation, `media_index` = the hub's id)."""
    row = db.execute("SELECT id FROM inbound WHERE channel = 'federation' AND provider_id = ?",
                     [f"photos-{hub_id}"]).fetchone()
    if row is not None:
        return row[0]
    stamp = to_db_time(now)
    return db.execute("INSERT INTO inbound (channel, provider_id, phone, body, received_at, status, "
                      "processed_at) VALUES ('federation', ?, ?, '', ?, 'processed', ?)",
                      [f"photos-{hub_id}", f"hub:{hub_id}", stamp, stamp]).lastrowid


def _apply_snapshot_marker(db: sqlite_utils.Database, hub_id: str, message: dict, now: datetime,
                           media_root: Path | None = None) -> bool:
    """A restored hub has republished all it holds under its new epoch: what the city
    still shows of it from older epochs, the hub no longer has (lost with the disk)."""
    newer, _ = _version_newer(db, hub_id, "hub", 0, message)
    if not newer:  # an old marker again (redelivered after its record was pruned)
        return False
    _record_version(db, hub_id, "hub", 0, message, None)
    epoch = int(message["data"]["epoch"])
    stamp = to_db_time(now)
    db.execute("UPDATE listings SET status = 'withdrawn', withdrawn_at = ?, updated_at = ? "
               "WHERE origin_hub = ? AND status = 'active' AND origin_epoch < ?",
               [stamp, stamp, hub_id, epoch])
    db.execute("UPDATE stories SET status = 'hidden', updated_at = ? WHERE id IN (SELECT local_id "
               "FROM federation_versions WHERE hub_id = ? AND entity = 'story' AND epoch < ?)",
               [stamp, hub_id, epoch])
    return True


#: How the city applies each entity's events: True applied, False stale.
#: Entities applied by `_apply_order` (they need the settings and give an order change).
_ORDER_ENTITIES = ("order", "request")
_APPLIERS = {"listing": _apply_listing, "seller": _apply_seller, "story": _apply_story,
             "photo": _apply_photo, "hub": _apply_snapshot_marker, "payment": _apply_payment}
