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

SQLite is the buffer of last resort: while the hub's nats-server is down events stay in the
outbox; while the leaf link is down they wait in the hub's stream. The relay reconnects
forever; nothing here gives up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

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

from bot.config import city_hubs, resolve_nats_url, role_of
from bot.nats_server import CITY_DOMAIN, hub_domain
from bot.services import federation
from bot.services.media import media_dir
from bot.storage import open_database, transaction, utcnow

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
                              external=ExternalStream(api=f"$JS.{hub_domain(hub)}.API"))
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
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.consumer_info(federation.CITY_STREAM, federation.CITY_CONSUMER)
        return
    await js.add_consumer(federation.CITY_STREAM, ConsumerConfig(
        durable_name=federation.CITY_CONSUMER, ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_SECONDS,
        max_deliver=MAX_DELIVER, max_ack_pending=1000))


class Relay:
    """One relay: `run()` until `stop` is set. `echo` reports what it does (the CLI's stderr)."""

    def __init__(self, config: dict, echo: Callable[[str], None] = log.info):
        self.config = config
        self.role = role_of(config)
        self.echo = echo
        self.stop = asyncio.Event()
        self.db = None
        self.connected = False

    async def run(self) -> None:
        url = resolve_nats_url(self.config)
        if url is None:
            raise RelayNotConfigured(
                f"JEMBATAN_ROLE={self.role} needs a NATS server: set JEMBATAN_NATS_URL, or run "
                f"`jembatan up`, which starts an embedded one")
        self.db = open_database(self.config["DATABASE_PATH"])
        try:
            federation.sync_identity(self.db, self.config, utcnow())
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
            self.db.conn.close()

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
                await self._publish_forever(js)
            else:
                await self._apply_forever(js)
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
                    up = await _domain_answers(nc, CITY_DOMAIN)
                    federation.record_link(self.db, "city", up=up, now=utcnow())
                    continue
                info = await js.stream_info(federation.CITY_STREAM)
                sources = {source.name: source for source in info.sources or []}
                stalled = []
                for hub in city_hubs(self.config):
                    up = await _domain_answers(nc, hub_domain(hub))
                    source = sources.get(federation.hub_stream(hub))
                    lag = source.lag if source is not None else None
                    federation.record_link(self.db, hub, up=up, now=utcnow(), lag=lag)
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
            rows = federation.unpublished(self.db, BATCH)
            if not rows:
                await self._pause(POLL_SECONDS)
                continue
            acknowledged: list[int] = []
            try:
                await self._publish_rows(js, hub_id, rows, acknowledged)
            finally:
                federation.mark_published(self.db, acknowledged, utcnow())

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
        """A fetched batch in one transaction, each event in its own savepoint (one commit,
        one fsync, instead of one per event: DECISIONS 331); acknowledged after the commit,
        so a crash before it redelivers events the city then finds applied or not at all."""
        with transaction(self.db):
            answers = [(message, self._apply(message)) for message in messages]
        if any(message.subject.endswith(".photo") for message in messages):
            federation.clear_applied_chunks(self.db, media_dir(self.config))
        for message, answer in answers:
            if answer == "nak":
                await message.nak(delay=NOT_READY_DELAY_SECONDS)
            elif answer == "term":
                await message.term()
            else:
                await message.ack()

    def _apply(self, message) -> str:
        """Apply one message in a savepoint: `ack`, `nak` (not ready yet) or `term`."""
        hub_id = federation.hub_of_subject(message.subject)
        try:
            with transaction(self.db):
                if federation.chunk_of_subject(message.subject):
                    federation.store_chunk(self.db, media_dir(self.config), message.subject, message.data)
                else:
                    federation.apply_event(self.db, json.loads(message.data), from_hub=hub_id,
                                           now=utcnow(), media_root=media_dir(self.config))
        except federation.EventNotReady as error:  # its chunks or its listing come first
            log.debug("not yet: %s", error)
            return "nak"
        except (ValueError, KeyError, TypeError) as error:  # InvalidEvent is a ValueError
            # Never applied, never retried: a hub that wrote it must be looked at.
            self.echo(f"relay: refused {message.subject} #{message.metadata.sequence.stream}: {error}")
            return "term"
        return "ack"


def _stalled(source) -> bool:
    """A source that is missing, never active, or silent for SOURCE_STALLED_NS."""
    return source is None or source.active is None or not 0 <= source.active < SOURCE_STALLED_NS


async def _domain_answers(nc, domain: str) -> bool:
    """Whether the JetStream of `domain` answers (its API over the leaf link)."""
    try:
        await nc.request(f"$JS.{domain}.API.INFO", b"", timeout=1)
    except _NATS_TROUBLE:
        return False
    return True


async def _resource(js, hubs: list[str], stalled: list[str]) -> None:
    """Drop the stalled hubs' sources and add them back: sourcing resumes after the last
    message the city stream holds from each (the stream records where each copy came from)."""
    config = city_stream_config(hubs)
    everything = config.sources
    config.sources = [source for source in everything
                      if source.name not in {federation.hub_stream(hub) for hub in stalled}]
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
