"""The broadcast pacer against the real Redis script, on simulated time.

The script takes the clock from the caller when one is given, and the pacer's sleep is
injected, so these tests run hours of sending in milliseconds and say nothing about how
fast this machine is. Several pacers (each with its own Redis connection, as workers on
different machines have) share one channel's bucket.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from itertools import accumulate

import redis as redis_lib
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.pipeline.pacing import Pacer, broadcast_rates, burst_for

_channels = itertools.count(1)


@dataclass
class Clock:
    """Simulated time in milliseconds, shared by every simulated worker."""

    now: int = 1_750_000_000_000

    def now_ms(self) -> int:
        return self.now


@dataclass
class Send:
    reserved_at: int  # ms, when the worker asked
    sent_at: int  # ms, when its wait was over
    segments: int


@dataclass
class Worker:
    """One worker: its own connection and pacer, the messages it will send, what it slept."""

    pacer: Pacer
    messages: list[tuple[int, int]]  # (pause before asking, in ms; segments)
    slept: list[float] = field(default_factory=list)


def simulate(redis_url: str, rate: float, plans: list[list[tuple[int, int]]]) -> list[Send]:
    """Run workers against one channel in simulated time; return every send, in call order.

    Each worker pauses, asks the pacer for its message's segments, "sleeps" the answer
    (the clock moves instead), sends, and goes on to its next message. The earliest
    worker always goes next, so the shared clock never runs backwards.
    """
    clock, channel = Clock(), f"test-{next(_channels)}"
    workers = []
    for plan in plans:
        slept: list[float] = []
        pacer = Pacer(redis_lib.Redis.from_url(redis_url), {channel: rate},
                      now_ms=clock.now_ms, sleep=slept.append)
        workers.append(Worker(pacer, plan, slept))
    start = clock.now
    ready = [(start + w.messages[0][0], n, 0) for n, w in enumerate(workers) if w.messages]
    heapq.heapify(ready)
    sends = []
    while ready:
        at, n, position = heapq.heappop(ready)
        worker = workers[n]
        clock.now = at
        segments = worker.messages[position][1]
        before = len(worker.slept)
        waited = worker.pacer.wait_for(channel, segments)
        assert worker.slept[before:] == ([waited] if waited else [])  # it slept what it said
        sent_at = at + round(waited * 1000)
        sends.append(Send(at - start, sent_at - start, segments))
        if position + 1 < len(worker.messages):
            heapq.heappush(ready, (sent_at + worker.messages[position + 1][0], n, position + 1))
    return sends


def assert_never_faster_than(rate: float, sends: list[Send]) -> None:
    """Over any window [a, b], the segments sent in it are at most the burst (or one message,
    if a message is longer than the burst) plus rate x (b - a), with 1 ms for rounding."""
    burst = burst_for(rate)
    ordered = sorted(sends, key=lambda s: s.sent_at)
    totals = [0, *accumulate(s.segments for s in ordered)]
    for i, first in enumerate(ordered):
        longest = 0
        for j in range(i, len(ordered)):
            last = ordered[j]
            longest = max(longest, last.segments)
            sent = totals[j + 1] - totals[i]
            allowed = max(burst, longest) + rate * (last.sent_at - first.sent_at + 1) / 1000
            assert sent <= allowed + 1e-9, (
                f"{sent} segments between {first.sent_at} ms and {last.sent_at} ms at {rate}/s "
                f"(at most {allowed:.3f})")


rates = st.one_of(st.sampled_from([0.5, 1.0, 10.0, 250.0]),
                  st.floats(min_value=0.1, max_value=1000, allow_nan=False, allow_infinity=False))
messages = st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 3)), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(rate=rates, plans=st.lists(messages, min_size=1, max_size=4))
def test_never_faster_than_the_rate_over_any_window(shared_redis, rate, plans):
    sends = simulate(shared_redis.url, rate, plans)
    assert len(sends) == sum(len(plan) for plan in plans)
    assert all(s.sent_at >= s.reserved_at for s in sends)
    assert_never_faster_than(rate, sends)


@settings(max_examples=100, deadline=None)
@given(rate=rates, segments=st.lists(st.lists(st.integers(1, 3), min_size=1, max_size=30),
                                     min_size=1, max_size=4))
def test_a_busy_channel_runs_at_the_rate_not_slower(shared_redis, rate, segments):
    """Workers that never pause: the last send is when the rate (after the burst) allows it."""
    sends = simulate(shared_redis.url, rate, [[(0, s) for s in plan] for plan in segments])
    assert_never_faster_than(rate, sends)
    total = sum(s.segments for s in sends)
    earliest_possible = max(0.0, (total - burst_for(rate)) / rate * 1000)
    assert max(s.sent_at for s in sends) <= earliest_possible + 1


def test_first_message_goes_at_once_and_the_next_waits_its_turn(shared_redis):
    sends = simulate(shared_redis.url, 1.0, [[(0, 1), (0, 1), (0, 2)], [(500, 1)]])
    # 1/s, burst 1: at 0 ms; the second worker asks at 500 ms and waits for 1000 ms;
    # then the first worker's second message at 2000 ms and its two segments at 4000 ms.
    assert [(s.reserved_at, s.sent_at) for s in sends] == [(0, 0), (0, 1000), (500, 2000), (1000, 4000)]


def test_unpaced_channel_neither_waits_nor_asks_redis(shared_redis):
    slept = []
    dead = redis_lib.Redis(host="127.0.0.1", port=1)  # nothing listens: a call would raise
    pacer = Pacer(dead, broadcast_rates({"BROADCAST_RATE_ANDROID_SMS": "0"}), sleep=slept.append)
    assert [pacer.wait_for("android_sms", 3) for _ in range(100)] == [0.0] * 100
    assert slept == []


def test_without_a_clock_redis_keeps_the_time(shared_redis):
    """Production: no clock given, the script reads Redis's TIME; the wait is still injected."""
    slept = []
    channel = f"test-{next(_channels)}"
    pacer = Pacer(redis_lib.Redis.from_url(shared_redis.url), {channel: 0.001}, sleep=slept.append)
    assert pacer.wait_for(channel) == 0.0
    second = pacer.wait_for(channel)  # one segment per 1000 s: this one waits almost all of it
    assert slept == [second] and 900 < second <= 1000
