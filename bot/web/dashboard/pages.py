"""The desk's pages: overview, people (and CSV import), a person, listings, products,
messages, broadcasts, prices, the team and the audit trail.

Reading pages take filters from the query string; each form post changes one thing through
`bot.services`, queues the texts it causes in the same transaction, hands them to the
workers after the commit, and redirects with a notice (post/redirect/get).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import abort, current_app, g, redirect, render_template, request, url_for

from bot.config import role_of
from bot.phones import InvalidPhoneNumber, display_address, mask_phone, normalize_phone
from bot.services import (
    broadcasts,
    demand,
    desk,
    desk_auth,
    federation,
    groups,
    members,
    orders,
    products,
    stories,
)
from bot.services.broadcasts import BroadcastTooLong
from bot.services.contacts import get_contact
from bot.services.coordinators import grant_coordinator
from bot.services.delivery_status import delivery_status
from bot.services.listings import from_milli, get_listing
from bot.services.schedule import next_send_time, parse_quiet_hours
from bot.sms import BRAND_PREFIX, septets, sms_segments
from bot.storage import to_db_time, transaction, utcnow
from bot.web.dashboard.blueprint import bp
from bot.web.dashboard.charts import price_chart
from bot.web.dashboard.common import N_, flash, gettext, hand_over
from bot.web.db import get_db
from conversations.i18n import format_local_time, format_money, format_quantity, format_unit_price
from conversations.news.notify import queue_notification
from conversations.news.prices import publish_reference_price
from conversations.replies import render

REFUSALS = {
    "missing_name": N_("nama kosong atau terlalu panjang"),
    "missing_village": N_("desa kosong atau terlalu panjang"),
    "ambiguous_village": N_("nama desa ini ada di beberapa provinsi: isi kolom province"),
    "unknown_province": N_("provinsi tidak dikenal"),
    "bad_phone": N_("bukan nomor telepon"),
    "duplicate": N_("nomor sudah ada di baris sebelumnya"),
    "bad_product": N_("nama produk tidak sah"),
    "not_a_seller": N_("nomor ini milik pembeli"),
    "opted_out": N_("orang ini sudah berhenti (BERHENTI)"),
    "withdrawn": N_("iklan sudah ditarik"),
    "bad_price": N_("harga tidak sah"),
    "bad_quantity": N_("jumlah tidak sah"),
    "same_product": N_("produk sama"),
    "unknown_product": N_("produk tidak dikenal"),
    "name_taken": N_("nama itu sudah dipakai produk lain"),
    "same_number": N_("nomor sama dengan nomor sekarang"),
    "number_taken": N_("nomor itu milik orang lain yang terdaftar"),
    "erased": N_("data orang ini sudah dihapus"),
    "missing_columns": N_("berkas harus punya kolom name, phone, village (dan products)"),
    "too_many_rows": N_("terlalu banyak baris (paling banyak 5000)"),
}


def _refusal_text(reason: str) -> str:
    return gettext(REFUSALS.get(reason, reason))


def _actor() -> tuple[str, int]:
    return g.user["phone"], g.user["id"]


def _timezone() -> str:
    return current_app.config.get("DEFAULT_TIMEZONE") or "Asia/Jakarta"


def _offset() -> int:
    value = request.args.get("offset", "0")
    return int(value) if value.isdigit() else 0


@bp.app_template_filter("money")
def _money(value) -> str:
    return format_money(int(value or 0), "id")


@bp.app_template_filter("address")
def _address(value) -> str:
    """A number as it is, a WhatsApp username user by their id (`WhatsApp ID.1502…`)."""
    return display_address(value)


@bp.app_template_filter("quantity")
def _quantity(listing: dict) -> str:
    return format_quantity(from_milli(listing["quantity_milli"]), listing["unit"], "id")


@bp.app_template_filter("pager_args")
def _pager_args(args, offset: int) -> str:
    return urlencode({**args.to_dict(), "offset": max(offset, 0)})


@cache
def gsm_alphabet() -> dict[str, str]:
    """GSM-7's basic and extension characters, for the composer's live counter."""
    basic, extension = [], []
    for point in range(0x2400):
        char = chr(point)
        try:
            size = len(char.encode("gsm03.38"))
        except (UnicodeEncodeError, ValueError):
            continue
        (basic if size == 1 else extension).append(char)
    return {"basic": "".join(basic), "extension": "".join(extension)}


@bp.errorhandler(403)
def _forbidden(error):
    return render_template("desk/error.html", code=403,
                           message=gettext("Peran Anda hanya boleh melihat, tidak mengubah.")), 403


@bp.errorhandler(400)
def _bad_request(error):
    message = (gettext("Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi.")
               if getattr(error, "description", "") == "csrf" else gettext("Permintaan tidak sah."))
    return render_template("desk/error.html", code=400, message=message), 400


@bp.errorhandler(404)
def _not_found(error):
    return render_template("desk/error.html", code=404, message=gettext("Tidak ditemukan.")), 404


# --- overview --------------------------------------------------------------------------


@bp.get("/")
def overview():
    """Today and this week at a glance, and what needs attention."""
    config, now = current_app.config, utcnow()
    figures = desk.overview(get_db(), now, _timezone(), bool(config.get("ANDROID_GATEWAY_URL")))
    delivery = delivery_status(get_db(), now, max_sweep_age=config["DELIVERY_MAX_SWEEP_AGE_SECONDS"],
                               max_backlog_age=config["DELIVERY_MAX_BACKLOG_AGE_SECONDS"])
    return render_template("desk/overview.html", f=figures, open_orders=desk.open_order_counts(get_db()),
                           delivery=delivery, last_sweep=to_db_time(delivery.last_sweep_at),
                           unmet=demand.top_unmet(get_db(), now), federation=_federation(now))


def _federation(now: datetime) -> dict | None:
    """The hub's link to the city, or the city's to each hub (None when standalone): the
    report of `jembatan hub status` and `/healthz/delivery` (DECISIONS 325)."""
    if role_of(current_app.config) == "standalone":
        return None
    return federation.status(get_db(), now)


# --- people ----------------------------------------------------------------------------


@bp.get("/orang")
def people():
    """Sellers, buyers and coordinators, searched and filtered."""
    filters = {key: request.args.get(key, "").strip()
               for key in ("q", "role", "village", "product", "opted_out")}
    rows, total = desk.people(get_db(), query=filters["q"], role=filters["role"], village=filters["village"],
                              product=filters["product"], opted_out=filters["opted_out"], offset=_offset())
    return render_template("desk/people.html", rows=rows, total=total, filters=filters,
                           villages=desk.villages(get_db()), offset=_offset(), page_size=desk.PAGE_SIZE)


@bp.get("/orang/<int:contact_id>")
def person(contact_id: int):
    """A person's listings, orders, balance and whole conversation."""
    page = desk.person(get_db(), contact_id)
    if page is None:
        abort(404)
    return render_template("desk/person.html", p=page, c=page["contact"])


