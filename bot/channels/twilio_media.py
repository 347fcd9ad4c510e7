"""Fetch a media file a person sent through Twilio (`MediaUrlN` of an inbound message).

Twilio media URLs need HTTP Basic auth with the account SID and auth token, and may
redirect to a storage host (requests then drops the credentials, as it should). The
credentials only ever go to the configured Twilio API host, whatever URL a payload names.
The body is streamed and cut off at the size cap, so a huge file never fills memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from bot.channels.base import PermanentSendError, RetryableSendError, classify_http_failure


class MediaRefused(Exception):
    """The file is not one we keep: `reason` is `too_big`, `wrong_type` or `foreign_url`."""

    def __init__(self, reason: str, content_type: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.content_type = content_type


@dataclass(frozen=True)
class FetchedMedia:
    """A downloaded file: its bytes and its (parameter-free, lower-case) content type."""

    content: bytes
    content_type: str


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme)


def _same_origin(url: str, base: str) -> bool:
    try:
        return _origin(url) == _origin(base)
    except ValueError:  # a malformed port
        return False


def fetch_media(config: dict, url: str, *, allowed_types: set[str] | frozenset[str],
                max_bytes: int) -> FetchedMedia:
    """Download `url` with the Twilio credentials; refuse other types and bigger files.

    Raises MediaRefused (our rules), RetryableSendError (timeouts, 5xx, 429) or
    PermanentSendError (other 4xx, missing credentials).
    """
    sid, token = config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise PermanentSendError("not_configured", "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN unset")
    if not _same_origin(url, config.get("TWILIO_API_BASE_URL") or "https://api.twilio.com"):
        raise MediaRefused("foreign_url")
    timeout = config.get("PROVIDER_TIMEOUT_SECONDS", 10)
    try:
        with requests.get(url, auth=(sid, token), timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                raise classify_http_failure(response.status_code, f"http_{response.status_code}",
                                            response.reason or "")
            content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type not in allowed_types:
                raise MediaRefused("wrong_type", content_type or None)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise MediaRefused("too_big", content_type)
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaRefused("too_big", content_type)
                chunks.append(chunk)
    except requests.exceptions.RequestException as exc:
        raise RetryableSendError("network", type(exc).__name__) from exc
    return FetchedMedia(b"".join(chunks), content_type)
