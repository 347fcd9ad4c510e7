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
from bot.web.guards import Malformed, json_body, wrong_types

bp = Blueprint("payouts", __name__, url_prefix="/payouts")

#: The types of the payout fields we read; present with another type, the callback is a 400.
PAYOUT_TYPES = {"id": str, "reference_id": str, "status": str, "failure_code": str,
                "amount": (int, float)}


@bp.post("/xendit/callback")
def xendit_callback():
    """One payout status callback from Xendit."""
    if not verify_callback_token(current_app.config, request.headers.get("x-callback-token")):
        return jsonify(error="invalid callback token"), 403
    try:
        body = json_body()
    except Malformed as exc:
        return jsonify(error=str(exc)), 400
    payout = body.get("data") if isinstance(body, dict) and isinstance(body.get("data"), dict) else body
    problem = wrong_types(payout, PAYOUT_TYPES) if isinstance(payout, dict) else None
    if problem:
        return jsonify(error=problem), 400
    now = utcnow()
    db = get_db()
    result = handle_xendit_callback(db, current_app.config, body, now)
    hand_over(result.handover)
    answer = {"status": result.result}
    if result.http_status >= 400:
        answer["error"] = result.result.replace(" ", "_")
    return jsonify(answer), result.http_status