def _tell(contact: dict, reply_id: str, **values) -> int:
    return queue_notification(get_db(), current_app.config, contact, reply_id, utcnow(), **values)


@bp.post("/orang/<int:contact_id>/pindah-nomor")
def move_number(contact_id: int):
    """Move a person to a new number; both numbers are told."""
    db, now = get_db(), utcnow()
    try:
        with transaction(db):
            moved = members.move_number(db, contact_id, request.form.get("phone", ""), now, *_actor())
            old = dict(moved.contact, phone=moved.old_phone)
            ids = [_tell(old, "desk.number_moved_old", number=mask_phone(moved.contact["phone"])),
                   _tell(moved.contact, "desk.number_moved_new", name=moved.contact["name"] or "")]
    except members.ChangeRefused as refused:
        flash(_refusal_text(refused.reason), "error")
    else:
        hand_over(ids)
        flash(gettext("Nomor dipindah. Nomor lama dan baru sudah diberi tahu."), "ok")
    return redirect(url_for("desk.person", contact_id=contact_id))


@bp.post("/orang/<int:contact_id>/reset-pin")
def reset_pin(contact_id: int):
    """Forget the seller's PIN; they are told to make a new one at the next withdrawal."""
    db = get_db()
    ids = []
    with transaction(db):
        if members.reset_pin(db, contact_id, utcnow(), *_actor()):
            ids.append(_tell(db_contact(contact_id), "desk.pin_reset"))
    hand_over(ids)
    if ids:
        flash(gettext("PIN dihapus; penjual sudah diberi tahu."), "ok")
    else:
        flash(gettext("Orang ini belum punya PIN."), "error")
    return redirect(url_for("desk.person", contact_id=contact_id))


def db_contact(contact_id: int) -> dict:
    """The contact, or a 404."""
    try:
        return get_contact(get_db(), contact_id)
    except KeyError:
        abort(404)


