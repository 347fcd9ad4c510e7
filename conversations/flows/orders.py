"""Orders by text, both sides.

Buyers (`ORDERING`): `PESAN kode jumlah [satuan]` (a missing quantity is asked for; a
number nobody registered is asked for its business and city, registered as a buyer, and
the order placed: a buyer arriving from a storefront page is not turned away), and
(`BUYER_ORDERS`) `BATAL kode` (only while the seller has not answered) and `TERIMA kode`
(the goods arrived: the seller is credited). An order text carrying the storefront's tag
(`PESAN C3 1 (web)`, `orders.PAGE_TAG`) is recorded with source `page`. Sellers
(`FULFILMENT`): `YA`/`TIDAK` [kode] and `KIRIM` [kode]. Both (`ORDER_STATUS`): `STATUS [kode]`.

A command without a code acts on the sender's only order it can apply to (bare `YA`
with one order pending), and otherwise lists the candidates' codes; a bare `YA`/`TIDAK`/
`KIRIM` never takes over a question another dialog has open (it may be its answer),
while one with a code does. An order that belongs to someone else is "not found":
order codes are not published, so nobody learns another's orders by guessing.
What each side is told is decided in `conversations.news.orders`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bot.services import buyers, listings, orders
from bot.services.orders import IllegalOrderTransition, OrderRefused
from conversations.dialog import END, NO_DIALOG, SAME, Flow, Handler, Turn, match_any_text, match_command
from conversations.flows.registration import clean_name, title_case, valid_name
from conversations.i18n import format_quantity
from conversations.news.orders import order_values, tell
from conversations.numbers import parse_quantity
from conversations.replies import fit_items, render

ASK_QUANTITY = "ask_quantity"
#: A first-time buyer's order waits for their business name, then their city.
ASK_BUSINESS = "ask_business"
ASK_CITY = "ask_city"


def state_word(status: str, locale: str) -> str:
    """`menunggu penjual`, `dikirim`...: an order's status in words."""
    return render(f"order.state.{status}", locale)


def _line(order: dict, locale: str) -> str:
    """`P7 20 kg cabai`: how an order is listed (its code, quantity and product, as
    `order_values` writes them; a row of `orders.seller_order_lines` is enough)."""
    quantity = format_quantity(listings.from_milli(order["quantity_milli"]), order["unit"], locale)
    return f"{order['code']} {quantity} {order['product_name']}"


def _find_own(turn: Turn, code: str, owner: str) -> dict | None:
    """The order `code` if the sender is its `owner` (buyer or seller), else None after
    replying "not found"."""
    order = orders.find_order(turn.db, code)
    column = "buyer_contact_id" if owner == "buyer" else "seller_id"
    if order is None or order[column] != turn.contact["id"]:
        turn.reply("order.not_found", code=listings.normalize_code(code))
        return None
    return order


def _own_orders(turn: Turn, owner: str, statuses: tuple[str, ...]) -> list[dict]:
    """The sender's orders in `statuses`, as the seller (oldest first) or the buyer (newest
    first)."""
    if owner == "seller":
        return orders.seller_orders(turn.db, turn.contact["id"], statuses)
    buyer = buyers.find_buyer_by_contact(turn.db, turn.contact["id"])
    return orders.buyer_orders(turn.db, buyer["id"], statuses, limit=50)[0]


def _pick(turn: Turn, owner: str, statuses: tuple[str, ...], which: str, none: str) -> dict | None:
    """The order the command names, or the sender's only order in `statuses`; otherwise
    reply with the candidates (`which`) or that there is none (`none`) and return None."""
    code = turn.command.get("order")
    if code:
        return _find_own(turn, str(code), owner)
    candidates = _own_orders(turn, owner, statuses)
    # "ya 7": a number that is no code; which order was meant is asked, never assumed
    unreadable = "order" in turn.command.get("missing", ()) and any(c.isdigit() for c in turn.text)
    if len(candidates) == 1 and not unreadable:
        return candidates[0]
    if not candidates:
        turn.reply(none)
        return None
    lines = [_line(order, turn.locale) for order in candidates]
    reply_id, values = fit_items(which, f"{which}_more", turn.locale, lines, count=len(candidates))
    turn.reply(reply_id, **values)
    return None


