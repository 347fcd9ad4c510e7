"""The orders API for buyers' own systems (README, "Orders API"):

    POST /api/v1/orders                   place an order (Idempotency-Key honoured)
    GET  /api/v1/orders                   the buyer's orders, newest first
    GET  /api/v1/orders/<code>            one of them
    POST /api/v1/orders/<code>/cancel     cancel it while the seller has not answered
    POST /api/v1/orders/<code>/received   the goods arrived (the seller is credited)
    POST /api/v1/orders/<code>/payments   a payment for a received order (a hub's: 202, sent down)

Every request carries an API key (`Authorization: Bearer jbk_...`, `jembatan buyer key
create`). Errors are JSON `{"error": <stable code>, "message": <for people>}` (ERRORS).
Nothing here calls the network: the seller's SMS and any webhook relays are rows written
in the order's transaction and handed to RQ after the commit.
"""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import BadRequest

from bot.pipeline.payouts import release_held_payouts
from bot.services import buyers, orders, payments
from bot.services.handover import Handover
from bot.services.orders import IdempotencyConflict, IllegalOrderTransition, OrderRefused
from bot.storage import transaction, utcnow
from bot.web.api import query_int
from bot.web.db import get_db, get_redis, hand_over
from bot.web.guards import Malformed, api_key_lockout, client_address, count_api_key_failure, json_body
from conversations.news.orders import order_notices, queue_notices

bp = Blueprint("orders", __name__, url_prefix="/api/v1/orders")

#: Every error code the orders API answers with, and its HTTP status.
ERRORS = {
    "missing_api_key": 401,
    "invalid_api_key": 401,
    "invalid_json": 400,
    "invalid_parameter": 400,
    "invalid_idempotency_key": 400,
    "validation_error": 422,
    "invalid_quantity": 422,
    "unit_mismatch": 422,
    "idempotency_key_reused": 422,
    "listing_not_found": 404,
    "order_not_found": 404,
    "listing_unavailable": 409,
    "out_of_stock": 409,
    "invalid_transition": 409,
    "too_many_attempts": 429,
    "invalid_amount": 422,
    "invalid_reference": 422,
    "payment_reference_reused": 422,
    "overpayment": 422,
    "not_received": 409,
}
#: What a buyer may do to an order through the API: path -> (event, the status it leads to).
ACTIONS = {"cancel": ("cancel", "cancelled"), "received": ("receive", "received")}
MAX_IDEMPOTENCY_KEY = 255
#: A quantity as text: digits, optionally a decimal point and more digits, optionally a
#: minus sign (refused later, with its own code). Not `1_000` or `1e999999999`, which
#: Decimal() would take.
QUANTITY = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,40})?")


class ApiError(Exception):
    """An error answer: its code (a key of ERRORS), message and extra JSON fields."""

    def __init__(self, code: str, message: str, **extra):
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    response = jsonify(error=error.code, message=error.message, **error.extra)
    response.status_code = ERRORS[error.code]
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="jembatan"'
    if response.status_code == 429:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


@bp.errorhandler(BadRequest)
def _bad_parameter(error: BadRequest):
    return jsonify(error="invalid_parameter", message=error.description), 400


def _buyer() -> dict:
    """The buyer whose API key the request carries, or a 401."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise ApiError("missing_api_key", "Send your API key: Authorization: Bearer <key>.")
    client = client_address()
    wait = api_key_lockout(get_redis(), current_app.config, client)
    if wait is not None:
        # Not even a valid key is looked at: a throttle that still answered 200 or 401
        # would let guessing go on. The window ends on its own (Retry-After).
        error = ApiError("too_many_attempts", f"Too many failed API-key attempts from this address: "
                                              f"try again in {wait} seconds.", retry_after=wait)
        raise error
    scheme, _, key = header.partition(" ")
    buyer = buyers.buyer_for_api_key(get_db(), key.strip()) if scheme.lower() == "bearer" else None
    if buyer is None:
        count_api_key_failure(get_redis(), current_app.config, client)
        raise ApiError("invalid_api_key", "This API key is unknown or was revoked.")
    return buyer


def _own_order(buyer: dict, code: str) -> dict:
    order = orders.find_order(get_db(), code)
    if order is None or order["buyer_id"] != buyer["id"]:
        # Someone else's order is "not found": codes are sequential, existence is not a secret
        # worth leaking either.
        raise ApiError("order_not_found", f"No order {code.upper()} among yours.")
    return order


def _json_object(example: str) -> dict:
    """The request's JSON object body, or a 400 `invalid_json` that shows `example`."""
    try:
        body = json_body(require_json_type=True)
    except Malformed:
        body = None
    if not isinstance(body, dict):
        raise ApiError("invalid_json", f"The body must be a JSON object, e.g. {example}.")
    return body


