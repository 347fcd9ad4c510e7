"""The real web server (gunicorn with bot.web.server's worker, as the Procfile runs it)
against hostile clients: oversized bodies refused unread, with the worker's memory read
from /proc; more slow clients than the server has threads while /healthz is answered;
raw requests no test client can send."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bot.redis_server import free_port
from bot.web.guards import BODY_LIMITS
from bot.web.server import MAX_BUFFERED_BODY, gunicorn_command
from tests.conftest import make_settings

WORKERS, THREADS = 1, 2
CONCURRENCY = WORKERS * THREADS  # requests the server handles at once
BIG = 200 * 1024 * 1024


class Server:
    """One gunicorn process tree on a free port, its log in a file."""

    def __init__(self, tmp_path: Path, redis_url: str):
        self.port = free_port()
        self.log_path = tmp_path / "gunicorn.log"
        env = dict(os.environ)
        env.update({k: str(v) for k, v in make_settings(tmp_path, redis_url, "http://127.0.0.1:9").items()})
        env.update(XENDIT_CALLBACK_TOKEN="xendit-token", SIMULATOR="off")
        command = gunicorn_command(str(Path(sys.executable).parent / "gunicorn"), f"127.0.0.1:{self.port}",
                                   WORKERS, THREADS) + ["--no-control-socket", "--graceful-timeout", "2"]
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert self.process.poll() is None, self.log_text()
            assert time.monotonic() < deadline, "no /healthz answer within 60 s:\n" + self.log_text()
            time.sleep(0.2)

    def get(self, path: str, timeout: float = 30) -> tuple[int, dict, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=30)

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path, redis_url):
    running = Server(tmp_path, redis_url)
    yield running
    running.stop()
    assert "Traceback" not in running.log_path.read_text(errors="replace")


def memory_kb(pid: int, field: str) -> int:
    """VmRSS (resident now) or VmHWM (the most it has ever been resident), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def status_of(answer: bytes) -> int:
    assert answer.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")), answer[:200]
    return int(answer.split(b" ", 2)[1])


def read_answer(sock: socket.socket) -> bytes:
    """Read until the head of a final (non-1xx) answer is complete."""
    data = b""
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0 and not data.startswith(b"HTTP/1.1 100 "):
            return data
        if head_end >= 0:
            data = data[head_end + 4:]
            continue
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def push_big_body(path: str, head_lines: list[str], chunked: bool, server: Server) -> int:
    """Try to send a 200 MB body to `path`; return the status the server answered."""
    sock = server.connect()
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BIG}"
    head = "\r\n".join([f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *head_lines, framing, "", ""])
    stop = threading.Event()

    def send():
        piece = b"a=" + b"x" * (1024 * 1024 - 2)
        if chunked:
            piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        try:
            sock.sendall(head.encode())
            sent = 0
            while sent < BIG and not stop.is_set():
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # the server answered and closed: the rest is never read

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        return status_of(read_answer(sock))
    finally:
        stop.set()
        sock.close()
        sender.join(timeout=30)


def test_oversized_bodies_are_refused_unread(server):
    """200 MB at every POST endpoint, declared or chunked, signed headers or not: 413,
    and the worker's peak memory does not grow by anything like the body size."""
    assert max(v for k, v in BODY_LIMITS.items() if not k.startswith("desk.")) <= MAX_BUFFERED_BODY
    [worker] = server.worker_pids()
    targets = [
        ("/twilio/messages", ["X-Twilio-Signature: anything",
                              "Content-Type: application/x-www-form-urlencoded"]),
        ("/twilio/status", ["X-Twilio-Signature: anything",
                            "Content-Type: application/x-www-form-urlencoded"]),
        ("/gateway/android", ["X-Timestamp: 1", "X-Signature: " + "0" * 64,
                              "Content-Type: application/json"]),
        ("/payouts/xendit/callback", ["x-callback-token: xendit-token", "Content-Type: application/json"]),
        ("/api/v1/orders", ["Authorization: Bearer jbk_x", "Content-Type: application/json"]),
        ("/healthz", []),
    ]
    # Warm up: every path once, so what the worker imports and caches is resident.
    for path, lines in targets:
        push_big_body(path, lines, chunked=False, server=server)
    peak_before = memory_kb(worker, "VmHWM")
    for chunked in (False, True):
        for path, lines in targets:
            status = push_big_body(path, lines, chunked, server)
            assert status == 413 or (path == "/healthz" and status in (405, 413)), (path, chunked, status)
    growth_mb = (memory_kb(worker, "VmHWM") - peak_before) / 1024
    assert growth_mb < 20, f"worker peak memory grew {growth_mb:.0f} MB on 200 MB bodies"
    assert server.worker_pids() == [worker]  # the same worker, never restarted
    assert server.get("/healthz")[0] == 200


