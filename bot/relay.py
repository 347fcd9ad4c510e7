"""The federation relay (`jembatan relay`): the one long-lived asyncio process that talks to
NATS JetStream, in the hub and city roles (issue 18). Not to be confused with the webhook
relays to buyers' systems (`bot.pipeline.relays`).

At a hub it publishes the event outbox (`federation_events`, written by the listing
triggers) to the hub's stream on the hub's own nats-server, oldest first, each with its
event id as `Nats-Msg-Id`, and marks a row published only once JetStream acknowledged it.
A crash between the acknowledgement and the mark republishes the row: JetStream's duplicate
window drops it, and past that window the city's `federation_applied` does.

At the city it keeps the city stream sourcing every hub's stream (over the leaf link,
through each hub's JetStream domain: `$JS.hub-a.API`) and applies what arrives through a
durable pull consumer: each event in its own SQLite transaction, acknowledged to JetStream
after the commit, so a crash before the acknowledgement redelivers an event the city
recognises. Streams and the consumer are created at start-up, idempotently (DECISIONS 281).

Orders flow down (DECISIONS 300-319): the city also publishes its request outbox
(`federation_requests`) to its own stream `JEMBATAN_CITY_REQUESTS`, subject
`jembatan.city.A.orders`; each hub's stream `JEMBATAN_HUB_A_REQUESTS` sources its own
subject of it through the city's API as hubs see it (`jembatan.api.city`, DECISIONS 431),
so a request waits in the city's stream while the link is down; the hub takes each through
its durable consumer `hub-requests`, in one transaction per request, acknowledged after the
commit. The hub's answers are order events in its ordinary outbox.

SQLite work runs on one thread of its own (`Relay._db`), never on the event loop, so a
long write or a busy database never stalls heartbeats and acknowledgements; a database
locked by another process is waited for with backoff, never a reason to exit (309).

SQLite is the buffer of last resort: while the hub's nats-server is down events stay in the
outbox; while the leaf link is down they wait in the hub's stream. The relay reconnects
forever; nothing here gives up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import nats
import nats.errors
import nats.js.errors
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    ExternalStream,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamSource,
)

from bot.config import city_hubs, resolve_nats_url, resolve_redis_url, role_of
from bot.nats_server import CITY_API, down_prefix, hub_domain, up_prefix
from bot.pipeline.dispatch import connect_redis, dispatch
from bot.pipeline.federation import apply_hub_event, take_city_request
from bot.services import federation
from bot.services.handover import Handover
from bot.services.media import media_dir
from bot.storage import open_database, sync_wal, transaction, utcnow

log = logging.getLogger("jembatan.relay")

#: Events read from the outbox per round; the poll interval when it is empty (seconds).
BATCH = 256
POLL_SECONDS = 0.2
#: How long JetStream keeps a hub's events and the city's copy (a month offline is fine).
STREAM_MAX_AGE_SECONDS = 30 * 24 * 3600
#: JetStream drops a republished event id within this window (seconds).
DUPLICATE_WINDOW_SECONDS = 600
#: Waits between tries after a failure (seconds), doubling.
BACKOFF_MIN, BACKOFF_MAX = 0.2, 5.0
#: An event the city cannot apply is given up after this many deliveries (then `term`).
MAX_DELIVER = 20
#: An event delivered to a city relay that died is delivered again after this (seconds).
ACK_WAIT_SECONDS = 10
#: How often the relay looks at its links (seconds).
LINK_CHECK_SECONDS = 2.0
#: A healthy source hears from its hub about every second (heartbeats), idle or not; one
#: silent this long while the hub's JetStream answers is stalled (nanoseconds).
SOURCE_STALLED_NS = 5_000_000_000

#: An event that came before what it needs is delivered again after this (seconds).
NOT_READY_DELAY_SECONDS = 1

_NATS_TROUBLE = (nats.errors.Error, asyncio.TimeoutError, OSError)


class RelayNotConfigured(RuntimeError):
    """The role needs a NATS server and none is configured."""


def hub_stream_config(hub_id: str) -> StreamConfig:
    return StreamConfig(
        name=federation.hub_stream(hub_id), subjects=[federation.hub_subjects(hub_id)],
        retention=RetentionPolicy.LIMITS, storage=StorageType.FILE, discard=DiscardPolicy.OLD,
        max_age=STREAM_MAX_AGE_SECONDS, duplicate_window=DUPLICATE_WINDOW_SECONDS,
        description=f"Jembatan hub {hub_id}: its catalog events")


def city_stream_config(hubs: list[str]) -> StreamConfig:
    return StreamConfig(
        name=federation.CITY_STREAM, retention=RetentionPolicy.LIMITS, storage=StorageType.FILE,
        discard=DiscardPolicy.OLD, max_age=STREAM_MAX_AGE_SECONDS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        sources=[StreamSource(name=federation.hub_stream(hub),
                              external=ExternalStream(api=f"$JS.{hub_domain(hub)}.API",
                                                       deliver=up_prefix(hub)))
                 for hub in hubs],
        description="Jembatan city: every hub's events, sourced")


async def ensure_stream(js, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to `config` (a city that got a new hub)."""
    try:
        await js.stream_info(config.name)
    except nats.js.errors.NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def ensure_city_consumer(js) -> None:
    """The city's durable consumer: explicit acknowledgements, redelivery after 30 s."""
    await ensure_durable(js, federation.CITY_STREAM, federation.CITY_CONSUMER)


