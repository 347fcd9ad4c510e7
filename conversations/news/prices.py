"""Publishing a reference price: record it, and broadcast it to the product's subscribers
in their language and time zone (valid for PRICE_BROADCAST_TTL_HOURS). Shared by the
coordinators' `HARGA` text and the desk's price page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from bot.services import broadcasts, prices
from bot.services.coordinators import record_action
from bot.services.groups import PRODUCT_PREFIX
from conversations.i18n import SUPPORTED_LOCALES, format_local_time, format_unit_price
from conversations.replies import render

#: Zones a price's local time is written in (one text per language and zone).
PRICE_ZONES = ("Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura")


@dataclass(frozen=True)
class PublishedPrice:
    """The recorded price's broadcast, and how many subscribers it reaches now."""

    broadcast_id: int
    audience: int


def publish_reference_price(
    db: sqlite_utils.Database, settings: dict, *, product: dict, price: int, unit: str,
    market: str | None, now: datetime, actor: str, contact_id: int | None,
) -> PublishedPrice:
    """Record the price and create its broadcast (the caller enqueues the planning job
    after the commit; the sweep plans it if Redis is down). Call inside a transaction."""
    prices.record_reference_price(db, product_id=product["id"], price=price, unit=unit, now=now,
                                  market=market, contact_id=contact_id)
    record_action(db, actor, "price.publish",
                  {"product": product["name"], "price": price, "unit": unit, "market": market},
                  now, contact_id)
    texts = {
        f"{locale}|{zone}": _price_text(product["name"], price, unit, market, locale, zone, now)
        for locale in SUPPORTED_LOCALES for zone in PRICE_ZONES
    }
    ttl = timedelta(hours=settings.get("PRICE_BROADCAST_TTL_HOURS") or 6)
    group = f"{PRODUCT_PREFIX}{product['name']}"
    broadcast_id = broadcasts.create_broadcast(
        db, group=group, text=texts[f"id|{PRICE_ZONES[0]}"], texts=texts, kind="price",
        created_by=actor, now=now, expires_at=now + ttl, contact_id=contact_id)
    return PublishedPrice(broadcast_id, broadcasts.audience_size(db, group))


def _price_text(product, price, unit, market, locale, zone, now: datetime) -> str:
    values = {"product": product, "price": format_unit_price(price, unit, locale),
              "time": format_local_time(now, zone)}
    if market:
        return render("price.broadcast", locale, market=market, **values)
    return render("price.broadcast_no_market", locale, **values)
