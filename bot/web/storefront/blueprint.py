"""The public storefront: `/`, `/produk/<slug>`, `/l/<code>`, `/desa/<province>/<village>`,
`/penjual/<id>`, `/cari?q=`, `/sitemap.xml` (an index of `/sitemap/pages-<n>.xml` and
`/sitemap/listings-<n>.xml` past 50,000 URLs or 50 MiB) and `/robots.txt`.

Server-rendered, no JavaScript, every asset served here. Pages show a seller's first
name and village, never a phone number: buyers order through the bot's WhatsApp number
(and an SMS number for buyers, when one is configured), with the order text filled in.
Indonesian by default; `?lang=en` switches to English and is remembered in a cookie.
A sold-out listing stays (200, OutOfStock); a withdrawn one answers 410 with similar ones.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from bot.pipeline.demand import count_search
from bot.services import orders, storefront
from bot.storage import utcnow
from bot.web.db import get_db, get_redis
from bot.web.guards import public_url
from conversations.i18n import format_money, format_unit_price

bp = Blueprint("store", __name__, template_folder="templates", static_folder="static",
               static_url_path="/toko/static")

LANG_COOKIE = "jembatan_lang"
#: Pages may be cached a minute by the buyer's browser (stock changes, not by the second).
PAGE_CACHE = "public, max-age=60"
PAGE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")

WORDS = {
    "id": {
        "tagline": "Hasil desa, langsung dari petani dan perajin", "fresh": "Baru masuk",
        "by_product": "Menurut produk", "by_village": "Menurut desa", "search": "Cari",
        "search_hint": "cabai, beras, kopi…", "results": "Hasil pencarian",
        "nothing": "Belum ada yang dijual.",
        "no_results": "Tidak ada yang cocok. Coba kata lain.", "seller": "Penjual",
        "village": "Desa", "quantity": "Jumlah", "price": "Harga", "stock": "Stok",
        "sold_out": "Habis", "sold_out_note": "Stok sedang habis; penjual mungkin menambahnya lagi.",
        "withdrawn": "Jualan ini sudah ditutup.", "similar": "Jualan serupa",
        "order": "Cara memesan", "order_how": "Kirim pesan PESAN {code} jumlah ke nomor Jembatan. "
        "Ubah angka jumlahnya sesuai kebutuhan.", "order_wa": "Pesan lewat WhatsApp",
        "order_sms": "Pesan lewat SMS", "reference": "Harga acuan terbaru", "listings": "jualan",
        "from": "dari", "not_found": "Halaman tidak ditemukan.", "home": "Beranda",
        "other": "English", "photo": "Foto", "code": "Kode", "cheapest": "Termurah dulu",
        "listing_title": "{product} dari {village}",
        "story": "Cerita", "about_seller": "Tentang {name}", "seller_title": "{name} dari {village}",
        "seller_listings": "Jualan {name}", "seller_link": "Lihat penjual dan jualan lainnya",
    },
    "en": {
        "tagline": "Village produce, straight from farmers and makers", "fresh": "Just in",
        "by_product": "By product", "by_village": "By village", "search": "Search",
        "search_hint": "chili, rice, coffee…", "results": "Search results",
        "nothing": "Nothing on sale yet.",
        "no_results": "Nothing matches. Try another word.", "seller": "Seller",
        "village": "Village", "quantity": "Quantity", "price": "Price", "stock": "In stock",
        "sold_out": "Sold out", "sold_out_note": "Out of stock for now; the seller may restock.",
        "withdrawn": "This listing has been closed.", "similar": "Similar listings",
        "order": "How to order", "order_how": "Send PESAN {code} quantity to the Jembatan number. "
        "Change the quantity to what you need.", "order_wa": "Order on WhatsApp",
        "order_sms": "Order by SMS", "reference": "Latest reference price", "listings": "listings",
        "from": "from", "not_found": "Page not found.", "home": "Home",
        "other": "Indonesia", "photo": "Photo", "code": "Code", "cheapest": "Cheapest first",
        "listing_title": "{product} from {village}",
        "story": "Story", "about_seller": "About {name}", "seller_title": "{name} from {village}",
        "seller_listings": "{name}'s listings", "seller_link": "See the seller and other listings",
    },
}


def language() -> str:
    """`?lang=` if given (id or en), else the cookie's choice, else Indonesian."""
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    return chosen if chosen in WORDS else "id"


