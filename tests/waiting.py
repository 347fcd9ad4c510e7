"""Waiting for another process or thread, loudly.

A test that polls must say what it waits for: when the time runs out it fails with that
sentence (and the last value it saw), instead of carrying on and failing later on an
assertion that hides the cause. The timeout is a limit on a hang, never a measurement:
nothing here asserts how fast anything is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimedOut(AssertionError):
    """The condition was still false when the timeout ran out."""


def wait_until(condition: Callable[[], T], *, timeout: float, what: str, interval: float = 0.05,
               detail: Callable[[], str] | None = None) -> T:
    """Call `condition` until it returns something truthy and return that; fail naming `what`
    (and adding `detail()`, e.g. the tail of a process's log).

    `timeout` should be generous (tens of seconds on a shared 2-core machine): it only
    bounds how long a broken test hangs.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            extra = detail() if detail is not None else ""
            raise WaitTimedOut(f"gave up after {timeout:g} s waiting for {what} (last seen: {value!r})"
                               + (f"\n{extra}" if extra else ""))
        time.sleep(interval)


def join_all(threads, *, timeout: float, what: str) -> None:
    """Join every thread within `timeout` seconds in all; fail naming `what` if one is still
    running (a silent `join(timeout=...)` would let the test go on with half the results)."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    running = [thread.name for thread in threads if thread.is_alive()]
    if running:
        raise WaitTimedOut(f"gave up after {timeout:g} s waiting for {what} (still running: {running})")
