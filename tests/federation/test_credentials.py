"""Credentials per hub (issue 18, DECISIONS 323): at the city's nats-server each hub logs
in as its own user, whose permissions let it publish only its own subjects (and the
replies sourcing needs) and hear nothing meant for another hub's JetStream domain. Real
nats-server processes; a hub is played by its own server with a client on it, as the
relay would be."""

from __future__ import annotations

import asyncio
import contextlib

import nats
import nats.errors

from bot.nats_server import CITY_DOMAIN, NatsServer, hub_domain
from bot.redis_server import free_port
from tests.waiting import wait_until

WAIT = 60  # seconds: bounds a hang on a loaded machine, measures nothing


def _city(tmp_path, leaf_port):
    return NatsServer(tmp_path / "city", free_port(), CITY_DOMAIN, leaf_port=leaf_port,
                      users={"hub-a": "secret-a", "hub-b": "secret-b"}).start()


def _hub(tmp_path, name, leaf_port, *, domain, user=None, password=None):
    return NatsServer(tmp_path / name, free_port(), domain, leaf_remote=f"nats-leaf://127.0.0.1:{leaf_port}",
                      leaf_user=user, leaf_password=password).start()


async def _until_heard(city, hub, subject: str) -> None:
    """Publish `subject` at the hub until the city hears it (the leaf link is up)."""
    heard = asyncio.Event()

    async def hear(_message) -> None:
        heard.set()

    sub = await city.subscribe(subject, cb=hear)
    async with asyncio.timeout(WAIT):
        while not heard.is_set():
            await hub.publish(subject, b"ping")
            await hub.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(heard.wait(), 0.2)
    await sub.unsubscribe()


async def _answers(client, domain: str) -> bool:
    try:
        await client.request(f"$JS.{domain}.API.INFO", b"", timeout=1)
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
        return False
    return True


def test_hub_a_cannot_publish_on_hub_bs_subjects_nor_touch_the_citys_streams(tmp_path):
    leaf_port = free_port()
    city_server = _city(tmp_path, leaf_port)
    hub_a = _hub(tmp_path, "hub-a", leaf_port, domain=hub_domain("A"), user="hub-a", password="secret-a")

    async def scenario():
        city = await nats.connect(city_server.url)
        hub = await nats.connect(hub_a.url)
        try:
            got: list[str] = []
            done = asyncio.Event()

            async def heard(message):
                if message.subject.endswith(".ping"):
                    return  # the link probe below, not one of the messages checked
                got.append(message.subject)
                if message.subject.endswith(".last"):
                    done.set()

            # Subscribed before the probe: the city tells the hub of its interests in order,
            # so once the probe is heard the hub knows this one too (subscribed after it, a
            # publish could beat the interest to the hub and be dropped: a 60 s hang).
            await city.subscribe("jembatan.hub.>", cb=heard)
            await city.flush()
            await _until_heard(city, hub, "jembatan.hub.A.ping")
            # One connection, one link: had B's gone through, it would arrive before A's.
            await hub.publish("jembatan.hub.B.events.listing", b'{"hub": "B"}')
            await hub.publish("jembatan.hub.A.events.last", b'{"hub": "A"}')
            await hub.flush()
            await asyncio.wait_for(done.wait(), WAIT)
            assert got == ["jembatan.hub.A.events.last"]

            # The city's JetStream: hub A may ask whether it answers, nothing more.
            js = city.jetstream(timeout=5)
            await js.add_stream(name="JEMBATAN_CITY", subjects=["city.only"])
            assert await _answers(hub, CITY_DOMAIN)
            try:
                await hub.request(f"$JS.{CITY_DOMAIN}.API.STREAM.DELETE.JEMBATAN_CITY", b"", timeout=1)
                raise AssertionError("hub A deleted the city's stream")
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                pass
            assert (await js.stream_info("JEMBATAN_CITY")).config.name == "JEMBATAN_CITY"
        finally:
            await hub.close()
            await city.close()

    try:
        asyncio.run(scenario())
    finally:
        hub_a.stop()
        city_server.stop()


