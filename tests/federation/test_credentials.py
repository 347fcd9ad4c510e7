"""Credentials per hub (issue 18, DECISIONS 323, 430-433): at the city's nats-server each
hub logs in as its own user in an account of its own (`HUB_A`), which shares with the
city's account only what sourcing needs, subject by subject, and nothing with another
hub's. Real nats-server processes; a hub is played by its own server with a client on it,
as the relay would be, and by the strongest attacker its credentials make: a client of
its own, logged in at the city as hub A (what a modified nats-server at A could do)."""

from __future__ import annotations

import asyncio
import contextlib

import nats
import nats.errors
import nats.js.errors

from bot import relay
from bot.nats_server import CITY_API, CITY_DOMAIN, NatsServer, down_prefix, hub_domain, up_prefix
from bot.redis_server import free_port
from bot.services import federation
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


async def _refused(client, subject: str, body: bytes = b"") -> bool:
    """A request nobody answers, or answered with an error (a JetStream API that is not
    the one asked for: a hub's account has none of its own)."""
    try:
        answer = await client.request(subject, body, timeout=1)
    except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
        return True
    return b'"error"' in answer.data


async def _messages(js, stream: str) -> int:
    return (await js.stream_info(stream)).state.messages


async def _until(predicate, what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not await predicate():
            await asyncio.sleep(0.05)


def test_hub_as_credentials_reach_nothing_of_hub_b(tmp_path):
    """Hubs A and B source into the city and take their requests from it, as the relays set
    them up; then hub A's credentials, at the city, try to publish into, read, purge and
    delete B's stream (on B's server and the city's copy), publish on B's subjects, and act
    on the city's requests stream for B. Every attempt is refused and changes nothing;
    sourcing carries on for both hubs."""
    leaf_port = free_port()
    city_server = _city(tmp_path, leaf_port)
    hubs = {letter: _hub(tmp_path, f"hub-{letter.lower()}", leaf_port, domain=hub_domain(letter),
                         user=hub_domain(letter), password=f"secret-{letter.lower()}")
            for letter in "AB"}
    attacker_url = f"nats://hub-a:secret-a@127.0.0.1:{city_server.port}"

    async def scenario():
        city = await nats.connect(city_server.url)
        hub = {letter: await nats.connect(server.url) for letter, server in hubs.items()}
        attacker = await nats.connect(attacker_url)  # hub A's password, at the city
        js, hub_js = city.jetstream(timeout=5), {h: c.jetstream(timeout=5) for h, c in hub.items()}
        heard: list[str] = []

        async def overheard(message) -> None:
            heard.append(message.subject)

        try:
            for letter in "AB":
                await _until_heard(city, hub[letter], f"jembatan.hub.{letter}.ping")
                await relay.ensure_stream(hub_js[letter], relay.hub_stream_config(letter))
                await hub_js[letter].publish(federation.event_subject(letter, "listing"), letter.encode())
            await relay.ensure_stream(js, relay.city_requests_stream_config())
            await relay.ensure_stream(js, relay.city_stream_config(["A", "B"]))
            for letter in "AB":
                await js.publish(federation.request_subject(letter), f"for {letter}".encode())
                await relay.ensure_stream(hub_js[letter], relay.hub_requests_stream_config(letter))
            hub_b_stream, b_requests = federation.hub_stream("B"), federation.hub_requests_stream("B")

            async def settled() -> bool:
                return (await _messages(js, federation.CITY_STREAM) == 2
                        and all([await _messages(hub_js[h], federation.hub_requests_stream(h)) == 1
                                 for h in "AB"]))

            await _until(settled, "both hubs sourced both ways")
            # Hub A listens to everything its account could carry, its own server too.
            for client in (attacker, hub["A"]):
                await client.subscribe(">", cb=overheard)
                await client.flush()

            # B's stream, on B's server, through B's JetStream domain: not there for A.
            api_b = f"$JS.{hub_domain('B')}.API"
            attempts = [(client, f"{api_b}.{action}", b'{"seq": 1}')
                        for client in (attacker, hub["A"])
                        for action in (f"STREAM.INFO.{hub_b_stream}", f"STREAM.PURGE.{hub_b_stream}",
                                       f"STREAM.DELETE.{hub_b_stream}", f"STREAM.MSG.GET.{hub_b_stream}",
                                       f"STREAM.MSG.DELETE.{hub_b_stream}",
                                       f"CONSUMER.CREATE.{hub_b_stream}",
                                       f"CONSUMER.CREATE.{b_requests}", f"STREAM.PURGE.{b_requests}")]
            # The city's JetStream: the link check and A's own consumer, nothing else.
            for client in (attacker, hub["A"], hub["B"]):  # every hub's link check answers
                assert not await _refused(client, f"{CITY_API}.INFO")
            stolen = (b'{"stream_name": "%s", "config": {"name": "stolen", "filter_subject": '
                      b'"jembatan.city.B.orders", "deliver_subject": "jembatan.down.A.x"}}'
                      % federation.CITY_REQUESTS_STREAM.encode())
            attempts += [(attacker, f"{prefix}.{action}", b'{"seq": 1}' if "MSG" in action else stolen)
                         for prefix in (CITY_API, f"$JS.{CITY_DOMAIN}.API", "$JS.API")
                         for action in (f"STREAM.INFO.{federation.CITY_STREAM}",
                                        f"STREAM.PURGE.{federation.CITY_STREAM}",
                                        f"STREAM.DELETE.{federation.CITY_STREAM}",
                                        f"STREAM.MSG.GET.{federation.CITY_STREAM}",
                                        f"STREAM.MSG.DELETE.{federation.CITY_STREAM}",
                                        f"STREAM.UPDATE.{federation.CITY_STREAM}",
                                        f"STREAM.PURGE.{federation.CITY_REQUESTS_STREAM}",
                                        f"STREAM.MSG.GET.{federation.CITY_REQUESTS_STREAM}",
                                        f"CONSUMER.CREATE.{federation.CITY_REQUESTS_STREAM}.stolen."
                                        f"{federation.request_subject('B')}",
                                        f"CONSUMER.CREATE.{federation.CITY_REQUESTS_STREAM}.stolen",
                                        f"CONSUMER.CREATE.{federation.CITY_STREAM}.stolen",
                                        f"CONSUMER.LIST.{federation.CITY_REQUESTS_STREAM}",
                                        f"CONSUMER.DELETE.{federation.CITY_REQUESTS_STREAM}.x",
                                        "STREAM.LIST", "STREAM.NAMES")]
            refusals = await asyncio.gather(*(_refused(*attempt) for attempt in attempts))
            assert [subject for (_, subject, _), refused in zip(attempts, refusals, strict=True)
                    if not refused] == []
            # A's own consumer of its requests, delivering into B's JetStream API: the
            # city's account must not carry it there (a purge of B's stream, review 2026-12-04).
            evil = (b'{"stream_name": "%s", "config": {"name": "evil", "filter_subject": '
                    b'"jembatan.city.A.orders", "deliver_policy": "all", "ack_policy": "none", '
                    b'"deliver_subject": "%s.STREAM.PURGE.%s"}}'
                    % (federation.CITY_REQUESTS_STREAM.encode(), api_b.encode(), hub_b_stream.encode()))
            created = await attacker.request(
                f"{CITY_API}.CONSUMER.CREATE.{federation.CITY_REQUESTS_STREAM}.evil."
                f"{federation.request_subject('A')}", evil, timeout=5)
            assert b'"error"' not in created.data  # A's own share: allowed

            async def tried() -> bool:  # delivered, or dropped for want of interest (5 s)
                try:
                    info = await js.consumer_info(federation.CITY_REQUESTS_STREAM, "evil")
                except nats.js.errors.NotFoundError:
                    return True
                return info.delivered.stream_seq >= 1

            await _until(tried, "the consumer delivered into B's API or was dropped")
            assert await _messages(hub_js["B"], hub_b_stream) == 1  # not purged

            # Publishing as B, into the city's copies and its requests for B, and into B's
            # deliveries both ways.
            forged = {federation.event_subject("B", "listing"), f"{up_prefix('B')}.x",
                      f"{down_prefix('B')}.x", federation.request_subject("B"),
                      federation.chunk_subject("B", "B-1-1", 0)}
            for subject in forged:
                await attacker.publish(subject, b'{"hub": "B"}')
            await attacker.flush()

            # Still flowing for B, and hub A heard nothing of B's.
            await hub_js["B"].publish(federation.event_subject("B", "listing"), b"B again")
            await js.publish(federation.request_subject("B"), b"for B again")
            await js.publish(federation.request_subject("A"), b"for A again")

            async def flowed() -> bool:
                return (await _messages(js, federation.CITY_STREAM) == 3
                        and await _messages(hub_js["B"], b_requests) == 2
                        and await _messages(hub_js["A"], federation.hub_requests_stream("A")) == 2)

            await _until(flowed, "B's events and requests flowing after the attacks")
            await hub["A"].flush()
            await attacker.flush()
            assert await _messages(hub_js["B"], hub_b_stream) == 2
            assert await _messages(js, federation.CITY_REQUESTS_STREAM) == 4  # nothing forged
            # B's data: its events, its deliveries both ways, the city's requests for it
            # (what hub A itself forged aside).
            of_b = ("jembatan.hub.B.", f"{up_prefix('B')}.", f"{down_prefix('B')}.", "jembatan.city.B.")
            assert [subject for subject in heard if subject.startswith(of_b) and subject not in forged] == []
            # The listeners did listen: hub A's own requests reached both of them.
            assert sum(subject.startswith(f"{down_prefix('A')}.") for subject in heard) >= 2
        finally:
            await attacker.close()
            for client in hub.values():
                await client.close()
            await city.close()

    try:
        asyncio.run(scenario())
    finally:
        for server in hubs.values():
            server.stop()
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
    one consumer hub A may create there names its own filter, whatever deliver subject or
    API prefix its stream's source names."""
    from nats.js.api import ExternalStream, StreamConfig, StreamSource

    leaf_port = free_port()
    city_server = _city(tmp_path, leaf_port)
    hub_a = _hub(tmp_path, "hub-a", leaf_port, domain=hub_domain("A"), user="hub-a", password="secret-a")

    def stolen(name: str, api: str, deliver: str) -> StreamConfig:
        return StreamConfig(name=name, sources=[StreamSource(
            name=federation.CITY_REQUESTS_STREAM, filter_subject=federation.request_subject("B"),
            external=ExternalStream(api=api, deliver=deliver))])

    async def scenario():
        city = await nats.connect(city_server.url)
        hub = await nats.connect(hub_a.url)
        try:
            await _until_heard(city, hub, "jembatan.hub.A.ping")
            js, hub_js = city.jetstream(timeout=5), hub.jetstream(timeout=5)
            await relay.ensure_stream(js, relay.city_requests_stream_config())
            await js.publish(federation.request_subject("B"), b"for B")
            await js.publish(federation.request_subject("A"), b"for A")
            # first: they had every chance
            await hub_js.add_stream(stolen("STOLEN", CITY_API, down_prefix("A")))
            await hub_js.add_stream(stolen("STOLEN_B", CITY_API, down_prefix("B")))
            await hub_js.add_stream(stolen("STOLEN_DOMAIN", f"$JS.{CITY_DOMAIN}.API", down_prefix("A")))
            await relay.ensure_stream(hub_js, relay.hub_requests_stream_config("A"))

            async def taken() -> bool:
                return await _messages(hub_js, federation.hub_requests_stream("A")) == 1

            await _until(taken, "hub A to source its own request")
            for name in ("STOLEN", "STOLEN_B", "STOLEN_DOMAIN"):
                assert await _messages(hub_js, name) == 0, name
        finally:
            await hub.close()
            await city.close()

    try:
        asyncio.run(scenario())
    finally:
        hub_a.stop()
        city_server.stop()
