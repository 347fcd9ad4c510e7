"""The village hub's Android phone ("SMS Gateway for Android", local server mode).

Inbound SMS arrive as signed webhooks (`sms:received`); we send by `POST /messages` on
the phone. We supply the message `id` ourselves (`jbt-<outbox id>`): the gateway answers
409 to a second message with the same id, so a resend after a crashed worker can never
text the farmer twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime
from functools import lru_cache

import urllib3

from bot.channels.base import PermanentSendError, RetryableSendError, SendResult, classify_http_failure

#: What the app sends: unix seconds, and a lower-case hex SHA-256 HMAC. Anything else
#: (a 400-digit or non-ASCII timestamp, a non-ASCII signature) is refused before any
#: arithmetic or comparison is tried on it.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")

#: Gateway delivery events and the outbox provider status each maps to.
EVENT_STATUS = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}


def gateway_message_id(outbox_id: int) -> str:
    """Our id for an outbox row on the gateway (≤36 characters as the API requires)."""
    return f"jbt-{outbox_id}"


def outbox_id_from_message_id(message_id: str) -> int | None:
    """The outbox row a gateway message id belongs to, if it is one of ours."""
    if message_id and message_id.startswith("jbt-") and message_id[4:].isdigit():
        return int(message_id[4:])
    return None


def compute_signature(signing_key: str, body: bytes, timestamp: str) -> str:
    """Lower-case hex HMAC-SHA256 of raw body + timestamp text, as the gateway signs."""
    return hmac.new(signing_key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def verify_signature(
    signing_key: str, body: bytes, timestamp: str | None, signature: str | None,
    now: datetime, max_skew_seconds: int,
) -> str | None:
    """Return None when the webhook is authentic and fresh, else the reason it is not."""
    if not timestamp or not signature:
        return "missing_signature"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "bad_timestamp"
    sent_at = int(timestamp)
    if abs(now.timestamp() - sent_at) > max_skew_seconds:
        # A replayed (or very late) webhook: refuse it rather than act twice on old news.
        return "stale_timestamp"
    signature = signature.strip().lower()
    if not _SIGNATURE.fullmatch(signature):
        return "bad_signature"
    expected = compute_signature(signing_key, body, timestamp)
    if not hmac.compare_digest(expected, signature):
        return "bad_signature"
    return None


def send_message(config: dict, row: dict) -> SendResult:
    """`POST /messages` on the gateway phone for one outbox row."""
    base = config.get("ANDROID_GATEWAY_URL")
    if not base:
        raise PermanentSendError("not_configured", "ANDROID_GATEWAY_URL unset")
    message_id = gateway_message_id(row["id"])
    payload = {
        "id": message_id,
        "textMessage": {"text": row["body"]},
        "phoneNumbers": [row["phone"]],
        "withDeliveryReport": True,
    }
    if row.get("expires_at"):
        payload["validUntil"] = row["expires_at"]
    headers = {"Content-Type": "application/json"}
    if config.get("ANDROID_GATEWAY_USER"):
        headers.update(urllib3.make_headers(basic_auth=(
            f"{config['ANDROID_GATEWAY_USER']}:{config.get('ANDROID_GATEWAY_PASSWORD') or ''}")))
    try:
        response = _pool().request(
            "POST", f"{base.rstrip('/')}/messages", body=json.dumps(payload).encode(),
            headers=headers, timeout=config.get("PROVIDER_TIMEOUT_SECONDS", 10), retries=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        # The hub phone is off, out of Wi-Fi, or rebooting: try again later.
        raise RetryableSendError("network", type(exc).__name__) from exc
    status = response.status
    data = _json(response.data)
    if status == 409:
        # Already accepted under our id (a previous attempt whose answer we never saw).
        return SendResult(message_id, "accepted", {"duplicate": True})
    if status in (200, 201, 202):
        return SendResult(data.get("id") or message_id, (data.get("state") or "Pending").lower())
    if status == 503:
        raise RetryableSendError("http_503", data.get("message", "queue limits exceeded"))
    raise classify_http_failure(
        status, f"http_{status}", data.get("message", response.data[:200].decode("utf-8", "replace"))
    )


@lru_cache(maxsize=1)
def _pool() -> urllib3.PoolManager:
    """One connection pool per process: keep-alive to the hub phone across a broadcast.

    Plain urllib3 rather than requests: the phone is on the hub's LAN (no proxies, no
    cookies), and on a broadcast the lighter client is the difference between a worker
    sending 400 and 600 SMS requests a second.
    """
    return urllib3.PoolManager(num_pools=4, maxsize=4)


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
