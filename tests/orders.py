"""Helpers for the order tests: sellers with listings, buyers with API keys and webhooks,
made through the product's own calls; a local server playing a buyer's system; and the
webhook verification recipe exactly as README documents it (not our signing code)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from werkzeug import Request, Response

from bot.services import buyers, contacts, listings, products
from bot.storage import transaction
from tests.providers import ScriptedProvider

BUYER_HOOK_PATH = "/buyer/jembatan-hook"


def seller_listing(db, phone: str, name: str, village: str, product: str, quantity: str, unit: str,
                   price: int, now: datetime) -> dict:
    """A registered seller (created if new) with one active listing; the listing row."""
    with transaction(db):
        contact = contacts.get_or_create_contact(db, phone, now)
        if contact.get("role") != "seller":
            contacts.register_seller(db, contact["id"], name, village, now)
        found, _ = products.resolve_product(db, product, now)
        return listings.create_listing(db, seller_id=contact["id"], product=found, product_text=product,
                                       quantity=Decimal(quantity), unit=unit, price=price, now=now)


def api_buyer(db, now: datetime, *, webhook_url: str | None = None, name: str = "Resto Sunda",
              city: str = "Jakarta", phone: str | None = None) -> tuple[dict, str]:
    """A coordinator-made buyer with an API key: (buyer, key). With `webhook_url` their
    news goes there; otherwise by WhatsApp to `phone`."""
    channel = "webhook" if webhook_url else "whatsapp"
    buyer, _ = buyers.create_buyer(db, name=name, city=city, channel=channel, now=now, phone=phone,
                                   webhook_url=webhook_url)
    _, key = buyers.create_api_key(db, buyer["id"], now, "tests")
    return buyers.get_buyer(db, buyer["id"]), key


def listing_quantity(db, code: str) -> Decimal:
    return listings.quantity_of(listings.find_listing(db, code))


def verify_relay(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """README's recipe, step by step: the signed text is the timestamp header, a dot and
    the raw body; HMAC-SHA256 with the secret, hex, compared in constant time against the
    `v1=` value; and the timestamp must be recent."""
    timestamp = headers["X-Jembatan-Timestamp"]
    signed = timestamp.encode() + b"." + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected, headers["X-Jembatan-Signature"])


@dataclass
class Received:
    """One POST the buyer's system got, and how it answered."""

    headers: dict
    body: bytes
    status: int

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class FakeBuyerSystem(ScriptedProvider):
    """A buyer's own server taking webhook relays; answers from `script` (an int status),
    200 when the script is empty. `received` keeps every request in arrival order."""

    received: list = field(default_factory=list)

    def install(self, httpserver) -> str:
        httpserver.expect_request(BUYER_HOOK_PATH, method="POST").respond_with_handler(self.handle)
        return httpserver.url_for(BUYER_HOOK_PATH)

    def handle(self, request: Request) -> Response:
        answer = self.next_answer()
        status = answer if isinstance(answer, int) else 200
        self.received.append(Received(dict(request.headers), request.get_data(), status))
        return Response("ok" if status < 300 else "down", status=status)

    def delivered(self) -> list[dict]:
        """The events the buyer's server accepted (2xx), in order."""
        return [r.event for r in self.received if 200 <= r.status < 300]