@bp.post("/orang/<int:contact_id>/hapus-data")
def erase(contact_id: int):
    """Erase a person's personal data on request (the ledger's amounts stay)."""
    if request.form.get("confirm") != "HAPUS":
        flash(gettext("Ketik HAPUS untuk memastikan."), "error")
        return redirect(url_for("desk.person", contact_id=contact_id))
    try:
        members.erase_person(get_db(), contact_id, utcnow(), *_actor())
    except members.ChangeRefused as refused:
        flash(_refusal_text(refused.reason), "error")
    else:
        flash(gettext("Data pribadi dihapus."), "ok")
    return redirect(url_for("desk.person", contact_id=contact_id))


# --- CSV import ------------------------------------------------------------------------


def _welcome_texts(plan: members.ImportPlan) -> list[str]:
    locale = current_app.config.get("DEFAULT_LOCALE") or "id"
    return [render("desk.welcome", locale, name=row.name, village=row.village)
            for row in plan.accepted if row.action == "create"]


@bp.route("/orang/impor", methods=["GET", "POST"])
def import_people():
    """Upload a CSV: first a preview with every row's fate and the welcome texts' SMS cost,
    then (with `confirm`) the import and its per-row report."""
    if request.method == "GET":
        return render_template("desk/import.html", plan=None, csv_text="", done=False)
    upload = request.files.get("file")
    text = upload.read().decode("utf-8-sig", errors="replace") if upload and upload.filename else \
        request.form.get("csv_text", "")
    db = get_db()
    plan = members.plan_import(db, text)
    welcome = _welcome_texts(plan) if not plan.error else []
    done = False
    if request.form.get("confirm") and not plan.error:
        now = utcnow()
        with transaction(db):
            created = members.apply_import(db, plan, now, *_actor())
            ids = [queue_notification(db, current_app.config, contact, "desk.welcome", now,
                                      name=contact["name"], village=contact["village"])
                   for contact in created]
        hand_over(ids)
        done = True
    return render_template("desk/import.html", plan=plan, csv_text=text, done=done, refusal=_refusal_text,
                           welcome_count=len(welcome), welcome_segments=members.welcome_cost(welcome))


# --- listings and products -------------------------------------------------------------


@bp.get("/iklan")
def listings():
    """Listings by code, product or seller."""
    query, status = request.args.get("q", "").strip(), request.args.get("status", "active")
    rows, total = desk.listings(get_db(), query=query, status=status, offset=_offset())
    return render_template("desk/listings.html", rows=rows, total=total, q=query, status=status,
                           offset=_offset(), page_size=desk.PAGE_SIZE)


#: the Pesanan page's state filter: open (default), each state, or all
ORDER_FILTERS = ("open", "requested", *orders.STATUSES, "all")


@bp.get("/pesanan")
def order_list():
    """Orders newest first: the open ones unless another state is chosen, or the one whose
    code is typed (a trial found the desk had no page for them, DECISIONS 455)."""
    status = request.args.get("status", "open")
    status = status if status in ORDER_FILTERS else "open"
    code = request.args.get("q", "").strip()
    if code:
        found = orders.find_order(get_db(), code)
        rows = [found] if found else []
    else:
        # "open" includes orders a city still waits on its hub for (DECISIONS 422, 396)
        statuses = {"open": orders.WAITING_STATUSES, "all": None}.get(status, (status,))
        rows = orders.list_orders(get_db(), statuses, desk.PAGE_SIZE, offset=_offset())
    return render_template("desk/orders.html", rows=rows, q=code, status=status, filters=ORDER_FILTERS,
                           offset=_offset(), page_size=desk.PAGE_SIZE)


@bp.get("/iklan/<int:listing_id>")
def listing(listing_id: int):
    """One listing, with the edit and withdraw forms."""
    try:
        row = get_listing(get_db(), listing_id)
    except KeyError:
        abort(404)
    seller = db_contact(row["seller_id"])
    return render_template("desk/listing.html", l=row, seller=seller,
                           quantity=str(from_milli(row["quantity_milli"]).normalize()))


