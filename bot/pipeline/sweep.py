"""The periodic sweep: recover from crashes and outages, and hand due work to RQ.

Redis is only a nudge; SQLite is the truth. Whatever a dead worker, a lost job or a
Redis outage left behind is found here from the database alone and handed over again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
import sqlite_utils

from bot.channels import SendError, find_sent_message
from bot.liveness import is_dead
from bot.pipeline.demand import fold_search_counts, send_demand_signals
from bot.pipeline.dispatch import dispatch, enqueue_deliveries
from bot.pipeline.hub import watch_hub
from bot.pipeline.media import clean_old_photos
from bot.pipeline.order_timers import run_order_timers
from bot.pipeline.payouts import release_held_payouts
from bot.pipeline.reports import send_weekly_reports
from bot.services import (
    broadcasts,
    delivery_status,
    demand,
    federation,
    inbox,
    media,
    outbox,
    payouts,
    timing,
    webhooks,
)
from bot.services.handover import Handover
from bot.storage import maintain, sync_wal, transaction, utcnow
from conversations.engine import respond_to_inbound

log = logging.getLogger(__name__)

INBOUND_GRACE = timing.INBOUND_GRACE


def _recover_expired_leases(db: sqlite_utils.Database, config: dict, now: datetime) -> list[int]:
    """Rows whose worker died mid-delivery (the process that claimed them is gone, or their
    lease ran out): if the provider has the message after all (it answered, the worker
    died before recording it), record it as sent; otherwise put the row back to be sent
    again. Returns the ids put back."""
    released = []
    for row in outbox.expired_leases(db, now, is_dead=is_dead):
        try:
            found = find_sent_message(config, row, outbox.sent_provider_ids(db, row))
        except SendError as exc:
            # The provider cannot say now; sending again could duplicate. Ask next sweep.
            log.warning("outbox %s: cannot check the provider (%s); asking again later", row["id"], exc)
            continue
        if found is None:
            released.append(row["id"])
            continue
        with transaction(db):
            outbox.record_sent(db, row["id"], found.provider_id, found.provider_status, now,
                               found.details)
        log.info("outbox %s: the provider had it already (%s)", row["id"], found.provider_id)
    with transaction(db):
        outbox.release_leases(db, released)
    return released


@dataclass(frozen=True)
class SweepReport:
    """What one sweep found and did."""

    released: int
    reprocessed: int
    enqueued: int
    redis_ok: bool
    orders_reminded: int = 0
    orders_expired: int = 0
    relays_enqueued: int = 0
    media_enqueued: int = 0
    payouts_enqueued: int = 0


def sweep(
    db: sqlite_utils.Database, config: dict, redis_connection, now: datetime | None = None
) -> SweepReport:
    """Recover from crashes and outages.

    1. Rows claimed by a worker that died are put back to pending (their lease expired).
    2. Inbound messages nobody processed get processed now (their replies then go out
       through the outbox, since the webhook that could have answered inline is gone).
    3. Pending orders get their reminder or expire (`bot.pipeline.order_timers`).
    4. Every due, pending row not recently enqueued is enqueued (this is also how
       broadcast rows held back by quiet hours go out in the morning); so is every due
       webhook relay that is first in line for its order, every photo download and
       payout submission that Redis lost (or never got).
    5. Broadcasts whose planning never finished are planned again.
    6. Withdrawals held back by PAYOUT_ADVANCE_LIMIT go ahead as payments allow; weekly
       seller summaries that are due are queued (`bot.pipeline.reports`); sellers hear
       that buyers are looking for what they sold (`bot.pipeline.demand`).
    7. Housekeeping (`bot.storage.maintain`): a WAL checkpoint, planner statistics; at a
       hub, acknowledged federation events past `JEMBATAN_EVENTS_RETENTION_DAYS` go.
    """

    now = now or utcnow()
    run_id = _redis_run_id(redis_connection)
    _, previous = delivery_status.last_heartbeat(db, delivery_status.SWEEP)
    # A Redis that restarted since the last sweep may have lost every job it held: hand
    # over all due rows now instead of waiting out the enqueue grace of each.
    redis_restarted = bool(run_id and previous.get("redis_run_id") not in (None, run_id))
    released = _recover_expired_leases(db, config, now)
    relays_released = webhooks.release_expired_leases(db, now)
    reprocessed = 0
    for inbound_id in inbox.unprocessed_inbound_ids(db, now - INBOUND_GRACE):
        try:
            if respond_to_inbound(db, inbound_id, config, now) is not None:
                reprocessed += 1
        except Exception:  # counted on the row; it will be tried again next sweep
            log.exception("sweep could not process inbound %s", inbound_id)
    timers = run_order_timers(db, config, now)
    # Payments came in, or payouts came back: held withdrawals may go ahead (their news
    # is among the due outbox rows just below).
    went_ahead = release_held_payouts(db, config, now)
    try:
        send_weekly_reports(db, config, now)  # queued rows due now are among the due rows below
    except Exception:  # a summary must never stop the sweep
        log.exception("sending weekly reports failed")
    try:
        clean_old_photos(db, config)  # once: photos stored before they were cleaned (a stat after)
    except Exception:  # a photo that cannot be redrawn must never stop the sweep
        log.exception("cleaning old photos failed")
    try:
        watch_hub(db, config, now)  # its alerts are due now: handed over just below
    except Exception:  # the hub phone's troubles must never stop the sweep
        log.exception("watching the hub phone failed")
    try:
        fold_search_counts(redis_connection, db, now)  # what pages and the API counted
        demand.prune(db, now)
        told = send_demand_signals(db, config, now)  # handed over with the others below
    except Exception:  # demand texts are a nicety: never a reason to stop the sweep
        log.exception("demand signals failed")
        told = Handover()
    try:  # a hub's acknowledged catalog events, past their retention (DECISIONS 322), and
        # at a city the record of events applied as long ago (DECISIONS 424)
        retention = int(config.get("JEMBATAN_EVENTS_RETENTION_DAYS") or 7)
        federation.prune_events(db, now, retention)
        federation.prune_applied(db, now, retention)
    except Exception:  # housekeeping must never stop the sweep
        log.exception("pruning federation events failed")
    due = outbox.due_unqueued(db, now, grace=timedelta(0) if redis_restarted else outbox.ENQUEUE_GRACE)
    if redis_restarted and due:
        log.warning("sweep: Redis restarted since the last sweep; handing %d due rows over again", len(due))
    others = Handover(
        outbox_ids=sorted(set(told.outbox_ids) - {row["id"] for row in due}),
        relay_ids=sorted(set(timers.handover.relay_ids) | set(webhooks.due_deliveries(db, now))),
        media_ids=media.due_downloads(db, now),
        payout_ids=sorted(set(payouts.due_submissions(db, now)) | set(went_ahead.payout_ids)),
        broadcast_ids=broadcasts.unplanned_broadcasts(db, now - INBOUND_GRACE),
    )
    if due or others:
        # A row found here may be a web request's commit whose fsync is still running: a
        # reply sent before it is on disk could be sent again after a power cut, when the
        # provider retries the message the cut took back (DECISIONS 361).
        sync_wal(db)
    redis_ok = enqueue_deliveries(redis_connection, db, due, now)
    others_ok = dispatch(redis_connection, db, others, now)
    maintain(db, config, now)  # WAL checkpoint and planner statistics, off the request path
    report = SweepReport(
        len(released) + relays_released, reprocessed, len(due) if redis_ok else 0, redis_ok and others_ok,
        timers.reminded, timers.expired, len(others.relay_ids) if others_ok else 0,
        len(others.media_ids) if others_ok else 0, len(others.payout_ids) if others_ok else 0)
    detail = dict(report.__dict__, redis_run_id=run_id or previous.get("redis_run_id"),
                  count=previous.get("count", 0) + 1)
    delivery_status.record_heartbeat(db, delivery_status.SWEEP, utcnow(), detail)
    return report


def _redis_run_id(connection) -> str | None:
    """The Redis server's run id (it changes when the server restarts), or None."""
    if connection is None:
        return None
    try:
        return connection.info("server").get("run_id")
    except redis.exceptions.RedisError:
        return None
