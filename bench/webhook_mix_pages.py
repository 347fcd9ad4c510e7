"""WAL pages per commit and statements per message for the realistic mix on a population.

`bench/webhook_cpu.py --wal-pages` / `--statements`, but on a copy of a population that
`bench/scale.py` built and cached, with registered sellers sending STOK, SALDO, JUAL,
CARI and STATUS in equal parts (its MIX), in-process, the code under ROOT:

    .venv/bin/python bench/webhook_mix_pages.py ROOT var/scale-cache/population-1-v1.db wal
    .venv/bin/python bench/webhook_mix_pages.py ROOT var/scale-cache/population-1-v1.db statements
"""

from __future__ import annotations

import io
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

ROOT, POPULATION, MODE = sys.argv[1], Path(sys.argv[2]).resolve(), sys.argv[3]
sys.path.insert(0, ROOT)
os.chdir(ROOT)

from twilio.request_validator import RequestValidator  # noqa: E402

from bench import scale  # noqa: E402
from bench.webhook import TOKEN  # noqa: E402
from bench.webhook_cpu import URL, start_response, wal_pages  # noqa: E402
from bot.redis_server import RedisServer, free_port  # noqa: E402

MESSAGES = 500


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="jembatan-mix-", dir=POPULATION.parent))
    shutil.copyfile(POPULATION, workdir / "bench.db")  # never the cached file itself
    redis_server = RedisServer(workdir / "redis", free_port(), persistent=False).start()
    os.environ.update(DATABASE_PATH=str(workdir / "bench.db"), REDIS_URL=redis_server.url,
                      TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32)
    from bot.web.app import create_app
    from bot.web.db import thread_db

    app, validator, rng = create_app(), RequestValidator(TOKEN), random.Random(5)
    sellers = scale.SELLERS  # the 100% population's; a smaller one would need its own count

    def post(n: int, prefix: str) -> None:
        phone, text = scale.seller_phone(rng.randrange(sellers)), scale.MIX[n % len(scale.MIX)]
        params = {"MessageSid": f"SM{prefix}{n:029d}", "AccountSid": "AC" + "0" * 32, "From": phone,
                  "To": "+14155550100", "Body": text, "NumMedia": "0"}
        body = urlencode(params).encode()
        b"".join(app({
            "REQUEST_METHOD": "POST", "PATH_INFO": "/twilio/messages", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "localhost", "SERVER_PORT": "80", "HTTP_HOST": "localhost",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_TWILIO_SIGNATURE": validator.compute_signature(URL, params),
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0)}, start_response))

    try:
        for n in range(300):
            post(n, "w")
        db = thread_db(app)
        if MODE == "statements":
            statements: list[str] = []
            db.conn.set_trace_callback(statements.append)
            for n in range(MESSAGES):
                post(n, "s")
            db.conn.set_trace_callback(None)
            print(f"{len(statements) / MESSAGES:.2f} statements per message")
            return
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for n in range(MESSAGES):
            post(n, "p")
        commits, trees = wal_pages(os.environ["DATABASE_PATH"])
        print(f"{sum(trees.values()) / commits:.1f} WAL pages per commit ({commits} commits)")
        for name, count in trees.most_common(12):
            print(f"  {count / commits:5.2f}  {name}")
    finally:
        redis_server.stop()
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
