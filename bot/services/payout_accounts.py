"""Where a seller's withdrawals go: one bank account or e-wallet per seller (`REK`).

Channels are the banks and e-wallets we can pay to, each with its Xendit channel code
and what a valid account number looks like. The lengths are the ones each bank issues
to personal accounts; Xendit checks further when paying (a refused account fails the
payout, the money returns to the seller, and they are told to check `REK`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.phones import InvalidPhoneNumber, normalize_phone
from bot.storage import fetch_one, to_db_time


@dataclass(frozen=True)
class PayoutChannel:
    """A bank or e-wallet: its name as sellers type it, kind, Xendit code, number lengths."""

    name: str
    kind: str  # "bank" or "ewallet" (an e-wallet account number is the phone number)
    xendit_code: str
    lengths: tuple[int, ...] = ()


_BANKS = (
    PayoutChannel("BCA", "bank", "ID_BCA", (10,)),
    PayoutChannel("BRI", "bank", "ID_BRI", (15,)),
    PayoutChannel("BNI", "bank", "ID_BNI", (10,)),
    PayoutChannel("MANDIRI", "bank", "ID_MANDIRI", (13,)),
    PayoutChannel("BSI", "bank", "ID_BSI", (10,)),
    PayoutChannel("BTN", "bank", "ID_BTN", (16,)),
    PayoutChannel("CIMB", "bank", "ID_CIMB", tuple(range(10, 15))),
    PayoutChannel("PERMATA", "bank", "ID_PERMATA", tuple(range(10, 17))),
)
_EWALLETS = (
    PayoutChannel("DANA", "ewallet", "ID_DANA"),
    PayoutChannel("OVO", "ewallet", "ID_OVO"),
    PayoutChannel("GOPAY", "ewallet", "ID_GOPAY"),
    PayoutChannel("SHOPEEPAY", "ewallet", "ID_SHOPEEPAY"),
    PayoutChannel("LINKAJA", "ewallet", "ID_LINKAJA"),
)
PAYOUT_CHANNELS: dict[str, PayoutChannel] = {c.name: c for c in _BANKS + _EWALLETS}
#: Other ways people write a channel (after removing spaces, dots and dashes).
CHANNEL_ALIASES = {"GOJEK": "GOPAY", "SHOPEE": "SHOPEEPAY", "BANKBCA": "BCA", "BANKBRI": "BRI",
                   "BANKBNI": "BNI", "BANKMANDIRI": "MANDIRI", "BANKSYARIAHINDONESIA": "BSI",
                   "CIMBNIAGA": "CIMB", "BANKPERMATA": "PERMATA", "BANKBTN": "BTN"}
HOLDER_NAME_LIMITS = (2, 50)


class InvalidAccount(ValueError):
    """What is wrong with a payout account: `problem` is channel, number, phone or name."""

    def __init__(self, problem: str, channel: PayoutChannel | None = None):
        super().__init__(problem)
        self.problem = problem
        self.channel = channel


@dataclass(frozen=True)
class PayoutAccount:
    """A validated account: channel name, number (digits; e-wallets 08...) and holder."""

    channel: str
    number: str
    holder: str

    @property
    def payout_channel(self) -> PayoutChannel:
        return PAYOUT_CHANNELS[self.channel]


def find_channel(text: str) -> PayoutChannel | None:
    """The channel `text` names (`bca`, `Go-Pay`, `Bank Mandiri`), or None."""
    key = "".join(ch for ch in text.upper() if ch.isalnum())
    return PAYOUT_CHANNELS.get(CHANNEL_ALIASES.get(key, key))


def validate_account(channel_text: str, number: str, holder: str) -> PayoutAccount:
    """Check a `REK channel nomor nama` request; raise InvalidAccount saying what is wrong."""
    channel = find_channel(channel_text or "")
    if channel is None:
        raise InvalidAccount("channel")
    digits = "".join(ch for ch in number or "" if ch.isdigit())
    if channel.kind == "ewallet":
        try:
            e164 = normalize_phone(number or "")
        except InvalidPhoneNumber:
            raise InvalidAccount("phone", channel) from None
        if not e164.startswith("+628"):
            raise InvalidAccount("phone", channel)
        digits = "0" + e164[3:]
    elif len(digits) not in channel.lengths:
        raise InvalidAccount("number", channel)
    holder = " ".join((holder or "").split())
    if not (HOLDER_NAME_LIMITS[0] <= len(holder) <= HOLDER_NAME_LIMITS[1]) or not any(
        ch.isalpha() for ch in holder
    ):
        raise InvalidAccount("name", channel)
    return PayoutAccount(channel.name, digits, holder)


def mask_number(number: str) -> str:
    """An account number as a receipt shows it: `0812...7890`, `12...7890` for short ones,
    so a text never carries the whole number."""
    if len(number) <= 6:
        return number
    visible = 4 if len(number) >= 12 else 2
    return f"{number[:visible]}...{number[-4:]}"


def get_account(db: sqlite_utils.Database, contact_id: int) -> PayoutAccount | None:
    """The seller's payout account, or None."""
    row = fetch_one(db, "SELECT * FROM payout_accounts WHERE contact_id = ?", [contact_id])
    if row is None:
        return None
    return PayoutAccount(row["channel"], row["account_number"], row["account_holder_name"])


def save_account(db: sqlite_utils.Database, contact_id: int, account: PayoutAccount,
                 now: datetime) -> None:
    """Store (or replace) the seller's payout account."""
    db.execute(
        """
        INSERT INTO payout_accounts (contact_id, channel, account_number, account_holder_name,
            created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(contact_id) DO UPDATE SET channel = excluded.channel,
            account_number = excluded.account_number,
            account_holder_name = excluded.account_holder_name, updated_at = excluded.updated_at
        """,
        [contact_id, account.channel, account.number, account.holder, to_db_time(now),
         to_db_time(now)],
    )
