"""The Flask application factory.

`create_app(test_config=None)` builds the app from the environment (or from the dict a
test hands in), applies migrations, and registers only the webhooks whose secrets are
configured: an endpoint that cannot verify signatures is not served at all.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from bot.config import check_config, load_config, load_dotenv_if_present
from bot.migrations import apply_migrations
from bot.services import federation
from bot.storage import open_database, utcnow
from bot.web import (
    api,
    dashboard,
    gateway,
    guards,
    health,
    orders,
    payouts,
    simulator,
    storefront,
    twilio,
    verify,
)
from bot.web.db import make_writes_durable


def create_app(test_config: dict | None = None, *, quiet: bool = False) -> Flask:
    """Build the Flask app. `test_config` replaces settings from the environment.

    `quiet`: no warnings about webhooks left unserved (the CLI: `jembatan chat` is not a
    server, and `jembatan up` says the same in its banner)."""
    if test_config is None:
        load_dotenv_if_present()
    app = Flask("bot")
    config = load_config()
    if test_config is not None:
        config.update(test_config)
    check_config(config)
    app.config.update(config)
    # Flask refuses (400) a Host header not on this list, before any view runs.
    app.config["TRUSTED_HOSTS"] = guards.parse_host_list(config.get("TRUSTED_HOSTS"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db = open_database(app.config["DATABASE_PATH"])
    try:
        apply_migrations(db)
        # The role the outbox triggers read (a standalone database that never was a hub
        # or a city is not written to).
        federation.sync_identity(db, config, utcnow())
    finally:
        db.conn.close()

    guards.install(app)
    app.after_request(make_writes_durable)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(orders.bp)
    app.register_blueprint(verify.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(storefront.bp)
    if app.config.get("TWILIO_AUTH_TOKEN"):
        app.register_blueprint(twilio.bp)
    elif not quiet:
        app.logger.warning("TWILIO_AUTH_TOKEN unset: /twilio/* webhooks are not served")
    if app.config.get("ANDROID_GATEWAY_SIGNING_KEY"):
        app.register_blueprint(gateway.bp)
    elif not quiet:
        app.logger.warning("ANDROID_GATEWAY_SIGNING_KEY unset: /gateway/android is not served")
    if app.config.get("XENDIT_CALLBACK_TOKEN"):
        app.register_blueprint(payouts.bp)
    if str(app.config.get("SIMULATOR")).lower() in ("on", "1", "true", "yes"):
        # Lets anyone act as any number: development only, never on by default.
        app.register_blueprint(simulator.bp)
    app.extensions["jembatan.db_local"] = threading.local()
    if app.config.get("TWILIO_AUTH_TOKEN"):
        app.wsgi_app = twilio.InboundFastPath(app)
    return app
