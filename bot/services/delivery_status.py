"""Is delivery moving? The sweep's heartbeat and the outbox backlog, read from SQLite alone.

The sweep records itself in `heartbeats` each time it runs to the end; the status is
"stalled" when it has not done so for `DELIVERY_MAX_SWEEP_AGE_SECONDS` (the worker, its
scheduler or Redis is gone), or when a conversation message has been due for longer than
`DELIVERY_MAX_BACKLOG_AGE_SECONDS`, or when broadcast rows are due and none went out in
that time (a big broadcast is paced for hours on purpose; only no progress is a stall).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import sqlite_utils

from bot.services import hub, incidents
from bot.storage import fetch_all, fetch_one, from_db_time, to_db_time, transaction

SWEEP = "sweep"


def record_heartbeat(db: sqlite_utils.Database, name: str, now: datetime, detail: dict) -> None:
    """Remember that `name` ran to the end at `now`, with what it found."""
    with transaction(db):
        db.execute(
            "INSERT INTO heartbeats (name, at, detail) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET at = excluded.at, detail = excluded.detail",
            [name, to_db_time(now), json.dumps(detail, default=str)],
        )


def last_heartbeat(db: sqlite_utils.Database, name: str) -> tuple[datetime | None, dict]:
    """When `name` last ran to the end (None: never) and what it recorded."""
    row = fetch_one(db, "SELECT at, detail FROM heartbeats WHERE name = ?", [name])
    if row is None:
        return None, {}
    return from_db_time(row["at"]), json.loads(row["detail"] or "{}")


@dataclass
class DeliveryStatus:
    """What `/healthz/delivery` answers: `stalled` with its reasons, and the numbers."""

    stalled: bool
    reasons: list[str]
    last_sweep_at: datetime | None
    sweep_age_seconds: float | None
    backlog: dict[str, dict] = field(default_factory=dict)
    sending: int = 0
    hub: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "status": "stalled" if self.stalled else "ok",
            "reasons": self.reasons,
            "last_sweep_at": to_db_time(self.last_sweep_at),
            "last_sweep_age_seconds": self.sweep_age_seconds,
            "backlog": self.backlog,
            "sending": self.sending,
            "hub": self.hub,
        }


def delivery_status(db: sqlite_utils.Database, now: datetime, *, max_sweep_age: float,
                    max_backlog_age: float) -> DeliveryStatus:
    """Judge delivery from the sweep's heartbeat and the due outbox rows (see the module)."""
    reasons = []
    last_sweep, _ = last_heartbeat(db, SWEEP)
    sweep_age = None if last_sweep is None else round((now - last_sweep).total_seconds(), 1)
    if sweep_age is None:
        reasons.append("no sweep has run yet")
    elif sweep_age > max_sweep_age:
        reasons.append(f"no sweep for {sweep_age:.0f} s (limit {max_sweep_age:.0f} s)")
    backlog: dict[str, dict] = {}
    for row in fetch_all(
        db,
        "SELECT channel, lane, COUNT(*) AS due, MIN(next_attempt_at) AS oldest FROM outbox "
        "WHERE status <> 'sent' AND status = 'pending' AND next_attempt_at <= ? GROUP BY channel, lane",
        [to_db_time(now)],
    ):
        age = round((now - from_db_time(row["oldest"])).total_seconds(), 1)
        entry = backlog.setdefault(row["channel"], {})
        entry[row["lane"]] = {"due": row["due"], "oldest_due_at": row["oldest"], "oldest_age_seconds": age}
        if age <= max_backlog_age:
            continue
        if row["lane"] != "broadcast":
            reasons.append(f"{row['channel']}: a message has waited {age:.0f} s "
                           f"(limit {max_backlog_age:.0f} s)")
        elif not _broadcast_progress(db, row["channel"], now, max_backlog_age):
            reasons.append(f"{row['channel']}: broadcast rows are due and none went out "
                           f"for {max_backlog_age:.0f} s")
    sending, stuck_since = db.execute(
        "SELECT COUNT(*), MIN(CASE WHEN lease_until < ? THEN lease_until END) FROM outbox "
        "WHERE status <> 'sent' AND status = 'sending'", [to_db_time(now)]).fetchone()
    if stuck_since is not None:
        stuck_age = (now - from_db_time(stuck_since)).total_seconds()
        if stuck_age > max_backlog_age:
            # The sweep cannot settle a dead worker's claim (the provider lookup keeps failing).
            reasons.append(f"a claimed message is {stuck_age:.0f} s past its lease")
    hub_phone = hub_summary(db, now)
    if "hub_silent" in hub_phone["incidents"]:
        reasons.append(f"the hub phone has been silent since {hub_phone['last_seen_at']}")
    return DeliveryStatus(bool(reasons), reasons, last_sweep, sweep_age, backlog, sending,
                          hub_phone)


def hub_summary(db: sqlite_utils.Database, now: datetime) -> dict:
    """The hub phone as last heard (issue 12): when, battery, connection, failed count,
    and the incidents coordinators were told about that are still open."""
    seen = hub.last_seen(db)
    return {
        "last_seen_at": to_db_time(seen),
        "silent_seconds": round((now - seen).total_seconds(), 1) if seen else None,
        "devices": [{key: device[key] for key in ("device_id", "status", "battery_level", "charging",
                                                  "connection", "failed_count", "last_seen_at")}
                    for device in hub.devices(db)],
        "incidents": sorted({i["kind"] for i in incidents.open_incidents(db) if i["kind"] != "loop"}),
    }


def _broadcast_progress(db: sqlite_utils.Database, channel: str, now: datetime, window: float) -> bool:
    """Whether a broadcast row on `channel` went out within the last `window` seconds."""
    latest = fetch_one(
        db,
        "SELECT sent_at FROM outbox WHERE lane = 'broadcast' AND channel = ? AND status = 'sent' "
        "ORDER BY id DESC LIMIT 1",
        [channel],
    )
    sent_at = from_db_time(latest["sent_at"]) if latest else None
    return sent_at is not None and (now - sent_at).total_seconds() <= window
