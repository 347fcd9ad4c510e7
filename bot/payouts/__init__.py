"""Payout providers: how money leaves the cooperative for a seller's account.

Two providers, chosen per payout when it is created (`PAYOUT_PROVIDER`):

- `manual` (default): nothing is sent anywhere; a coordinator pays (cash, transfer) and
  reports it (`jembatan payout paid CODE --ref ...`, `... failed CODE --reason ...`, or
  `BAYAR kode` by SMS).
- `xendit`: an RQ job submits the payout to Xendit's Payouts API; Xendit's callbacks
  (`POST /payouts/xendit/callback`) report what happened.

Either way the outcome goes through `bot.pipeline.payouts.report_payout_event`, so the
ledger and the seller's message do not depend on who reported it. Adapters here speak
the provider's protocol only; they hold no domain logic.
"""

from __future__ import annotations

from bot.payouts.base import (
    DuplicatePayoutRequest,
    PayoutProvider,
    PayoutProviderError,
    PermanentPayoutError,
    ProviderPayout,
    RetryablePayoutError,
)
from bot.payouts.manual import ManualPayouts
from bot.payouts.xendit import XenditPayouts


def get_provider(name: str) -> PayoutProvider:
    """The provider called `name` (`manual`, `xendit`); ValueError for anything else."""
    providers = {"manual": ManualPayouts(), "xendit": XenditPayouts()}
    if name not in providers:
        raise ValueError(f"unknown payout provider {name!r} (use manual or xendit)")
    return providers[name]


__all__ = ["DuplicatePayoutRequest", "PayoutProvider", "PayoutProviderError", "PermanentPayoutError",
           "ProviderPayout", "RetryablePayoutError", "get_provider"]
