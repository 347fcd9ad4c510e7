"""What the desk, the simulator and exports never show: sign-in codes, PINs and links.

Outgoing texts are recognised by the reply id they were rendered from; incoming texts by
their shape (a PIN command, a bare 4-6 digit number, a message already blanked because a
dialog marked it sensitive). One function decides for every page, so a new screen cannot
forget it.
"""

from __future__ import annotations

import re

MASK = "••••••"
#: Replies whose text carries a secret.
SENSITIVE_REPLY_IDS = frozenset({"desk.code"})
# "PIN 1234", "PIN 1234 5678", "UBAH PIN 1234 5678", a bare PIN typed as an answer.
_PIN_TEXT = re.compile(r"^\s*(?:(?:ubah|ganti|change)\s+)?pin\b|^\s*\d{4,6}\s*$", re.IGNORECASE)
# Codes and PINs are runs of four or more digits; "10 menit" stays readable.
_SECRET = re.compile(r"\d{4,}")


def masked_text(direction: str, body: str | None, reply_id: str | None = None) -> str:
    """The text as it may be shown: `direction` is `in` or `out`."""
    body = body or ""
    if direction == "out":
        return _hide(body) if reply_id in SENSITIVE_REPLY_IDS else body
    return _hide(body) if _PIN_TEXT.search(body) else body


def _hide(body: str) -> str:
    return _SECRET.sub(lambda match: MASK[0] * len(match.group(0)), body)


def mask_rows(rows: list[dict], direction: str | None = None) -> list[dict]:
    """Rows with `body` masked in place (`direction` from the row unless given); returns them."""
    for row in rows:
        row["body"] = masked_text(direction or row.get("direction", "out"), row.get("body"),
                                  row.get("reply_id"))
    return rows