@bp.post("/iklan/<int:listing_id>")
def edit_listing(listing_id: int):
    """Set price and quantity; the seller is told by text."""
    price = members.parse_price(request.form.get("price", ""))
    quantity = members.parse_quantity(request.form.get("quantity", ""))
    db, now = get_db(), utcnow()
    try:
        if price is None:
            raise members.ChangeRefused("bad_price")
        if quantity is None:
            raise members.ChangeRefused("bad_quantity")
        with transaction(db):
            changed = members.edit_listing(db, listing_id, price=price, quantity=quantity, now=now,
                                           actor=g.user["phone"], actor_id=g.user["id"])
            seller = db_contact(changed["seller_id"])
            locale = seller.get("locale") or "id"
            left = format_quantity(from_milli(changed["quantity_milli"]), changed["unit"], locale)
            ids = [_tell(seller, "desk.listing_changed", code=changed["code"],
                         product=changed["product_name"], quantity=left,
                         price=format_unit_price(changed["price"], changed["unit"], locale))]
    except KeyError:
        abort(404)
    except members.ChangeRefused as refused:
        flash(_refusal_text(refused.reason), "error")
    else:
        hand_over(ids)
        flash(gettext("Iklan diubah; penjual sudah diberi tahu."), "ok")
    return redirect(url_for("desk.listing", listing_id=listing_id))


@bp.post("/iklan/<int:listing_id>/tarik")
def withdraw_listing(listing_id: int):
    """Take the listing off the market; the seller is told by text."""
    db = get_db()
    try:
        with transaction(db):
            changed = members.withdraw_listing(db, listing_id, utcnow(), *_actor())
            ids = [_tell(db_contact(changed["seller_id"]), "desk.listing_withdrawn", code=changed["code"],
                         product=changed["product_name"])]
    except KeyError:
        abort(404)
    except members.ChangeRefused as refused:
        flash(_refusal_text(refused.reason), "error")
    else:
        hand_over(ids)
        flash(gettext("Iklan ditarik; penjual sudah diberi tahu."), "ok")
    return redirect(url_for("desk.listing", listing_id=listing_id))


# --- stories (issue 17) ------------------------------------------------------------------

STORY_REFUSALS = {"empty": N_("cerita kosong (atau hanya nomor, tautan, e-mail)"),
                  "too_long": N_("cerita terlalu panjang")}


@bp.get("/cerita")
def story_list():
    """Sellers' stories, last changed first, each with its edit and hide forms."""
    rows = stories.recent_stories(get_db(), limit=desk.PAGE_SIZE, offset=_offset())
    return render_template("desk/stories.html", rows=rows, offset=_offset(),
                           page_size=desk.PAGE_SIZE, max_chars=stories.MAX_STORY_CHARS)


def _story_target(story: dict, locale: str) -> str:
    if story["listing_id"] is None:
        return render("story.target.profile", locale)
    return render("story.target.listing", locale, code=get_listing(get_db(), story["listing_id"])["code"])


@bp.post("/cerita/<int:story_id>")
def edit_story(story_id: int):
    """Rewrite a story (cleaned like the seller's own text); the seller is told."""
    db, now = get_db(), utcnow()
    text = request.form.get("text", "").replace("\r\n", "\n")
    try:
        with transaction(db):
            story, _ = stories.edit_story(db, story_id, text, now, *_actor())
            seller = db_contact(story["seller_id"])
            ids = [_tell(seller, "desk.story_edited",
                         target=_story_target(story, seller.get("locale") or "id"))]
    except KeyError:
        abort(404)
    except stories.StoryRefused as refused:
        flash(gettext(STORY_REFUSALS[refused.reason]), "error")
    else:
        hand_over(ids)
        flash(gettext("Cerita diubah; penjual sudah diberi tahu."), "ok")
    return redirect(url_for("desk.story_list") + f"#cerita-{story_id}")


@bp.post("/cerita/<int:story_id>/sembunyikan")
def hide_story(story_id: int):
    """Hide a story from the public pages (or show it again); hiding tells the seller."""
    db, hide = get_db(), request.form.get("hide") == "1"
    try:
        with transaction(db):
            story = stories.set_hidden(db, story_id, hide, utcnow(), *_actor())
            ids = []
            if hide:
                seller = db_contact(story["seller_id"])
                ids.append(_tell(seller, "desk.story_hidden",
                                 target=_story_target(story, seller.get("locale") or "id")))
    except KeyError:
        abort(404)
    hand_over(ids)
    flash(gettext("Cerita disembunyikan; penjual sudah diberi tahu.") if hide
          else gettext("Cerita tampil lagi di toko."), "ok")
    return redirect(url_for("desk.story_list") + f"#cerita-{story_id}")


@bp.get("/produk")
def product_list():
    """Products with their names; seller-recorded ones first (merge candidates)."""
    rows = desk.products_overview(get_db())
    return render_template("desk/products.html", rows=rows)


