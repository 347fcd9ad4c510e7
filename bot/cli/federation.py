"""`jembatan relay`: the federation's NATS relay (hub and city roles, issue 18)."""

from __future__ import annotations

import signal

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.config import role_of
from bot.relay import RelayNotConfigured, run_relay


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
