"""The web server's worker class: gunicorn's threaded worker, but a request reaches a
thread only once it has arrived.

gunicorn's `gthread` worker hands a connection to a thread as soon as its first byte
arrives; the thread then blocks until the headers (and later the body) are complete. A
client trickling one header line every few seconds therefore holds a thread, and
workers x threads such clients stall every other request — `/healthz` included. This
worker reads requests in the worker's event loop instead, without blocking: the head
(at most `MAX_HEAD` bytes, else 431) and a body declared no larger than
`MAX_BUFFERED_BODY` (our largest endpoint limit, see bot.web.guards) are buffered
there, and only a complete request is given to a thread, which then never waits on the
network. A larger declared body is dispatched at once: the app refuses it (413) without
reading it. A connection that has not sent its whole request within
`REQUEST_READ_SECONDS` is closed. Slow clients then cost a socket and a buffer each
(at most `--worker-connections` per worker), never a thread.

Run it with `gunicorn --worker-class bot.web.server.BufferingThreadWorker --threads N`
(the Procfile, `jembatan up` and `gunicorn_command` agree). TLS and HTTP/2 are a front
proxy's business here; with either configured, the worker behaves as plain gthread.
"""

from __future__ import annotations

import contextlib
import errno
import re
import selectors
import time
from functools import partial

from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import TConn, ThreadWorker

from bot.web.guards import BODY_LIMITS

MAX_HEAD = 64 * 1024
#: Bodies up to this size are buffered before a thread sees them: every webhook and API
#: body fits. A larger one (the desk's CSV upload, up to 2 MiB) goes to a thread at once;
#: without a desk session it is answered unread and gunicorn's bounded drain (5 s, 64 KiB)
#: closes the connection, so such a client holds a thread for seconds, not for good.
MAX_BUFFERED_BODY = max(limit for name, limit in BODY_LIMITS.items() if not name.startswith("desk."))
REQUEST_READ_SECONDS = 30
WORKER_CLASS = "bot.web.server.BufferingThreadWorker"
DEFAULT_THREADS = 4

_CONTENT_LENGTH = re.compile(rb"\ncontent-length:[ \t]*([0-9]{1,18})[ \t]*\r\n")
_EXPECT_CONTINUE = re.compile(rb"\nexpect:[ \t]*100-continue[ \t]*\r\n")
_WAIT, _READY, _HEAD_TOO_LARGE = "wait", "ready", "head too large"
#: What the app adds to every answer (bot.web.guards), for gunicorn's own error pages.
ERROR_PAGE_HEADERS = (b"X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
                      b"Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
                      b"Cache-Control: no-store\r\n")


HEAD_TOO_LARGE_ANSWER = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
                         b"Content-Length: 0\r\n" + ERROR_PAGE_HEADERS + b"\r\n")


class _ErrorPageSocket:
    """The client socket as gunicorn's `handle_error` sees it: the error page it writes
    (a 400 for a broken request line, 414, 431, ...) gains the headers every answer of
    the app carries. Everything else is the socket itself."""

    def __init__(self, sock):
        self._sock = sock

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def sendall(self, data: bytes):
        head, separator, rest = data.partition(b"\r\n")
        if head.startswith(b"HTTP/1.") and separator:
            data = head + separator + ERROR_PAGE_HEADERS + rest
        return self._sock.sendall(data)


def gunicorn_command(gunicorn: str, bind: str, workers: int, threads: int = DEFAULT_THREADS) -> list[str]:
    """The web process's command line (`jembatan up`; the Procfile spells out the same)."""
    return [gunicorn, "--worker-class", WORKER_CLASS, "--workers", str(workers),
            "--threads", str(threads), "--bind", bind, "--access-logfile", "-", "bot:create_app()"]


def request_state(buffer: bytes | bytearray) -> str:
    """Whether `buffer` (what a connection sent so far) holds a request to hand to a thread."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return _HEAD_TOO_LARGE if len(buffer) > MAX_HEAD else _WAIT
    head_length = end + 4
    if head_length > MAX_HEAD:
        return _HEAD_TOO_LARGE
    head = bytes(buffer[:head_length]).lower()
    body = len(buffer) - head_length
    if b"\ntransfer-encoding:" in head:
        # Chunked: wait for the last chunk (a false end only dispatches early), or for
        # more than any endpoint accepts (the app then refuses it at its limit).
        return _READY if buffer.endswith(b"0\r\n\r\n") or body > MAX_BUFFERED_BODY else _WAIT
    match = _CONTENT_LENGTH.search(head)
    if match is None:
        return _READY  # no body (or a malformed head: gunicorn's parser answers it)
    length = int(match.group(1))
    return _READY if length > MAX_BUFFERED_BODY or body >= length else _WAIT


def _wants_continue(buffer: bytes | bytearray) -> bool:
    end = buffer.find(b"\r\n\r\n")
    if end < 0 or len(buffer) != end + 4:
        return False  # no complete head yet, or some body already came
    return bool(_EXPECT_CONTINUE.search(bytes(buffer[:end + 4]).lower()))


class BufferingThreadWorker(ThreadWorker):
    """gunicorn `gthread` whose threads only ever see complete requests."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading: set = set()

    def _buffers(self, client_addr) -> bool:
        return not self.cfg.is_ssl and not negotiation.prior_knowledge_allowed(self.cfg, client_addr)

    def accept(self, listener):
        """A new connection waits in the event loop until its request is complete."""
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if self._buffers(client_addr):
            self._read_request(conn)
        else:
            client_sock.setblocking(True)
            self.enqueue_req(conn)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection sends its next request: buffer it the same way."""
        if not self.alive or not self._buffers(conn.client):
            return super().on_client_socket_readable(conn, client)
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_request(conn)

    def _read_request(self, conn) -> None:
        conn.sock.setblocking(False)
        conn.pending = bytearray()
        conn.read_deadline = time.monotonic() + REQUEST_READ_SECONDS
        self.reading.add(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_request_bytes, conn))

    def _on_request_bytes(self, conn, client) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:
            self._drop(conn)
            return
        conn.pending += data
        state = request_state(conn.pending)
        if state == _WAIT:
            if _wants_continue(conn.pending):
                self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        if state == _HEAD_TOO_LARGE:
            self._send(conn, HEAD_TOO_LARGE_ANSWER)
            self._drop(conn)
            return
        self.poller.unregister(conn.sock)
        self.reading.discard(conn)
        conn.data_ready = True
        self.enqueue_req(conn)

    @staticmethod
    def _send(conn, data: bytes) -> None:
        with contextlib.suppress(OSError):
            conn.sock.send(data)  # a few bytes into an empty socket buffer: never blocks

    def _drop(self, conn) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.reading.discard(conn)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """Also close connections that did not send their request in time."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.reading if c.read_deadline <= now or not self.alive]:
            self._drop(conn)

    def handle_error(self, req, client, addr, exc):
        return super().handle_error(req, _ErrorPageSocket(client), addr, exc)

    def handle(self, conn):
        """In a thread: hand the buffered bytes to gunicorn's parser, then serve as gthread."""
        pending = getattr(conn, "pending", None)
        if pending:
            conn.pending = None
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(pending))
        return super().handle(conn)
