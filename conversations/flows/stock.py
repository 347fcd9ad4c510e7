"""A seller's own listings: `STOK` (list them), `STOK kode jumlah` (set what is left),
`STOK kode tambah/kurang N` (change it by N, echoing the new total), `STOK kode habis`
(none left) and `HAPUS kode` (withdraw). Each is answered at once.

A code is looked up in any case; a code that exists but belongs to someone else gets a
clear "not yours" (codes are public in the catalog, so hiding that they exist would
protect nothing and confuse a seller who mistyped).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bot.services import listings, orders
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command
from conversations.i18n import format_quantity, format_unit_price
from conversations.replies import fit_items


def _own_listing(turn: Turn, code: str) -> dict | None:
    """The sender's active listing with `code`, or None after replying why not."""
    listing = listings.find_listing(turn.db, code)
    if listing is None:
        turn.reply("listing.unknown", code=listings.normalize_code(code))
    elif listing["seller_id"] != turn.contact["id"]:
        turn.reply("listing.not_yours", code=listing["code"])
    elif listing["status"] != "active":
        turn.reply("listing.withdrawn", code=listing["code"])
    else:
        return listing
    return None


def _line(listing: dict, locale: str) -> str:
    quantity = format_quantity(listings.quantity_of(listing), listing["unit"], locale)
    price = format_unit_price(listing["price"], listing["unit"], locale)
    return f"{listing['code']} {listing['product_name']} {quantity} {price}"


#: The dialog state after a list that did not fit: `LAGI` shows the next page.
MORE = "more"


def list_stock(turn: Turn) -> str:
    """Reply with the seller's active listings (most recent first, sold-out ones last) in
    one SMS from `turn.data["offset"]` on: as many as fit, then how many more there are,
    which `LAGI` shows (DECISIONS 113)."""
    rows = listings.seller_listings(turn.db, turn.contact["id"])
    offset = int(turn.data.get("offset", 0))
    if not rows:
        turn.reply("stock.empty")
        return END
    lines = [_line(row, turn.locale) for row in rows[offset:]]
    if not lines:
        turn.reply("more.none")
        return END
    reply_id, values = fit_items("stock.list", "stock.list_more", turn.locale, lines)
    turn.reply(reply_id, **values)
    if reply_id == "stock.list":
        return END
    turn.data["offset"] = offset + len(lines) - values["more"]
    return MORE


def more_stock(turn: Turn) -> str:
    """`LAGI` after STOK: the next page."""
    return list_stock(turn)


def stock(turn: Turn) -> str:
    """`STOK` lists; `STOK kode jumlah` sets the quantity left (0: sold out)."""
    command = turn.command
    if "listing" not in command and "quantity" not in command and "change" not in command:
        turn.data = {}
        return list_stock(turn)
    if command.get("missing"):
        turn.reply("stock.invalid")
        return END
    listing = _own_listing(turn, command["listing"])
    if listing is None:
        return END
    unit = command.get("unit")
    if unit and unit != listing["unit"]:
        turn.reply("stock.wrong_unit", code=listing["code"], unit=listing["unit"])
        return END
    # `STOK C2 30` is what the seller has on hand. Part of it may be promised to orders
    # not yet shipped; only the rest can be ordered, or we would sell it twice.
    holding = orders.holding_orders(turn.db, listing["id"])
    reserved = listings.from_milli(sum(order["quantity_milli"] for order in holding))
    change = _decimal(command.get("change"))
    if "change" in command:
        # `STOK C2 tambah 20` / `kurang 5`: on hand goes up or down by that much
        on_hand = listings.quantity_of(listing) + reserved
        quantity = on_hand + change if change is not None else Decimal(-1)
        if change is not None and quantity < 0:
            turn.reply("stock.change_too_much", code=listing["code"],
                       quantity=format_quantity(on_hand, listing["unit"], turn.locale))
            return END
    else:
        quantity = _decimal(command.get("quantity"))
        quantity = Decimal(-1) if quantity is None else quantity
    if not listings.valid_quantity(quantity, allow_zero=True) or change == 0:
        turn.reply("stock.invalid")
        return END
    if quantity < reserved:
        # A later decline would put the held stock back on sale, stock that is gone.
        turn.reply("stock.below_reserved", code=listing["code"],
                   reserved=format_quantity(reserved, listing["unit"], turn.locale),
                   orders=", ".join(order["code"] for order in holding))
        return END
    listing = listings.set_quantity(turn.db, listing["id"], quantity - reserved, turn.now)
    values = {"code": listing["code"], "product": listing["product_name"],
              "quantity": format_quantity(listings.quantity_of(listing), listing["unit"], turn.locale)}
    if change is not None:
        turn.reply("stock.added" if change > 0 else "stock.removed", **values,
                   change=format_quantity(abs(change), listing["unit"], turn.locale),
                   total=format_quantity(quantity, listing["unit"], turn.locale))
    elif reserved:
        turn.reply("stock.updated_reserved", **values,
                   total=format_quantity(quantity, listing["unit"], turn.locale),
                   reserved=format_quantity(reserved, listing["unit"], turn.locale))
    else:
        turn.reply("stock.updated", **values)
    return END


def _decimal(value) -> Decimal | None:
    """A parsed number (int/float from the parser) as a Decimal, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def delete(turn: Turn) -> str:
    """`HAPUS kode`: withdraw the seller's listing from the catalog."""
    if "listing" not in turn.command:
        turn.reply("delete.missing")
        return END
    listing = _own_listing(turn, turn.command["listing"])
    if listing is not None:
        listings.withdraw_listing(turn.db, listing["id"], turn.now)
        turn.reply("delete.done", code=listing["code"], product=listing["product_name"])
    return END



STOCK = Flow(
    name="stock",
    entry={
        "stock": Handler("stock", match_command("stock"), stock, (END, MORE)),
        "delete": Handler("delete", match_command("delete"), delete, (END,)),
    },
    states={MORE: (Handler("more", match_command("more"), more_stock, (END, MORE)),)},
    fallback=NO_DIALOG,
    roles=("seller",),
    unregistered_reply="not_registered.seller",  # DECISIONS 454
    passive=True,
)