async def ensure_durable(js, stream: str, durable: str) -> None:
    """A durable pull consumer of `stream`: explicit acknowledgements, redelivery after
    ACK_WAIT_SECONDS, at most MAX_DELIVER deliveries."""
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.consumer_info(stream, durable)
        return
    await js.add_consumer(stream, ConsumerConfig(
        durable_name=durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_SECONDS,
        max_deliver=MAX_DELIVER, max_ack_pending=1000))


def city_requests_stream_config() -> StreamConfig:
    """The city's requests to every hub (`jembatan.city.A.orders`, ...)."""
    return StreamConfig(
        name=federation.CITY_REQUESTS_STREAM, subjects=[federation.CITY_REQUESTS_SUBJECTS],
        retention=RetentionPolicy.LIMITS, storage=StorageType.FILE, discard=DiscardPolicy.OLD,
        max_age=STREAM_MAX_AGE_SECONDS, duplicate_window=DUPLICATE_WINDOW_SECONDS,
        description="Jembatan city: its requests to the hubs (orders, buyers' actions)")


def hub_requests_stream_config(hub_id: str) -> StreamConfig:
    """Hub `hub_id`'s copy of the city's requests to it, sourced over the leaf link."""
    return StreamConfig(
        name=federation.hub_requests_stream(hub_id), retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE, discard=DiscardPolicy.OLD, max_age=STREAM_MAX_AGE_SECONDS,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        sources=[StreamSource(name=federation.CITY_REQUESTS_STREAM,
                              filter_subject=federation.request_subject(hub_id),
                              external=ExternalStream(api=CITY_API,
                                                       deliver=down_prefix(hub_id)))],
        description=f"Jembatan hub {hub_id}: the city's requests to it, sourced")


