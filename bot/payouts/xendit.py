"""Xendit Payouts API v2: create a payout, look one up, read and verify callbacks.

`POST {XENDIT_API_BASE_URL}/v2/payouts` with HTTP Basic (secret key, empty password) and
an `Idempotency-key` header. The key is the payout's stored `reference` (also sent as
`reference_id`): every retry of one payout sends the same key, so a retry after a
timeout or a 5xx can never create a second payout. Xendit answers a reused key either
with the payout or with a duplicate error (409, DUPLICATE_ERROR / DUPLICATE_TRANSACTION_
ERROR); that means an earlier try got through, and we look the payout up by
`reference_id` instead of failing it.

Callbacks carry `x-callback-token`, compared in constant time with
`XENDIT_CALLBACK_TOKEN`. Their body is `{"event": "payout.succeeded", "data": {...}}`
(older integrations send the payout object itself); we key off `data.status`.
"""

from __future__ import annotations

import hmac

import requests

from bot.payouts.base import (
    DuplicatePayoutRequest,
    PayoutProvider,
    PermanentPayoutError,
    ProviderPayout,
    RetryablePayoutError,
)
from bot.services.payout_accounts import PAYOUT_CHANNELS

#: Xendit payout statuses -> our lifecycle events (bot.services.payouts.TRANSITIONS).
#: A compliance review keeps the payout with Xendit (like ACCEPTED); a compliance
#: rejection is a failure.
STATUS_EVENTS = {
    "ACCEPTED": "accepted",
    "PENDING_COMPLIANCE_ASSESSMENT": "accepted",
    "REQUESTED": "requested",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "COMPLIANCE_REJECTED": "failed",
    "CANCELLED": "cancelled",
    "REVERSED": "reversed",
}
#: Answers meaning "a payout with this Idempotency-key exists": Xendit's documentation
#: names the reused-key error differently across API versions, and any 409 is read the
#: same way. Failing the payout instead would give the money back while Xendit pays it.
DUPLICATE_CODES = {"DUPLICATE_TRANSACTION_ERROR", "DUPLICATE_ERROR", "IDEMPOTENCY_ERROR"}
#: Errors that say "not now" rather than "never": the same request may succeed later.
#: Bad credentials create nothing at Xendit, so the payout waits for an operator to fix
#: the key instead of failing every seller's withdrawal.
_RETRYABLE_STATUS = {401, 403, 408, 429}


def payout_body(payout: dict) -> dict:
    """The `POST /v2/payouts` body for one of our payout rows."""
    return {
        "reference_id": payout["reference"],
        "channel_code": PAYOUT_CHANNELS[payout["channel"]].xendit_code,
        "channel_properties": {
            "account_number": payout["account_number"],
            "account_holder_name": payout["account_holder_name"],
        },
        "amount": payout["amount"],
        "currency": "IDR",
        "description": f"Jembatan {payout['code']}",
    }


def _base_url(config: dict) -> str:
    return (config.get("XENDIT_API_BASE_URL") or "https://api.xendit.co").rstrip("/")


def _auth(config: dict) -> tuple[str, str]:
    secret = config.get("XENDIT_SECRET_KEY")
    if not secret:
        # Nothing can be created without a key: keep the payout waiting, do not fail it.
        raise RetryablePayoutError("not_configured", "XENDIT_SECRET_KEY unset")
    return secret, ""


def _json(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return {}


def _provider_payout(data: dict) -> ProviderPayout:
    return ProviderPayout(data.get("id"), str(data.get("status") or "ACCEPTED").upper(),
                          data.get("failure_code"), data)


class XenditPayouts(PayoutProvider):
    """Payouts through Xendit, submitted by a job and settled by callbacks."""

    name = "xendit"
    automatic = True

    def submit(self, config: dict, payout: dict) -> ProviderPayout:
        """Create the payout at Xendit; same Idempotency-key on every try."""
        try:
            response = requests.post(
                f"{_base_url(config)}/v2/payouts",
                json=payout_body(payout),
                auth=_auth(config),
                headers={"Idempotency-key": payout["reference"]},
                timeout=config.get("PROVIDER_TIMEOUT_SECONDS", 10),
            )
        except requests.exceptions.RequestException as exc:
            # Timed out or cut off: the payout may or may not exist at Xendit. Only a retry
            # with the same key can tell without risk.
            raise RetryablePayoutError("network", type(exc).__name__) from exc
        data = _json(response)
        data = data if isinstance(data, dict) else {}
        if 200 <= response.status_code < 300:
            return _provider_payout(data)
        code = str(data.get("error_code") or f"http_{response.status_code}")
        message = str(data.get("message") or response.text[:200])
        if code in DUPLICATE_CODES or response.status_code == 409:
            raise DuplicatePayoutRequest(code, message)
        if response.status_code in _RETRYABLE_STATUS or response.status_code >= 500 \
                or code == "SERVER_ERROR":
            raise RetryablePayoutError(code, message)
        raise PermanentPayoutError(code, message)

    def find(self, config: dict, payout: dict) -> ProviderPayout | None:
        """`GET /v2/payouts?reference_id=...`: the payout an earlier try created, if any."""
        try:
            response = requests.get(
                f"{_base_url(config)}/v2/payouts",
                params={"reference_id": payout["reference"]},
                auth=_auth(config),
                timeout=config.get("PROVIDER_TIMEOUT_SECONDS", 10),
            )
        except requests.exceptions.RequestException as exc:
            raise RetryablePayoutError("network", type(exc).__name__) from exc
        if response.status_code != 200:
            raise RetryablePayoutError(f"http_{response.status_code}", response.text[:200])
        found = _json(response)
        matches = [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []
        return _provider_payout(matches[0]) if matches else None


def verify_callback_token(config: dict, token: str | None) -> bool:
    """True if `token` is our verification token (constant-time comparison)."""
    expected = config.get("XENDIT_CALLBACK_TOKEN")
    if not expected or not token:
        return False
    return hmac.compare_digest(expected.encode(), token.encode())


def callback_payout(body: object) -> ProviderPayout | None:
    """The payout object a callback carries (`data` of an event, or the body itself);
    None if the body does not look like a payout callback."""
    if not isinstance(body, dict):
        return None
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    if not data.get("reference_id") and not data.get("id"):
        return None
    if not data.get("status"):
        return None
    return _provider_payout(data)
