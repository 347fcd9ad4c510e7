"""The inbound engine: one process that stores and answers every verified webhook message
on one SQLite connection, for all the web workers (DECISIONS 496).

Why: every webhook transaction takes the write lock, so they run one at a time anyway;
but with two or more web workers each commit by one worker empties the page cache of the
others (SQLite resets a connection's cache whenever the WAL changed under it), and every
request then reads its B-trees again: ~40 `pread`s and ~0.35 ms of CPU per message at a
cooperative's size, a third of the whole request. The engine keeps one warm cache. The
web workers still do what runs in parallel (HTTP, the form, the signature) and hand the
verified message over a Unix socket beside the database (`engine_socket_path`).

The protocol is framed JSON: a 4-byte big-endian length, then a UTF-8 JSON object. A
request is `{"channel", "provider_id", "phone", "body", "raw", "bsuid"}`; the answer
`{"reply": text or null}` (the inline reply, before TwiML) or `{"error": text}`. The
engine answers only after the message's commit is durable: the messages that arrived
together are committed one by one, made durable with one fsync, and only then dispatched
to Redis and answered (DECISIONS 361: nothing leaves before its commit is on disk).

If the engine is not running (no socket, or nobody listening), a web worker processes the
message itself, exactly as before: the engine is a speed-up, never a dependency. If it
dies while a message is with it, the web worker answers 500 and the provider posts the
message again; the inbox's (channel, provider_id) key makes that repeat harmless.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import socket
import struct
import threading
import time
from contextlib import suppress
from pathlib import Path

from bot.pipeline.dispatch import dispatch
from bot.pipeline.inbound import store_and_respond
from bot.storage import sync_if_written, syncs_deferred, utcnow

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
#: The largest frame either side accepts: a webhook body is limited far below this.
MAX_FRAME = 1 << 20
#: How long a web worker waits for the engine's answer before giving up (answering 500,
#: within Twilio's 15 s).
ANSWER_TIMEOUT = 10.0
#: After the engine could not be reached, web workers process messages themselves for this
#: long before they try it again (a connect per request would be wasted).
RETRY_AFTER = 1.0
_FIELDS = ("channel", "provider_id", "phone", "body")


def engine_socket_path(config: dict) -> str:
    """Where the engine listens: `INBOUND_ENGINE_SOCKET`, else `<database>-engine.sock`."""
    return config.get("INBOUND_ENGINE_SOCKET") or f"{config['DATABASE_PATH']}-engine.sock"


def encode_frame(message: dict) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    return _LENGTH.pack(len(data)) + data


class EngineUnavailable(OSError):
    """Nobody is listening on the engine's socket: the caller processes the message itself."""


class EngineLost(OSError):
    """The engine took the message but gave no answer (it died or timed out)."""