def _move(turn: Turn, order: dict, event: str, refusal: str, done: str) -> None:
    """Apply `event`, reply `done` and tell the other side; or reply `refusal` with the
    order's status if the event does not apply to it."""
    try:
        change = orders.apply_order_event(turn.db, order["id"], event, turn.now, settings=turn.settings,
                                          source="text")
    except IllegalOrderTransition as exc:
        turn.reply(refusal, code=order["code"], state=state_word(exc.order["status"], turn.locale))
        return
    if change.forwarded:  # a hub's order: asked of the hub, which answers (DECISIONS 305)
        turn.reply("order.cancel_forwarded", code=order["code"])
        return
    turn.reply(done, **order_values(change.order, turn.locale))
    tell(turn, change)


# --- buyers ------------------------------------------------------------------------------


def _quantity(value) -> Decimal | None:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return quantity if quantity.is_finite() else None


def _source(turn: Turn) -> str:
    """`page` when the text carries the storefront's tag (its order links fill it in)."""
    return "page" if orders.PAGE_TAG in turn.text.lower() else "text"


def _newcomer(turn: Turn) -> bool:
    """A number with no role yet: asked who they are before the order is placed."""
    return not turn.contact.get("role")


def _coordinator_not_buyer(turn: Turn) -> bool:
    """A coordinator orders only once registered as a buyer (`DAFTAR PEMBELI`): their
    PESAN never registers them on the way (DECISIONS 362)."""
    return bool(turn.contact.get("is_coordinator")) and turn.contact.get("role") != "buyer"


def _place(turn: Turn, code: str, quantity: Decimal | None, unit: str | None,
           placed: str = "order.placed") -> str:
    """Place the order, reply `placed`, and tell the seller; or explain what stands in the way."""
    buyer = buyers.find_buyer_by_contact(turn.db, turn.contact["id"])
    try:
        if quantity is None:
            raise OrderRefused("invalid_quantity", code=listings.normalize_code(code))
        change = orders.place_order(turn.db, buyer=buyer, listing_code=code, quantity=quantity,
                                    unit=unit or None, now=turn.now, settings=turn.settings,
                                    source=turn.data.get("source") or "text")
    except OrderRefused as refusal:
        _refused(turn, refusal)
        return END
    if change.to_status == "requested":  # a hub's listing: the village decides (DECISIONS 302)
        placed = "order.requested"
    turn.reply(placed, **order_values(change.order, turn.locale))
    tell(turn, change)
    return END


def _refused(turn: Turn, refusal: OrderRefused) -> None:
    values = refusal.values
    if refusal.reason == "listing_not_found":
        turn.reply("order.unknown_listing", code=values["code"])
    elif refusal.reason == "unit_mismatch":
        turn.reply("order.wrong_unit", code=values["code"], unit=values["unit"])
    elif refusal.reason == "invalid_quantity":
        turn.reply("order.invalid_quantity", code=values["code"])
    elif refusal.reason == "out_of_stock" and values["available"] > 0:
        turn.reply("order.out_of_stock", code=values["code"],
                   available=format_quantity(values["available"], values["unit"], turn.locale))
    elif refusal.reason == "new_buyer_share":
        turn.reply("order.new_buyer_limit", code=values["code"],
                   limit=format_quantity(values["limit"], values["unit"], turn.locale))
    elif refusal.reason == "new_buyer_pending":
        turn.reply("order.new_buyer_pending", count=values["count"])
    else:  # withdrawn, or nothing left at all
        turn.reply("order.unavailable", code=values["code"])


def _available_listing(turn: Turn, code: str) -> dict | None:
    """The listing if it can be ordered now; else None after replying why not."""
    listing = listings.find_listing(turn.db, code)
    if listing is None:
        _refused(turn, OrderRefused("listing_not_found", code=listings.normalize_code(code)))
        return None
    # A hub's listing is not refused here for its stock: only the hub can (DECISIONS 301).
    if listing["status"] != "active" or (listing["quantity_milli"] <= 0 and not listing["origin_hub"]):
        _refused(turn, OrderRefused("listing_unavailable", code=listing["code"]))
        return None
    return listing


def _orderable(turn: Turn, listing: dict, quantity: Decimal | None, unit: str | None) -> bool:
    """Whether the quantity and unit can be ordered from the listing (before a newcomer is
    asked who they are); else False after replying why not. Stock is checked on placing."""
    if unit and unit != listing["unit"]:
        _refused(turn, OrderRefused("unit_mismatch", code=listing["code"], unit=listing["unit"]))
        return False
    if quantity is None or not listings.valid_quantity(quantity) or orders.order_total(
            listing["price"], listings.to_milli(quantity)) <= 0:
        _refused(turn, OrderRefused("invalid_quantity", code=listing["code"]))
        return False
    if listings.to_milli(quantity) > listing["quantity_milli"] and not listing["origin_hub"]:
        _refused(turn, OrderRefused("out_of_stock", code=listing["code"], unit=listing["unit"],
                                    available=listings.quantity_of(listing)))
        return False
    try:  # a newcomer's limit, said before they are asked who they are
        orders.check_new_buyer(turn.db, None, listing, listings.to_milli(quantity))
    except OrderRefused as refusal:
        _refused(turn, refusal)
        return False
    return True


