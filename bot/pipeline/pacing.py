"""Per-channel send rate shared by every worker, as a token bucket in Redis.

Providers throttle by segments per second (a Twilio long code sends one per second, an
Android phone far fewer before the OS objects). Each send reserves its segments; the
bucket answers how long to wait, so several workers on several machines together stay
at the configured rate. A rate of 0 means unpaced.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

# Reserve `cost` tokens and return the wait in milliseconds. The bucket may go negative:
# that is a queue of reservations, served in the order they were made. Redis's own clock
# is used so that workers on different machines agree; a test passes its own clock as
# ARGV[4] (milliseconds) to run the same script against simulated time.
_RESERVE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000) - cost
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], 3600000)
if tokens >= 0 then return 0 end
return math.ceil(-tokens * 1000 / rate)
"""


def burst_for(rate: float) -> float:
    """Tokens a bucket holds when full: a tenth of a second's worth, at least one segment.

    A small burst keeps the long-run rate honest: over any few seconds the rate stays
    within a few percent of the setting.
    """
    return max(1.0, rate / 10)


class Pacer:
    """Waits as long as needed before each send on a channel (see module docstring).

    `now_ms` and `sleep` are for tests: a clock in milliseconds handed to the script
    instead of Redis's TIME, and what waiting does. By default Redis keeps the time and
    the worker really sleeps.
    """

    def __init__(self, connection: redis.Redis, rates: dict[str, float],
                 now_ms: Callable[[], int] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.connection = connection
        self.rates = rates
        self._now_ms = now_ms
        self._sleep = sleep
        self._reserve = connection.register_script(_RESERVE)

    def wait_for(self, channel: str, segments: int = 1) -> float:
        """Reserve `segments` on `channel`, sleep until they are ours; return seconds slept."""
        rate = self.rates.get(channel) or 0
        if rate <= 0:
            return 0.0
        args = [rate, burst_for(rate), segments]
        if self._now_ms is not None:
            args.append(int(self._now_ms()))
        wait_ms = int(self._reserve(keys=[f"jembatan:pace:{channel}"], args=args))
        if wait_ms > 0:
            self._sleep(wait_ms / 1000)
        return wait_ms / 1000


def broadcast_rates(config: dict) -> dict[str, float]:
    """Configured segments per second for each channel's broadcast traffic."""
    return {
        "twilio_sms": float(config.get("BROADCAST_RATE_TWILIO_SMS") or 0),
        "twilio_whatsapp": float(config.get("BROADCAST_RATE_TWILIO_WHATSAPP") or 0),
        "android_sms": float(config.get("BROADCAST_RATE_ANDROID_SMS") or 0),
    }
