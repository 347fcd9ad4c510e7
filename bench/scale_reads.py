"""What each command of the 100% mix reads: system calls under gunicorn, instructions in-process.

Figures that a loaded machine does not move (issue 13, DECISIONS 480):

- `--syscalls N`: the mix's app under gunicorn (2 sync workers, as the Procfile) while N
  signed webhooks of one command are sent (concurrency 4, random registered sellers), for
  each command of the mix and then the mix itself; prints the workers' read and write
  system calls per request (`/proc/<pid>/io`: every page SQLite reads is one `pread64`)
  and the server CPU. With two workers every commit of one empties the other's page
  cache, so each transaction reads its B-trees' pages again. (`strace -c` on the workers
  counted the same calls but slowed the traced worker, moving the interleaving.)
- `--calls N --command TEXT`: N calls of one command in-process (after a warm-up), through
  `accept_inbound_message` on the web's kind of connection; run it under
  `valgrind --tool=callgrind --collect-atstart=no`: only the N calls are counted
  (a helper compiled against valgrind's headers switches collection on and off).
  `--alternate` spreads the calls over two connections taking turns, as two workers do.
- `--pages`: the B-trees of the population and their depth and size (dbstat).

    .venv/bin/python bench/scale_reads.py --db var/bench/base.db --syscalls 600
    valgrind --tool=callgrind --collect-atstart=no \\
        .venv/bin/python bench/scale_reads.py --db ... --calls 200 --command STOK --alternate

`--db` is a population already migrated (bench/scale.py's cache copied and migrated once);
it is copied before use, so runs do not drift. `--mmap BYTES` sets `PRAGMA mmap_size` on the
in-process connections, to compare (DECISIONS 480: not kept).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import MIX, drive, mix_messages, seller_phone, sizes  # noqa: E402
from bench.webhook import TOKEN, cpu_seconds, start_gunicorn  # noqa: E402
from bot.redis_server import RedisServer, free_port  # noqa: E402


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's children."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(entry.name))
    return found


def process_io(pid: int) -> dict[str, int]:
    """A process's I/O counters (`syscr`: read system calls, `pread64` included; socket
    reads are not counted)."""
    return {name: int(value) for name, value in
            (line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())}


def bench_syscalls(db_path: Path, requests: int, rng: random.Random) -> None:
    workdir = db_path.parent
    redis_server = RedisServer(workdir / "redis", free_port(), persistent=False).start()
    env = dict(os.environ, DATABASE_PATH=str(db_path), REDIS_URL=redis_server.url,
               TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32, PYTHONPATH=str(ROOT))
    port = free_port()
    sellers = sizes(1.0)["sellers"]
    process = start_gunicorn("bot:create_app()", port, 2, env)
    try:
        drive(port, mix_messages(rng, sellers, 400), 4, "w")
        pids = worker_pids(process.pid)
        print(f"{requests} signed webhooks per command, 2 gunicorn workers ({len(pids)} found), "
              "concurrency 4; the workers' read and write system calls per request (from "
              f"/proc/<pid>/io) and the server CPU per request (load {os.getloadavg()[0]:.1f})")
        for n, command in enumerate([*MIX, "mix"]):
            messages = (mix_messages(rng, sellers, requests) if command == "mix" else
                        [(seller_phone(rng.randrange(sellers)), command) for _ in range(requests)])
            before, cpu = [process_io(pid) for pid in pids], cpu_seconds(process)
            drive(port, messages, 4, f"c{n}")
            cpu = (cpu_seconds(process) - cpu) / requests * 1000
            after = [process_io(pid) for pid in pids]
            if sorted(worker_pids(process.pid)) != sorted(pids):
                raise RuntimeError("a gunicorn worker was replaced during the run")
            reads, writes = (sum(a[key] - b[key] for a, b in zip(after, before, strict=True)) / requests
                             for key in ("syscr", "syscw"))
            print(f"  {command:<22} reads {reads:5.1f}   writes {writes:5.1f}   server CPU {cpu:.2f} ms")
    finally:
        process.terminate()
        process.wait()
        redis_server.stop()


_TOGGLE_C = """#include <valgrind/callgrind.h>
void toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


