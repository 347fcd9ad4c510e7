"""The public storefront: `/`, `/produk/<slug>`, `/l/<code>`, `/desa/<province>/<village>`,
`/penjual/<id>`, `/cari?q=`, `/sitemap.xml` (an index of `/sitemap/pages.xml` and
`/sitemap/listings-<n>.xml` past 50,000 URLs) and `/robots.txt`.

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

from flask import Blueprint, Response, abort, current_app, g, render_template, request, url_for
from markupsafe import Markup

from bot.pipeline.demand import count_search
from bot.services import orders, storefront
from bot.storage import utcnow
from bot.web.db import get_db, get_redis
from bot.web.guards import public_url, search_visitor
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
    name = storefront.find_village(db, province[:60], village[:60])
    if name is None:
        return render("not_found.html", status=404)
    return render("village.html", village=name, items=storefront.village_listings(db, name))


@bp.get("/cari")
def search():
    """Search by a product name, a synonym, or words of a name or village."""
    q = (request.args.get("q") or "").strip()[:80]
    items = storefront.search(get_db(), q) if q else []
    if q:  # found little: counted (in Redis) for the demand texts
        count_search(get_redis(), storefront.search_key(get_db(), q, len(items)), utcnow(),
                     visitor=search_visitor())
    page = render("search.html", q=q, items=items)
    page.headers["X-Robots-Tag"] = "noindex"
    return page


#: The sitemap protocol's limit of URLs in one file; past it `/sitemap.xml` is an index.
SITEMAP_MAX_URLS = 50_000


def _sitemap(template: str, **context) -> Response:
    response = Response(render_template(f"storefront/{template}", **context), mimetype="application/xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _listing_urls(db, offset: int = 0, limit: int = -1) -> list[tuple[str, str]]:
    return [(public_url(url_for("store.listing", code=row["code"])), row["updated_at"][:10])
            for row in storefront.sitemap_entries(db, offset, limit)]


def _page_urls(db) -> list[tuple[str, str | None]]:
    """The home page, the products and the villages on sale, the sellers' pages."""
    urls = [(public_url("/"), None)]
    urls += [(public_url(url_for("store.product", slug=row["slug"])), None)
             for row in storefront.products_on_sale(db)]
    urls += [(public_url(url_for("store.village", province=row["path"][0], village=row["path"][1])),
              None) for row in storefront.villages_on_sale(db)]
    urls += [(public_url(url_for("store.seller", seller_id=row["seller_id"])), row["updated_at"][:10])
             for row in storefront.seller_sitemap_entries(db)]
    return urls


@bp.get("/sitemap.xml")
def sitemap():
    """Every active listing (sold-out ones too), never a withdrawn one; plus products and
    villages. Past SITEMAP_MAX_URLS it is a sitemap index: `/sitemap/pages.xml` and
    `/sitemap/listings-<n>.xml`, each within the limit (DECISIONS 252)."""
    db = get_db()
    pages, listed = _page_urls(db), storefront.active_listing_count(db)
    if len(pages) + listed <= SITEMAP_MAX_URLS:
        return _sitemap("sitemap.xml", urls=pages + _listing_urls(db))
    files = [public_url(url_for("store.sitemap_pages"))]
    files += [public_url(url_for("store.sitemap_listings", number=n))
              for n in range(1, -(-listed // SITEMAP_MAX_URLS) + 1)]
    return _sitemap("sitemap_index.xml", files=files)


@bp.get("/sitemap/pages.xml")
def sitemap_pages():
    """The index's share of home, products and villages."""
    return _sitemap("sitemap.xml", urls=_page_urls(get_db()))


@bp.get("/sitemap/listings-<int:number>.xml")
def sitemap_listings(number: int):
    """The index's `number`th share of listings, oldest first (404 past the last)."""
    db = get_db()
    if number < 1 or (number - 1) * SITEMAP_MAX_URLS >= max(storefront.active_listing_count(db), 1):
        abort(404)  # like any unknown path: not a page for people
    return _sitemap("sitemap.xml", urls=_listing_urls(db, (number - 1) * SITEMAP_MAX_URLS,
                                                      SITEMAP_MAX_URLS))


@bp.get("/robots.txt")
def robots():
    """Crawlers may read the storefront, not the desk, the API or the statements."""
    text = ("User-agent: *\nAllow: /\nDisallow: /dashboard/\nDisallow: /api/\nDisallow: /verify/\n"
            "Disallow: /cari\n" f"Sitemap: {public_url('/sitemap.xml')}\n")
    response = Response(text, mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