def _ask_business(turn: Turn, listing: str, quantity: Decimal, unit: str | None) -> str:
    """Keep the order a newcomer asked for and ask who they are."""
    turn.data.update(listing=listing, quantity=str(quantity), unit=unit)
    turn.reply("order.newcomer_ask_name", code=listing)
    return ASK_BUSINESS


def order(turn: Turn) -> str:
    """`PESAN C7 20`: place it; `PESAN C7`: ask how much (showing what is available). From
    a number nobody registered, the business and city are asked first (after the quantity)."""
    code = turn.command.get("listing")
    if _coordinator_not_buyer(turn):
        turn.reply("order.coordinator_not_buyer")
        return END
    if not code:
        turn.reply("order.format")
        return END
    turn.data["source"] = _source(turn)
    if "quantity" in turn.command and not _newcomer(turn):
        return _place(turn, str(code), _quantity(turn.command["quantity"]), turn.command.get("unit"))
    listing = _available_listing(turn, str(code))
    if listing is None:
        return END
    if "quantity" in turn.command:
        quantity, unit = _quantity(turn.command["quantity"]), turn.command.get("unit")
        if not _orderable(turn, listing, quantity, unit):
            return END
        return _ask_business(turn, listing["code"], quantity, unit)
    turn.data["listing"] = listing["code"]
    available = format_quantity(listings.quantity_of(listing), listing["unit"], turn.locale)
    turn.reply("order.ask_quantity", code=listing["code"], product=listing["product_name"],
               unit=listing["unit"], available=available)
    return ASK_QUANTITY


def take_quantity(turn: Turn) -> str:
    """An answer to "Berapa kg cabai (C7)?": `20`, `20 kg`, `2 kw`."""
    read = parse_quantity(turn.text)
    if read is None:
        turn.reply("order.ask_quantity_again", code=turn.data["listing"])
        return ASK_QUANTITY
    if _newcomer(turn):
        listing = _available_listing(turn, turn.data["listing"])
        if listing is None or not _orderable(turn, listing, read[0], read[1]):
            return END
        return _ask_business(turn, listing["code"], read[0], read[1])
    return _place(turn, turn.data["listing"], read[0], read[1])


def _register_and_place(turn: Turn) -> str:
    """Register the newcomer as a buyer, then place the order they asked for."""
    data = turn.data
    contact = buyers.register_by_text(turn.db, turn.contact["id"], data["business"], data["city"],
                                      turn.now)
    turn.contact.update(contact)
    return _place(turn, data["listing"], _quantity(data["quantity"]), data.get("unit"),
                  placed="order.placed_newcomer")


def take_business(turn: Turn) -> str:
    """An answer to "Apa nama usaha Bapak/Ibu?"; `Warung Bu Tini, Bandung` answers both."""
    parts = [p for p in (x.strip() for x in turn.text.split(",")) if p]
    name = clean_name(parts[0]) if parts else ""
    if not valid_name(name):
        turn.reply("register_buyer.invalid_name")
        return ASK_BUSINESS
    turn.data["business"] = title_case(name)
    if len(parts) > 1 and valid_name(clean_name(parts[1])):
        turn.data["city"] = title_case(clean_name(parts[1]))
        return _register_and_place(turn)
    turn.reply("register_buyer.ask_city", name=turn.data["business"])
    return ASK_CITY


def take_city(turn: Turn) -> str:
    """An answer to "Di kota mana?"."""
    city = clean_name(turn.text)
    if not valid_name(city):
        turn.reply("register_buyer.invalid_city")
        return ASK_CITY
    turn.data["city"] = title_case(city)
    return _register_and_place(turn)


def ask_again(turn: Turn) -> str:
    """Another command that starts nothing while a question is open: ask it again."""
    if turn.data.get("business"):
        turn.reply("register_buyer.ask_city", name=turn.data["business"])
    elif turn.data.get("quantity"):
        turn.reply("order.newcomer_ask_name", code=turn.data["listing"])
    else:
        turn.reply("order.ask_quantity_again", code=turn.data["listing"])
    return SAME


