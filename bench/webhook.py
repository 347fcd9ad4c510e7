"""Benchmark the full Twilio webhook path against a bare Flask endpoint, side by side.

Starts, under gunicorn, (1) Jembatan with a temporary SQLite file and a real Redis, and
(2) a bare Flask app returning the same TwiML; then drives each with the same signed
`POST /twilio/messages` requests (every one a new MessageSid, so each is stored, parsed,
answered and written to the outbox) and prints messages/s and p50/p99 latency for both,
and the ratio. The inbound engine runs beside the full app as the Procfile runs it
(`--no-engine` to compare without).

    .venv/bin/python bench/webhook.py --requests 3000 --rounds 3 --concurrency 4
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bot.redis_server import RedisServer, free_port  # noqa: E402

TOKEN = "bench-token"
TEXTS = ["BANTUAN", "DAFTAR Siti, Sukamaju", "halo", "BAHASA en", "STOP", "MULAI", "BATAL",
         "JAUL cabai 50kg 12rb"]


def start_gunicorn(app: str, port: int, workers: int, env: dict, threads: int = 0) -> subprocess.Popen:
    """gunicorn serving `app`: sync workers, or with `threads` the Procfile's threaded
    worker class (`bot.web.server.WORKER_CLASS`) with that many threads each."""
    threaded = ["--worker-class", "bot.web.server.BufferingThreadWorker", "--threads", str(threads)] \
        if threads else []
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers), *threaded, "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", app],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{app} did not start")


def start_engine(env: dict) -> subprocess.Popen:
    """`jembatan engine` (the Procfile's `engine`) for the database in `env`, once it listens."""
    socket_path = f"{env['DATABASE_PATH']}-engine.sock"
    process = subprocess.Popen([str(Path(sys.executable).parent / "jembatan"), "engine"], env=env,
                               cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(socket_path)
            return process
        except OSError:
            time.sleep(0.1)
        finally:
            probe.close()
    process.kill()
    raise RuntimeError("the inbound engine did not start")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", action=argparse.BooleanOptionalAction, default=True,
                        help="run the inbound engine beside the full app, as the Procfile does")


def drive(port: int, total: int, concurrency: int, prefix: str) -> tuple[float, list[float]]:
    """Send `total` signed requests with `concurrency` keep-alive connections."""
    url = f"http://127.0.0.1:{port}/twilio/messages"
    validator = RequestValidator(TOKEN)
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for n in counter:
            phone = f"+62812{(n % 5000):07d}"
            status, seconds = post_signed_sms(conn, validator, url, f"SM{prefix}{n:029d}", phone,
                                              TEXTS[n % len(TEXTS)])
            mine.append(seconds)
            if status != 200:
                raise RuntimeError(f"HTTP {status}")
        with lock:
            latencies.extend(mine)

    return run_workers(worker, concurrency), latencies


def post_signed_sms(conn: http.client.HTTPConnection, validator: RequestValidator, url: str,
                    message_sid: str, phone: str, text: str) -> tuple[int, float]:
    """POST one SMS from `phone` as a Twilio webhook signed for `url`, on `conn` (kept alive);
    the HTTP status and the seconds the request took."""
    params = {"MessageSid": message_sid, "AccountSid": "AC" + "0" * 32,
              "From": phone, "To": "+14155550100", "Body": text, "NumMedia": "0"}
    body = urlencode(params)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": validator.compute_signature(url, params)}
    start = time.perf_counter()
    conn.request("POST", "/twilio/messages", body, headers)
    response = conn.getresponse()
    response.read()
    return response.status, time.perf_counter() - start


def run_workers(worker, concurrency: int) -> float:
    """Run `worker` on `concurrency` threads at once; the seconds until the last one ends."""
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def cpu_seconds(process) -> float:
    """CPU time (user + system) used so far by a gunicorn master and its workers, or by
    any process and its children (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [process.pid]
    try:
        with open(f"/proc/{process.pid}/task/{process.pid}/children") as handle:
            pids += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / ticks


def server_cpu_line(cpu: dict, total: int) -> str:
    """The servers' CPU per request, from `cpu` (seconds: full, bare, engine) over `total`."""
    engine = (f" + inbound engine {cpu['engine'] / total * 1000:.2f} ms" if cpu.get("engine") else "")
    return (f"server CPU per request (gunicorn master + workers, from /proc): full "
            f"{cpu['full'] / total * 1000:.2f} ms{engine}, bare {cpu['bare'] / total * 1000:.2f} ms")


def disk_sync_latency(folder: Path, syncs: int = 200) -> str:
    """The disk's own fdatasync latency in `folder` (4 KiB appended before each, as a WAL
    commit does): the floor under every acknowledged message's wall clock, measured in the
    same minutes as the calls, since the disk is shared with other work on this machine."""
    path = folder / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    timings = []
    try:
        for _ in range(syncs):
            os.write(fd, b"\0" * 4096)
            began = time.perf_counter()
            os.fdatasync(fd)
            timings.append(time.perf_counter() - began)
    finally:
        os.close(fd)
        path.unlink()
    quantiles = statistics.quantiles(timings, n=100)
    return (f"the disk's own fdatasync (4 KiB appended, {syncs} times): p50 "
            f"{quantiles[49] * 1000:.2f} ms, p99 {quantiles[98] * 1000:.2f} ms")


def report(name: str, rounds: list[tuple[float, list[float]]]) -> float:
    """Print the median rate over rounds and latency percentiles over all requests."""
    rates = [len(latencies) / elapsed for elapsed, latencies in rounds]
    pooled = [x for _, latencies in rounds for x in latencies]
    quantiles = statistics.quantiles(pooled, n=100)
    rate = statistics.median(rates)
    print(f"{name:<22} {rate:8.0f} msg/s (median of {len(rates)} rounds: "
          f"{', '.join(f'{r:.0f}' for r in rates)})   p50 {quantiles[49] * 1000:6.2f} ms   "
          f"p99 {quantiles[98] * 1000:6.2f} ms")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per round and app")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for each app")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per gunicorn worker, with the Procfile's worker class "
                        "(0: sync workers)")
    add_engine_options(parser)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="jembatan-bench-"))
    redis_server = RedisServer(workdir / "redis", free_port(), persistent=False).start()
    env = dict(os.environ, DATABASE_PATH=str(workdir / "bench.db"), REDIS_URL=redis_server.url,
               TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="AC" + "0" * 32,
               PYTHONPATH=str(ROOT))
    ports = {"jembatan": free_port(), "bare": free_port()}
    processes: list[subprocess.Popen] = []
    engine = None
    try:
        if args.engine:
            engine = start_engine(env)
        for app, port in (("bot:create_app()", ports["jembatan"]), ("bench.bare_app:app", ports["bare"])):
            processes.append(start_gunicorn(app, port, args.workers, env, args.threads))
        # Warm up both (imports, first SQLite pages), then measure in alternation.
        drive(ports["jembatan"], 200, args.concurrency, "w")
        drive(ports["bare"], 200, args.concurrency, "w")
        print(f"{args.rounds} x {args.requests} signed POST /twilio/messages per app, "
              f"concurrency {args.concurrency}, "
              f"{args.workers} gunicorn workers each"
              + (f" ({args.threads} threads, the Procfile's worker class)" if args.threads else "")
              + (", the inbound engine beside the full app" if engine else ", no inbound engine")
              + f", {os.cpu_count()} cores")
        print(disk_sync_latency(workdir) + ", before the rounds")
        # Alternate the two apps round by round so that a noisy moment on this machine
        # hits both sides alike.
        full_rounds, bare_rounds = [], []
        cpu = {"full": 0.0, "bare": 0.0, "engine": 0.0}
        for n in range(args.rounds):
            for side, process, port, rounds in (("full", processes[0], ports["jembatan"], full_rounds),
                                                 ("bare", processes[1], ports["bare"], bare_rounds)):
                before = cpu_seconds(process), cpu_seconds(engine) if engine else 0.0
                rounds.append(drive(port, args.requests, args.concurrency, f"{side[0]}{n}"))
                cpu[side] += cpu_seconds(process) - before[0]
                if engine and side == "full":
                    cpu["engine"] += cpu_seconds(engine) - before[1]
        print(disk_sync_latency(workdir) + ", after the rounds")
        full = report("full webhook path", full_rounds)
        bare = report("bare Flask TwiML", bare_rounds)
        total = args.rounds * args.requests
        print(server_cpu_line(cpu, total))
        print(f"ratio full/bare: {full / bare:.0%}  (target >= 60%)")
    finally:
        for process in processes + ([engine] if engine else []):
            process.terminate()
            process.wait()
        redis_server.stop()


if __name__ == "__main__":
    main()