class Relay:
    """One relay: `run()` until `stop` is set. `echo` reports what it does (the CLI's stderr)."""

    def __init__(self, config: dict, echo: Callable[[str], None] = log.info):
        self.config = config
        self.role = role_of(config)
        self.echo = echo
        self.stop = asyncio.Event()
        self.db = None
        self.connected = False
        # Every SQLite call runs here, one at a time, off the event loop (DECISIONS 309).
        self._db_thread = ThreadPoolExecutor(1, thread_name_prefix="relay-sqlite")
        self._redis, self._redis_url = None, None  # for handing news to RQ (DECISIONS 310)

    async def run(self) -> None:
        url = resolve_nats_url(self.config)
        if url is None:
            raise RelayNotConfigured(
                f"JEMBATAN_ROLE={self.role} needs a NATS server: set JEMBATAN_NATS_URL, or run "
                f"`jembatan up`, which starts an embedded one")
        self.db = await self._db(open_database, self.config["DATABASE_PATH"])
        try:
            await self._db(federation.sync_identity, self.db, self.config, utcnow())
            backoff = BACKOFF_MIN
            while not self.stop.is_set():
                try:
                    await self._session(url)
                    backoff = BACKOFF_MIN
                except _NATS_TROUBLE as error:
                    self.echo(f"relay: NATS at {url}: {type(error).__name__}: {error}; "
                              f"again in {backoff:g} s")
                    await self._pause(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
        finally:
            await self._db(self.db.conn.close)
            self._db_thread.shutdown(wait=False)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def _session(self, url: str) -> None:
        """One connection: set up the streams, then relay until stopped or the link breaks."""
        nc = await nats.connect(
            url, name=f"jembatan-relay-{self.role}", connect_timeout=2, reconnect_time_wait=0.5,
            max_reconnect_attempts=-1, allow_reconnect=True,
            disconnected_cb=self._disconnected, reconnected_cb=self._reconnected,
            error_cb=self._error)
        watcher = None
        try:
            self.connected = True
            js = nc.jetstream(timeout=5)
            watcher = asyncio.create_task(self._watch_links(nc, js))
            if self.role == "hub":
                await _first_failure(self._publish_forever(js), self._take_requests_forever(js))
            else:
                await _first_failure(self._apply_forever(js), self._publish_requests_forever(js))
        finally:
            self.connected = False
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError, *_NATS_TROUBLE):
                    await watcher
            with contextlib.suppress(*_NATS_TROUBLE):
                await nc.close()

    async def _disconnected(self) -> None:
        self.connected = False

    async def _reconnected(self) -> None:
        self.connected = True

    async def _error(self, error: Exception) -> None:
        log.debug("nats: %s", error)

    async def _watch_links(self, nc, js) -> None:
        """Every LINK_CHECK_SECONDS: is the other side's JetStream reachable (its domain's
        API answers over the leaf link)? Recorded for `jembatan hub status`. At the city, a
        hub's source that went inactive while its link was down is added again once the
        link is back: nats-server would otherwise wait up to a minute to retry it."""
        while not self.stop.is_set():
            await self._pause(LINK_CHECK_SECONDS)
            try:
                if self.role == "hub":
                    up = await _api_answers(nc, CITY_API)
                    await self._db(federation.record_link, self.db, "city", up=up, now=utcnow())
                    if up:
                        await self._resource_hub_requests(js)
                    continue
                info = await js.stream_info(federation.CITY_STREAM)
                sources = {source.name: source for source in info.sources or []}
                stalled = []
                for hub in city_hubs(self.config):
                    up = await _api_answers(nc, f"$JS.{hub_domain(hub)}.API")
                    source = sources.get(federation.hub_stream(hub))
                    lag = source.lag if source is not None else None
                    await self._db(federation.record_link, self.db, hub, up=up, now=utcnow(), lag=lag)
                    if up and _stalled(source):
                        stalled.append(hub)
                if stalled:
                    await _resource(js, city_hubs(self.config), stalled)
            except _NATS_TROUBLE as error:
                log.debug("link check: %s", error)

    async def _publish_forever(self, js) -> None:
        hub_id = self.config["JEMBATAN_HUB_ID"]
        await ensure_stream(js, hub_stream_config(hub_id))
        self.echo(f"relay: hub {hub_id} publishing to {federation.hub_stream(hub_id)}")
        while not self.stop.is_set():
            rows = await self._db(federation.unpublished, self.db, BATCH)
            if not rows:
                await self._pause(POLL_SECONDS)
                continue
            # An event is published once the commit that wrote it is on disk: a city must
            # not hold what a power cut at the hub takes back (DECISIONS 361).
            await self._db(sync_wal, self.db)
            acknowledged: list[int] = []
            try:
                await self._publish_rows(js, hub_id, rows, acknowledged)
            finally:
                await self._db(federation.mark_published, self.db, acknowledged, utcnow())

    async def _publish_rows(self, js, hub_id: str, rows: list[dict], acknowledged: list[int]) -> None:
        """Publish rows without waiting for each acknowledgement before sending the next
        (they go out in order on one connection; DECISIONS 331); a photo waits for what
        went before it and goes alone, chunks first. `acknowledged` gets the row ids
        JetStream acknowledged, also when one fails (the rest are sent again)."""
        pending: list[tuple[int, asyncio.Future]] = []

        async def settle() -> None:
            results = await asyncio.gather(*(future for _, future in pending), return_exceptions=True)
            acknowledged.extend(row_id for (row_id, _), result in zip(pending, results, strict=True)
                                if not isinstance(result, BaseException))
            pending.clear()
            failed = next((result for result in results if isinstance(result, BaseException)), None)
            if failed is not None:
                raise failed

        for row in rows:
            if row["entity"] == "photo":
                await settle()
                await self._publish_event(js, hub_id, row)
                acknowledged.append(row["id"])
                continue
            pending.append((row["id"], asyncio.ensure_future(self._publish_event(js, hub_id, row))))
            await asyncio.sleep(0)  # let it send before the next one is made
        await settle()

    async def _publish_event(self, js, hub_id: str, row: dict) -> None:
        """One event; a photo's chunks first, each its own message (DECISIONS 321)."""
        message = federation.message_of(hub_id, row)
        if row["entity"] == "photo":
            for index, part in enumerate(federation.photo_parts(media_dir(self.config), message)):
                await js.publish(federation.chunk_subject(hub_id, message["id"], index), part,
                                 headers={"Nats-Msg-Id": f"{message['id']}.{index}"})
        await js.publish(federation.event_subject(hub_id, row["entity"]),
                         json.dumps(message, ensure_ascii=False).encode(),
                         headers={"Nats-Msg-Id": message["id"]})

    async def _apply_forever(self, js) -> None:
        hubs = city_hubs(self.config)
        await ensure_stream(js, city_stream_config(hubs))
        await ensure_city_consumer(js)
        subscription = await js.pull_subscribe_bind(federation.CITY_CONSUMER, federation.CITY_STREAM)
        self.echo(f"relay: city applying {federation.CITY_STREAM} (hubs {', '.join(hubs)})")
        while not self.stop.is_set():
            try:
                messages = await subscription.fetch(BATCH, timeout=1)
            except nats.errors.TimeoutError:
                continue
            await self._apply_batch(messages)

    async def _apply_batch(self, messages: list) -> None:
        """A fetched batch in one transaction on the database thread, each event in its own
        savepoint (one commit, one fsync, instead of one per event: DECISIONS 331);
        acknowledged after the commit, so a crash before it redelivers events the city
        then finds applied or not at all. The news the order events caused goes to the
        workers after the commit."""
        answers, handover = await self._db(self._apply_all, messages)
        if any(message.subject.endswith(".photo") for message in messages):
            await self._db(federation.clear_applied_chunks, self.db, media_dir(self.config))
        for message, answer in answers:
            if answer == "nak":
                await message.nak(delay=NOT_READY_DELAY_SECONDS)
            elif answer == "term":
                await message.term()
            else:
                await message.ack()
        await self._hand_over(handover)

    def _apply_all(self, messages: list) -> tuple[list, Handover]:
        """On the database thread: the batch's transaction; (message, answer) pairs and the
        news to hand over. A locked database raises out of it whole (`_db` retries)."""
        handover = Handover()
        with transaction(self.db):
            answers = [(message, self._apply(message, handover)) for message in messages]
        return answers, handover

    def _apply(self, message, handover: Handover) -> str:
        """Apply one message in a savepoint: `ack`, `nak` (not ready yet) or `term`."""
        hub_id = federation.hub_of_subject(message.subject)
        try:
            with transaction(self.db):
                if federation.chunk_of_subject(message.subject):
                    federation.store_chunk(self.db, media_dir(self.config), message.subject, message.data)
                else:
                    _, news = apply_hub_event(self.db, self.config, json.loads(message.data),
                                              from_hub=hub_id, now=utcnow(),
                                              media_root=media_dir(self.config))
                    handover.add(news)
        except federation.EventNotReady as error:  # its chunks or its listing come first
            log.debug("not yet: %s", error)
            return "nak"
        except (ValueError, KeyError, TypeError) as error:  # InvalidEvent is a ValueError
            # Never applied, never retried: a hub that wrote it must be looked at.
            self.echo(f"relay: refused {message.subject} #{message.metadata.sequence.stream}: {error}")
            return "term"
        return "ack"

    # --- orders flow down (DECISIONS 300-319) ----------------------------------------------

    async def _db(self, function, *args, **kwargs):
        """Run one SQLite call on the relay's database thread. "database is locked" (a
        long writer elsewhere past the busy timeout) is waited out with backoff and
        logged; the call is one transaction, rolled back whole before it is tried again."""
        loop = asyncio.get_running_loop()
        backoff = BACKOFF_MIN
        while True:
            try:
                return await loop.run_in_executor(self._db_thread, lambda: function(*args, **kwargs))
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                self.echo(f"relay: SQLite {error}; {getattr(function, '__name__', function)} "
                          f"again in {backoff:g} s")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _hand_over(self, handover: Handover) -> None:
        """The news a message caused, to the workers (RQ) when Redis is there; otherwise
        the rows wait for the sweep, which finds them from SQLite alone."""
        if not handover:
            return
        url = resolve_redis_url(self.config)

        def give() -> None:
            if url and self._redis_url != url:  # one client, made on first use
                self._redis, self._redis_url = connect_redis(url), url
            dispatch(self._redis if url else None, self.db, handover, utcnow(), keep_sweep=True)

        try:
            await self._db(give)
        except Exception as error:  # noqa: BLE001 - the sweep hands the rows over anyway
            log.info("relay: hand-over left to the sweep: %s", error)

    async def _publish_requests_forever(self, js) -> None:
        """At the city: the request outbox to `JEMBATAN_CITY_REQUESTS`, oldest first, each
        marked published once JetStream acknowledged it (as the hub's events)."""
        await ensure_stream(js, city_requests_stream_config())
        while not self.stop.is_set():
            rows = await self._db(federation.unpublished_requests, self.db, BATCH)
            if not rows:
                await self._pause(POLL_SECONDS)
                continue
            acknowledged: list[int] = []
            try:
                for row in rows:
                    message = federation.request_message_of(row)
                    await js.publish(federation.request_subject(row["hub_id"]),
                                     json.dumps(message, ensure_ascii=False).encode(),
                                     headers={"Nats-Msg-Id": federation.request_msg_id(row)})
                    acknowledged.append(row["id"])
            finally:
                await self._db(federation.mark_requests_published, self.db, acknowledged, utcnow())

    async def _take_requests_forever(self, js) -> None:
        """At a hub: the city's requests, sourced into the hub's own stream, through the
        durable consumer `hub-requests`; each taken in one transaction, then acknowledged."""
        hub_id = self.config["JEMBATAN_HUB_ID"]
        await ensure_stream(js, hub_requests_stream_config(hub_id))
        stream = federation.hub_requests_stream(hub_id)
        await ensure_durable(js, stream, federation.HUB_CONSUMER)
        subscription = await js.pull_subscribe_bind(federation.HUB_CONSUMER, stream)
        self.echo(f"relay: hub {hub_id} taking requests from {stream}")
        while not self.stop.is_set():
            try:
                messages = await subscription.fetch(BATCH, timeout=1)
            except nats.errors.TimeoutError:
                continue
            for message in messages:
                await self._take(hub_id, message)

    async def _take(self, hub_id: str, message) -> None:
        try:
            request = json.loads(message.data)
            _, handover = await self._db(take_city_request, self.db, self.config, request,
                                         hub_id=hub_id, now=utcnow())
        except (ValueError, KeyError, TypeError) as error:  # InvalidEvent is a ValueError
            self.echo(f"relay: refused request #{message.metadata.sequence.stream}: {error}")
            await message.term()
            return
        await message.ack()
        await self._hand_over(handover)

    async def _resource_hub_requests(self, js) -> None:
        """At a hub whose link is up: a requests source silent too long is added again
        (the city's server restarted, or the city stream appeared after the hub's)."""
        config = hub_requests_stream_config(self.config["JEMBATAN_HUB_ID"])
        try:
            info = await js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            return
        sources = info.sources or []
        if not sources or _stalled(sources[0]):
            await _resource_stream(js, config, {federation.CITY_REQUESTS_STREAM})


