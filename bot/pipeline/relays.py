"""Post webhook relays (order news) to buyers' own systems: signed JSON, in order per order.

Runs in an RQ job (`bot.jobs.deliver_webhook_job`), never in a request: a buyer's server
may be slow or down. As with the message outbox, the row is claimed (with a lease) in a
transaction, the POST happens outside any transaction, and the answer is recorded after.
Any 2xx is success; anything else (a network error, a timeout, any other status) is
retried with backoff until the row's `give_up_after`, then it is failed and listed for
coordinators. The body is the row's stored payload, byte for byte, on every attempt;
the timestamp and signature headers are made fresh for each attempt.

Headers (README, "Webhook relays", has the verification recipe):

    X-Jembatan-Event-Id     evt_...      the same on every retry: dedupe on it
    X-Jembatan-Event-Type   order.accepted, order.shipped, ...
    X-Jembatan-Timestamp    unix seconds of this attempt
    X-Jembatan-Signature    v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlite_utils
import urllib3

from bot.services import buyers, webhooks
from bot.services.handover import Handover
from bot.storage import utcnow

log = logging.getLogger(__name__)

USER_AGENT = "Jembatan-Webhooks/1"


@dataclass(frozen=True)
class RelayOutcome:
    """What one attempt did: delivered, retry (at `retry_at`), failed or skipped; and the
    next relay of the same order, now free to go."""

    status: str
    retry_at: datetime | None = None
    next_delivery_id: int | None = None

    @property
    def handover(self) -> Handover:
        """The order's next relay, now free to go."""
        return Handover(relay_ids=[self.next_delivery_id] if self.next_delivery_id else [])


def deliver_webhook(db: sqlite_utils.Database, config: dict, delivery_id: int,
                    now: datetime | None = None) -> RelayOutcome:
    """Post one relay if it is due and first in line for its order; record the answer.

    Safe to call any number of times for the same row: only the call that claims it posts.
    """
    now = now or utcnow()
    row = webhooks.claim(db, delivery_id, now, float(config.get("WEBHOOK_RETRY_HOURS") or 24))
    if row is None:
        return RelayOutcome("skipped")
    buyer = buyers.get_buyer(db, row["buyer_id"])
    status_code = None
    if not buyer["webhook_url"] or not buyer["webhook_secret"]:
        # The webhook was switched off after the event: keep trying until a coordinator
        # sets one again (`jembatan buyer webhook`) or the row gives up.
        error = "no webhook URL for this buyer"
    else:
        status_code, error = _post(config, buyer, row, now)
        if error is None:
            webhooks.record_delivered(db, row, status_code, now)
            return RelayOutcome("delivered", next_delivery_id=webhooks.next_in_line(db, row))
    retry_at = webhooks.record_failure(
        db, row, status_code, error, now,
        base_delay_seconds=float(config.get("WEBHOOK_RETRY_BASE_SECONDS") or 0))
    log.info("webhook relay %s (%s): %s, next try %s", delivery_id, row["event_type"], error, retry_at)
    if retry_at is None:
        return RelayOutcome("failed", next_delivery_id=webhooks.next_in_line(db, row))
    return RelayOutcome("retry", retry_at)


def _post(config: dict, buyer: dict, row: dict, now: datetime) -> tuple[int | None, str | None]:
    """POST the payload; (HTTP status or None, error text or None when it was a 2xx)."""
    body = row["payload"].encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Jembatan-Event-Id": row["event_id"],
        "X-Jembatan-Event-Type": row["event_type"],
        "X-Jembatan-Timestamp": timestamp,
        "X-Jembatan-Signature": webhooks.sign(buyer["webhook_secret"], timestamp, body),
    }
    try:
        # A total deadline, not urllib3's per-read one: a server trickling its answer must
        # not keep us past the row's lease (another worker would claim it meanwhile).
        deadline = min(float(config.get("PROVIDER_TIMEOUT_SECONDS") or 10),
                       webhooks.LEASE.total_seconds() / 2)
        response = _pool().request("POST", buyer["webhook_url"], body=body, headers=headers,
                                   timeout=urllib3.Timeout(total=deadline), retries=False,
                                   redirect=False)
    except urllib3.exceptions.HTTPError as exc:
        return None, f"network: {type(exc).__name__}"
    if 200 <= response.status < 300:
        return response.status, None
    return response.status, f"http_{response.status}: {response.data[:200].decode('utf-8', 'replace')}"


@lru_cache(maxsize=1)
def _pool() -> urllib3.PoolManager:
    """One connection pool per worker process, shared by every buyer's server."""
    return urllib3.PoolManager(num_pools=20, maxsize=2)
