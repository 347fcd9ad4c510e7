"""The `jembatan` command: run the bot, talk to it, parse texts, operate the outbox.

A Flask CLI group around `create_app`, so every command sees the same configuration as
the web app. Each command's docstring is its `--help`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from bot.cli.common import phone_argument, supervise
from bot.cli.federation import add_federation, federation_demo_command
from bot.config import embedded_nats_url_file, embedded_redis_url_file, web_url_file
from bot.litestream import replicate_command
from bot.liveness import write_owned
from bot.migrations import apply_migrations
from bot.pipeline.inbound import accept_inbound_message
from bot.pipeline.media import clean_old_photos
from bot.pipeline.sweep import sweep
from bot.redis_server import RedisServer, free_port
from bot.storage import utcnow
from bot.supervisor import Child
from bot.web.app import create_app
from bot.web.db import get_db, get_redis
from bot.web.engine import Engine, EngineRunning
from bot.web.server import gunicorn_command
from conversations.parse import parse


def _create_cli_app():
    """The app as commands see it: no warnings about webhooks on every `jembatan chat`."""
    return create_app(quiet=True)


@click.group(cls=FlaskGroup, create_app=_create_cli_app, add_default_commands=True)
def main() -> None:
    """Jembatan: the SMS and WhatsApp bridge between village sellers and city buyers."""


@main.command("migrate")
@with_appcontext
def migrate_command() -> None:
    """Apply pending database migrations (the Procfile's release step)."""
    applied = apply_migrations(get_db())
    click.echo(f"applied: {', '.join(applied) if applied else 'nothing (up to date)'}")
    redrawn = clean_old_photos(get_db(), current_app.config)
    if redrawn:
        click.echo(f"photos redrawn without their EXIF/GPS data: {redrawn}")


@main.command("parse")
@click.argument("text")
def parse_command(text: str) -> None:
    """Print how TEXT is understood, as one JSON object; `-` reads one message per line."""
    lines = sys.stdin.read().splitlines() if text == "-" else [text]
    for line in lines:
        click.echo(json.dumps(parse(line), ensure_ascii=False))


@main.command("chat")
@click.option("--from", "sender", required=True, help="Sender phone, e.g. +6281234567890")
@click.argument("text")
@with_appcontext
def chat_command(sender: str, text: str) -> None:
    """Send TEXT as if SENDER texted the bot; print the reply and every message it caused.

    Takes exactly the path a webhook takes (store, dedupe, dialog, outbox, RQ), with the
    reply shown here instead of sent to a phone.
    """
    phone = phone_argument(sender)
    db = get_db()
    last_id = db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0]
    response, _ = accept_inbound_message(
        db, current_app.config, get_redis(), channel="simulator",
        provider_id=f"sim-{uuid.uuid4().hex}", phone=phone, body=text, raw={"simulator": True},
        now=utcnow(), reply_inline=True,
    )
    click.echo(f"> {text}")
    click.echo(f"< {response.reply if response else '(no reply yet: left for the sweep)'}")
    for row in list(db.query("SELECT * FROM outbox WHERE id > ? ORDER BY id", [last_id])):
        if response and row["id"] == response.reply_outbox_id:
            continue
        click.echo(f"  outbox #{row['id']} -> {row['phone']} via {row['channel']} "
                   f"[{row['status']}]: {row['body']}")


@main.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Run one outbox/inbox sweep now (what the worker does every 30 seconds)."""
    report = sweep(get_db(), current_app.config, get_redis())
    click.echo(json.dumps(report.__dict__))


@main.command("engine")
@with_appcontext
def engine_command() -> None:
    """Run the inbound engine (the Procfile's `engine`): it stores and answers the web
    workers' verified Twilio messages on one database connection, so their page caches are
    not emptied by each other's commits. Without it the workers do the same work
    themselves, slower at a large cooperative's size (DECISIONS 496). Stops on SIGTERM."""
    config = current_app.config
    if (config.get("INBOUND_ENGINE") or "on") != "on":
        raise click.ClickException("INBOUND_ENGINE=off: the web workers would not use the engine")
    engine = Engine(current_app._get_current_object())
    try:
        engine.listen()
    except EngineRunning as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"inbound engine: listening on {engine.path}")
    engine.serve_forever()
    click.echo(f"inbound engine: stopped after {engine.messages} messages in {engine.rounds} rounds")


@main.command("up")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the web server listens on")
@click.option("--port", default=5000, show_default=True, type=int, help="Port the web server listens on")
@click.option("--web-workers", default=2, show_default=True, type=int, help="gunicorn worker processes")
@click.option("--web-threads", default=4, show_default=True, type=int,
              help="threads per gunicorn worker (requests are read in full before a thread takes them)")
@click.option("--federation-demo", is_flag=True,
              help="a city and two hubs (A, B) on this machine, each with its own database, "
                   "Redis, embedded NATS and simulator, on PORT, PORT+1 and PORT+2")
