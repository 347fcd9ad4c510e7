"""What the public storefront pages read: fresh listings, a product's or a village's
listings, one listing with its photos, and the sitemap's list.

Rows carry the seller's first name and village, never a phone number (nor a full name:
a page is public and indexed, DECISIONS 192). Slugs are lower-case words joined by `-`.
"""

from __future__ import annotations

import re
import unicodedata

import sqlite_utils

from bot.services import demand, listings, media, prices, products, stories
from bot.storage import fetch_all, fetch_one

#: The province slug of a village whose province nobody recorded (DECISIONS 190).
UNKNOWN_PROVINCE = "indonesia"
#: Who counts as a seller on the public pages: a hub's sellers too, at a city (DECISIONS 435).
_SELLERS = "role IN ('seller', 'remote_seller')"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str | None) -> str:
    """`Jawa  Barat` -> `jawa-barat`; accents dropped; empty for nothing usable."""
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return _NOT_SLUG.sub("-", plain).strip("-")


def first_name(name: str | None) -> str:
    """The first word of a seller's name (`Siti Aminah` -> `Siti`)."""
    words = (name or "").split()
    return words[0] if words else ""


def village_path(province: str | None, village: str | None) -> tuple[str, str]:
    """(province slug, village slug) of a seller's village, for `/desa/<province>/<village>`:
    the seller's own province; `indonesia` when nobody recorded it (DECISIONS 190, 337)."""
    return slugify(province) or UNKNOWN_PROVINCE, slugify(village)


def _public(db: sqlite_utils.Database, rows: list[dict]) -> list[dict]:
    """Rows as pages show them: first name only, photos, village slugs."""
    photos = media.listing_photos(db, [row["id"] for row in rows])
    out = []
    for row in rows:
        village, province = row.get("seller_village"), row.get("seller_province")
        out.append({
            "id": row["id"], "code": row["code"], "product_id": row["product_id"],
            "product_name": row["product_name"], "product_text": row["product_text"],
            "quantity": listings.from_milli(row["quantity_milli"]), "unit": row["unit"],
            "price": row["price"], "seller_first_name": first_name(row.get("seller_name")),
            "village": village, "province": province, "village_path": village_path(province, village),
            "photo_ids": [photo["id"] for photo in photos.get(row["id"], [])],
            "updated_at": row["updated_at"], "created_at": row["created_at"],
            "status": row.get("status", "active"),
        })
    return out


def fresh_listings(db: sqlite_utils.Database, limit: int = 24) -> list[dict]:
    """The newest visible listings."""
    rows, _ = listings.search_catalog(db, limit=limit, count=False)
    return _public(db, rows)


def group_by(items: list[dict], key: str) -> list[tuple[str, list[dict]]]:
    """Items grouped by `key`, groups in the order their first item appears."""
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item[key] or "", []).append(item)
    return list(groups.items())


def product_by_slug(db: sqlite_utils.Database, slug: str) -> dict | None:
    """The product a slug names (its own name or a synonym: `/produk/cabe` is cabai)."""
    return products.find_product(db, slug.replace("-", " ")) if slug else None


def product_listings(db: sqlite_utils.Database, product: dict, limit: int = 50) -> list[dict]:
    """Visible listings of the product and its kinds, cheapest first."""
    rows, _ = listings.search_catalog(db, product_ids=products.kinds_of(db, product),
                                      order="cheapest", limit=limit, count=False)
    return _public(db, rows)


def reference_price(db: sqlite_utils.Database, product_id: int) -> dict | None:
    """The product's latest reference price row (price, unit, market, recorded_at)."""
    return prices.latest_reference_price(db, product_id)


def find_village(db: sqlite_utils.Database, province_slug: str,
                 village_slug: str) -> tuple[str, str | None] | None:
    """The village behind the two slugs, among villages that have sellers: (name, province;
    None for sellers whose province nobody recorded, under `indonesia`). Same-named
    villages of two provinces are two villages. The slug with spaces for dashes is tried
    first (through `contacts_village`); only a name the slug does not spell back (`Desa
    O'ong`) costs a walk over the villages."""
    guess = village_slug.replace("-", " ")
    rows = fetch_all(db, "SELECT DISTINCT village, province FROM contacts WHERE village = ? COLLATE NOCASE "
                         f"AND {_SELLERS}", [guess])
    if not any(village_path(row["province"], row["village"]) == (province_slug, village_slug)
               for row in rows):
        rows = fetch_all(db, f"SELECT DISTINCT village, province FROM contacts WHERE {_SELLERS} "
                             "AND village IS NOT NULL")
    for row in rows:
        if village_path(row["province"], row["village"]) == (province_slug, village_slug):
            return row["village"], row["province"]
    return None


