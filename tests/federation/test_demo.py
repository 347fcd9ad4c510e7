"""`jembatan up --federation-demo` (issue 18): a city and hubs A and B on one machine, each
with its own database, Redis, embedded nats-server (the hubs leaf nodes of the city, with
a password each) and relay. A seller texts hub A (`jembatan chat`, the webhook's path);
the city's public catalog shows the listing under hub A's letter; `jembatan hub status`
reports every site."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests

from bot.redis_server import free_port
from tests.waiting import wait_until

BIN = Path(sys.executable).parent
WAIT = 120  # three sites of six processes each on two shared cores
STATUS_POLL = 0.5  # seconds between `jembatan hub status` runs: each is a process, and the
# sites' own processes need the cores more than a poll every 0.05 s does


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_the_federation_demo_runs_a_city_and_two_hubs(tmp_path):
    port = free_port()
    while not all(_free(port + offset) for offset in range(3)):
        port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JEMBATAN_", "REDIS_URL", "DATABASE_PATH"))}
    env["DATABASE_PATH"] = str(tmp_path / "var" / "jembatan.db")
    log = tmp_path / "demo.log"
    with log.open("ab") as out:
        demo = subprocess.Popen([str(BIN / "jembatan"), "up", "--federation-demo", "--port", str(port),
                                 "--web-workers", "1", "--web-threads", "2"], env=env, cwd=tmp_path,
                                stdout=out, stderr=out, start_new_session=True)
    root = tmp_path / "var" / "federation-demo"
    sites = {"city": {"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A,B"},
             "hub-a": {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "A"},
             "hub-b": {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "B"}}

    def site_env(name: str) -> dict:
        return env | sites[name] | {"DATABASE_PATH": str(root / name / "jembatan.db")}

    def jembatan(name: str, *args: str) -> str:
        return subprocess.run([str(BIN / "jembatan"), *args], env=site_env(name), cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout

    def status(name: str) -> dict:
        return json.loads(jembatan(name, "hub", "status"))

    try:
        for offset in range(3):
            wait_until(lambda offset=offset: _answers(f"http://127.0.0.1:{port + offset}/healthz"),
                       timeout=WAIT, what=f"site {offset} to answer /healthz", detail=log.read_text)
        wait_until(lambda: (root / "hub-a" / "redis.url").exists(), timeout=WAIT,
                   what="hub A's embedded Redis", detail=log.read_text)
        jembatan("hub-a", "chat", "--from", "+6281234567890", "DAFTAR Siti, Sukamaju")
        assert "Kode: C2" in jembatan("hub-a", "chat", "--from", "+6281234567890", "JUAL cabai 50kg 12rb")

        def city_codes():
            answer = requests.get(f"http://127.0.0.1:{port}/api/v1/listings", timeout=5).json()
            return [item["code"] for item in answer["listings"]]

        wait_until(lambda: city_codes() == ["AC2"], timeout=WAIT, what="AC2 in the city's catalog API",
                   detail=log.read_text)
        for hub in ("hub-a", "hub-b"):
            wait_until(lambda hub=hub: (status(hub).get("link") or {}).get("link_up"), timeout=WAIT,
                       what=f"{hub}'s status to see its link to the city up", detail=log.read_text,
                       interval=STATUS_POLL)
        assert {k: status("hub-a")[k] for k in ("role", "hub_id", "events", "waiting")} == {
            "role": "hub", "hub_id": "A", "events": 2, "waiting": 0}  # Siti, then C2
        wait_until(lambda: all((status("city")["hubs"].get(h, {}).get("link") or {}).get("link_up")
                               for h in "AB"), timeout=WAIT, what="the city to see both hubs' links up",
                   detail=log.read_text, interval=STATUS_POLL)
        assert status("city")["hubs"]["A"]["applied"] == 2
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            raise
    # Every site's Redis and NATS stopped with it (each runs in its own session, so a site
    # killed before it stopped them would leave them running).
    assert _processes_under(tmp_path) == []


def _processes_under(folder: Path) -> list[str]:
    """Running processes whose command line or working folder (Redis changes to its data
    folder and renames itself) is under `folder`."""
    found, inside = [], f"{folder}/"
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            text = " ".join(w.decode(errors="replace") for w in (proc / "cmdline").read_bytes().split(b"\0"))
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue  # ended meanwhile, or not ours to read
        if inside in text or f"{cwd}/".startswith(inside):
            found.append(text)
    return found


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