@bp.post("/produk/gabung")
def merge_products():
    """Fold a stray product into the right one."""
    source, target = request.form.get("source", ""), request.form.get("target", "")
    try:
        if not (source.isdigit() and target.isdigit()):
            raise members.ChangeRefused("unknown_product")
        members.merge_products(get_db(), int(source), int(target), utcnow(), *_actor())
    except members.ChangeRefused as refused:
        flash(_refusal_text(refused.reason), "error")
    else:
        flash(gettext("Produk digabung."), "ok")
    return redirect(url_for("desk.product_list"))


@bp.post("/produk/<int:product_id>/sinonim")
def add_synonym(product_id: int):
    """Another name for a product."""
    try:
        members.add_synonym(get_db(), product_id, request.form.get("name", ""), utcnow(), *_actor())
    except members.ChangeRefused as refused:
        flash(_refusal_text(refused.reason), "error")
    else:
        flash(gettext("Sinonim ditambahkan."), "ok")
    return redirect(url_for("desk.product_list"))


# --- messages --------------------------------------------------------------------------


@bp.get("/pesan")
def messages():
    """Every message in and out, filtered by number, channel, status and direction."""
    filters = {key: request.args.get(key, "").strip() for key in ("phone", "channel", "status", "direction")}
    rows = desk.message_log(get_db(), phone=filters["phone"], channel=filters["channel"],
                            status=filters["status"], direction=filters["direction"], offset=_offset())
    return render_template("desk/messages.html", rows=rows, filters=filters, offset=_offset(),
                           page_size=desk.PAGE_SIZE, statuses=desk.MESSAGE_STATUSES)


# --- broadcasts ------------------------------------------------------------------------


def segment_count(text: str) -> dict:
    """Characters, encoding and SMS segments of `text` exactly as Twilio SMS sends it (with
    the brand prefix) and as WhatsApp or the hub phone send it (without)."""
    def one(body: str) -> dict:
        try:
            length, encoding = septets(body), "GSM-7"
        except UnicodeEncodeError:
            length, encoding = len(body.encode("utf-16-be")) // 2, "UCS-2"
        return {"length": length, "encoding": encoding, "segments": sms_segments(body)}
    return {"prefixed": one(BRAND_PREFIX + text), "plain": one(text)}


def _send_time_note(now: datetime, send_at: datetime | None = None) -> str | None:
    """When the broadcast goes out in the desk's zone, if not at once ("goes out at 06.00 WIB")."""
    quiet = parse_quiet_hours(current_app.config.get("QUIET_HOURS"))
    first = next_send_time(max(now, send_at or now), _timezone(), quiet)
    if send_at is not None or first > now + timedelta(minutes=1):
        return gettext("Pesan keluar pukul {time}.",
                       time=format_local_time(first, _timezone(), "dd/MM HH.mm"))
    return None


def _send_at() -> datetime | None:
    """The composer's "send at" (a local date and time in the desk's zone), or None."""
    value = request.form.get("send_at", "").strip()
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        return None
    return local.replace(tzinfo=ZoneInfo(_timezone())).astimezone(UTC)


@bp.get("/siaran")
def broadcast_page():
    """The composer and past broadcasts with their delivery counts."""
    return _broadcast_page(text="", group="")


def _broadcast_page(text: str, group: str, status: int = 200, audience: int | None = None,
                    send_at: datetime | None = None):
    db = get_db()
    past = [dict(row, report=broadcasts.broadcast_report(db, row["id"]))
            for row in db.query("SELECT * FROM broadcasts ORDER BY id DESC LIMIT 20")]
    group_names = ["semua", "pembeli", *[name for name, _ in groups.group_sizes(db)], *desk.villages(db)]
    return render_template("desk/broadcasts.html", text=text, group=group, count=segment_count(text),
                           gsm=gsm_alphabet(), config=current_app.config,
                           past=past, groups=group_names, audience=audience,
                           note=_send_time_note(utcnow(), send_at), send_at=request.form.get("send_at", ""),
                           prefix=BRAND_PREFIX), status


def _composed() -> str:
    """The composer's text as the browser's counter saw it (forms send line ends as CRLF)."""
    return request.form.get("text", "").replace("\r\n", "\n")


@bp.post("/siaran/hitung")
def broadcast_preview():
    """Count without sending (for browsers without JavaScript): segments and audience."""
    text, group = _composed(), request.form.get("group", "").strip()
    try:
        audience = broadcasts.audience_size(get_db(), group) if group else None
    except groups.UnknownGroup:
        flash(gettext("Grup tidak dikenal: {group}", group=group), "error")
        audience = None
    return _broadcast_page(text, group, audience=audience, send_at=_send_at())