@with_appcontext
def up_command(host: str, port: int, web_workers: int, web_threads: int, federation_demo: bool) -> None:
    """Run everything: Redis (embedded unless REDIS_URL is set), the inbound engine, web
    (gunicorn), RQ worker, and in the hub and city roles NATS (embedded unless
    JEMBATAN_NATS_URL is set) and the federation relay.

    A child that dies is restarted (backoff from 1 s doubling to 30 s; the message says
    which and why). Ctrl-C or SIGTERM stops all of it. With REDIS_URL unset, the embedded
    Redis's URL is written next to the database so `jembatan chat` and other commands find
    the same Redis (and the embedded NATS's likewise).
    """
    config = current_app.config
    if federation_demo:
        federation_demo_command(config, host, port, web_workers, web_threads)
        return
    env = dict(os.environ)
    children: list[Child] = []
    url_file = embedded_redis_url_file(config)
    embedded = not config.get("REDIS_URL")
    if embedded:
        data_dir = Path(config["DATABASE_PATH"]).parent / "redis"
        redis_server = RedisServer(data_dir, free_port())
        children.append(Child("redis", lambda: redis_server.start().process, stops_last=True))
        redis_url = redis_server.url
    else:
        redis_url = config["REDIS_URL"]
    env["REDIS_URL"] = redis_url
    env.setdefault("SIMULATOR", "on")  # `up` is the development command
    env["DATABASE_PATH"] = str(Path(config["DATABASE_PATH"]).resolve())
    relayed, nats_server = add_federation(config, env, children)
    if config.get("LITESTREAM_REPLICA_URL"):  # continuous backup (DECISIONS 285)
        env.setdefault("SQLITE_CHECKPOINTS", "external")
        backup = replicate_command(env["DATABASE_PATH"], config["LITESTREAM_REPLICA_URL"])
        children.append(Child("litestream", lambda: subprocess.Popen(backup, env=env,
                                                                     start_new_session=True),
                              stops_last=True))
    bin_dir = Path(sys.executable).parent
    web = gunicorn_command(str(bin_dir / "gunicorn"), f"{host}:{port}", web_workers, web_threads)
    worker = [str(bin_dir / "rq"), "worker", "--with-scheduler", "--url", redis_url,
              "--worker-class", "bot.worker.Worker", "--maintenance-interval", "30",
              "--worker-ttl", "60", "replies", "default", "broadcasts"]
    # Own process groups: a restart can end what a dead child left (see bot.supervisor).
    if (config.get("INBOUND_ENGINE") or "on") == "on":
        engine = [str(bin_dir / "jembatan"), "engine"]
        children.append(Child("engine", lambda: subprocess.Popen(engine, env=env, start_new_session=True)))
    children.append(Child("web", lambda: subprocess.Popen(web, env=env, start_new_session=True)))
    children.append(Child("worker", lambda: subprocess.Popen(worker, env=env, start_new_session=True)))
    if relayed:  # hub or city: the relay, started last and stopped first
        relay = [str(bin_dir / "jembatan"), "relay"]
        children.append(Child("relay", lambda: subprocess.Popen(relay, env=env, start_new_session=True)))

    local_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host

    def started() -> None:
        # Each with `up`'s identity: killed before it could remove them, they are ignored.
        write_owned(web_url_file(config), f"http://{local_host}:{port}")
        if embedded:
            write_owned(url_file, redis_url)
            click.echo(f"embedded Redis: {redis_url} (data in {data_dir})")
        if nats_server:
            write_owned(embedded_nats_url_file(config), nats_server.url)
            click.echo(f"embedded NATS: {nats_server.url} (JetStream domain {nats_server.domain}, "
                       f"data in {nats_server.store_dir})")
        _print_endpoints(config, host, port, env)

    try:
        supervise(children, started)
    finally:
        web_url_file(config).unlink(missing_ok=True)
        if embedded:
            url_file.unlink(missing_ok=True)
        if nats_server:
            embedded_nats_url_file(config).unlink(missing_ok=True)


def _print_endpoints(config, host: str, port: int, env: dict) -> None:
    base = config.get("PUBLIC_BASE_URL") or f"http://{host}:{port}"
    click.echo(f"Jembatan is up on http://{host}:{port}")
    click.echo(f"  Twilio messages webhook:  {base}/twilio/messages"
               + ("" if config.get("TWILIO_AUTH_TOKEN") else "  (off: set TWILIO_AUTH_TOKEN)"))
    click.echo(f"  Twilio status callback:   {base}/twilio/status"
               + ("" if config.get("TWILIO_AUTH_TOKEN") else "  (off: set TWILIO_AUTH_TOKEN)"))
    click.echo(f"  Android gateway webhook:  {base}/gateway/android"
               + ("" if config.get("ANDROID_GATEWAY_SIGNING_KEY")
                  else "  (off: set ANDROID_GATEWAY_SIGNING_KEY)"))
    click.echo(f"  Health:                   http://{host}:{port}/healthz  "
               f"(delivery: /healthz/delivery)")
    if env["SIMULATOR"].lower() in ("on", "1", "true", "yes"):
        click.echo(f"  Simulator (browser):      http://{host}:{port}/simulator")
    click.echo(f"  Coordinator's desk:       http://{host}:{port}/dashboard  (first admin: "
               "jembatan desk grant +62… --role admin; jembatan desk link +62…)")
    click.echo('  Try it:  .venv/bin/jembatan chat --from +6281234567890 "DAFTAR Siti, Sukamaju"')


# Command groups that live in their own modules.
from bot.cli.broadcasts import register as _register_broadcasts  # noqa: E402
from bot.cli.catalog import register as _register_catalog  # noqa: E402
from bot.cli.desk import register as _register_desk  # noqa: E402
from bot.cli.federation import register as _register_federation  # noqa: E402
from bot.cli.hub import register as _register_hub  # noqa: E402
from bot.cli.money import register as _register_money  # noqa: E402
from bot.cli.orders import register as _register_orders  # noqa: E402

_register_broadcasts(main)
_register_catalog(main)
_register_desk(main)
_register_federation(main)
_register_hub(main)
_register_money(main)
_register_orders(main)