def moved_village(db: sqlite_utils.Database, village_slug: str) -> tuple[str, str] | None:
    """Where `/desa/indonesia/<village>` went when its sellers got a province recorded
    (one province for all of them): its path, for a permanent redirect; else None."""
    guess = village_slug.replace("-", " ")
    rows = fetch_all(db, "SELECT DISTINCT province FROM contacts WHERE village = ? COLLATE NOCASE "
                         f"AND {_SELLERS}", [guess])
    if len(rows) == 1 and rows[0]["province"]:
        return village_path(rows[0]["province"], guess)
    return None


def villages_of(items: list[dict]) -> list[dict]:
    """The villages of some listings (name, province, path slugs, how many of them), most
    first; same-named villages of two provinces apart."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for item in items:
        groups.setdefault(item["village_path"], []).append(item)
    return sorted(({"name": rows[0]["village"], "province": rows[0]["province"], "path": path,
                    "count": len(rows)} for path, rows in groups.items()),
                  key=lambda v: (-v["count"], v["name"] or "", v["province"] or ""))


def village_listings(db: sqlite_utils.Database, village: str, province: str | None = None,
                     limit: int = 50) -> list[dict]:
    """Visible listings of sellers in the village of that province (None: sellers of the
    name whose province nobody recorded), newest first."""
    rows, _ = listings.search_catalog(db, village=village, province=province or "", limit=limit,
                                      count=False)
    return _public(db, rows)


def search(db: sqlite_utils.Database, q: str, limit: int = 50) -> list[dict]:
    """Listings for a buyer's words: a product name or synonym finds that product and its
    kinds (cheapest first), a village's name its listings, anything else is matched as
    text (names, villages)."""
    q = " ".join(q.split())[:80]
    if not q:
        return []
    product = products.find_product(db, q)
    if product is not None:
        return product_listings(db, product, limit)
    # A village's name (through contacts_village): matching it as free text would test
    # every listing row by row.
    village = fetch_one(db, "SELECT village FROM contacts WHERE village = ? COLLATE NOCASE "
                            f"AND {_SELLERS} LIMIT 1", [q])
    if village is not None:  # every village of that name, whatever its province
        rows, _ = listings.search_catalog(db, village=village["village"], limit=limit, count=False)
        return _public(db, rows)
    rows, _ = listings.search_catalog(db, q=q, limit=limit, count=False)
    return _public(db, rows)


def search_key(db: sqlite_utils.Database, q: str, found: int) -> list | None:
    """What a search page that found little counts under for the demand texts
    (`demand.search_key`): its product when the words name one; a village's name is a
    place, not something buyers miss. None when not counted."""
    q = " ".join(q.split())[:80]
    if not q or found >= demand.LOW_RESULTS:
        return None
    product = products.find_product(db, q)
    if product is None and fetch_one(db, "SELECT 1 FROM contacts WHERE village = ? COLLATE NOCASE "
                                         f"AND {_SELLERS} LIMIT 1", [q]):
        return None
    return demand.search_key(db, product=product, name=q, area=None, results=found, source="page")


def listing_page(db: sqlite_utils.Database, code: str) -> dict | None:
    """One listing by code, whatever its status (`status`: active or withdrawn; a zero
    quantity is sold out), with photos and the seller's first name and village."""
    row = fetch_one(
        db,
        "SELECT l.id, l.code, l.product_id, l.product_text, l.quantity_milli, l.unit, l.price, "
        "l.status, l.created_at, l.updated_at, l.seller_id, p.name AS product_name, "
        "c.name AS seller_name, c.village AS seller_village, c.province AS seller_province "
        "FROM listings l "
        "JOIN products p ON p.id = l.product_id "
        "JOIN contacts c ON c.id = l.seller_id WHERE l.code = ?",
        [listings.normalize_code(code)[:20]],
    )
    if row is None:
        return None
    return {**_public(db, [row])[0], "seller_id": row["seller_id"],
            "story": stories.visible_listing_story(db, row["id"]),
            "seller_story": stories.visible_seller_story(db, row["seller_id"])}