@bp.post("/siaran")
def send_broadcast():
    """Create the broadcast and hand its planning to a worker (the sweep plans it if Redis
    is down)."""
    text, group = _composed().strip(), request.form.get("group", "").strip()
    if not text or not group:
        flash(gettext("Tulis pesan dan pilih grup."), "error")
        return _broadcast_page(text, group, 400)
    try:
        broadcast_id = broadcasts.create_broadcast(
            get_db(), group=group, text=text, created_by=g.user["phone"], now=utcnow(),
            contact_id=g.user["id"], allow_long=True, keep_unicode=True, send_at=_send_at())
    except groups.UnknownGroup:
        flash(gettext("Grup tidak dikenal: {group}", group=group), "error")
        return _broadcast_page(text, group, 400)
    except BroadcastTooLong:  # pragma: no cover - allow_long
        abort(400)
    hand_over(broadcast_ids=[broadcast_id])
    flash(gettext("Siaran #{id} dibuat.", id=broadcast_id), "ok")
    return redirect(url_for("desk.broadcast_page"))


# --- prices ----------------------------------------------------------------------------


@bp.get("/harga")
def price_page():
    """Publish a reference price; chart a product's history by market beside listing prices."""
    db = get_db()
    chosen = request.args.get("product", "").strip()
    product = products.find_product(db, chosen) if chosen else None
    chart = price_chart(desk.price_series(db, product["id"]), gettext) if product else None
    recent = db.query("SELECT r.*, p.name AS product FROM reference_prices r "
                      "JOIN products p ON p.id = r.product_id ORDER BY r.id DESC LIMIT 20")
    return render_template("desk/prices.html", product=product, chosen=chosen, chart=chart,
                           recent=list(recent))


@bp.post("/harga")
def publish_price():
    """Record a reference price and broadcast it to the product's subscribers."""
    db, now = get_db(), utcnow()
    name = request.form.get("product", "").strip()
    price = members.parse_price(request.form.get("price", ""))
    unit = (request.form.get("unit") or "kg").strip().lower()
    market = request.form.get("market", "").strip() or None
    product = products.find_product(db, name) if name else None
    if product is None or price is None or price <= 0:
        flash(gettext("Pilih produk yang dikenal dan tulis harga dalam rupiah."), "error")
        return redirect(url_for("desk.price_page", product=name))
    with transaction(db):
        published = publish_reference_price(db, current_app.config, product=product, price=price, unit=unit,
                                            market=market, now=now, actor=g.user["phone"],
                                            contact_id=g.user["id"])
    hand_over(broadcast_ids=[published.broadcast_id])
    flash(gettext("Harga dicatat dan dikirim ke {count} pelanggan.", count=published.audience), "ok")
    return redirect(url_for("desk.price_page", product=product["name"]))


# --- team and audit --------------------------------------------------------------------


def _admin_only() -> None:
    if g.user["role"] != "admin":
        abort(403)


@bp.get("/tim")
def team():
    """Who may use the desk, with which role (admins grant and revoke)."""
    return render_template("desk/team.html", rows=desk_auth.desk_users(get_db()), roles=desk_auth.ROLES)


@bp.post("/tim")
def grant_role():
    """Grant (or change) a desk role: admins only."""
    _admin_only()
    try:
        phone = normalize_phone(request.form.get("phone", ""))
    except InvalidPhoneNumber:
        flash(_refusal_text("bad_phone"), "error")
        return redirect(url_for("desk.team"))
    role = request.form.get("role", "")
    if request.form.get("revoke"):
        desk_auth.revoke_role(get_db(), phone, utcnow(), *_actor())
    elif role in desk_auth.ROLES:
        desk_auth.grant_role(get_db(), phone, role, utcnow(), *_actor())
        if request.form.get("sms_coordinator"):
            # Also may use coordinator texts (SIARAN, HARGA, BAYAR) from that phone.
            grant_coordinator(get_db(), phone, None, utcnow(), actor=g.user["phone"])
    flash(gettext("Tim diperbarui."), "ok")
    return redirect(url_for("desk.team"))


@bp.get("/jejak")
def audit():
    """The audit trail, newest first."""
    return render_template("desk/audit.html", rows=desk.audit_trail(get_db(), _offset()), offset=_offset(),
                           page_size=desk.PAGE_SIZE)
