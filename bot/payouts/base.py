"""What every payout provider offers and raises; the adapters build on these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProviderPayout:
    """The provider's view of a payout: its id, status word and failure code."""

    provider_payout_id: str | None
    status: str
    failure_code: str | None = None
    raw: dict = field(default_factory=dict)


class PayoutProviderError(Exception):
    """The provider refused or could not be reached; `code` is kept on the payout."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class RetryablePayoutError(PayoutProviderError):
    """Try again later with the same Idempotency-key (timeouts, 5xx, 429, bad credentials)."""


class PermanentPayoutError(PayoutProviderError):
    """The provider will never accept this payout as it is (bad account, amount limits)."""


class DuplicatePayoutRequest(PayoutProviderError):
    """The provider already has a payout under this Idempotency-key: an earlier try
    reached it even though we never saw the answer."""


class PayoutProvider:
    """What every provider offers: a name, and whether it submits payouts by itself."""

    name = "base"
    #: True: a job submits each payout through an API. False: a coordinator pays.
    automatic = False

    def submit(self, config: dict, payout: dict) -> ProviderPayout:
        """Send one payout; raise a PayoutProviderError subclass on failure."""
        raise NotImplementedError(f"{self.name} payouts are not submitted by the system")

    def find(self, config: dict, payout: dict) -> ProviderPayout | None:
        """Look up a payout we may have submitted before (after a duplicate answer)."""
        return None