def test_a_hub_with_another_hubs_domain_cannot_answer_for_it(tmp_path):
    """DECISIONS 280's gap, closed: a server logged in as hub A but configured with hub B's
    JetStream domain never hears the city's requests for `hub-b` (so the city's source for
    B cannot be fed by it); the same server with B's own credentials does."""
    leaf_port = free_port()
    city_server = _city(tmp_path, leaf_port)

    async def city_sees(server, letter: str) -> bool:
        city = await nats.connect(city_server.url)
        hub = await nats.connect(server.url)
        try:
            await _until_heard(city, hub, f"jembatan.hub.{letter}.ping")
            return await _answers(city, hub_domain("B"))
        finally:
            await hub.close()
            await city.close()

    try:
        rogue = _hub(tmp_path, "rogue", leaf_port, domain=hub_domain("B"), user="hub-a",
                     password="secret-a")
        try:
            assert not asyncio.run(city_sees(rogue, "A"))
        finally:
            rogue.stop()
        real = _hub(tmp_path, "hub-b", leaf_port, domain=hub_domain("B"), user="hub-b",
                    password="secret-b")
        try:
            assert asyncio.run(city_sees(real, "B"))
        finally:
            real.stop()
    finally:
        city_server.stop()


def test_a_hub_without_credentials_is_refused(tmp_path):
    leaf_port = free_port()
    city_server = _city(tmp_path, leaf_port)
    stranger = _hub(tmp_path, "stranger", leaf_port, domain=hub_domain("C"))
    log = tmp_path / "city" / "nats-server.log"  # the city says why it closed the link
    try:
        refused = "Leafnode connection closed: Authentication Failure"
        wait_until(lambda: refused in log.read_text(), timeout=WAIT,
                   what="the city to refuse a leaf without credentials")

        async def probe():
            city = await nats.connect(city_server.url)
            try:
                return await _answers(city, hub_domain("C"))
            finally:
                await city.close()

        assert not asyncio.run(probe())
    finally:
        stranger.stop()
        city_server.stop()


def test_a_hub_sources_its_own_share_of_the_citys_requests_and_no_other(tmp_path):
    """Orders flow down by each hub sourcing its subject of the city's request stream; the
    one consumer hub A may create there names its own filter."""
    from nats.js.api import ExternalStream, StreamConfig, StreamSource

    from bot.nats_server import CITY_REQUESTS_STREAM

    leaf_port = free_port()
    city_server = _city(tmp_path, leaf_port)
    hub_a = _hub(tmp_path, "hub-a", leaf_port, domain=hub_domain("A"), user="hub-a", password="secret-a")

    def source(name: str, letter: str) -> StreamConfig:
        return StreamConfig(name=name, sources=[StreamSource(
            name=CITY_REQUESTS_STREAM, filter_subject=f"jembatan.city.{letter}.orders",
            external=ExternalStream(api=f"$JS.{CITY_DOMAIN}.API"))])

    async def scenario():
        city = await nats.connect(city_server.url)
        hub = await nats.connect(hub_a.url)
        try:
            await _until_heard(city, hub, "jembatan.hub.A.ping")
            js, hub_js = city.jetstream(timeout=5), hub.jetstream(timeout=5)
            await js.add_stream(name=CITY_REQUESTS_STREAM, subjects=["jembatan.city.*.orders"])
            await js.publish("jembatan.city.B.orders", b"for B")
            await js.publish("jembatan.city.A.orders", b"for A")
            await hub_js.add_stream(source("STOLEN", "B"))  # first: it had every chance
            await hub_js.add_stream(source("JEMBATAN_HUB_A_REQUESTS", "A"))
            async with asyncio.timeout(WAIT):
                while (await hub_js.stream_info("JEMBATAN_HUB_A_REQUESTS")).state.messages < 1:
                    await asyncio.sleep(0.05)
            assert (await hub_js.stream_info("STOLEN")).state.messages == 0
        finally:
            await hub.close()
            await city.close()

    try:
        asyncio.run(scenario())
    finally:
        hub_a.stop()
        city_server.stop()