class EngineClient:
    """A web worker's connections to the engine, one per thread, opened on first use."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._down_until = 0.0  # after a failed connect, local processing for a while
        self.timeout = ANSWER_TIMEOUT

    def _connection(self) -> socket.socket:
        sock = getattr(self._local, "sock", None)
        if sock is None:
            if time.monotonic() < self._down_until:
                raise EngineUnavailable("not running a moment ago")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self.path)
            except OSError as error:
                sock.close()
                self._down_until = time.monotonic() + RETRY_AFTER
                raise EngineUnavailable(str(error)) from error
            sock.settimeout(self.timeout)
            self._local.sock = sock
        return sock

    def _drop(self) -> None:
        sock = getattr(self._local, "sock", None)
        self._local.sock = None
        if sock is not None:
            with suppress(OSError):
                sock.close()

    def process(self, message: dict) -> dict:
        """Send one message; the engine's answer. `EngineUnavailable` if it cannot be
        reached (nothing sent), `EngineLost` if it was sent and no answer came."""
        frame = encode_frame(message)
        sock = self._connection()
        try:
            sock.sendall(frame)
        except OSError:
            # A connection the engine closed (it restarted): one fresh try, as nothing
            # reached it.
            self._drop()
            sock = self._connection()
            try:
                sock.sendall(frame)
            except OSError as error:
                self._drop()
                raise EngineUnavailable(str(error)) from error
        try:
            head = _recv_exactly(sock, _LENGTH.size)
            (length,) = _LENGTH.unpack(head)
            if length > MAX_FRAME:
                raise EngineLost(f"answer of {length} bytes")
            return json.loads(_recv_exactly(sock, length))
        except (OSError, ValueError) as error:
            self._drop()
            raise EngineLost(str(error)) from error


def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    chunks, needed = [], count
    while needed:
        chunk = sock.recv(needed)
        if not chunk:
            raise EngineLost("the engine closed the connection")
        chunks.append(chunk)
        needed -= len(chunk)
    return b"".join(chunks)


class EngineRunning(RuntimeError):
    """Another engine already answers on the socket."""


class Engine:
    """The engine's loop: one thread, one connection. Each round takes every message that
    has arrived, commits each in its own transaction, makes them all durable with one
    fsync, then dispatches and answers them in arrival order.

    (A syncer thread that fsyncs one batch while the loop commits the next was tried: it
    cost more CPU per message in thread hand-overs than the overlap saved, on 2 cores where
    the CPU, not the disk, is the limit; BENCHMARKS, "The inbound engine".)"""

    def __init__(self, app, path: str | None = None):
        from bot.web.db import app_redis, thread_db  # the app's own accessors

        self.config = app.config
        self.path = path or engine_socket_path(app.config)
        self.db = thread_db(app)
        self.redis = app_redis(app)
        self.selector = selectors.DefaultSelector()
        self.buffers: dict[socket.socket, bytearray] = {}
        self.stopping = False
        self.listener: socket.socket | None = None
        self.messages = 0  # answered so far (for the exit line and the benchmarks)
        self.rounds = 0

    def listen(self) -> None:
        """Bind the socket (the owner's alone); `EngineRunning` if an engine answers there."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.path)
        except OSError:
            with suppress(FileNotFoundError):
                os.unlink(self.path)  # left by an engine that was killed
        else:
            raise EngineRunning(f"an inbound engine already listens on {self.path}")
        finally:
            probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        listener.listen(128)
        listener.setblocking(False)
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ)

    def serve_forever(self) -> None:
        """Answer until SIGTERM or SIGINT (a round under way is finished first); the socket
        is removed on the way out."""
        if self.listener is None:
            self.listen()
        for name in ("SIGTERM", "SIGINT"):
            signal.signal(getattr(signal, name), lambda *_: self.stop())
        try:
            while not self.stopping:
                self.serve_once(timeout=1.0)
        finally:
            self.close()

    def stop(self) -> None:
        self.stopping = True

    def serve_once(self, timeout: float | None = None) -> None:
        """One round: accept, read what arrived, answer every complete message."""
        batch: list[tuple[socket.socket, dict]] = []
        for key, _ in self.selector.select(timeout):
            if key.fileobj is self.listener:
                self._accept()
            else:
                batch.extend(self._read(key.fileobj))
        # A connection closed for a bad frame later in the round loses its messages: its
        # web worker answers 500 and the provider posts them again.
        batch = [(sock, message) for sock, message in batch if sock in self.buffers]
        if batch:
            self._answer_batch(batch)

    def _accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(False)
        self.buffers[sock] = bytearray()
        self.selector.register(sock, selectors.EVENT_READ)

    def _read(self, sock: socket.socket) -> list[tuple[socket.socket, dict]]:
        """The complete messages now buffered on `sock`; a connection that sends anything
        but framed messages is closed."""
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError:
            data = b""
        if not data:
            self._close(sock)
            return []
        buffer = self.buffers[sock]
        buffer += data
        messages = []
        while len(buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer)
            if length > MAX_FRAME:
                self._close(sock)
                return []
            if len(buffer) < _LENGTH.size + length:
                break
            frame = bytes(buffer[_LENGTH.size:_LENGTH.size + length])
            del buffer[:_LENGTH.size + length]
            message = _message(frame)
            if message is None:
                self._close(sock)
                return []
            messages.append((sock, message))
        return messages

    def _answer_batch(self, batch: list[tuple[socket.socket, dict]]) -> None:
        """Commit each message, sync once, then dispatch and answer each."""
        with syncs_deferred(self.db):
            results = [(sock, *self._store_and_respond(message)) for sock, message in batch]
        try:
            sync_if_written(self.db)
        except Exception as error:  # not durable (`NotDurable`, an I/O error): say so
            log.exception("engine: the batch's fsync failed")
            results = [(sock, {"error": type(error).__name__}, None) for sock, _, _ in results]
        for sock, answer, response in results:
            if response is not None:
                try:
                    dispatch(self.redis, self.db, response.handover, utcnow(), keep_sweep=True)
                except Exception:  # stored and answered; the sweep hands it over
                    log.exception("engine: dispatch failed, left for the sweep")
            self._send(sock, answer)
        self.messages += len(batch)
        self.rounds += 1

    def _store_and_respond(self, message: dict):
        """(answer, response) for one message, committed but not yet synced."""
        try:
            response, _ = store_and_respond(
                self.db, self.config, channel=message["channel"],
                provider_id=message["provider_id"], phone=message["phone"], body=message["body"],
                raw=message.get("raw") or {}, now=utcnow(), reply_inline=True,
                bsuid=message.get("bsuid"),
            )
        except Exception as error:
            log.exception("engine: inbound %s failed", message.get("provider_id"))
            return {"error": type(error).__name__}, None
        return {"reply": None if response is None else response.reply}, response

    def _send(self, sock: socket.socket, answer: dict) -> None:
        if sock not in self.buffers:
            return  # its web worker went away
        try:
            # Blocking for the write: an answer is small and its web worker is reading.
            sock.settimeout(5.0)
            sock.sendall(encode_frame(answer))
            sock.setblocking(False)
        except OSError:
            self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with suppress(KeyError, ValueError):
            self.selector.unregister(sock)
        self.buffers.pop(sock, None)
        with suppress(OSError):
            sock.close()

    def close(self) -> None:
        """Close every connection and the socket."""
        for sock in list(self.buffers):
            self._close(sock)
        if self.listener is not None:
            with suppress(KeyError, ValueError):
                self.selector.unregister(self.listener)
            self.listener.close()
            with suppress(FileNotFoundError):
                os.unlink(self.path)
            self.listener = None


def _message(frame: bytes) -> dict | None:
    """A request frame's message, or None if it is not one."""
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):  # not UTF-8 JSON, or nested past the parser
        return None
    if not isinstance(message, dict) or not all(isinstance(message.get(f), str) for f in _FIELDS):
        return None
    raw, bsuid = message.get("raw"), message.get("bsuid")
    if (raw is not None and not isinstance(raw, dict)) or (bsuid is not None and not isinstance(bsuid, str)):
        return None
    return message
