"""Keep child processes running: restart one that dies, with backoff, and say so.

`jembatan up` runs the embedded Redis, gunicorn and the RQ worker through this. Each child
gets its own process group, so a restart also ends what the dead one left behind (rq's
scheduler process, gunicorn's workers still holding the port); an RQ work horse has its
own group and is left to finish its job (its claim names it, so nothing is sent twice).
Under systemd the same role is played by `Restart=always` (docs/HUB.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Seconds `stop_all` gives its children before killing what is left.
STOP_TIMEOUT = 10.0


@dataclass
class Child:
    """One supervised process: `start()` launches it and returns its Popen."""

    name: str
    start: Callable[[], subprocess.Popen]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    #: Others depend on it (Redis, NATS) or it must see their last writes (Litestream):
    #: stopped only once the rest have exited, so a worker's warm shutdown can still
    #: reach Redis and Litestream ships the final commits.
    stops_last: bool = False


def describe_exit(code: int) -> str:
    """`exit code 1` or `killed by SIGKILL`."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Start children, restart any that exits (backoff doubling from `backoff_min` to
    `backoff_max`, reset after `stable_after` seconds of uptime), stop them all at the end."""

    def __init__(self, children: list[Child], echo: Callable[[str], None], *,
                 backoff_min: float = 1.0, backoff_max: float = 30.0, stable_after: float = 60.0):
        self.children = children
        self.echo = echo
        self.backoff_min, self.backoff_max, self.stable_after = backoff_min, backoff_max, stable_after

    def start_all(self) -> None:
        for child in self.children:
            self._start(child)

    def _start(self, child: Child) -> None:
        child.process = child.start()
        child.started_at = time.monotonic()
        child.restart_at = None

    def poll(self) -> None:
        """Notice children that died and restart those whose backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    try:
                        self._start(child)
                    except Exception as exc:  # e.g. Redis did not come up: try again later
                        self._schedule_restart(child, f"could not start: {exc}")
                        continue
                    self.echo(f"jembatan up: {child.name} restarted (pid {child.process.pid})")
                continue
            code = child.process.poll() if child.process is not None else None
            if code is None:
                continue
            self._end_group(child.process)
            if now - child.started_at >= self.stable_after:
                child.failures = 0
            self._schedule_restart(child, describe_exit(code))

    def _schedule_restart(self, child: Child, why: str) -> None:
        child.failures += 1
        delay = min(self.backoff_min * 2 ** (child.failures - 1), self.backoff_max)
        child.restart_at = time.monotonic() + delay
        self.echo(f"jembatan up: {child.name} stopped ({why}); restarting in {delay:g} s")

    @staticmethod
    def _end_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Signal what is left in the process group of `process` (it leads its own)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM every child (in reverse start order) and wait, SIGKILL what is left of
        it and its process group; children marked `stops_last` only after that."""
        deadline = time.monotonic() + timeout
        for last in (False, True):
            wave = [c for c in reversed(self.children) if c.stops_last is last and c.process is not None]
            running = [c.process for c in wave if c.process.poll() is None]
            for process in running:
                process.terminate()
            for process in running:
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for child in wave:
                self._end_group(child.process)
