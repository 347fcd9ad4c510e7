"""Coordinators by text: `SIARAN grup pesan`, `SIARAN STATUS [id]`, and publishing a
reference price with `HARGA produk harga[/satuan] [pasar]`, which is also broadcast to the
product's subscribers. All answered at once; all refused politely to anyone who is not a
coordinator (the engine checks `coordinator_only` before any of this runs).

The fan-out itself runs in a worker (`bot.jobs.plan_broadcast_job`), enqueued after this
message's transaction commits; if Redis is down the sweep plans it later.
"""

from __future__ import annotations

from datetime import timedelta

from bot.services import broadcasts, prices, products
from bot.services.coordinators import record_action
from bot.services.groups import PRODUCT_PREFIX, UnknownGroup
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command
from conversations.i18n import SUPPORTED_LOCALES, format_local_time, format_unit_price
from conversations.replies import render

#: Zones a price's local time is written in (one text per language and zone).
PRICE_ZONES = ("Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura")
#: Reference prices are written per kg unless the coordinator names a unit (`3rb/ikat`).
DEFAULT_PRICE_UNIT = "kg"


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
    turn.reply("broadcast.created", id=broadcast_id, group=row["group_name"],
               count=broadcasts.audience_size(turn.db, row["group_name"]))
    return END


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
    turn.reply("broadcast.status", id=row["id"], group=row["group_name"], **report)
    return END


def publish_price(turn: Turn) -> str:
    """`HARGA cabai 11500 Pasar Induk`: record the reference price, broadcast it to the
    product's subscribers (valid for PRICE_BROADCAST_TTL_HOURS), confirm with the count."""
    name, price = turn.command.get("product"), turn.command.get("price")
    if not name or not price or turn.command.get("missing"):
        turn.reply("publish_price.missing")
        return END
    unit = turn.command.get("unit") or DEFAULT_PRICE_UNIT
    market = turn.command.get("market")
    product, _ = products.resolve_product(turn.db, name, turn.now, contact_id=turn.contact["id"])
    prices.record_reference_price(turn.db, product_id=product["id"], price=price, unit=unit,
                                  now=turn.now, market=market, contact_id=turn.contact["id"])
    record_action(turn.db, turn.contact["phone"], "price.publish",
                  {"product": product["name"], "price": price, "unit": unit, "market": market},
                  turn.now, turn.contact["id"])
    texts = {
        f"{locale}|{zone}": _price_text(product["name"], price, unit, market, locale, zone, turn)
        for locale in SUPPORTED_LOCALES for zone in PRICE_ZONES
    }
    ttl = timedelta(hours=turn.settings.get("PRICE_BROADCAST_TTL_HOURS") or 6)
    group = f"{PRODUCT_PREFIX}{product['name']}"
    broadcast_id = broadcasts.create_broadcast(
        turn.db, group=group, text=texts[f"id|{PRICE_ZONES[0]}"], texts=texts, kind="price",
        created_by=turn.contact["phone"], now=turn.now, expires_at=turn.now + ttl,
        contact_id=turn.contact["id"])
    turn.handover.broadcast_ids.append(broadcast_id)
    values = {"product": product["name"], "price": format_unit_price(price, unit, turn.locale),
              "count": broadcasts.audience_size(turn.db, group), "id": broadcast_id}
    if market:
        turn.reply("publish_price.done", market=market, **values)
    else:
        turn.reply("publish_price.done_no_market", **values)
    return END


def _price_text(product, price, unit, market, locale, zone, turn: Turn) -> str:
    values = {"product": product, "price": format_unit_price(price, unit, locale),
              "time": format_local_time(turn.now, zone)}
    if market:
        return render("price.broadcast", locale, market=market, **values)
    return render("price.broadcast_no_market", locale, **values)


COORDINATION = Flow(
    name="coordination",
    entry={
        "broadcast": Handler("broadcast", match_command("broadcast"), broadcast, (END,)),
        "broadcast_status": Handler("broadcast_status", match_command("broadcast_status"),
                                    broadcast_status, (END,)),
        "publish_price": Handler("publish_price", match_command("publish_price"), publish_price,
                                 (END,)),
    },
    states={},
    fallback=NO_DIALOG,
    coordinator_only=True,
)