def _order_body() -> tuple[str, Decimal, str | None]:
    """The POST body's listing code, quantity and optional unit, or a 400/422."""
    body = _json_object('{"listing": "C7", "quantity": "20", "unit": "kg"}')
    problems = []
    listing, quantity, unit = body.get("listing"), body.get("quantity"), body.get("unit")
    if not isinstance(listing, str) or not listing.strip() or len(listing) > 20:
        problems.append({"field": "listing", "message": "a listing code from the catalog, e.g. \"C7\""})
    amount = None
    if isinstance(quantity, (int, float, str)) and not isinstance(quantity, bool):
        text = str(quantity).strip()
        amount = Decimal(text) if QUANTITY.fullmatch(text) else None
    if amount is None:
        problems.append({"field": "quantity", "message": "a number, e.g. 20 or \"2.5\" (a string keeps "
                                                         "decimals exact)"})
    if unit is not None and (not isinstance(unit, str) or not unit.strip()):
        problems.append({"field": "unit", "message": "the listing's unit, e.g. \"kg\", or leave it out"})
    if problems:
        raise ApiError("validation_error", "The order is incomplete or malformed.", fields=problems)
    return listing.strip(), amount, unit.strip().lower() if unit else None


def _refusal(refusal: OrderRefused) -> ApiError:
    values = refusal.values
    code = values.get("code")
    if refusal.reason == "listing_not_found":
        return ApiError("listing_not_found", f"No listing {code}.")
    if refusal.reason == "listing_unavailable":
        return ApiError("listing_unavailable", f"Listing {code} was withdrawn by its seller.")
    if refusal.reason == "unit_mismatch":
        return ApiError("unit_mismatch", f"Listing {code} is sold per {values['unit']}.", unit=values["unit"])
    if refusal.reason == "out_of_stock":
        return ApiError("out_of_stock", f"Listing {code} has {values['available']} {values['unit']} left.",
                        available=str(values["available"]), unit=values["unit"])
    return ApiError("invalid_quantity", "The quantity must be above 0, in thousandths at most, and "
                                        "worth at least Rp1.")


@bp.post("")
def create_order():
    """Place an order. A repeated request with the same `Idempotency-Key` returns the
    first order (200, `Idempotent-Replayed: true`) and changes nothing."""
    buyer = _buyer()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key.strip()) <= MAX_IDEMPOTENCY_KEY):
        raise ApiError("invalid_idempotency_key",
                       f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} characters (a UUID is ideal).")
    listing, quantity, unit = _order_body()
    db, config, now = get_db(), current_app.config, utcnow()
    try:
        with transaction(db):
            change = orders.place_order(db, buyer=buyer, listing_code=listing, quantity=quantity,
                                        unit=unit, now=now, settings=config, source="api",
                                        idempotency_key=key.strip() if key else None)
            outbox_ids = queue_notices(db, config, order_notices(db, config, change), now)
    except OrderRefused as refusal:
        raise _refusal(refusal) from None
    except IdempotencyConflict:
        raise ApiError("idempotency_key_reused", "This Idempotency-Key was used for a different "
                                                 "order request; use a new key for a new order.") from None
    hand_over(Handover(outbox_ids=outbox_ids, relay_ids=change.webhook_ids))
    response = jsonify(order=orders.order_document(change.order))
    # A hub's listing: accepted for the hub to decide, not yet an order (DECISIONS 302).
    response.status_code = (202 if change.to_status == "requested" else 201) if change.applied else 200
    response.headers["Location"] = f"/api/v1/orders/{change.order['code']}"
    if not change.applied:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("")