def cancel_order(turn: Turn) -> str:
    """`BATAL P7`: cancel an order the seller has not answered yet."""
    order = _find_own(turn, str(turn.command["order"]), "buyer")
    if order is not None:
        _move(turn, order, "cancel", "order.cannot_cancel", "order.cancelled")
    return END


def receive(turn: Turn) -> str:
    """`TERIMA P7` (or bare, with one order on its way): the goods arrived."""
    order = _pick(turn, "buyer", ("accepted", "shipped"), "order.which_receive", "order.none_to_receive")
    if order is not None:
        _move(turn, order, "receive", "order.cannot_receive", "order.received")
    return END


ORDERING = Flow(
    name="ordering",
    entry={"order": Handler("order", match_command("order"), order, (END, ASK_QUANTITY, ASK_BUSINESS))},
    states={
        ASK_QUANTITY: (Handler("quantity", match_any_text, take_quantity,
                               (END, ASK_QUANTITY, ASK_BUSINESS)),),
        ASK_BUSINESS: (Handler("business", match_any_text, take_business, (END, ASK_BUSINESS, ASK_CITY)),),
        ASK_CITY: (Handler("city", match_any_text, take_city, (END, ASK_CITY)),),
    },
    fallback=Handler("ask_again", lambda turn: True, ask_again, (SAME,)),
    # "unregistered": a number with no role (a first-time buyer from a storefront page)
    roles=("buyer", "unregistered"),
    role_replies={"seller": "order.seller_not_buyer"},
)

BUYER_ORDERS = Flow(
    name="buyer_orders",
    entry={
        "cancel_order": Handler("cancel_order", match_command("cancel_order"), cancel_order, (END,)),
        "receive": Handler("receive", match_command("receive"), receive, (END,)),
    },
    states={},
    fallback=NO_DIALOG,
    roles=("buyer",),
    unregistered_reply="not_registered.buyer",
)


# --- sellers -----------------------------------------------------------------------------


def accept(turn: Turn) -> str:
    """`YA P7` (or bare `YA` with one order pending): accept it; the buyer is told."""
    order = _pick(turn, "seller", ("pending",), "order.which_answer", "order.none_pending")
    if order is not None:
        _move(turn, order, "accept", "order.cannot_answer", "order.accepted")
    return END


def decline(turn: Turn) -> str:
    """`TIDAK P7`: decline it; the stock goes back to the listing and the buyer is told."""
    order = _pick(turn, "seller", ("pending",), "order.which_answer", "order.none_pending")
    if order is not None:
        _move(turn, order, "decline", "order.cannot_answer", "order.declined")
    return END


def ship(turn: Turn) -> str:
    """`KIRIM P7` (or bare, with one accepted order): it is on its way; the buyer is told."""
    order = _pick(turn, "seller", ("accepted",), "order.which_ship", "order.none_to_ship")
    if order is not None:
        _move(turn, order, "ship", "order.cannot_ship", "order.shipped")
    return END


FULFILMENT = Flow(
    name="fulfilment",
    entry={
        "accept": Handler("accept", match_command("accept"), accept, (END,)),
        "decline": Handler("decline", match_command("decline"), decline, (END,)),
        "ship": Handler("ship", match_command("ship"), ship, (END,)),
    },
    states={},
    fallback=NO_DIALOG,
    roles=("seller",),
    interrupts=lambda turn: bool(turn.command.get("order")),
)


# --- both --------------------------------------------------------------------------------


def status(turn: Turn) -> str:
    """`STATUS P7`: one order in full; `STATUS`: the sender's orders under way."""
    side = "seller" if turn.contact.get("role") == "seller" else "buyer"
    code = turn.command.get("order")
    if code:
        order = _find_own(turn, str(code), side)
        if order is not None:
            turn.reply(f"order.status_{side}", state=state_word(order["status"], turn.locale),
                       **order_values(order, turn.locale))
        return END
    rows = (_own_orders(turn, side, orders.WAITING_STATUSES) if side == "buyer"
            else orders.seller_order_lines(turn.db, turn.contact["id"]))
    if not rows:
        turn.reply("order.list_empty")
        return END
    lines = [f"{_line(row, turn.locale)} ({state_word(row['status'], turn.locale)})" for row in rows]
    reply_id, values = fit_items("order.list", "order.list_more", turn.locale, lines)
    turn.reply(reply_id, **values)
    return END


ORDER_STATUS = Flow(
    name="order_status",
    entry={"status": Handler("status", match_command("status"), status, (END,))},
    states={},
    fallback=NO_DIALOG,
    roles=("buyer", "seller"),
)