def slow_requests() -> dict[str, tuple[bytes, bytes]]:
    """Kinds of slow client: (what is sent at once, what then trickles a byte at a time)."""
    return {
        "header lines trickle": (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: 1\r\n" * 1000),
        "body trickles": (b"POST /gateway/android HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n", b" " * 60000),
        "waits after Expect: 100-continue": (
            b"POST /twilio/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n\r\n", b""),
        "chunked body never ends": (
            b"POST /twilio/status HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n", b"1\r\na\r\n" * 1000),
        "connects and says nothing": (b"", b""),
    }


def test_more_slow_clients_than_threads_do_not_stall_healthz(server):
    """CONCURRENCY + 1 clients of every slow kind hold their connections open, trickling,
    while /healthz is answered; afterwards the slow requests still complete."""
    kinds = slow_requests()
    clients = []
    for name, (start, trickle) in kinds.items():
        for _ in range(CONCURRENCY + 1):
            sock = server.connect()
            if start:
                sock.sendall(start)
            clients.append({"kind": name, "sock": sock, "trickle": trickle, "sent": 0})
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            for client in clients:
                if client["sent"] < len(client["trickle"]):
                    client["sock"].sendall(client["trickle"][client["sent"]:client["sent"] + 1])
                    client["sent"] += 1
            stop.wait(0.2)

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        time.sleep(1)  # let the server take the slow connections first (no assertion on time)
        for _ in range(3):
            status, _, body = server.get("/healthz", timeout=20)  # generous; a stall fails loudly
            assert status == 200, body
        status, _, _ = server.get("/api/v1/listings", timeout=20)
        assert status == 200
    finally:
        stop.set()
        trickler.join(timeout=10)
    # They were held open, not dropped: finish two kinds and read their answers.
    for client in clients:
        if client["kind"] == "header lines trickle":
            line = len(b"X-Slow: 1\r\n")  # end the header line it is in, then the head
            sent = client["sent"]
            client["sock"].sendall(client["trickle"][sent:sent + (-sent) % line] + b"\r\n")
            assert status_of(read_answer(client["sock"])) == 200
        elif client["kind"] == "body trickles":
            client["sock"].sendall(b" " * (60000 - client["sent"]))
            assert status_of(read_answer(client["sock"])) == 403  # unsigned: refused, as it should be
    for client in clients:
        client["sock"].close()


RAW_CASES = [
    # (name, raw request, expected status)
    ("non-ASCII bytes in the Twilio signature",
     b"POST /twilio/messages HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: \xc3\xa9\xff\r\n"
     b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nFrom=+1", 403),
    ("non-ASCII bytes in the gateway signature",
     b"POST /gateway/android HTTP/1.1\r\nHost: x\r\nX-Timestamp: 1\r\nX-Signature: \xff\xfe\r\n"
     b"Content-Length: 2\r\n\r\n{}", 403),
    ("400-digit gateway timestamp",
     b"POST /gateway/android HTTP/1.1\r\nHost: x\r\nX-Timestamp: " + b"9" * 400 +
     b"\r\nX-Signature: " + b"0" * 64 + b"\r\nContent-Length: 2\r\n\r\n{}", 403),
    ("head larger than 64 KiB", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 8000 +
     b"\r\n" + (b"X-More: " + b"b" * 8000 + b"\r\n") * 9 + b"\r\n", 431),
    ("request line too long", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ("both Content-Length and chunked", b"POST /gateway/android HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("bad chunk size", b"POST /twilio/status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nabc\r\n0\r\n\r\n", 400),
    ("two Content-Lengths", b"POST /gateway/android HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
     b"Content-Length: 3\r\n\r\n{}x", 400),
    ("NUL in the path", b"GET /healthz\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("path traversal to media", b"GET /media/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    ("absolute-form target", b"GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    ("Host with a script", b"GET /api/v1/listings HTTP/1.1\r\nHost: <script>\r\n\r\n", 200),
    ("HTTP/1.0 without Host", b"GET /healthz HTTP/1.0\r\n\r\n", 200),
    ("negative Content-Length", b"POST /gateway/android HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: -1\r\n\r\n", 400),
    ("Content-Length in words", b"POST /gateway/android HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: ten\r\n\r\n", 400),
    ("Content-Length in exponent form", b"POST /gateway/android HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 1e3\r\n\r\n", 400),
    ("Content-Length of 40 digits", b"POST /gateway/android HTTP/1.1\r\nHost: x\r\nContent-Length: " +
     b"9" * 40 + b"\r\n\r\n", 413),
    ("chunked with Expect: 100-continue", b"POST /twilio/status HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nX-Twilio-Signature: x\r\n"
     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n3\r\na=b\r\n0\r\n\r\n", 403),
    ("chunked body over the gateway limit", b"POST /gateway/android HTTP/1.1\r\nHost: x\r\nX-Timestamp: 1\r\n"
     b"X-Signature: " + b"0" * 64 + b"\r\nTransfer-Encoding: chunked\r\n\r\n" +
     (b"8000\r\n" + b"x" * 0x8000 + b"\r\n") * 4 + b"0\r\n\r\n", 413),
]


def test_raw_hostile_requests(server):
    for name, raw, expected in RAW_CASES:
        sock = server.connect()
        try:
            sock.sendall(raw)
            answer = read_answer(sock)
        finally:
            sock.close()
        assert status_of(answer) == expected, (name, answer[:300])
        head = answer.split(b"\r\n\r\n")[0].lower()  # the app's answers and gunicorn's own
        assert b"x-content-type-options: nosniff" in head and b"x-frame-options: deny" in head, (name, head)
    # Pipelined requests on one connection are answered in order.
    sock = server.connect()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n"
                 b"Connection: close\r\n\r\n")
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    assert data.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 404" in data, data[:500]
    assert server.get("/healthz")[0] == 200