def list_orders():
    """The buyer's orders, newest first; `status` (comma-separated), `limit`, `offset`."""
    buyer = _buyer()
    statuses = tuple(s.strip() for s in (request.args.get("status") or "").split(",") if s.strip())
    unknown = [s for s in statuses if s not in orders.ALL_STATUSES]
    if unknown:
        raise ApiError("invalid_parameter", f"status must be among {', '.join(orders.ALL_STATUSES)}")
    limit, offset = query_int("limit", 20, 1, 100), query_int("offset", 0, 0, None)
    rows, total = orders.buyer_orders(get_db(), buyer["id"], statuses or None, limit, offset)
    return jsonify(orders=[orders.order_document(row) for row in rows], total=total, limit=limit,
                   offset=offset)


@bp.get("/<code>")
def get_order(code: str):
    """One of the buyer's orders."""
    return jsonify(order=orders.order_document(_own_order(_buyer(), code)))


@bp.post("/<code>/cancel", defaults={"action": "cancel"})
@bp.post("/<code>/received", defaults={"action": "received"})
def act_on_order(code: str, action: str):
    """`cancel` (only while pending) or `received`. Repeating an action that already
    happened answers 200 with the order; any other status is 409 `invalid_transition`."""
    order = _own_order(_buyer(), code)
    event, reached = ACTIONS[action]
    if order["status"] == reached:
        return jsonify(order=orders.order_document(order))
    db, config, now = get_db(), current_app.config, utcnow()
    try:
        with transaction(db):
            change = orders.apply_order_event(db, order["id"], event, now, settings=config, source="api")
            outbox_ids = queue_notices(db, config, order_notices(db, config, change), now)
    except IllegalOrderTransition as exc:
        raise ApiError("invalid_transition", f"Order {order['code']} is {exc.order['status']}: it cannot "
                                             f"be {reached} now.", status=exc.order["status"]) from None
    hand_over(Handover(outbox_ids=outbox_ids, relay_ids=change.webhook_ids))
    response = jsonify(order=orders.order_document(change.order))
    if change.forwarded:  # a hub's order: its cancel is asked of the hub (DECISIONS 305)
        response.status_code = 202
    return response


@bp.post("/<code>/payments")
def record_payment(code: str):
    """The buyer's system reports a payment for a received order: `{"amount": 240000,
    "reference": "TRF-0042"}`. Idempotent by reference (within this buyer's references):
    a repeat answers 200 with `Idempotent-Replayed: true` and changes nothing."""
    order = _own_order(_buyer(), code)
    body = _json_object('{"amount": 240000, "reference": "TRF-0042"}')
    amount, reference = body.get("amount"), body.get("reference")
    if isinstance(amount, str) and amount.isascii() and amount.isdigit() and len(amount) <= 15:
        amount = int(amount)
    if type(amount) is not int or not 0 < amount < 10**15:
        raise ApiError("invalid_amount", "amount must be whole rupiah above 0, e.g. 240000.")
    if not isinstance(reference, str) or not 0 < len(reference.strip()) <= payments.MAX_REFERENCE:
        raise ApiError("invalid_reference", f"reference must be 1-{payments.MAX_REFERENCE} characters "
                                            "(your transfer or receipt number).")
    try:
        recorded = payments.record_order_payment(
            get_db(), order, amount=amount, reference=payments.buyer_reference(order["buyer_id"],
                                                                                reference.strip()),
            now=utcnow(), note="reported by the buyer's system")
    except payments.PaymentRefused as refusal:
        raise ApiError(refusal.reason, refusal.message, **refusal.values) from None
    forwarded = bool(order["origin_hub"])  # a hub's order: its ledger is the hub's (DECISIONS 420)
    if recorded.created and not forwarded:  # withdrawals that waited for buyers' money may go ahead
        hand_over(release_held_payouts(get_db(), current_app.config, utcnow()))
    payment = {"order": recorded.order_code, "amount": recorded.amount,
               "reference": reference.strip(), "currency": "IDR"}
    if forwarded:  # forwarded until the hub answers, then recorded or refused (with its reason)
        payment.update(status=recorded.status, reason=recorded.reason)
    response = jsonify(payment=payment, amount_due=recorded.amount_due)
    response.status_code = (202 if forwarded else 201) if recorded.created else 200
    if not recorded.created:
        response.headers["Idempotent-Replayed"] = "true"
    return response
