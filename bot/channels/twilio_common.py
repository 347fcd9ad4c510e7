"""Shared Twilio REST client set-up and error classification for SMS and WhatsApp."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import requests
import urllib3
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.channels.base import (
    PermanentSendError,
    RetryableSendError,
    SendError,
    SendResult,
    UnknownOutcomeError,
    classify_http_failure,
)
from bot.sms import sms_body
from bot.storage import from_db_time

# Twilio error codes worth another try later (PROVIDERS.md). 30003 (handset unreachable)
# only a few times: a phone that is off for a day will not come back by hammering it.
RETRYABLE_TWILIO_CODES = {20429: None, 30001: None, 30003: 3, 30008: None}
PERMANENT_TWILIO_CODES = {21211, 21610, 21614, 21635, 30005, 30006, 30007, 63014, 63016, 63021}


def twilio_client(config: dict) -> Client:
    """A Twilio REST client with a timeout, pointed at `TWILIO_API_BASE_URL`."""
    sid, token = config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise PermanentSendError("not_configured", "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN unset")
    return _client(sid, token, config.get("TWILIO_API_BASE_URL") or "https://api.twilio.com",
                   config.get("PROVIDER_TIMEOUT_SECONDS", 10))


@lru_cache(maxsize=8)
def _client(sid: str, token: str, base_url: str, timeout: float) -> Client:
    # One client per process and settings: it keeps its HTTP connection pool, which
    # matters when a worker sends a broadcast. The SDK's default HTTP client has no
    # timeout at all; a hung connection would pin a worker forever.
    client = Client(sid, token, http_client=TwilioHttpClient(timeout=timeout))
    client.api.base_url = base_url
    return client


def create_message(config: dict, **params) -> tuple[str, str]:
    """`messages.create(**params)`; return (sid, status) or raise a classified SendError."""
    client = twilio_client(config)
    try:
        message = client.messages.create(**params)
    except requests.exceptions.RequestException as exc:
        raise classify_network_failure(exc) from exc
    except TwilioRestException as exc:
        raise classify_twilio_error(exc.status, exc.code, exc.msg) from exc
    except TwilioException as exc:
        status = getattr(exc, "status", 500)
        raise classify_twilio_error(status, getattr(exc, "code", None), str(exc)) from exc
    return message.sid, message.status or "queued"


def classify_network_failure(exc: requests.exceptions.RequestException) -> RetryableSendError:
    """A failure with no answer from Twilio. If the request never left (the connection was
    refused or never opened), a retry is safe; otherwise Twilio may have created the message
    (`messages.create` is not idempotent), so the outcome is unknown and the retry asks first.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.InvalidURL):
        return RetryableSendError("network", type(exc).__name__)
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
            exc, requests.exceptions.ReadTimeout):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError):
            return RetryableSendError("network", type(exc).__name__)
    return UnknownOutcomeError("unknown_outcome", type(exc).__name__)


def classify_twilio_error(status: int, code: int | None, message: str) -> SendError:
    """Decide whether a Twilio failure is worth retrying (see PROVIDERS.md)."""
    if code in RETRYABLE_TWILIO_CODES:
        return RetryableSendError(str(code), message, max_attempts=RETRYABLE_TWILIO_CODES[code])
    if code in PERMANENT_TWILIO_CODES:
        return PermanentSendError(str(code), message)
    return classify_http_failure(status, str(code or f"http_{status}"), message)


def find_message(config: dict, row: dict, exclude: set[str] | frozenset[str] = frozenset()
                 ) -> SendResult | None:
    """The message Twilio created for this outbox row, if any (see `find_sent_message`).

    Twilio's list is filtered by recipient and sent date; we then look for a message
    created since the row's first unanswered try (or its claim) whose text is ours (for SMS
    with the brand prefix; for a WhatsApp template, containing our text) and that no other
    row has recorded (`exclude`).
    """
    claimed = min(t for t in (from_db_time(row.get("unknown_since")), from_db_time(row["claimed_at"]))
                  if t is not None)
    whatsapp = row["channel"] == "twilio_whatsapp"
    to = f"whatsapp:{row['phone']}" if whatsapp else row["phone"]
    text = row["body"] if whatsapp else sms_body(row["body"])
    try:
        candidates = twilio_client(config).messages.list(
            to=to, date_sent_after=claimed - timedelta(days=1), limit=50)
    except requests.exceptions.RequestException as exc:
        raise RetryableSendError("network", type(exc).__name__) from exc
    except TwilioException as exc:
        raise RetryableSendError(str(getattr(exc, "code", "") or "lookup"), str(exc)) from exc
    for message in candidates:
        created = message.date_created
        if created is not None and created < claimed - timedelta(minutes=1):
            continue
        if message.sid in exclude:
            continue
        if message.body == text or (whatsapp and text in (message.body or "")):
            return SendResult(message.sid, message.status or "queued")
    return None
