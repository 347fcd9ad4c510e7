"""`GET /healthz`: is the database reachable, is Redis, and how full is the outbox."""

from __future__ import annotations

from flask import Blueprint, jsonify

from bot.web.db import get_db, get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 while the database answers (Redis down only delays delivery), else 503."""
    report: dict = {}
    try:
        db = get_db()
        # Only the statuses shown: counting every sent row would read the whole outbox.
        counts = dict(db.execute("SELECT status, COUNT(*) FROM outbox WHERE status IN "
                                 "('pending', 'sending', 'failed') GROUP BY status").fetchall())
        report["database"] = "ok"
        report["outbox"] = {k: counts.get(k, 0) for k in ("pending", "sending", "failed")}
        report["inbound_unprocessed"] = db.execute(
            "SELECT COUNT(*) FROM inbound WHERE status = 'new'"
        ).fetchone()[0]
    except Exception as exc:  # the point of a health check is to report, not to crash
        report["database"] = f"error: {type(exc).__name__}"
    connection = get_redis()
    if connection is None:
        report["redis"] = "not configured"
    else:
        try:
            connection.ping()
            report["redis"] = "ok"
        except Exception as exc:
            report["redis"] = f"error: {type(exc).__name__}"
    report["status"] = "ok" if report["database"] == "ok" and report["redis"] == "ok" else "degraded"
    return jsonify(report), 200 if report["database"] == "ok" else 503
