"""What every channel adapter returns or raises, and how provider errors are classified."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message: its id and first status."""

    provider_id: str
    provider_status: str
    # Anything the caller should store about how it was sent (e.g. template used).
    details: dict = field(default_factory=dict)


class SendError(Exception):
    """A provider refused or could not be reached. `code` is kept on the outbox row."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = str(code)
        self.message = message


class RetryableSendError(SendError):
    """Try again later (timeouts, 5xx, 429, Twilio's transient codes)."""

    #: Some transient failures are worth only a few tries (30003: handset unreachable).
    max_attempts: int | None = None

    def __init__(self, code: str, message: str = "", max_attempts: int | None = None):
        super().__init__(code, message)
        self.max_attempts = max_attempts


class UnknownOutcomeError(RetryableSendError):
    """The request may have reached the provider, and we did not hear what it did (a read
    timeout, a connection cut after the request was written). Retried, but never blindly:
    the next try first asks the provider whether it has the message (`find_sent_message`)."""


class PermanentSendError(SendError):
    """Do not try again: the number, the content or the account is wrong."""


def classify_http_failure(status: int, code: str, message: str) -> SendError:
    """Map an HTTP failure to retryable (429, 5xx, 408) or permanent (other 4xx)."""
    if status in (408, 429) or status >= 500:
        return RetryableSendError(code, message)
    return PermanentSendError(code, message)
