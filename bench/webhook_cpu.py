"""CPU per webhook in-process: the real app's WSGI callable against bare Flask, same process.

The figure a loaded machine inflates least (DECISIONS 352): thread CPU time around calls of
the WSGI callable gunicorn calls, with a real SQLite file (group commit, as the web opens
it) and a real Redis, each request a new signed `POST /twilio/messages` of
`bench/webhook.py`'s texts and senders. `--statements` lists the SQL one message runs
(known senders), `--wal-pages` which B-trees its commit writes to the WAL.

    .venv/bin/python bench/webhook_cpu.py --requests 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import re
import sqlite3
import struct
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.webhook import TEXTS, TOKEN  # noqa: E402
from bot.redis_server import RedisServer, free_port  # noqa: E402

URL = "http://localhost/twilio/messages"


def environ(validator: RequestValidator, n: int, prefix: str) -> dict:
    """The WSGI environ of one signed message, as gunicorn would pass it."""
    params = {"MessageSid": f"SM{prefix}{n:029d}", "AccountSid": "AC" + "0" * 32,
              "From": f"+62812{(n % 5000):07d}", "To": "+14155550100", "Body": TEXTS[n % len(TEXTS)],
              "NumMedia": "0"}
    body = urlencode(params).encode()
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/twilio/messages", "SCRIPT_NAME": "",
            "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "80", "HTTP_HOST": "localhost",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_TWILIO_SIGNATURE": validator.compute_signature(URL, params),
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0)}


def start_response(status, headers, exc_info=None):
    if not status.startswith("200"):
        raise RuntimeError(status)


def cpu_per_call(wsgi, environs: list[dict]) -> float:
    """Microseconds of this thread's CPU per call."""
    began = time.thread_time()
    for env in environs:
        b"".join(wsgi(env, start_response))
    return (time.thread_time() - began) / len(environs) * 1e6


def wal_pages(path: str) -> tuple[int, collections.Counter]:
    """Commits in the WAL file of `path`, and its frames by the B-tree of their page."""
    data = Path(path + "-wal").read_bytes()
    page_size = struct.unpack(">I", data[8:12])[0]
    frames, offset = [], 32
    while offset + 24 + page_size <= len(data):
        frames.append(struct.unpack(">II", data[offset:offset + 8]))
        offset += 24 + page_size
    names = dict(sqlite3.connect(path).execute("SELECT pageno, name FROM dbstat"))
    return sum(1 for _, commit in frames if commit), collections.Counter(
        names.get(page, "?") for page, _ in frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per round and app")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--statements", action="store_true", help="list the SQL per message")
    parser.add_argument("--wal-pages", action="store_true", help="the WAL pages per commit")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jembatan-cpu-"))
    redis_server = RedisServer(workdir / "redis", free_port(), persistent=False).start()
    os.environ.update(DATABASE_PATH=str(workdir / "bench.db"), REDIS_URL=redis_server.url,
                      TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32)
    from bench.bare_app import app as bare
    from bot.web.app import create_app
    from bot.web.db import thread_db

    app = create_app()
    validator = RequestValidator(TOKEN)
    try:
        # Warm up (imports, catalogs, first pages), and make every sender known.
        cpu_per_call(app, [environ(validator, n, "w") for n in range(max(args.requests, 300))])
        cpu_per_call(bare, [environ(validator, n, "w") for n in range(300)])
        db = thread_db(app)
        if args.statements:
            statements: list[str] = []
            db.conn.set_trace_callback(statements.append)
            cpu_per_call(app, [environ(validator, n, "s") for n in range(args.requests)])
            db.conn.set_trace_callback(None)
            shapes = collections.Counter(re.sub(r"'[^']*'|\b\d+\b", "?", " ".join(sql.split()))[:120]
                                         for sql in statements)
            print(f"{len(statements) / args.requests:.2f} statements per message")
            for sql, count in shapes.most_common():
                print(f"  {count / args.requests:5.2f}  {sql}")
            return
        if args.wal_pages:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cpu_per_call(app, [environ(validator, n, "p") for n in range(args.requests)])
            commits, trees = wal_pages(os.environ["DATABASE_PATH"])
            print(f"{sum(trees.values()) / commits:.1f} WAL pages per commit ({commits} commits)")
            for name, count in trees.most_common():
                print(f"  {count / commits:5.2f}  {name}")
            return
        print(f"{args.rounds} x {args.requests} signed POST /twilio/messages per app, in-process, "
              f"thread CPU time; load average {os.getloadavg()[0]:.1f}")
        for n in range(args.rounds):
            full = cpu_per_call(app, [environ(validator, i, f"f{n}") for i in range(args.requests)])
            plain = cpu_per_call(bare, [environ(validator, i, f"b{n}") for i in range(args.requests)])
            print(f"round {n + 1}: full {full:4.0f} µs, bare Flask {plain:3.0f} µs per request "
                  f"(load {os.getloadavg()[0]:.1f})")
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
