"""`CARI produk [tempat]`: the best few listings of a product, in one SMS, with the codes
to order by. Open to anyone (the same listings are on the public catalog).

The product resolves through the catalogue's synonyms (`CARI cabe` finds cabai); a name
the catalogue does not know is looked for in what sellers typed. `tempat` is the
seller's village (`CARI cabai di Sukamaju`). Best means cheapest first, then the most
stock; as many as fit one SMS are shown, then how many more there are.
"""

from __future__ import annotations

from bot.services import listings, products
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command
from conversations.i18n import format_quantity, format_unit_price
from conversations.replies import fit_items

#: At most this many listings are looked at: "the best few".
SEARCH_LIMIT = 5


def _line(row: dict, locale: str) -> str:
    """`C7 Rp12.000/kg 50 kg Sukamaju`: code, price, quantity available, village."""
    quantity = format_quantity(listings.from_milli(row["quantity_milli"]), row["unit"], locale)
    price = format_unit_price(row["price"], row["unit"], locale)
    return f"{row['code']} {price} {quantity} {row['seller_village'] or '-'}"


def search(turn: Turn) -> str:
    """Reply with the cheapest active listings of the product (at the place, if named)."""
    name, place = turn.command.get("product"), turn.command.get("place")
    if not name:
        turn.reply("search.missing")
        return END
    product = products.find_product(turn.db, name)
    shown = product["name"] if product else products.normalize_product_name(name)
    rows, _ = listings.search_catalog(
        turn.db, product_id=product["id"] if product else None, q=None if product else shown,
        village=place, limit=SEARCH_LIMIT, order="cheapest", count=False)
    if not rows:
        if place:
            turn.reply("search.none_place", product=shown, place=place)
        else:
            turn.reply("search.none", product=shown)
        return END
    lines = [_line(row, turn.locale) for row in rows]
    reply_id, values = fit_items("search.results", "search.results_more", turn.locale, lines,
                                 product=shown)
    turn.reply(reply_id, **values)
    return END


SEARCH = Flow(
    name="search",
    entry={"search": Handler("search", match_command("search"), search, (END,))},
    states={},
    fallback=NO_DIALOG,
)
