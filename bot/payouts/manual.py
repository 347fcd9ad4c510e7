"""The manual provider: a coordinator pays by cash or transfer and reports it.

There is nothing to send: new payouts are announced to coordinators by SMS (with the
full account number they need to pay), listed by `jembatan payout list`, and settled by
`jembatan payout paid|failed` or `BAYAR kode`.
"""

from __future__ import annotations

from bot.payouts.base import PayoutProvider


class ManualPayouts(PayoutProvider):
    """Payouts that wait for a coordinator."""

    name = "manual"
    automatic = False
