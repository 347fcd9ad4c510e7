"""The app's resources, reached through one function each (Flask's `flaskr` pattern):
the SQLite connection of this thread and the Redis client, opened on first use."""

from __future__ import annotations

from flask import current_app

from bot.config import resolve_redis_url
from bot.pipeline.dispatch import connect_redis, dispatch
from bot.services.handover import Handover
from bot.storage import open_database, request_autocheckpoint, sync_if_written, utcnow


def get_db():
    """This thread's database connection for the current app (`thread_db`)."""
    return thread_db(current_app)


def thread_db(app):
    """This thread's database connection for the app, opened once and then reused.

    Opening a SQLite connection costs PRAGMAs, and closing the last one checkpoints the
    WAL; on the webhook path both cost more than the work itself, so each worker thread
    keeps one connection for its lifetime. Its WAL checkpoints are left to the sweep
    (or Litestream): `bot.storage.request_autocheckpoint`.
    """
    local = app.extensions["jembatan.db_local"]
    db = getattr(local, "db", None)
    if db is None:
        db = local.db = open_database(app.config["DATABASE_PATH"],
                                      autocheckpoint=request_autocheckpoint(app.config),
                                      group_commit=True)
    return db


def make_writes_durable(response):
    """After every request, before its answer goes out: what this thread's connection wrote
    outside `transaction()` is synced too (group commit, DECISIONS 264)."""
    db = getattr(current_app.extensions["jembatan.db_local"], "db", None)
    if db is not None:
        sync_if_written(db)
    return response


def get_redis():
    """The current app's Redis client (`app_redis`)."""
    return app_redis(current_app)


def app_redis(app):
    """The app's Redis client, or None when no Redis is configured or embedded."""
    if "jembatan.redis" not in app.extensions:
        url = resolve_redis_url(app.config)
        app.extensions["jembatan.redis"] = connect_redis(url) if url else None
    return app.extensions["jembatan.redis"]


def hand_over(handover: Handover | None) -> bool:
    """After a commit: give the work it left (messages, relays, payouts, broadcasts) to the
    workers, and keep a sweep scheduled. False when Redis is down: the rows wait in
    SQLite and the sweep hands them over later."""
    return dispatch(get_redis(), get_db(), handover, utcnow(), keep_sweep=True)
