"""`CARI produk [tempat]`: the best few listings of a product, in one SMS, with the codes
to order by. Open to anyone (the same listings are on the public catalog).

The product resolves through the catalogue's synonyms (`CARI cabe` finds cabai); a name
the catalogue does not know is looked for in what sellers typed. `tempat` is the
seller's village (`CARI cabai di Sukamaju`). Best means cheapest first, then the most
stock; as many as fit one SMS are shown, then how many more there are, and `LAGI` shows
the next ones. A catalogue product finds its kinds too (`CARI cabai`: cabai merah, cabai
rawit; DECISIONS 114). A search that found little is counted for the demand texts
(`bot.services.demand`).
"""

from __future__ import annotations

from bot.services import demand, listings, products
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command
from conversations.i18n import format_quantity, format_unit_price
from conversations.replies import fit_items

#: At most this many listings are looked at: "the best few".
SEARCH_LIMIT = 5


#: The dialog state after results that did not all fit: `LAGI` shows the next page.
MORE = "more"


def _line(row: dict, locale: str, product_id: int | None = None) -> str:
    """`C7 Rp12.000/kg 50 kg Sukamaju`: code, price, quantity available, village; a kind
    of the product searched for is named (`C8 cabai rawit Rp45.000/kg ...`)."""
    quantity = format_quantity(listings.from_milli(row["quantity_milli"]), row["unit"], locale)
    price = format_unit_price(row["price"], row["unit"], locale)
    kind = f"{row['product_name']} " if product_id is not None and row["product_id"] != product_id else ""
    return f"{row['code']} {kind}{price} {quantity} {row['seller_village'] or '-'}"


def search(turn: Turn) -> str:
    """Reply with the cheapest active listings of the product and its kinds (at the
    place, if named); `LAGI` shows the next ones."""
    name, place = turn.command.get("product"), turn.command.get("place")
    if not name:
        turn.reply("search.missing")
        return END
    product = products.find_product(turn.db, name)
    shown = product["name"] if product else products.normalize_product_name(name)
    turn.data = {"product_id": product["id"] if product else None,
                 "product_ids": products.kinds_of(turn.db, product) if product else None,
                 "q": None if product else shown, "place": place, "shown": shown, "offset": 0}
    return _page(turn, product)


def _page(turn: Turn, product: dict | None = None) -> str:
    """A page of the search in `turn.data`; `product` is the one searched for, when the
    caller has it already (a new search), so it is not read again for the demand count."""
    data = turn.data
    offset = int(data["offset"])
    ids = data["product_ids"] or []
    # one product walks its cheapest-first index; with its kinds, the few are merged
    rows, total = listings.search_catalog(
        turn.db, product_id=ids[0] if len(ids) == 1 else None,
        product_ids=ids if len(ids) > 1 else None, q=data["q"], village=data["place"],
        limit=SEARCH_LIMIT, offset=offset, order="cheapest")
    total = total or 0
    if not offset:  # a new search that found little tells sellers buyers are looking
        if product is None and data["product_id"]:
            product = products.get_product(turn.db, data["product_id"])
        demand.record_search(turn.db, product=product, name=data["shown"], area=data["place"],
                             results=total, source="text", now=turn.now)
    if not rows:
        if offset:
            turn.reply("more.none")
        elif data["place"]:
            turn.reply("search.none_place", product=data["shown"], place=data["place"])
        else:
            turn.reply("search.none", product=data["shown"])
        return END
    lines = [_line(row, turn.locale, data["product_id"]) for row in rows]
    beyond = total - offset - len(rows)
    reply_id, values = fit_items("search.results", "search.results_more", turn.locale, lines,
                                 beyond=beyond, product=data["shown"])
    turn.reply(reply_id, **values)
    if reply_id == "search.results":
        return END
    data["offset"] = offset + len(lines) + beyond - values["more"]
    return MORE


def more_results(turn: Turn) -> str:
    """`LAGI` after CARI: the next page of the same search."""
    return _page(turn)


SEARCH = Flow(
    name="search",
    entry={"search": Handler("search", match_command("search"), search, (END, MORE))},
    states={MORE: (Handler("more", match_command("more"), more_results, (END, MORE)),)},
    fallback=NO_DIALOG,
    passive=True,
)


def no_more(turn: Turn) -> str:
    """`LAGI` with no list open (or after the dialog timed out)."""
    turn.reply("more.none")
    return END


PAGING = Flow(
    name="paging",
    entry={"more": Handler("more", match_command("more"), no_more, (END,))},
    states={},
    fallback=NO_DIALOG,
    interrupts=lambda turn: False,  # LAGI during another question does not abandon it
)