def _stalled(source) -> bool:
    """A source that is missing, never active, or silent for SOURCE_STALLED_NS."""
    return source is None or source.active is None or not 0 <= source.active < SOURCE_STALLED_NS


async def _api_answers(nc, api: str) -> bool:
    """Whether the JetStream API at prefix `api` answers (over the leaf link)."""
    try:
        await nc.request(f"{api}.INFO", b"", timeout=1)
    except _NATS_TROUBLE:
        return False
    return True


async def _resource(js, hubs: list[str], stalled: list[str]) -> None:
    """Drop the stalled hubs' sources and add them back: sourcing resumes after the last
    message the city stream holds from each (the stream records where each copy came from)."""
    await _resource_stream(js, city_stream_config(hubs), {federation.hub_stream(hub) for hub in stalled})


async def _first_failure(*loops) -> None:
    """Run the loops together until one ends or fails; cancel the others, re-raise."""
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _resource_stream(js, config: StreamConfig, stalled: set[str]) -> None:
    """Drop the `stalled` sources of `config`'s stream and add them back."""
    everything = config.sources
    config.sources = [source for source in everything if source.name not in stalled]
    await js.update_stream(config)
    config.sources = everything
    await js.update_stream(config)


def run_relay(config: dict, echo: Callable[[str], None]) -> None:
    """Run the relay in this process until SIGTERM or SIGINT."""
    import signal

    async def main() -> None:
        relay = Relay(config, echo)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, relay.stop.set)
        await relay.run()

    asyncio.run(main())
