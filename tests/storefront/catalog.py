"""A storefront catalog for tests: sellers in two villages (one with a recorded province),
a listing with a real photo (sent over WhatsApp and downloaded by a real worker), a
sold-out listing, a withdrawn one, and a reference price."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.services import contacts, listings, prices, products, schedule
from bot.storage import transaction
from tests.conftest import run_worker
from tests.test_media import SITI, FakeTwilioMedia, whatsapp

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
#: Every seller's number, so a test can look for any of them in any format.
SELLER_PHONES = [SITI, "+6285711112222", "+6281399998888"]


def png(width: int = 8, height: int = 6) -> bytes:
    """A real (tiny, green) PNG, so a browser can draw the photo."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x2f\x6b\x45" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _sell(db, seller, text, quantity, unit, price, minutes):
    product, _ = products.resolve_product(db, text, NOW)
    return listings.create_listing(db, seller_id=seller["id"], product=product, product_text=text,
                                   quantity=Decimal(quantity), unit=unit, price=price,
                                   now=NOW + timedelta(minutes=minutes))


def build(client, db, httpserver, redis_url) -> dict:
    """The catalog; returns codes by name: photo (cabai with a photo), cabe, bawang,
    kangkung, sold_out, withdrawn."""
    provider = FakeTwilioMedia(httpserver, (200, "image/png", png(), True))
    whatsapp(client, "DAFTAR Siti Aminah, Sukamaju")
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    run_worker(redis_url)
    photo = db.execute("SELECT code FROM listings ORDER BY id DESC LIMIT 1").fetchone()[0]
    with transaction(db):
        schedule.set_village_province(db, "Sukamaju", "Jawa Barat")
        budi = contacts.register_seller(
            db, contacts.get_or_create_contact(db, SELLER_PHONES[1], NOW)["id"], "Budi Santoso",
            "Cibodas", NOW)
        ani = contacts.register_seller(
            db, contacts.get_or_create_contact(db, SELLER_PHONES[2], NOW)["id"], "Ani", "Sukamaju", NOW)
        made = {
            "cabe": _sell(db, budi, "cabe", "2.5", "kg", 40000, 2),
            "bawang": _sell(db, ani, "brambang", "300", "kg", 25000, 3),
            "kangkung": _sell(db, budi, "kangkung", "30", "ikat", 3000, 4),
            "sold_out": _sell(db, ani, "cabai rawit", "1", "kg", 60000, 5),
            "withdrawn": _sell(db, budi, "tomat", "10", "kg", 8000, 6),
            "tomat": _sell(db, ani, "tomat", "20", "kg", 9000, 7),
        }
        listings.set_quantity(db, made["sold_out"]["id"], Decimal(0), NOW)
        listings.withdraw_listing(db, made["withdrawn"]["id"], NOW)
        cabai = products.find_product(db, "cabai")
        prices.record_reference_price(db, product_id=cabai["id"], price=35000, unit="kg", now=NOW,
                                      market="Pasar Induk")
    return {"photo": photo, **{name: row["code"] for name, row in made.items()}}
