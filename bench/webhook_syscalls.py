"""System calls per request under gunicorn: two sync workers of ROOT's app, `strace -c -f`.

Starts the webhook as `bench/webhook.py` does (a temporary SQLite file, a real Redis),
makes all 5,000 senders known, then traces both workers for N signed requests and prints
the reads, writes, syncs and locks per request:

    .venv/bin/python bench/webhook_syscalls.py ROOT 2000
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT, COUNT = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, ROOT)
os.chdir(ROOT)

import bench.webhook as webhook  # noqa: E402
from bot.redis_server import RedisServer, free_port  # noqa: E402

CALLS = ("pread64", "pwrite64", "fdatasync", "fcntl", "flock", "openat", "close")


def main() -> None:
    webhook.ROOT = Path(ROOT)
    workdir = Path(tempfile.mkdtemp(prefix="jembatan-syscalls-"))
    redis_server = RedisServer(workdir / "redis", free_port(), persistent=False).start()
    env = dict(os.environ, DATABASE_PATH=str(workdir / "bench.db"), REDIS_URL=redis_server.url,
               TWILIO_AUTH_TOKEN=webhook.TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32, PYTHONPATH=ROOT)
    port = free_port()
    master = webhook.start_gunicorn("bot:create_app()", port, 2, env)
    try:
        webhook.drive(port, 5000, 4, "w")
        workers = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        out = workdir / "strace.txt"
        tracer = subprocess.Popen(["strace", "-c", "-f", "-o", str(out)]
                                  + [arg for pid in workers for arg in ("-p", pid)])
        time.sleep(1.5)  # attached
        webhook.drive(port, COUNT, 4, "s")
        tracer.send_signal(signal.SIGINT)
        tracer.wait()
        for line in out.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[-1] in CALLS:
                print(f"{parts[-1]:10s} {int(parts[3]) / COUNT:6.2f} per request")
        print(f"load average {os.getloadavg()[0]:.1f}")
    finally:
        master.terminate()
        master.wait()
        redis_server.stop()


if __name__ == "__main__":
    main()
