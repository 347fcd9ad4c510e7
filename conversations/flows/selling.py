"""Selling: `JUAL produk jumlah harga` in one message, or a short dialog that asks only
for what is missing (product -> quantity -> unit -> price), plus the photos sent with it.

An answer may carry more than was asked (`50kg 12rb` to "Berapa banyak?"): whatever it
holds is taken, and only what is still missing is asked next. Values that cannot be read
or make no sense (a price of 0, 3 million tons) are asked for again, never guessed.
Photos sent with `JUAL`, during its dialog, or alone within `PHOTO_WINDOW` after a
listing was created are attached to that listing (downloaded later by a job).

A `JUAL` from a number nobody registered is kept (DECISIONS 490): the stranger is told to
register, `DAFTAR` runs the registration's own steps inside this dialog, and once they are
a seller the JUAL is offered back; only `YA` runs it, through the same steps as any JUAL.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from statistics import median

from bot.services import listings, media, prices, products, subscriptions
from conversations import keywords as kw
from conversations.dialog import END, SAME, Flow, Handler, Turn, match_any_text, match_command
from conversations.flows import registration
from conversations.i18n import format_money, format_number, format_quantity, format_unit_price
from conversations.numbers import (
    LEAST_BARE_PRICE,
    is_bare_number,
    parse_price,
    parse_quantity,
    squeeze_numbers,
    unit_of,
)
from conversations.parse import parse

#: A photo sent alone this soon after `JUAL` belongs to the listing just created.
PHOTO_WINDOW = timedelta(minutes=10)

ASK_PRODUCT, ASK_QUANTITY, ASK_UNIT, ASK_PRICE = "ask_product", "ask_quantity", "ask_unit", "ask_price"
CHECK_PRICE, ASK_DUPLICATE = "check_price", "ask_duplicate"
#: A stranger's JUAL waits for DAFTAR, then the registration's questions, then a YA.
AWAIT_REGISTER, OFFER_KEPT = "await_register", "offer_kept"
#: The registration's states as they are inside this dialog.
_REGISTERING = {"ask_name": "register_name", "ask_village": "register_village",
                "ask_province": "register_province"}
_NEXT = (ASK_PRODUCT, ASK_QUANTITY, ASK_UNIT, ASK_PRICE, CHECK_PRICE, ASK_DUPLICATE, END)
_KEEPING = (AWAIT_REGISTER, OFFER_KEPT, *_REGISTERING.values(), END)

#: answers to "add to C2 or a new listing?"
ADD_WORDS = frozenset({"tambah", "tambahkan", "gabung", "add", "1"})
NEW_WORDS = frozenset({"baru", "new", "2"})

#: A price more than this many times the usual one (or less than its inverse) is asked
#: about before it is published (DECISIONS 111).
PRICE_SANITY_FACTOR = 3
#: Listings tell the usual price only when there are at least this many (one seller's
#: earlier price is no market); a coordinator's reference price counts on its own.
USUAL_LISTINGS = 3


def _quantity(value) -> Decimal | None:
    """A parsed quantity (int/float from the parser, or stored text) as a valid Decimal."""
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return quantity if listings.valid_quantity(quantity) else None


def _product(value) -> str | None:
    name = products.normalize_product_name(value) if isinstance(value, str) else ""
    return name if products.valid_product_name(name) else None


def _take(turn: Turn, fields: dict) -> None:
    """Keep the readable, sensible values of a parse result for fields not known yet."""
    data = turn.data
    if "product" not in data and (product := _product(fields.get("product"))):
        data["product"] = product
    if "quantity" not in data and (quantity := _quantity(fields.get("quantity"))) is not None:
        data["quantity"] = str(quantity)
    if "unit" not in data and fields.get("unit"):
        data["unit"] = fields["unit"]
    price = fields.get("price")
    if "price" not in data and isinstance(price, int) and listings.valid_price(price):
        data["price"] = price
        data.pop("price_options", None)
    options = fields.get("price_options")
    if "price" not in data and options and all(isinstance(o, int) for o in options):
        # "5 ons 8rb", "dua puluh ribu": readings to offer back, never to use unasked
        data["price_options"] = [o for o in options if listings.valid_price(o)]


def _collect_media(turn: Turn) -> bool:
    """Record photos this message carried (they join the listing when it is created);
    True if the message was only a photo, which answers no question."""
    if not turn.media:
        return False
    ids = media.record_media(turn.db, turn.contact["id"], turn.media, turn.now)
    known = turn.data.setdefault("media", [])
    known.extend(i for i in ids if i not in known)
    return not turn.text.strip()


def _continue(turn: Turn) -> str:
    """Ask for the next missing value, or create the listing when nothing is missing."""
    data = turn.data
    if "product" not in data:
        turn.reply("sell.ask_product")
        return ASK_PRODUCT
    if "quantity" not in data:
        if "unit" in data:
            turn.reply("sell.ask_quantity_in_unit", product=data["product"], unit=data["unit"])
        else:
            turn.reply("sell.ask_quantity", product=data["product"])
        return ASK_QUANTITY
    if "unit" not in data:
        turn.reply("sell.ask_unit", product=data["product"],
                   quantity=format_number(Decimal(data["quantity"]), turn.locale))
        return ASK_UNIT
    if "price" not in data:
        options = data.get("price_options") or []
        if len(options) == 1:
            turn.reply("sell.confirm_price", product=data["product"],
                       price=format_unit_price(options[0], data["unit"], turn.locale))
        elif options:
            turn.reply("sell.ask_price_options", product=data["product"], unit=data["unit"],
                       options=_alternatives(options, turn.locale))
        else:
            turn.reply("sell.ask_price", product=data["product"], unit=data["unit"])
        return ASK_PRICE
    # The product is looked up once for the price check, the duplicate and the listing.
    product = products.find_product(turn.db, data["product"])
    if data.get("price_confirmed") != data["price"]:
        usual = _usual_price_of(turn, product, data["unit"])
        low, high = (usual / PRICE_SANITY_FACTOR, usual * PRICE_SANITY_FACTOR) if usual else (0, 0)
        if usual is not None and not low <= data["price"] <= high:
            turn.reply("sell.price_check",
                       price=format_unit_price(data["price"], data["unit"], turn.locale),
                       usual=format_unit_price(usual, data["unit"], turn.locale))
            return CHECK_PRICE
    if "duplicate" not in data and (same := _same_listing(turn, product)) is not None:
        data["duplicate"] = same["code"]
        turn.reply("sell.duplicate", product=same["product_name"], code=same["code"],
                   quantity=format_quantity(listings.quantity_of(same), same["unit"], turn.locale),
                   added=format_quantity(Decimal(data["quantity"]), data["unit"], turn.locale))
        return ASK_DUPLICATE
    _create_listing(turn, product)
    return END


def _same_listing(turn: Turn, product: dict | None) -> dict | None:
    """The seller's active listing of `product` (the one named) in this unit, if any
    (DECISIONS 115)."""
    if product is None:
        return None
    return listings.seller_listing_of(turn.db, turn.contact["id"], product["id"], turn.data["unit"])


def take_duplicate(turn: Turn) -> str:
    """TAMBAH: the stock joins the listing the seller has; BARU: a new listing."""
    word = turn.text.strip(" .,!?*").lower()
    data = turn.data
    if word in NEW_WORDS:
        data["duplicate"] = ""
        return _continue(turn)
    listing = listings.find_listing(turn.db, data["duplicate"]) if word in ADD_WORDS else None
    if listing is None or listing["status"] != "active" or listing["seller_id"] != turn.contact["id"]:
        if word in ADD_WORDS:  # withdrawn meanwhile: a new listing it is
            data["duplicate"] = ""
            return _continue(turn)
        turn.reply("sell.duplicate_again", code=data["duplicate"])
        return ASK_DUPLICATE
    added = Decimal(data["quantity"])
    listing = listings.add_to_listing(turn.db, listing["id"], added, data["price"], turn.now)
    if data.get("media"):
        media.attach_media(turn.db, data["media"], listing["id"])
    turn.reply("sell.added", code=listing["code"], product=listing["product_name"],
               added=format_quantity(added, listing["unit"], turn.locale),
               quantity=format_quantity(listings.quantity_of(listing), listing["unit"], turn.locale),
               price=format_unit_price(listing["price"], listing["unit"], turn.locale))
    return END


def _alternatives(options: list[int], locale: str) -> str:
    """`[8000, 80000]` -> `Rp8.000 atau Rp80.000` (or `or` in English)."""
    joiner = " atau " if locale.startswith("id") else " or "
    return joiner.join(format_money(option, locale) for option in options)


def usual_price(turn: Turn, product_name: str, unit: str) -> int | None:
    """The product's usual price per `unit`: the median of its latest reference prices
    and active listings in that unit, or None when too little is known (a new product)."""
    return _usual_price_of(turn, products.find_product(turn.db, product_name), unit)


def _usual_price_of(turn: Turn, product: dict | None, unit: str) -> int | None:
    if product is None:
        return None
    known = [row["price"] for row in prices.price_history(turn.db, product["id"], limit=10)
             if row["unit"] == unit]
    offered = listings.recent_prices(turn.db, product["id"], unit)
    if len(offered) >= USUAL_LISTINGS:
        known += offered
    return int(median(known)) if known else None


def _create_listing(turn: Turn, product: dict | None) -> None:
    """List what `turn.data` says; `product` is the one it names, None if nobody knows
    it yet (then it is created as new)."""
    data, contact = turn.data, turn.contact
    if product is None:
        product, _ = products.resolve_product(turn.db, data["product"], turn.now,
                                              contact_id=contact["id"])
    listing = listings.create_listing(
        turn.db, seller_id=contact["id"], product=product, product_text=data["product"],
        quantity=Decimal(data["quantity"]), unit=data["unit"], price=data["price"], now=turn.now,
    )
    # Listing a product is the clearest sign of wanting its price news.
    subscriptions.subscribe(turn.db, contact["id"], product["id"], turn.now, source="listing")
    if data.get("media"):
        media.attach_media(turn.db, data["media"], listing["id"])
    turn.reply(
        "sell.done_photo" if data.get("media") else "sell.done",
        product=product["name"], code=listing["code"],
        quantity=format_quantity(listings.quantity_of(listing), listing["unit"], turn.locale),
        price=format_unit_price(listing["price"], listing["unit"], turn.locale),
    )


def start_selling(turn: Turn) -> str:
    """`JUAL …`: take what the message says, then ask for the rest. From a number nobody
    registered, the JUAL is kept until the number has registered."""
    if not turn.contact.get("role"):
        return _keep_for_registration(turn)
    _collect_media(turn)
    _take(turn, turn.command)
    if "product" not in turn.data and turn.command.get("product"):
        turn.reply("sell.invalid_product")  # written, but not a product name we can use
        return ASK_PRODUCT
    return _continue(turn)


def take_product(turn: Turn) -> str:
    """An answer to "Apa yang mau dijual?" (it may carry quantity and price too)."""
    if _collect_media(turn):
        return _continue(turn)  # a photo alone: keep it, ask the same question again
    _take(turn, parse(f"JUAL {turn.text}"))
    if "product" not in turn.data:
        turn.reply("sell.invalid_product")
        return ASK_PRODUCT
    return _continue(turn)


def take_quantity(turn: Turn) -> str:
    """An answer to "Berapa banyak?": `50`, `50 kg`, `2,5 kw`, or `50kg 12rb`."""
    if _collect_media(turn):
        return _continue(turn)
    if other_product(turn):
        return ASK_QUANTITY
    read = parse_quantity(turn.text)
    if read is not None:
        fields = {"quantity": read[0], "unit": read[1] or None}
    else:
        fields = parse(f"JUAL {turn.text}")
    quantity = _quantity(fields.get("quantity"))
    if quantity is None:
        turn.reply("sell.invalid_quantity")
        return ASK_QUANTITY
    unit = fields.get("unit")
    if unit and turn.data.get("unit") not in (None, unit):
        # The unit came from a price ("12rb/kg") and the answer names another one: the
        # seller knows best what they sell, so the price is asked again per that unit.
        turn.data.pop("price", None)
        turn.data["unit"] = unit
    _take(turn, {**fields, "quantity": str(quantity)})
    return _continue(turn)


def take_unit(turn: Turn) -> str:
    """An answer to "Satuannya apa?": `kg`, `kw` (converted), `ikat`..."""
    if _collect_media(turn):
        return _continue(turn)
    word = turn.text.strip(" .,!?").lower()
    known = unit_of(word)
    if known is None:
        read = parse_quantity(turn.text)
        if read is None or not read[1]:
            turn.reply("sell.invalid_unit")
            return ASK_UNIT
        turn.data["quantity"], turn.data["unit"] = str(read[0]), read[1]
    else:
        unit, factor = known
        turn.data["quantity"], turn.data["unit"] = str(Decimal(turn.data["quantity"]) * factor), unit
    if _quantity(turn.data["quantity"]) is None:
        del turn.data["quantity"]  # "kw" turned a fine number into too much
        turn.reply("sell.invalid_quantity")
        return ASK_QUANTITY
    return _continue(turn)


def _read_price(text: str, unit: str) -> int | None:
    """`12rb`, `Rp 12.000`, `12rb/kg`, `harga 12 ribu saja` -> rupiah per `unit`.

    An approximate price (`12 ribuan`, `sekitar 12rb`, `40 an`) or a bare number below the
    smallest coin (`12`) is no price: asked again with the example (DECISIONS 376, 378)."""
    words = text.lower().replace("-", " ").split()
    if any(w in kw.APPROXIMATE_PRICE_WORDS or w in kw.APPROXIMATE_BEFORE_PRICE for w in words):
        return None
    candidates = [text, *squeeze_numbers(text).split()]
    for candidate in candidates:
        read = parse_price(candidate)
        if read is not None:
            price, per = read
            if per and per != unit:
                return None  # "3rb/kg" for something sold per ikat: ask again
            if price < LEAST_BARE_PRICE and is_bare_number(candidate):
                return None
            return price if listings.valid_price(price) else None
    return None


def take_price(turn: Turn) -> str:
    """An answer to "Berapa harganya per kg?" (or to "Harga Rp1.500.000/kg? Biasanya ...")."""
    if _collect_media(turn):
        return _continue(turn)
    if other_product(turn):
        return CHECK_PRICE if "price" in turn.data else ASK_PRICE
    price = _read_price(turn.text, turn.data["unit"])
    if price is None:
        turn.reply("sell.invalid_price", unit=turn.data["unit"])
        return ASK_PRICE
    turn.data["price"] = price
    turn.data.pop("price_options", None)
    return _continue(turn)


def _one_option(turn: Turn) -> bool:
    return _bare("accept")(turn) and len(turn.data.get("price_options") or []) == 1


def take_option(turn: Turn) -> str:
    """`YA` to "Maksud Anda Rp20.000/kg?": the price read back in digits is the price."""
    turn.data["price"] = turn.data.pop("price_options")[0]
    return _continue(turn)


def _bare(command: str):
    """Matches `YA` / `TIDAK` with no order code: an answer to our question. A regional or
    chatty yes/no (`nggih`, `ok ya`) is only a suggestion elsewhere, but answers ours."""

    def matches(turn: Turn) -> bool:
        parsed = turn.command
        if parsed.get("command") == "unknown":
            # "nggih", "ok ya", "iyaa": a short yes/no with no number answers our question
            return (parsed.get("suggestion") == command and len(turn.text.split()) <= 3
                    and not any(ch.isdigit() for ch in turn.text))
        return parsed.get("command") == command and "order" not in parsed and not parsed.get("missing")

    return matches


def refuse_options(turn: Turn) -> str:
    """`TIDAK` to the readings offered: ask for the price plainly."""
    turn.data.pop("price_options", None)
    turn.data.pop("price", None)
    return _continue(turn)


def confirm_price(turn: Turn) -> str:
    """`YA` to "Harga Rp1.500.000/kg? Biasanya sekitar Rp12.000/kg.": publish it as is."""
    turn.data["price_confirmed"] = turn.data["price"]
    return _continue(turn)


def other_product(turn: Turn) -> bool:
    """An answer that names another catalogue product than the one being asked about
    (`jagung 3kg 9rb` while asked about cabai) is asked about, never taken for it."""
    asked = turn.data.get("product")
    words = squeeze_numbers(turn.text).split()
    lead = []
    for word in words:
        if word[:1].isdigit() or unit_of(word) is not None:
            break
        lead.append(word)
    if not asked or not lead:
        return False
    # "sel tomat 9rb": a mistyped keyword may stand before the product, so every tail
    # of the leading words is tried
    other = None
    for start in range(len(lead)):
        named = _product(" ".join(lead[start:]))
        if named and (other := products.find_product(turn.db, named)) is not None:
            break
    if other is None:
        return False
    same = products.find_product(turn.db, asked)
    if same is not None and same["id"] == other["id"]:
        return False
    turn.reply("sell.other_product", product=asked, other=other["name"])
    return True


def _is_bare_price(turn: Turn) -> bool:
    return turn.command.get("command") == "publish_price" and "product" not in turn.command


def ask_again(turn: Turn) -> str:
    """Another command that starts nothing (`YA`, `STATUS`) while a question is open."""
    if "kept_sell" in turn.data:
        return _ask_kept_again(turn)
    return _continue(turn)


# --- a stranger's JUAL, kept through DAFTAR (DECISIONS 490) ------------------------------


def _keep_for_registration(turn: Turn) -> str:
    """Keep the text of the JUAL (not its photos: nothing is fetched for a number nobody
    registered) and say to register first."""
    turn.data["kept_sell"] = " ".join(turn.text.split())
    turn.reply("not_registered.sell_kept", keyword=kw.keyword_for("sell", turn.locale))
    return AWAIT_REGISTER


def _registering(step):
    """A registration step run inside this dialog: its states renamed, and its end (the
    number is now a seller) turned into the offer of the kept JUAL."""

    def run(turn: Turn) -> str:
        state = step(turn)
        if state == END:
            return OFFER_KEPT if turn.contact.get("role") == "seller" else END
        return _REGISTERING.get(state, state)

    return run


def _ask_kept_again(turn: Turn) -> str:
    """Anything else while the kept JUAL waits: repeat what it waits for."""
    if turn.contact.get("role") == "seller":
        turn.reply("sell.kept_ask", text=turn.data["kept_sell"])
    elif turn.data.get("role"):  # registering: its own question again
        return registration.ask_again(turn)
    else:
        turn.reply("not_registered.sell_kept", keyword=kw.keyword_for("sell", turn.locale))
    return SAME


def take_kept(turn: Turn) -> str:
    """`YA` to "Lanjutkan JUAL cabai 50kg 12rb?": the JUAL runs as if just sent, with
    every question a seller's JUAL gets (price check, duplicate)."""
    kept = turn.data["kept_sell"]
    turn.data.clear()
    turn.command = parse(kept)
    return start_selling(turn)


