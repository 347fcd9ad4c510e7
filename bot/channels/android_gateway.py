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
from datetime import UTC, datetime
from functools import lru_cache

import urllib3

from bot.channels.base import PermanentSendError, RetryableSendError, SendResult, classify_http_failure
from bot.storage import from_db_time

#: What the app sends: unix seconds, and a lower-case hex SHA-256 HMAC. Anything else
#: (a 400-digit or non-ASCII timestamp, a non-ASCII signature) is refused before any
#: arithmetic or comparison is tried on it.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")

#: Gateway delivery events and the outbox provider status each maps to.
EVENT_STATUS = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}


#: Words in an `sms:failed` reason that mean the phone dropped the message at its TTL.
_EXPIRY_WORDS = ("ttl", "expired", "valid")


def inbound_key(sender: str, text: str, received_at: object, message_id: object,
                event_id: object) -> str:
    """What makes two `sms:received` posts the same SMS: the sender, the text and the
    moment the phone received it (to the second, in UTC, whatever the offset or
    milliseconds). The gateway's `messageId` is only a hash of the content, shared by the
    same text days later and by two people by chance, so it is not the key. Without
    `receivedAt` (old app versions), the event id stands in for the moment.
    """
    moment = _instant(received_at)
    basis = (f"{sender}\n{moment}\n{text}" if moment
             else f"{sender}\n{message_id}\n{event_id}\n{text}")
    return "sms-" + hashlib.sha256(basis.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _instant(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return text  # unreadable, but the same text for the same post
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(microsecond=0).isoformat()


def failure_means_expired(reason: object, row_expires_at: str | None, now: datetime) -> bool:
    """An `sms:failed` that is the phone dropping the message at its TTL/validUntil."""
    if isinstance(reason, str) and any(word in reason.lower() for word in _EXPIRY_WORDS):
        return True
    expires = from_db_time(row_expires_at)
    return expires is not None and expires <= now


def message_lifetime(row: dict) -> dict:
    """`validUntil` from the row's validity (set per kind by `outbox.prepare_gateway_row`):
    the phone drops the message then instead of sending it late."""
    expires = from_db_time(row.get("expires_at"))
    if expires is None:
        return {}
    return {"validUntil": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


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


def _headers(config: dict) -> dict:
    headers = {"Content-Type": "application/json"}
    if config.get("ANDROID_GATEWAY_USER"):
        headers.update(urllib3.make_headers(basic_auth=(
            f"{config['ANDROID_GATEWAY_USER']}:{config.get('ANDROID_GATEWAY_PASSWORD') or ''}")))
    return headers


def fetch_health(config: dict) -> tuple[int, dict]:
    """`GET /health` on the phone: (HTTP status, body). 503 is an answer too (`fail`).
    Raises RetryableSendError when the phone cannot be reached at all."""
    base = config.get("ANDROID_GATEWAY_URL")
    if not base:
        raise PermanentSendError("not_configured", "ANDROID_GATEWAY_URL unset")
    timeout = min(float(config.get("PROVIDER_TIMEOUT_SECONDS") or 10), 5.0)
    try:
        response = _pool().request("GET", f"{base.rstrip('/')}/health", headers=_headers(config),
                                   timeout=timeout, retries=False)
    except urllib3.exceptions.HTTPError as exc:
        raise RetryableSendError("network", type(exc).__name__) from exc
    return response.status, _json(response.data)


def read_health(data: dict) -> dict:
    """The parts of a health answer we keep: status, battery, charging, connection, failed.

    The check names (`battery:level`, `battery:charging`, `connection:status`,
    `messages:failed`) are read loosely, by the words they contain.
    """
    found: dict = {"status": data.get("status") if isinstance(data.get("status"), str) else None}
    checks = data.get("checks") if isinstance(data.get("checks"), dict) else {}
    for name, check in checks.items():
        if not isinstance(check, dict):
            continue
        value, lowered = check.get("observedValue"), str(name).lower()
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if "battery" in lowered and "level" in lowered:
            found["battery_level"] = int(number) if number is not None else None
        elif "charging" in lowered:
            found["charging"] = int(bool(number)) if number is not None else None
        elif "connection" in lowered and "status" in lowered:
            found["connection"] = str(check.get("status") or value)
        elif "failed" in lowered:
            found["failed_count"] = int(number) if number is not None else None
    return found


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
        **message_lifetime(row),
    }
    if row.get("sim_number"):
        payload["simNumber"] = int(row["sim_number"])
    headers = _headers(config)
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
