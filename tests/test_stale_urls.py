"""A `jembatan up` killed before it could remove `var/web.url` (and `redis.url`) leaves
files naming servers nobody runs: the readers notice and fall back as if the files were
absent (DECISIONS 493)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.config import local_base_url, resolve_redis_url
from bot.liveness import read_owned, write_owned
from bot.redis_server import free_port
from tests.test_delivery_faults import children_of
from tests.test_resilience import kill_process_tree
from tests.waiting import wait_until

BIN = Path(sys.executable).parent


def _cli(env: dict, cwd: Path, *args: str) -> str:
    done = subprocess.run([str(BIN / "jembatan"), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_sigkilled_up_leaves_no_address_the_cli_believes(tmp_path):
    port = free_port()
    database = tmp_path / "var" / "jembatan.db"
    env = {key: value for key, value in os.environ.items()
           if key not in ("REDIS_URL", "PUBLIC_BASE_URL")}
    env.update(DATABASE_PATH=str(database), SIMULATOR="off", TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    log = tmp_path / "up.log"
    up = subprocess.Popen([str(BIN / "jembatan"), "up", "--port", str(port), "--web-workers", "1"],
                          env=env, cwd=tmp_path, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    web_url, redis_file = database.parent / "web.url", database.parent / "redis.url"
    children: list[int] = []
    try:
        wait_until(lambda: read_owned(web_url) and read_owned(redis_file), timeout=120,
                   what="jembatan up to write where it listens", detail=log.read_text)
        config = {"DATABASE_PATH": str(database)}
        assert local_base_url(config) == f"http://127.0.0.1:{port}"
        _cli(env, tmp_path, "desk", "grant", "+6281211110009", "--role", "admin")
        assert _cli(env, tmp_path, "desk", "link", "+6281211110009").startswith(
            f"http://127.0.0.1:{port}/dashboard/masuk/tautan/")
        children = list(children_of(up.pid))
        os.kill(up.pid, signal.SIGKILL)
        up.wait(timeout=60)
    finally:
        if up.poll() is None:
            kill_process_tree(up.pid)
            up.wait(timeout=60)
        for child in children:  # their own sessions: the SIGKILL left them running
            kill_process_tree(child)
    assert web_url.exists() and redis_file.exists()  # nobody removed them...
    assert local_base_url(config) == "http://127.0.0.1:5000"  # ...and nobody believes them
    assert resolve_redis_url(config) is None
    assert _cli(env, tmp_path, "desk", "link", "+6281211110009").startswith(
        "http://127.0.0.1:5000/dashboard/masuk/tautan/")
    assert local_base_url(dict(config, PUBLIC_BASE_URL="https://hub.example/")) == "https://hub.example"


def test_a_file_without_its_writer_is_believed(tmp_path):
    """Written by hand, or where /proc cannot tell: as before, the file is the answer."""
    url_file = tmp_path / "web.url"
    url_file.write_text("http://127.0.0.1:5450")
    assert read_owned(url_file) == "http://127.0.0.1:5450"
    write_owned(url_file, "http://127.0.0.1:5451")  # this process: alive
    assert read_owned(url_file) == "http://127.0.0.1:5451"
    url_file.write_text("")
    assert read_owned(url_file) is None
    assert read_owned(tmp_path / "absent.url") is None
