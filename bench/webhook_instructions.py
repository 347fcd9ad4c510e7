"""Instructions per message for callgrind: `bench/webhook_cpu.py`'s loop, N messages.

Runs the code under ROOT (a checkout: this one, or another version unpacked with `git
archive`) in-process: 300 signed `POST /twilio/messages` to warm up, then N more (the N
requests are built in both runs). Under callgrind, (instructions at 600 - at 0) / 600 is
the cost of one message:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/webhook_instructions.py ROOT 600       # and ... ROOT 0
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT, COUNT = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, ROOT)
os.chdir(ROOT)

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.webhook import TOKEN  # noqa: E402
from bench.webhook_cpu import cpu_per_call, environ  # noqa: E402
from bot.redis_server import RedisServer, free_port  # noqa: E402


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="jembatan-instructions-"))
    redis_server = RedisServer(workdir / "redis", free_port(), persistent=False).start()
    os.environ.update(DATABASE_PATH=str(workdir / "bench.db"), REDIS_URL=redis_server.url,
                      TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32)
    from bot.web.app import create_app

    app = create_app()
    validator = RequestValidator(TOKEN)
    try:
        cpu_per_call(app, [environ(validator, n, "w") for n in range(300)])
        measured = [environ(validator, n, "m") for n in range(600)]
        if COUNT:
            cpu_per_call(app, measured[:COUNT])
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
