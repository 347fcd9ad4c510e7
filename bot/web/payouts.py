"""`POST /payouts/xendit/callback`: Xendit tells us what became of a payout.

Served only when `XENDIT_CALLBACK_TOKEN` is set. A request without the right
`x-callback-token` gets 403 and changes nothing. Xendit retries anything but a 2xx for
24 hours, so a repeat must be harmless (it is: see bot.pipeline.payouts).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from bot.payouts.xendit import verify_callback_token
from bot.pipeline.payouts import handle_xendit_callback
from bot.storage import utcnow
from bot.web.db import get_db, hand_over

bp = Blueprint("payouts", __name__, url_prefix="/payouts")


@bp.post("/xendit/callback")
def xendit_callback():
    """One payout status callback from Xendit."""
    if not verify_callback_token(current_app.config, request.headers.get("x-callback-token")):
        return jsonify(error="invalid callback token"), 403
    body = request.get_json(silent=True)
    if body is None:
        return jsonify(error="body is not JSON"), 400
    now = utcnow()
    db = get_db()
    result = handle_xendit_callback(db, current_app.config, body, now)
    hand_over(result.handover)
    return jsonify(status=result.result), result.http_status