def drop_kept(turn: Turn) -> str:
    """`TIDAK`: nothing is listed."""
    turn.reply("sell.kept_dropped")
    return END


_start_registering = Handler("register", match_command("register"),
                             _registering(registration.start_registration), _KEEPING)


def attach_recent_photo(turn: Turn) -> None:
    """A photo with no command: it belongs to the listing created in the last minutes."""
    since = turn.now - PHOTO_WINDOW
    listing = listings.latest_listing_since(turn.db, turn.contact["id"], since)
    if listing is None:
        turn.reply("photo.no_listing", minutes=int(PHOTO_WINDOW.total_seconds() // 60))
        return
    media.record_media(turn.db, turn.contact["id"], turn.media, turn.now, listing_id=listing["id"])
    turn.reply("photo.attached", code=listing["code"], product=listing["product_name"])


SELLING = Flow(
    name="selling",
    entry={"sell": Handler("start", match_command("sell"), start_selling, (*_NEXT, AWAIT_REGISTER))},
    states={
        ASK_PRODUCT: (Handler("product", match_any_text, take_product, _NEXT),),
        ASK_QUANTITY: (Handler("quantity", match_any_text, take_quantity, _NEXT),),
        ASK_UNIT: (Handler("unit", match_any_text, take_unit, _NEXT),),
        ASK_PRICE: (
            Handler("option", _one_option, take_option, _NEXT),
            Handler("no_option", _bare("decline"), refuse_options, _NEXT),
            Handler("price", match_any_text, take_price, _NEXT),
            # "harga 12rb" starts with the HARGA keyword but answers the question
            Handler("price_with_keyword", _is_bare_price, take_price, _NEXT),
        ),
        CHECK_PRICE: (
            Handler("confirm", _bare("accept"), confirm_price, _NEXT),
            Handler("refuse", _bare("decline"), refuse_options, _NEXT),
            Handler("new_price", match_any_text, take_price, _NEXT),
            Handler("new_price_with_keyword", _is_bare_price, take_price, _NEXT),
        ),
        ASK_DUPLICATE: (Handler("duplicate", match_any_text, take_duplicate, _NEXT),),
        AWAIT_REGISTER: (_start_registering,),
        "register_name": (_start_registering, Handler("name", match_any_text,
                                                      _registering(registration.take_name), _KEEPING)),
        "register_village": (_start_registering, Handler(
            "village", match_any_text, _registering(registration.take_village), _KEEPING)),
        "register_province": (_start_registering, Handler(
            "province", match_any_text, _registering(registration.take_province), _KEEPING)),
        OFFER_KEPT: (Handler("take_kept", _bare("accept"), take_kept, _NEXT),
                     Handler("drop_kept", _bare("decline"), drop_kept, (END,))),
    },
    fallback=Handler("ask_again", lambda turn: True, ask_again, (*_NEXT, SAME)),
    # A stranger's JUAL is kept through DAFTAR (DECISIONS 490); a buyer's is refused.
    roles=("seller", "unregistered"),
)
