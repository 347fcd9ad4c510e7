"""Stories, a profile change and a photo from hub A to the city over real nats-server
processes and relays (DECISIONS 320-321): the photo crosses as chunks before its event and
is stored at the city without EXIF, where its pages read them (test_ops.py renders them)."""

from __future__ import annotations

import io

from PIL import Image

from bot.services import federation, media
from bot.storage import transaction
from tests.dialogs import SITI
from tests.federation.test_ops import stored_photo
from tests.federation.test_relay import WAIT, _running_with_one_listing, fed  # noqa: F401
from tests.test_media import gps_exif, jpeg
from tests.waiting import wait_until


def test_stories_a_profile_and_a_photo_reach_the_city(fed):  # noqa: F811
    _running_with_one_listing(fed)
    assert "tersimpan" in fed.hub.send(SITI, "CERITA C2 Cabai merah dipetik pagi hari.")
    assert "tersimpan" in fed.hub.send(SITI, "CERITA Petani cabai di lereng gunung.")
    siti = fed.hub.db.execute("SELECT * FROM contacts WHERE phone = ?", [SITI]).fetchone()
    listing_id = fed.hub.db.execute("SELECT id FROM listings WHERE code = 'C2'").fetchone()[0]
    hub_media = media.media_dir(fed.hub_env)
    noise = Image.effect_noise((1280, 900), 80).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=98, exif=gps_exif())
    assert len(out.getvalue()) > federation.CHUNK_BYTES  # more than one chunk
    stored_photo(fed.hub.db, {"id": siti[0], "phone": SITI}, hub_media, out.getvalue(),
                 listing_id=listing_id)
    stored_photo(fed.hub.db, {"id": siti[0], "phone": SITI}, hub_media, jpeg(), listing_id=listing_id)
    with transaction(fed.hub.db):
        fed.hub.db.execute("UPDATE contacts SET village = 'Cibodas' WHERE phone = ?", [SITI])
    fed.wait_converged()

    city_media = media.media_dir(fed.city_env)
    photos = media.listing_photos(fed.city, [listings_id(fed.city, "AC2")])
    files = [city_media / row["file_name"] for row in next(iter(photos.values()))]
    assert len(files) == 2 and all(path.exists() for path in files)
    for path in files:
        image = Image.open(path)
        assert dict(image.getexif()) == {}
    story = fed.city.execute("SELECT s.text FROM stories s JOIN listings l ON l.id = s.listing_id "
                             "WHERE l.code = 'AC2'").fetchone()[0]
    assert story == "Cabai merah dipetik pagi hari."
    seller = fed.city.execute("SELECT name, village FROM contacts WHERE origin_hub = 'A'").fetchone()
    assert tuple(seller) == ("Siti", "Cibodas")
    wait_until(lambda: not list((city_media / federation.INCOMING).glob("*")), timeout=WAIT,
               what="the city to clear the photo's chunks")


def listings_id(db, code: str) -> int:
    return db.execute("SELECT id FROM listings WHERE code = ?", [code]).fetchone()[0]


