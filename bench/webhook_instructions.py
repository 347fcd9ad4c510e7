"""Instructions per webhook message in-process, for callgrind (repeatable on a loaded
machine, unlike a clock): `bench/webhook_cpu.py`'s loop (the WSGI callable gunicorn calls,
a real SQLite file with group commit, a real Redis), 300 signed `POST /twilio/messages` as
a warm-up, then COUNT more (`environ(n, "m")` for n < COUNT: the first 300 from the
warm-up's senders, the rest from new ones)::

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/webhook_instructions.py . 0
    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/webhook_instructions.py . 600

(instructions of the second minus the first) / 600 is the figure. ROOT (first argument) is
the tree whose code is measured, so an older commit unpacked with `git archive` can be
measured beside this one (its `bench/webhook_cpu.py` builds the requests).
"""

import gc
import os
import sys
import tempfile
from pathlib import Path

root = sys.argv[1]
sys.path.insert(0, os.path.abspath(root))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.webhook import TOKEN  # noqa: E402
from bench.webhook_cpu import environ, start_response  # noqa: E402
from bot.redis_server import RedisServer, free_port  # noqa: E402

workdir = Path(tempfile.mkdtemp(prefix="jembatan-instr-"))
redis_server = RedisServer(workdir / "redis", free_port(), persistent=False).start()
os.environ.update(DATABASE_PATH=str(workdir / "bench.db"), REDIS_URL=redis_server.url,
                  TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32)
try:
    from bot.web.app import create_app

    app = create_app()
    validator = RequestValidator(TOKEN)
    for env in [environ(validator, n, "w") for n in range(300)]:
        b"".join(app(env, start_response))
    environs = [environ(validator, n, "m") for n in range(int(sys.argv[2]))]
    gc.collect()
    for env in environs:
        b"".join(app(env, start_response))
finally:
    redis_server.stop()