def seller_page(db: sqlite_utils.Database, seller_id: int, limit: int = 50) -> dict | None:
    """A seller as the public sees them: first name, village, their own story (and its
    photos), their listings on sale. None unless they are a seller with something to show
    (a listing on sale or a visible story): the page never confirms that a number id is
    a buyer or a coordinator (DECISIONS 239)."""
    seller = fetch_one(db, "SELECT id, name, village, province FROM contacts WHERE id = ? "
                           f"AND {_SELLERS}", [seller_id])
    if seller is None:
        return None
    rows = fetch_all(
        db,
        f"SELECT l.*, p.name AS product_name, c.name AS seller_name, c.village AS seller_village, "
        f"c.province AS seller_province FROM listings l JOIN products p ON p.id = l.product_id "
        f"JOIN contacts c ON c.id = l.seller_id "
        f"WHERE l.seller_id = ? AND {listings.VISIBLE} ORDER BY l.id DESC LIMIT ?",
        [seller_id, limit])
    story = stories.story_of(db, seller_id, None)
    visible = story if story and story["status"] == "visible" else None
    if not rows and visible is None:
        return None
    return {"id": seller["id"], "first_name": first_name(seller["name"]), "village": seller["village"],
            "province": seller["province"],
            "village_path": village_path(seller["province"], seller["village"]),
            "story": visible["text"] if visible else None,
            "photo_ids": [photo["id"] for photo in media.story_photos(db, visible["id"])] if visible else [],
            "on_sale": _public(db, rows)}


def similar_listings(db: sqlite_utils.Database, listing: dict, limit: int = 6) -> list[dict]:
    """Visible listings of the same product (and its kinds), cheapest first."""
    product = products.get_product(db, listing["product_id"])
    return [item for item in product_listings(db, product, limit + 1)
            if item["code"] != listing["code"]][:limit]


def products_on_sale(db: sqlite_utils.Database) -> list[dict]:
    """Products with visible listings (name, slug, count), most listings first."""
    rows = fetch_all(db, "SELECT p.name, k.visible FROM catalog_counts k JOIN products p "
                         "ON p.id = k.product_id WHERE k.visible > 0 ORDER BY k.visible DESC, p.name")
    return [{"name": row["name"], "slug": slugify(row["name"]), "count": row["visible"]} for row in rows]


def sitemap_entries(db: sqlite_utils.Database, offset: int = 0, limit: int = -1) -> list[dict]:
    """Every active listing (sold-out ones too: they may be restocked), never a withdrawn
    one: code and last change; `limit` of them from `offset` (a sitemap file's share)."""
    return fetch_all(db, "SELECT code, updated_at FROM listings WHERE status = 'active' ORDER BY id "
                         "LIMIT ? OFFSET ?", [limit, offset])


def active_listing_count(db: sqlite_utils.Database) -> int:
    """How many listings the sitemap lists (through listings_catalog, status first)."""
    return db.execute("SELECT COUNT(*) FROM listings WHERE status = 'active'").fetchone()[0]


def villages_on_sale(db: sqlite_utils.Database) -> list[dict]:
    """Villages with visible listings (name, province, path slugs, count); same-named
    villages of two provinces apart."""
    rows = fetch_all(
        db, f"SELECT c.village, c.province, COUNT(*) AS n FROM listings l JOIN contacts c "
            f"ON c.id = l.seller_id WHERE {listings.VISIBLE} AND c.village IS NOT NULL "
            f"GROUP BY c.village COLLATE NOCASE, c.province COLLATE NOCASE ORDER BY n DESC, c.village")
    return [{"name": row["village"], "province": row["province"],
             "path": village_path(row["province"], row["village"]), "count": row["n"]} for row in rows]


def seller_sitemap_entries(db: sqlite_utils.Database) -> list[dict]:
    """Sellers whose own story is visible (their page says more than the listings do)."""
    return fetch_all(db, "SELECT s.seller_id, s.updated_at FROM stories s JOIN contacts c "
                         "ON c.id = s.seller_id WHERE s.listing_id IS NULL AND s.status = 'visible' "
                         f"AND c.{_SELLERS} ORDER BY s.seller_id")
