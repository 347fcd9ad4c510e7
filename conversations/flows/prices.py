"""Reference prices for sellers: `HARGA produk [pasar]` (the latest price, where and
when) and `LANGGAN produk` (price news for that product). Answered at once.

Product names resolve through the catalogue's synonyms (`HARGA cabe` finds cabai's
prices). A price query never creates a product; a subscription may (an unknown product
is recorded as new, so its first price reaches the subscriber).
"""

from __future__ import annotations

from bot.services import prices, products, subscriptions
from bot.storage import from_db_time
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command
from conversations.i18n import format_local_time, format_unit_price

#: Dates of reference prices, in the reader's zone: `28/11/2026 09.00 WIB`.
PRICE_DATE_PATTERN = "dd/MM/yyyy HH.mm"


def price(turn: Turn) -> str:
    """`HARGA cabai [Pasar Induk]`: the latest reference price, or a clear "none yet"."""
    name, market = turn.command.get("product"), turn.command.get("market")
    if not name:
        turn.reply("price.missing")
        return END
    product = products.find_product(turn.db, name)
    row = prices.latest_reference_price(turn.db, product["id"], market) if product else None
    shown = product["name"] if product else products.normalize_product_name(name)
    if row is None:
        if market:
            turn.reply("price.none_market", product=shown, market=market)
        else:
            turn.reply("price.none", product=shown)
        return END
    values = {
        "product": shown,
        "price": format_unit_price(row["price"], row["unit"], turn.locale),
        "date": format_local_time(from_db_time(row["recorded_at"]), turn.timezone,
                                  PRICE_DATE_PATTERN),
    }
    if row["market"]:
        turn.reply("price.latest", market=row["market"], **values)
    else:
        turn.reply("price.latest_no_market", **values)
    return END


def subscribe(turn: Turn) -> str:
    """`LANGGAN cabai`: price news for the product (BERHENTI still stops all broadcasts)."""
    name = turn.command.get("product")
    if not name or not products.valid_product_name(products.normalize_product_name(name)):
        turn.reply("subscribe.missing")
        return END
    product, _ = products.resolve_product(turn.db, name, turn.now, contact_id=turn.contact["id"])
    added = subscriptions.subscribe(turn.db, turn.contact["id"], product["id"], turn.now)
    if turn.contact.get("opted_out"):
        turn.reply("subscribe.opted_out", product=product["name"])
    elif added:
        turn.reply("subscribe.done", product=product["name"])
    else:
        turn.reply("subscribe.already", product=product["name"])
    return END



PRICES = Flow(
    name="prices",
    entry={
        "price": Handler("price", match_command("price"), price, (END,)),
        "subscribe": Handler("subscribe", match_command("subscribe"), subscribe, (END,)),
    },
    states={},
    fallback=NO_DIALOG,
    roles=("seller", "buyer", "coordinator"),
)
