"""Tests that need a port nobody answers on hold one (DECISIONS 494): `free_port()` is only
free when asked, and under pytest-xdist another worker may bind it before the test
connects, so the test would talk to that worker's server instead of nothing."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def test_a_closed_port_refuses_and_nobody_else_can_take_it(closed_port):
    with socket.socket() as client, pytest.raises(ConnectionRefusedError):
        client.connect(("127.0.0.1", closed_port))
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with pytest.raises(OSError):  # EADDRINUSE: another worker's server goes elsewhere
            other.bind(("127.0.0.1", closed_port))


def test_no_test_points_at_a_port_that_is_only_free_for_now():
    """A URL built around `free_port()` is a dead endpoint that another worker may bring to
    life; servers that bind the port themselves (`RedisServer(..., free_port())`) are fine."""
    pattern = re.compile(r"://127\.0\.0\.1:\{free_port\(\)\}")
    found = [f"{path.relative_to(TESTS)}:{number}"
             for path in sorted(TESTS.rglob("*.py")) if path.name != Path(__file__).name
             for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []
