"""The public catalog: `GET /api/v1/listings` (JSON) and the photos it links to
(`GET /media/<listing code or media id>`).

Read-only and open to anyone, so it shows what is for sale and by whom — the seller's
name and village, never a phone number: buyers order through Jembatan, not around it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, jsonify, request, send_file

from bot.pipeline.demand import count_search
from bot.services import demand, listings, media, products
from bot.services.media import media_dir
from bot.storage import utcnow
from bot.web.db import get_db, get_redis
from bot.web.guards import public_url, search_visitor
from conversations.i18n import format_unit_price

bp = Blueprint("api", __name__)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def query_int(name: str, default: int, low: int, high: int | None) -> int:
    """Query parameter `name` as a whole number in low..high (`default` when absent);
    anything else aborts with 400 (the orders API turns that into `invalid_parameter`)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    # isascii(): "²".isdigit() is True but int() refuses it; the length keeps SQLite's
    # 64-bit integers from overflowing.
    if (not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < low
            or (high is not None and int(raw) > high)):
        limits = f"{low}..{high}" if high is not None else f">= {low}"
        abort(400, f"{name} must be a whole number {limits}")
    return int(raw)


def _listing_json(row: dict, photos: list[dict]) -> dict:
    return {
        "code": row["code"],
        "product": row["product_name"],
        "product_as_written": row["product_text"],
        # A decimal string: quantities are exact (2.5 kg), never binary floats.
        "quantity": str(listings.from_milli(row["quantity_milli"])),
        "unit": row["unit"],
        "price": row["price"],
        "currency": "IDR",
        "price_text": format_unit_price(row["price"], row["unit"]),
        "seller": {"name": row["seller_name"], "village": row["seller_village"]},
        "photo_url": public_url(f"/media/{row['code']}") if photos else None,
        "photos": [public_url(f"/media/{photo['id']}") for photo in photos],
        "listed_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


@bp.errorhandler(400)
@bp.errorhandler(404)
def _json_error(error):
    return jsonify(error=error.description), error.code


@bp.get("/api/v1/listings")
def listings_index():
    """Active listings with stock, most recent first.

    Filters (all optional, combined): `product` (any name or synonym: `cabe` finds
    cabai), `village` (the seller's, any case), `q` (words in product names or
    villages). Pagination: `limit` (1-100, default 20) and `offset`; the answer has
    `total` and `next` (the URL of the next page, or null).
    """
    db = get_db()
    limit = query_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = query_int("offset", 0, 0, None)
    product_name = (request.args.get("product") or "").strip()
    rows, total = [], 0
    product = products.find_product(db, product_name) if product_name else None
    if not product_name or product is not None:
        rows, total = listings.search_catalog(
            db, product_id=product["id"] if product else None,
            village=(request.args.get("village") or "").strip() or None,
            q=(request.args.get("q") or "").strip() or None, limit=limit, offset=offset,
        )
    wanted = product_name or (request.args.get("q") or "").strip()[:80]
    if wanted and not offset and total < demand.LOW_RESULTS:  # counted (in Redis) for the demand texts
        count_search(get_redis(), demand.search_key(
            db, product=product or products.find_product(db, wanted), name=wanted,
            area=request.args.get("village"), results=total, source="api"), utcnow(),
            visitor=search_visitor())
    photos = media.listing_photos(db, [row["id"] for row in rows])
    following = None
    if offset + limit < total:
        query = {k: v for k, v in request.args.items() if k != "offset"}
        following = public_url(f"/api/v1/listings?{urlencode({**query, 'offset': offset + limit})}")
    return jsonify(
        listings=[_listing_json(row, photos.get(row["id"], [])) for row in rows],
        total=total, limit=limit, offset=offset, next=following,
    )


@bp.get("/media/<ref>")
def media_file(ref: str):
    """A listing's photo: `/media/C7` (its first photo) or `/media/12` (photo 12)."""
    db = get_db()
    if ref.isascii() and ref.isdigit():
        row = media.servable_photo(db, media_id=int(ref)) if len(ref) <= 9 else None
    else:
        row = media.servable_photo(db, listing_code=listings.normalize_code(ref))
    path = media_dir(current_app.config) / row["file_name"] if row else None
    if path is None or not path.is_file():
        abort(404, "no such photo")
    return send_file(path.resolve(), mimetype=row["content_type"], max_age=3600)