def digits(number: str | None) -> str:
    """A phone number's digits (`whatsapp:+62 812-…` -> `62812…`)."""
    return re.sub(r"\D", "", (number or "").removeprefix("whatsapp:"))


def order_links(code: str, quantity: int = 1) -> dict:
    """The WhatsApp link (the bot's WhatsApp sender) and, only when BUYER_SMS_NUMBER is
    set, an SMS link, both with `PESAN <code> <quantity> (web)` filled in (the tag records
    the order's source as `page`, DECISIONS 246); None where unset."""
    text = f"PESAN {code} {quantity} {orders.PAGE_TAG}"
    whatsapp = digits(current_app.config.get("TWILIO_WHATSAPP_FROM"))
    sms = digits(current_app.config.get("BUYER_SMS_NUMBER"))
    return {
        "text": text,
        "whatsapp": f"https://wa.me/{whatsapp}?text={quote(text)}" if whatsapp else None,
        "sms": f"sms:+{sms}?body={quote(text)}" if sms else None,
    }


def json_ld(data: dict) -> Markup:
    """`data` as JSON for a `<script type="application/ld+json">`, safe inside HTML."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def quantity_text(quantity) -> str:
    return format(quantity.normalize(), "f") if quantity == quantity.to_integral() else str(quantity)


def render(template: str, status: int = 200, **context):
    lang = g.store_lang
    path = context.pop("canonical_path", request.path)
    body = render_template(
        f"storefront/{template}", lang=lang, words=WORDS[lang], other="id" if lang == "en" else "en",
        canonical=public_url(path), money=lambda amount: format_money(amount, lang),
        unit_price=lambda price, unit: format_unit_price(price, unit),
        qty=quantity_text, order_links=order_links, public_url=public_url, json_ld=json_ld,
        listing_url=lambda code: url_for("store.listing", code=code),
        photo_url=lambda photo_id: url_for("api.media_file", ref=str(photo_id)),
        seller_url=lambda seller_id: url_for("store.seller", seller_id=seller_id),
        village_url=lambda path: url_for("store.village", province=path[0], village=path[1]),
        product_url=lambda name: url_for("store.product", slug=storefront.slugify(name)),
        **context)
    return Response(body, status=status, mimetype="text/html")


@bp.before_request
def _choose_language():
    g.store_lang = language()


@bp.after_request
def _headers(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("Cache-Control", PAGE_CACHE)
        response.vary.add("Cookie")
        if request.args.get("lang") in WORDS:
            response.set_cookie(LANG_COOKIE, request.args["lang"], max_age=365 * 86400,
                                samesite="Lax", httponly=True)
    return response


@bp.get("/")
def home():
    """What is fresh now, by product and by village (the villages of the fresh listings:
    every village on sale is the sitemap's job, not a phone's first page)."""
    db = get_db()
    fresh = storefront.fresh_listings(db)
    return render("home.html", fresh=fresh,
                  products=storefront.products_on_sale(db), villages=storefront.villages_of(fresh))


@bp.get("/produk/<slug>")
def product(slug: str):
    """A product's visible listings (synonyms and kinds too), cheapest first, beside the
    latest reference price. A synonym's page names the product's own page canonical."""
    db = get_db()
    found = storefront.product_by_slug(db, slug[:60])
    if found is None:
        return render("not_found.html", status=404)
    return render("product.html", product=found, items=storefront.product_listings(db, found),
                  reference=storefront.reference_price(db, found["id"]),
                  canonical_path=url_for("store.product", slug=storefront.slugify(found["name"])))


@bp.get("/l/<code>")
def listing(code: str):
    """One listing. Sold out: 200 with OutOfStock. Withdrawn: 410 with similar listings."""
    db = get_db()
    item = storefront.listing_page(db, code)
    if item is None:
        return render("not_found.html", status=404)
    path = url_for("store.listing", code=item["code"])
    if item["status"] != "active":
        return render("withdrawn.html", status=410, item=item, canonical_path=path,
                      similar=storefront.similar_listings(db, item))
    return render("listing.html", canonical_path=path, **listing_context(item, public_url(path)))


def listing_context(item: dict, canonical: str) -> dict:
    """What a listing page says about itself: title, description, image, order links and
    the schema.org Product/Offer (price in IDR, availability, seller's first name)."""
    words = WORDS[g.store_lang]
    in_stock = item["quantity"] > 0
    title = words["listing_title"].format(product=item["product_text"], village=item["village"])
    price = format_unit_price(item["price"], item["unit"])
    description = (f"{price} · {quantity_text(item['quantity'])} {item['unit']} · "
                   f"{item['seller_first_name']}, {item['village']}")
    images = [public_url(url_for("api.media_file", ref=str(p))) for p in item["photo_ids"]]
    ld = {
        "@context": "https://schema.org", "@type": "Product", "name": item["product_text"],
        "category": item["product_name"], "sku": item["code"], "url": canonical,
        "description": description,
        "offers": {
            "@type": "Offer", "url": canonical, "price": item["price"], "priceCurrency": "IDR",
            "availability": f"https://schema.org/{'InStock' if in_stock else 'OutOfStock'}",
            "seller": {"@type": "Person", "name": item["seller_first_name"],
                       "address": {"@type": "PostalAddress", "addressLocality": item["village"],
                                   **({"addressRegion": item["province"]} if item["province"] else {}),
                                   "addressCountry": "ID"}},
        },
    }
    if images:
        ld["image"] = images
    return {"item": item, "in_stock": in_stock, "title": title, "description": description,
            "image": images[0] if images else None, "ld": ld, "links": order_links(item["code"])}


@bp.get("/penjual/<int:seller_id>")
def seller(seller_id: int):
    """A seller: first name, village, their own story, their listings on sale."""
    found = storefront.seller_page(get_db(), seller_id) if seller_id < 10**12 else None
    if found is None:
        return render("not_found.html", status=404)
    words = WORDS[g.store_lang]
    title = words["seller_title"].format(name=found["first_name"], village=found["village"])
    return render("seller.html", seller=found, title=title)


@bp.get("/desa/<province>/<village>")
def village(province: str, village: str):
    """Listings of the sellers of one village (names repeat across provinces)."""
    db = get_db()
    found = storefront.find_village(db, province[:60], village[:60])
    if found is None:
        unknown = province == storefront.UNKNOWN_PROVINCE
        moved = storefront.moved_village(db, village[:60]) if unknown else None
        if moved is not None and moved[1] == village:  # a link shared before the province was known
            return redirect(url_for("store.village", province=moved[0], village=moved[1]), 301)
        return render("not_found.html", status=404)
    name, province_name = found
    return render("village.html", village=name, province=province_name,
                  items=storefront.village_listings(db, name, province_name))


@bp.get("/cari")
def search():
    """Search by a product name, a synonym, or words of a name or village."""
    q = (request.args.get("q") or "").strip()[:80]
    items = storefront.search(get_db(), q) if q else []
    if q:  # found little: counted (in Redis) for the demand texts
        count_search(get_redis(), storefront.search_key(get_db(), q, len(items)), utcnow())
    page = render("search.html", q=q, items=items)
    page.headers["X-Robots-Tag"] = "noindex"
    return page


#: The sitemap protocol's limits for one file: 50,000 URLs and 50 MiB uncompressed. Past
#: either, `/sitemap.xml` is an index. Tests inject smaller ones through the app's config
#: (`SITEMAP_MAX_URLS`, `SITEMAP_MAX_BYTES`); they are not environment settings.
SITEMAP_MAX_URLS = 50_000
SITEMAP_MAX_BYTES = 50 * 1024 * 1024
#: The longest listing code a page answers for (`storefront.listing_page` cuts at 20):
#: what bounds a listing entry's size, so listing files are cut by count alone.
LONGEST_CODE = 20
_URLSET_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n')
_URLSET_TAIL = "</urlset>\n"


def _limits() -> tuple[int, int]:
    config = current_app.config
    return (int(config.get("SITEMAP_MAX_URLS") or SITEMAP_MAX_URLS),
            int(config.get("SITEMAP_MAX_BYTES") or SITEMAP_MAX_BYTES))


def _entry(loc: str, lastmod: str | None) -> str:
    """One `<url>` line as the file carries it (its size is what the byte limit counts)."""
    return (f"<url><loc>{escape(loc)}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "")
            + "</url>\n")


def _xml(text: str) -> Response:
    response = Response(text, mimetype="application/xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _urlset(entries: list[str]) -> Response:
    return _xml(_URLSET_HEAD + "".join(entries) + _URLSET_TAIL)


def _listing_urls(db, offset: int = 0, limit: int = -1) -> list[str]:
    return [_entry(public_url(url_for("store.listing", code=row["code"])), row["updated_at"][:10])
            for row in storefront.sitemap_entries(db, offset, limit)]


def _page_urls(db) -> list[str]:
    """The home page, the products and the villages on sale, the sellers' pages."""
    urls = [_entry(public_url("/"), None)]
    urls += [_entry(public_url(url_for("store.product", slug=row["slug"])), None)
             for row in storefront.products_on_sale(db)]
    urls += [_entry(public_url(url_for("store.village", province=row["path"][0], village=row["path"][1])),
                    None) for row in storefront.villages_on_sale(db)]
    urls += [_entry(public_url(url_for("store.seller", seller_id=row["seller_id"])), row["updated_at"][:10])
             for row in storefront.seller_sitemap_entries(db)]
    return urls


def split_entries(entries: list[str], max_urls: int, max_bytes: int) -> list[list[str]]:
    """`entries` cut in order into files of at most `max_urls` entries and `max_bytes`
    bytes each (with the urlset around them); never an empty file."""
    room = max_bytes - len((_URLSET_HEAD + _URLSET_TAIL).encode())
    parts: list[list[str]] = [[]]
    size = 0
    for entry in entries:
        length = len(entry.encode())
        if parts[-1] and (len(parts[-1]) >= max_urls or size + length > room):
            parts.append([])
            size = 0
        parts[-1].append(entry)
        size += length
    return parts


def _listings_per_file(max_urls: int, max_bytes: int) -> int:
    """Listings in one file: the URL limit, or fewer when the longest entry a listing can
    have would pass the byte limit first."""
    longest = len(_entry(public_url(url_for("store.listing", code="W" * LONGEST_CODE)), "2026-01-01")
                  .encode())
    return max(1, min(max_urls, (max_bytes - len((_URLSET_HEAD + _URLSET_TAIL).encode())) // longest))


@bp.get("/sitemap.xml")
def sitemap():
    """Every active listing (sold-out ones too), never a withdrawn one; plus products,
    villages and sellers' pages. Past either of the protocol's limits (50,000 URLs, 50 MiB)
    it is a sitemap index of `/sitemap/pages-<n>.xml` and `/sitemap/listings-<n>.xml`, each
    within both (DECISIONS 252, 340)."""
    db = get_db()
    max_urls, max_bytes = _limits()
    pages, listed = _page_urls(db), storefront.active_listing_count(db)
    if len(pages) + listed <= max_urls:
        entries = pages + _listing_urls(db)
        if len(split_entries(entries, max_urls, max_bytes)) == 1:
            return _urlset(entries)
    per_file = _listings_per_file(max_urls, max_bytes)
    files = [public_url(url_for("store.sitemap_pages", number=n))
             for n in range(1, len(split_entries(pages, max_urls, max_bytes)) + 1)]
    files += [public_url(url_for("store.sitemap_listings", number=n))
              for n in range(1, -(-listed // per_file) + 1)]
    return _xml('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                + "".join(f"<sitemap><loc>{escape(loc)}</loc></sitemap>\n" for loc in files)
                + "</sitemapindex>\n")


@bp.get("/sitemap/pages-<int:number>.xml")
def sitemap_pages(number: int):
    """The index's `number`th share of home, products, villages and sellers' pages (404
    past the last)."""
    max_urls, max_bytes = _limits()
    parts = split_entries(_page_urls(get_db()), max_urls, max_bytes)
    if not 1 <= number <= len(parts):
        abort(404)
    return _urlset(parts[number - 1])


@bp.get("/sitemap/pages.xml")
def sitemap_pages_first():
    """The first share of pages, under the name indexes used before pages were split."""
    return sitemap_pages(1)


@bp.get("/sitemap/listings-<int:number>.xml")
def sitemap_listings(number: int):
    """The index's `number`th share of listings, oldest first (404 past the last)."""
    db = get_db()
    per_file = _listings_per_file(*_limits())
    if number < 1 or (number - 1) * per_file >= max(storefront.active_listing_count(db), 1):
        abort(404)  # like any unknown path: not a page for people
    return _urlset(_listing_urls(db, (number - 1) * per_file, per_file))


@bp.get("/robots.txt")
def robots():
    """Crawlers may read the storefront, not the desk, the API or the statements."""
    text = ("User-agent: *\nAllow: /\nDisallow: /dashboard/\nDisallow: /api/\nDisallow: /verify/\n"
            "Disallow: /cari\n" f"Sitemap: {public_url('/sitemap.xml')}\n")
    response = Response(text, mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
