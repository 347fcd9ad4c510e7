"""`GET /healthz` (liveness: can the web store inbound?) and `GET /healthz/delivery`
(is delivery moving?), kept apart so that a stalled worker never takes inbound offline."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from bot.config import role_of
from bot.services import federation
from bot.services.delivery_status import delivery_status
from bot.storage import utcnow
from bot.web.db import get_db, get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 while the database answers (Redis down only delays delivery), else 503."""
    report: dict = {}
    try:
        db = get_db()
        # Only the statuses shown, in the partial index of unsent rows (m030: its condition
        # said): counting every sent row would read the whole outbox.
        counts = dict(db.execute("SELECT status, COUNT(*) FROM outbox WHERE status <> 'sent' AND "
                                 "status IN ('pending', 'sending', 'failed') GROUP BY status").fetchall())
        report["database"] = "ok"
        report["outbox"] = {k: counts.get(k, 0) for k in ("pending", "sending", "failed")}
        report["inbound_unprocessed"] = db.execute(
            "SELECT COUNT(*) FROM inbound WHERE status = 'new'"
        ).fetchone()[0]
    except Exception as exc:  # the point of a health check is to report, not to crash
        report["database"] = f"error: {type(exc).__name__}"
    report["redis"] = _redis_state()
    report["status"] = "ok" if report["database"] == "ok" and report["redis"] == "ok" else "degraded"
    return jsonify(report), 200 if report["database"] == "ok" else 503


@bp.get("/healthz/delivery")
def healthz_delivery():
    """200 while delivery moves, 503 when it is stalled: no sweep for
    `DELIVERY_MAX_SWEEP_AGE_SECONDS`, or a due message older than
    `DELIVERY_MAX_BACKLOG_AGE_SECONDS`. Shows the last sweep and the backlog by channel."""
    config = current_app.config
    try:
        status = delivery_status(
            get_db(), utcnow(), max_sweep_age=config["DELIVERY_MAX_SWEEP_AGE_SECONDS"],
            max_backlog_age=config["DELIVERY_MAX_BACKLOG_AGE_SECONDS"])
    except Exception as exc:  # a monitor must get an answer, not a traceback
        return jsonify({"status": "stalled", "reasons": [f"database: {type(exc).__name__}"]}), 503
    report = status.as_dict()
    report["redis"] = _redis_state()
    report["limits"] = {"max_sweep_age_seconds": config["DELIVERY_MAX_SWEEP_AGE_SECONDS"],
                        "max_backlog_age_seconds": config["DELIVERY_MAX_BACKLOG_AGE_SECONDS"]}
    if role_of(config) != "standalone":
        # `jembatan hub status`, for monitors: a link down is normal, never a stall.
        report["federation"] = federation.status(get_db(), utcnow())
    return jsonify(report), 503 if status.stalled else 200


def _redis_state() -> str:
    connection = get_redis()
    if connection is None:
        return "not configured"
    try:
        connection.ping()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
