"""`jembatan relay`, and what `jembatan up` starts in the hub and city roles: the embedded
nats-server, the relay, and `--federation-demo` (issue 18)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.cli.common import supervise
from bot.config import leaf_users, role_of
from bot.nats_server import CITY_DOMAIN, NatsServer, hub_domain
from bot.redis_server import free_port
from bot.relay import RelayNotConfigured, run_relay
from bot.supervisor import STOP_TIMEOUT, Child


@click.command("relay")
@with_appcontext
def relay_command() -> None:
    """Relay catalog events over NATS JetStream: a hub publishes its event outbox to its
    stream, a city applies every hub's events into its catalog (the Procfile's `relay`).

    Streams and the city's consumer are created at start-up if missing. A standalone
    deployment has nothing to relay: the command says so and waits for SIGTERM, so a
    Procfile runner does not take its end for a crash.
    """
    config = dict(current_app.config)
    role = role_of(config)
    echo = lambda text: click.echo(text, err=True)  # noqa: E731
    if role == "standalone":
        echo("relay: JEMBATAN_ROLE=standalone, nothing to relay (waiting for SIGTERM)")
        signals = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        signal.sigwait(signals)
        return
    try:
        run_relay(config, echo)
    except RelayNotConfigured as error:
        raise click.ClickException(str(error)) from error


def register(main: click.Group) -> None:
    """Attach `relay` to the `jembatan` command."""
    main.add_command(relay_command)


def add_federation(config: dict, env: dict, children: list[Child]) -> tuple[bool, NatsServer | None]:
    """For `jembatan up` in the hub and city roles: the embedded nats-server (unless
    JEMBATAN_NATS_URL is set) as a supervised child, its URL put in `env` for the relay.
    Returns (whether a relay runs, the embedded server or None)."""
    role = role_of(config)
    if role == "standalone":
        return False, None
    if config.get("JEMBATAN_NATS_URL"):
        return True, None
    store = Path(config["DATABASE_PATH"]).parent / "nats"
    if role == "city":
        server = NatsServer(store, free_port(), CITY_DOMAIN, leaf_port=int(config["JEMBATAN_LEAF_PORT"]),
                            users={hub_domain(hub): password
                                   for hub, password in leaf_users(config).items()})
    else:
        server = NatsServer(store, free_port(), hub_domain(config["JEMBATAN_HUB_ID"]),
                            leaf_remote=config.get("JEMBATAN_LEAF_URL"))
    children.append(Child("nats", lambda: server.start().process, stops_last=True))
    env["JEMBATAN_NATS_URL"] = server.url
    return True, server


#: The demo's sites: (name, role settings) for a city and hubs A and B.
DEMO_SITES = (("city", {"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A,B"}),
              ("hub-a", {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "A"}),
              ("hub-b", {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "B"}))


def federation_demo_command(config: dict, host: str, port: int, web_workers: int, web_threads: int) -> None:
    """`jembatan up --federation-demo`: three `jembatan up`, one per site, under
    `<database folder>/federation-demo/<site>/`, the hubs leaf nodes of the city with a
    password each (made up here), every site with its own Redis, NATS and simulator."""
    root = Path(config["DATABASE_PATH"]).resolve().parent / "federation-demo"
    leaf_port = free_port()
    passwords = {hub: secrets.token_hex(8) for hub in ("A", "B")}
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("JEMBATAN_", "REDIS_URL", "DATABASE_PATH"))}
    base["SIMULATOR"] = "on"
    bin_dir = Path(sys.executable).parent
    children = []
    for offset, (name, settings) in enumerate(DEMO_SITES):
        env = base | settings | {"DATABASE_PATH": str(root / name / "jembatan.db")}
        if name == "city":
            env |= {"JEMBATAN_LEAF_PORT": str(leaf_port),
                    "JEMBATAN_LEAF_USERS": ",".join(f"{h}={p}" for h, p in passwords.items())}
        else:
            hub = settings["JEMBATAN_HUB_ID"]
            env["JEMBATAN_LEAF_URL"] = (f"nats-leaf://{hub_domain(hub)}:{passwords[hub]}@127.0.0.1:"
                                        f"{leaf_port}")
        command = [str(bin_dir / "jembatan"), "up", "--host", host, "--port", str(port + offset),
                   "--web-workers", str(web_workers), "--web-threads", str(web_threads)]
        children.append(Child(name, lambda command=command, env=env: subprocess.Popen(
            command, env=env, cwd=root.parent, start_new_session=True)))

    def started() -> None:
        click.echo(f"federation demo in {root}:")
        for offset, (name, _) in enumerate(DEMO_SITES):
            click.echo(f"  {name:6} http://{host}:{port + offset}/simulator   "
                       f"status: DATABASE_PATH={root / name / 'jembatan.db'} "
                       f"JEMBATAN_ROLE={'city' if name == 'city' else 'hub'} jembatan hub status")

    # Each site's `jembatan up` takes up to STOP_TIMEOUT to stop its own processes (its
    # Redis and NATS last, in their own sessions): killing it sooner would orphan those.
    supervise(children, started, stop_timeout=2 * STOP_TIMEOUT + 5)