def callgrind_toggle(workdir: Path):
    """A function that switches callgrind's collection on or off (run callgrind with
    `--collect-atstart=no`): so only the measured calls are counted. A no-op when the
    valgrind headers or a C compiler are missing."""
    import ctypes

    source, library = workdir / "toggle.c", workdir / "toggle.so"
    source.write_text(_TOGGLE_C)
    built = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)],
                           capture_output=True)
    return ctypes.CDLL(str(library)).toggle if built.returncode == 0 else (lambda: None)


def run_calls(db_path: Path, command: str, calls: int, alternate: bool, rng: random.Random,
              mmap: int | None = None) -> None:
    from bot.config import load_config
    from bot.pipeline.inbound import accept_inbound_message
    from bot.storage import open_database, request_autocheckpoint, utcnow

    config = load_config(dict(DATABASE_PATH=str(db_path), TWILIO_AUTH_TOKEN=TOKEN))
    dbs = [open_database(db_path, autocheckpoint=request_autocheckpoint(config), group_commit=True)
           for _ in range(2 if alternate else 1)]
    for db in dbs:
        if mmap is not None:
            db.execute(f"PRAGMA mmap_size={mmap}")
    sellers = sizes(1.0)["sellers"]
    texts = MIX if command == "mix" else [command]
    counter = iter(range(10**9))

    def call(n: int) -> None:
        text = texts[n % len(texts)]
        response, _ = accept_inbound_message(
            dbs[n % len(dbs)], config, None, channel="twilio_sms",
            provider_id=f"SMcalls{next(counter):025d}", phone=seller_phone(rng.randrange(sellers)),
            body=text, raw={"Body": text}, now=utcnow(), reply_inline=True)
        if response is None or not response.reply:
            raise RuntimeError(f"no reply to {text!r}")

    toggle = callgrind_toggle(db_path.parent)
    for n in range(50):  # warm-up: imports, catalogs, statement caches
        call(n)
    toggle()
    began, usage, io = time.thread_time(), resource.getrusage(resource.RUSAGE_SELF), process_io(os.getpid())
    for n in range(calls):
        call(n)
    toggle()
    if calls:
        after, io_after = resource.getrusage(resource.RUSAGE_SELF), process_io(os.getpid())
        print(f"{command}: {calls} calls on {len(dbs)} connection(s), "
              f"{(time.thread_time() - began) / calls * 1e6:.0f} µs CPU each (user "
              f"{(after.ru_utime - usage.ru_utime) / calls * 1e6:.0f}, system "
              f"{(after.ru_stime - usage.ru_stime) / calls * 1e6:.0f}), "
              f"{(after.ru_minflt - usage.ru_minflt) / calls:.1f} minor faults, "
              f"{(io_after['syscr'] - io['syscr']) / calls:.1f} read and "
              f"{(io_after['syscw'] - io['syscw']) / calls:.1f} write system calls each "
              f"(load {os.getloadavg()[0]:.1f})")


def print_pages(db_path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT name, COUNT(*), MAX(LENGTH(path) - LENGTH(REPLACE(path, '/', ''))), "
        "SUM(pagetype = 'internal') FROM dbstat GROUP BY name ORDER BY COUNT(*) DESC").fetchall()
    print(f"{'B-tree':<40} {'pages':>9} {'depth':>5} {'interior':>8}")
    for name, pages, depth, interior in rows:
        print(f"{name:<40} {pages:9,} {depth:5} {interior:8,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a migrated population")
    parser.add_argument("--syscalls", type=int, default=0, help="requests per command under strace")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--command", default="mix")
    parser.add_argument("--alternate", action="store_true")
    parser.add_argument("--pages", action="store_true")
    parser.add_argument("--mmap", type=int, default=None,
                        help="PRAGMA mmap_size (bytes) on the --calls connections, to compare")
    args = parser.parse_args()
    args.db = args.db.resolve()  # gunicorn runs in the checkout's folder, not here
    rng = random.Random(7)
    if args.pages:
        print_pages(args.db)
        return
    workdir = Path(tempfile.mkdtemp(prefix="jembatan-reads-", dir=args.db.parent))
    try:
        db_path = workdir / "scale.db"
        subprocess.run(["cp", "--reflink=auto", str(args.db), str(db_path)], check=True)
        if args.syscalls:
            bench_syscalls(db_path, args.syscalls, rng)
        if args.calls is not None:
            run_calls(db_path, args.command, args.calls, args.alternate, rng, args.mmap)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
