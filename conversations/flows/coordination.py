"""Coordinators by text: `SIARAN grup pesan`, `SIARAN STATUS [id]`, and publishing a
reference price with `HARGA produk harga[/satuan] [pasar]`, which is also broadcast to the
product's subscribers. All answered at once; all refused politely to anyone who is not a
coordinator (the engine checks `coordinator_only` before any of this runs).

The fan-out itself runs in a worker (`bot.jobs.plan_broadcast_job`), enqueued after this
message's transaction commits; if Redis is down the sweep plans it later.
"""

from __future__ import annotations

from bot.services import broadcasts, products
from bot.services.groups import PRODUCT_PREFIX, UnknownGroup
from conversations.dialog import END, SAME, Flow, Handler, Turn, match_command
from conversations.flows.selling import PRICE_SANITY_FACTOR, usual_price
from conversations.i18n import format_local_time, format_unit_price
from conversations.news.prices import publish_reference_price

#: Reference prices are written per kg unless the coordinator names a unit (`3rb/ikat`).
DEFAULT_PRICE_UNIT = "kg"
#: the dialog state while a far-off reference price is asked about
CHECK_PRICE = "check_price"


def broadcast(turn: Turn) -> str:
    """`SIARAN sukamaju Panen raya Sabtu`: create the broadcast and hand it to a worker."""
    group, text = turn.command.get("group"), turn.command.get("text")
    if not group or not text:
        turn.reply("broadcast.missing")
        return END
    phone = turn.contact["phone"]
    try:
        broadcast_id = broadcasts.create_broadcast(
            turn.db, group=group, text=text, created_by=phone, now=turn.now,
            contact_id=turn.contact["id"])
    except UnknownGroup:
        turn.reply("broadcast.unknown_group", group=group)
        return END
    except broadcasts.BroadcastTooLong as exc:
        turn.reply("broadcast.too_long", segments=exc.segments)
        return END
    turn.handover.broadcast_ids.append(broadcast_id)
    row = broadcasts.get_broadcast(turn.db, broadcast_id)
    values = {"id": broadcast_id, "group": row["group_name"],
              "count": broadcasts.audience_size(turn.db, row["group_name"])}
    later = _goes_out_later(turn, row["group_name"])
    if later:
        turn.reply("broadcast.created_later", time=later, **values)
    else:
        turn.reply("broadcast.created", **values)
    return END


def _goes_out_later(turn: Turn, group: str) -> str | None:
    """`06.00 WIB` (in the coordinator's zone) when quiet hours hold the broadcast back."""
    first = broadcasts.first_send_time(turn.db, turn.settings, group, turn.now)
    if first <= turn.now:
        return None
    return format_local_time(first, turn.timezone, "HH.mm")


def broadcast_status(turn: Turn) -> str:
    """`SIARAN STATUS [id]`: counts for one broadcast (default: this coordinator's latest)."""
    wanted = turn.command.get("broadcast")
    if wanted and str(wanted).isdigit():
        row = broadcasts.get_broadcast(turn.db, int(wanted))
        if row is None:
            turn.reply("broadcast.not_found", id=wanted)
            return END
    else:
        row = broadcasts.latest_broadcast_by(turn.db, turn.contact["phone"])
        if row is None:
            turn.reply("broadcast.status_none")
            return END
    report = broadcasts.broadcast_report(turn.db, row["id"])
    waiting = broadcasts.waiting_until(turn.db, row["id"], turn.now)
    if waiting is not None:
        turn.reply("broadcast.status_waiting", id=row["id"], group=row["group_name"],
                   time=format_local_time(waiting, turn.timezone, "HH.mm"),
                   queued=report["queued"], skipped=report["skipped"], expired=report["expired"])
    else:
        turn.reply("broadcast.status", id=row["id"], group=row["group_name"], **report)
    return END


def publish_price(turn: Turn) -> str:
    """`HARGA cabai 11500 Pasar Induk`: record the reference price, broadcast it to the
    product's subscribers (valid for PRICE_BROADCAST_TTL_HOURS), confirm with the count.
    A price far from the product's usual one (`1,5jt` for cabai at Rp11.500/kg) is asked
    about first, as a seller's listing is: it would reach every subscriber (DECISIONS 456)."""
    name, price = turn.command.get("product"), turn.command.get("price")
    if not name or not price or turn.command.get("missing"):
        turn.reply("publish_price.missing")
        return END
    unit = turn.command.get("unit") or DEFAULT_PRICE_UNIT
    turn.data = {"product": name, "price": price, "unit": unit, "market": turn.command.get("market")}
    usual = usual_price(turn, name, unit)
    if usual is not None and not usual / PRICE_SANITY_FACTOR <= price <= usual * PRICE_SANITY_FACTOR:
        turn.data["usual"] = usual
        _ask_to_check(turn)
        return CHECK_PRICE
    return _publish(turn)


def _ask_to_check(turn: Turn) -> None:
    data = turn.data
    product = products.find_product(turn.db, data["product"])
    turn.reply("publish_price.check", product=product["name"] if product else data["product"],
               price=format_unit_price(data["price"], data["unit"], turn.locale),
               usual=format_unit_price(data["usual"], data["unit"], turn.locale))


def check_again(turn: Turn) -> str:
    """Anything but YA (or BATAL, which the engine handles) while the price is asked about."""
    _ask_to_check(turn)
    return SAME


def _publish(turn: Turn) -> str:
    data = turn.data
    price, unit, market = data["price"], data["unit"], data.get("market")
    product, _ = products.resolve_product(turn.db, data["product"], turn.now, contact_id=turn.contact["id"])
    published = publish_reference_price(
        turn.db, turn.settings, product=product, price=price, unit=unit, market=market, now=turn.now,
        actor=turn.contact["phone"], contact_id=turn.contact["id"])
    turn.handover.broadcast_ids.append(published.broadcast_id)
    values = {"product": product["name"], "price": format_unit_price(price, unit, turn.locale),
              "count": published.audience, "id": published.broadcast_id}
    later = _goes_out_later(turn, f"{PRODUCT_PREFIX}{product['name']}")
    suffix = "_later" if later else ""
    if later:
        values["time"] = later
    if market:
        turn.reply(f"publish_price.done{suffix}", market=market, **values)
    else:
        turn.reply(f"publish_price.done_no_market{suffix}", **values)
    return END


COORDINATION = Flow(
    name="coordination",
    entry={
        "broadcast": Handler("broadcast", match_command("broadcast"), broadcast, (END,)),
        "broadcast_status": Handler("broadcast_status", match_command("broadcast_status"),
                                    broadcast_status, (END,)),
        "publish_price": Handler("publish_price", match_command("publish_price"), publish_price,
                                 (END, CHECK_PRICE)),
    },
    # Bare YA publishes the price asked about; `YA P7` is an order code, not an answer.
    states={CHECK_PRICE: (Handler("yes", lambda turn: turn.command.get("command") == "accept"
                                  and "order" not in turn.command, _publish, (END,)),)},
    fallback=Handler("check_again", lambda turn: True, check_again, (SAME,)),
    coordinator_only=True,
)
