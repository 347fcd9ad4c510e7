"""Lease times, re-enqueue graces and the one backoff rule, for every kind of work row.

Outbox rows, webhook relays, photo downloads and payout submissions all follow the same
pattern: a worker claims a row with a lease (so a dead worker's row is taken back), a
row handed to RQ is not handed over again for a grace period (so the sweep does not pile
up duplicate jobs behind a slow queue), and a retryable failure waits longer each time.
Keeping the numbers here keeps the kinds from drifting apart.
"""

from __future__ import annotations

from datetime import timedelta

#: How long a worker may hold a claimed row before the sweep takes it back.
OUTBOX_LEASE = timedelta(seconds=120)
RELAY_LEASE = timedelta(seconds=120)
PAYOUT_SUBMIT_LEASE = timedelta(seconds=120)

#: A row handed to RQ this recently is not handed over again by the sweep.
OUTBOX_ENQUEUE_GRACE = timedelta(seconds=60)
RELAY_ENQUEUE_GRACE = timedelta(seconds=60)
MEDIA_ENQUEUE_GRACE = timedelta(minutes=10)

#: An inbound message unprocessed for this long was dropped by a crash: process it again.
INBOUND_GRACE = timedelta(seconds=30)

#: No retry waits longer than this, whatever the kind.
MAX_RETRY_DELAY = timedelta(hours=1)


def backoff_delay(attempts: int, base_seconds: float, cap: timedelta = MAX_RETRY_DELAY) -> timedelta:
    """The wait after the `attempts`-th failed try: `base_seconds` doubled per earlier try,
    at most `cap`.

    The exponent is bounded: past the cap it changes nothing, and 2**1000 seconds would
    overflow a timedelta.
    """
    exponent = min(max(attempts - 1, 0), 30)
    return min(timedelta(seconds=base_seconds * 2 ** exponent), cap)
