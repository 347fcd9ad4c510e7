"""Provider adapters: turn an inbound payload into our terms, send one outbox row.

No domain logic lives here. `send_outbox_row` picks the adapter by the row's channel.
"""

from __future__ import annotations

from bot.channels import android_gateway, twilio_common, twilio_sms, twilio_whatsapp
from bot.channels.base import (
    PermanentSendError,
    RetryableSendError,
    SendError,
    SendResult,
    UnknownOutcomeError,
)
from bot.phones import is_bsuid


def send_outbox_row(config: dict, row: dict, contact: dict | None) -> SendResult:
    """Send one outbox row through its channel's provider; raise a *SendError on failure."""
    channel = row["channel"]
    if is_bsuid(row["phone"]) and channel != "twilio_whatsapp":
        # A WhatsApp id is not a number: no SMS can reach it (and none may be made up).
        raise PermanentSendError("not_a_phone", f"{channel} cannot reach a WhatsApp id")
    if channel == "android_sms":
        return android_gateway.send_message(config, row)
    if channel == "twilio_sms":
        return twilio_sms.send_message(config, row)
    if channel == "twilio_whatsapp":
        return twilio_whatsapp.send_message(config, row, contact)
    if channel == "simulator":
        # Messages to numbers played in the simulator stay here: the simulator page and
        # `jembatan chat` show them; nothing leaves the machine.
        return SendResult(f"sim-{row['id']}", "delivered")
    raise PermanentSendError("unknown_channel", f"no adapter for channel {channel!r}")


def find_sent_message(config: dict, row: dict, exclude: set[str] | frozenset[str] = frozenset()
                      ) -> SendResult | None:
    """Whether the provider already has this row's message (a worker died after sending
    it, before recording the answer; or the answer was lost to a timeout). None: it does
    not, send again. Messages whose ids are in `exclude` belong to other rows.

    Only Twilio needs asking: `messages.create` is not idempotent. The Android gateway
    refuses a repeat of our message id (409), so resending there is safe as it is.
    """
    if row["channel"] in ("twilio_sms", "twilio_whatsapp"):
        return twilio_common.find_message(config, row, exclude)
    return None


__all__ = ["PermanentSendError", "RetryableSendError", "SendError", "SendResult",
           "UnknownOutcomeError", "find_sent_message", "send_outbox_row"]
