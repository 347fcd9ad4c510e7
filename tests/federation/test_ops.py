"""Federation operations (issue 18, DECISIONS 320-334): sellers' profiles, stories and
photos travel as hub events and show on the city's storefront; a database that becomes a
hub publishes what it already had, once; a restored hub's snapshot withdraws at the city
what it lost; acknowledged events are pruned after the retention, each entity's newest
kept. The relay's transport is played here by its own functions (the NATS path is in
test_relay.py)."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from PIL import Image

from bot.migrations import apply_migrations
from bot.services import contacts, federation, listings, media, stories
from bot.storage import open_database, to_db_time, transaction
from bot.web.app import create_app
from tests.federation.test_outbox import CITY, HUB, NOW, database, listing, seller
from tests.test_media import gps_exif, jpeg


def ship(hub, city, hub_media: Path, city_media: Path, hub_id="A") -> list[tuple[str, str]]:
    """What the two relays do with every unpublished event: a photo's chunks first."""
    outcomes = []
    rows = federation.unpublished(hub, 10_000)
    for row in rows:
        message = json.loads(json.dumps(federation.message_of(hub_id, row)))
        if row["entity"] == "photo":
            for index, part in enumerate(federation.photo_parts(hub_media, message)):
                federation.store_chunk(city, city_media, federation.chunk_subject(
                    hub_id, message["id"], index), part)
            message = json.loads(json.dumps(message))
        outcomes.append((row["kind"], federation.apply_event(city, message, from_hub=hub_id, now=NOW,
                                                             media_root=city_media)))
    federation.clear_applied_chunks(city, city_media)  # what the city's relay does after its commit
    federation.mark_published(hub, [row["id"] for row in rows], NOW)
    return outcomes


def stored_photo(db, who, folder: Path, content: bytes, *, listing_id=None, story_id=None) -> int:
    """A photo as the download job leaves it (here with EXIF, as one stored before cleaning)."""
    with transaction(db):
        inbound = db.execute("INSERT INTO inbound (channel, provider_id, phone, body, received_at) "
                             "VALUES ('twilio_whatsapp', ?, ?, '', ?)",
                             [f"SM{content[-8:].hex()}{listing_id}{story_id}", who["phone"],
                              to_db_time(NOW)]).lastrowid
        [media_id] = media.record_media(db, who["id"], [{"inbound_id": inbound, "index": 0,
                                                         "url": "https://x/1"}], NOW, listing_id)
        if story_id:
            media.attach_to_story(db, [media_id], story_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{media_id}.jpg").write_bytes(content)
        media.record_stored(db, media_id, f"{media_id}.jpg", "image/jpeg", len(content), NOW)
    return media_id


def test_profiles_stories_and_photos_reach_the_citys_pages_without_exif(tmp_path, settings):
    hub, hub_media = database(tmp_path, "hub", HUB), tmp_path / "hub-media"
    siti = seller(hub)
    item = listing(hub, siti)
    stories.save_story(hub, siti["id"], item["id"], stories.clean_story("Cabai merah dari kebun kami."), NOW)
    own = stories.save_story(hub, siti["id"], None, stories.clean_story("Petani sejak 1998."), NOW)
    original = jpeg(1600, 1200, gps_exif())
    stored_photo(hub, siti, hub_media, original, listing_id=item["id"])
    stored_photo(hub, siti, hub_media, jpeg(300, 200, gps_exif()), story_id=own["id"])
    with transaction(hub):  # the seller moves: a profile change is an event
        hub.execute("UPDATE contacts SET name = 'Siti Aminah', village = 'Cibodas' WHERE id = ?",
                    [siti["id"]])

    city_settings = dict(settings, **CITY)
    app = create_app(city_settings)
    city, city_media = open_database(settings["DATABASE_PATH"]), media.media_dir(city_settings)
    outcomes = ship(hub, city, hub_media, city_media)
    assert [kind for kind, outcome in outcomes if outcome == "applied"] == [
        "seller.updated", "listing.created", "story.created", "story.created", "photo.stored",
        "photo.stored", "seller.updated"]
    client = app.test_client()
    page = client.get(f"/l/A{item['code']}").get_data(as_text=True)
    assert "Cabai merah dari kebun kami." in page and "Petani sejak 1998." in page
    assert "Siti" in page and "Cibodas" in page and "Aminah" not in page
    remote = city.execute("SELECT id FROM contacts WHERE origin_hub = 'A'").fetchone()[0]
    seller_page = client.get(f"/penjual/{remote}").get_data(as_text=True)
    assert "Petani sejak 1998." in seller_page and "Cibodas" in seller_page
    photo = client.get(f"/media/A{item['code']}")
    assert photo.status_code == 200
    image = Image.open(io.BytesIO(photo.data))
    assert dict(image.getexif()) == {} and b"Pixel 7" not in photo.data and max(image.size) == 1280
    story_photo = city.execute("SELECT id FROM media WHERE story_id IS NOT NULL").fetchone()[0]
    assert client.get(f"/media/{story_photo}").status_code == 200
    assert not list((city_media / federation.INCOMING).iterdir())  # chunks cleaned up

    # Hidden by a coordinator at the hub: gone from the city's page; a repeat changes nothing.
    with transaction(hub):
        hub.execute("UPDATE stories SET status = 'hidden' WHERE id = ?", [own["id"]])
    assert ship(hub, city, hub_media, city_media) == [("story.updated", "applied")]
    assert "Petani sejak 1998." not in client.get(f"/l/A{item['code']}").get_data(as_text=True)


def test_a_big_photo_travels_in_chunks_and_a_missing_file_is_said_so(tmp_path, settings):
    hub, hub_media = database(tmp_path, "hub", HUB), tmp_path / "hub-media"
    siti = seller(hub)
    item = listing(hub, siti)
    noise = Image.effect_noise((1280, 1280), 90).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "PNG")
    big = out.getvalue()
    assert len(big) > 2 * federation.CHUNK_BYTES
    photo_id = stored_photo(hub, siti, hub_media, big, listing_id=item["id"])
    message = federation.message_of("A", [row for row in federation.unpublished(hub, 10)
                                          if row["entity"] == "photo"][0])
    parts = federation.photo_parts(hub_media, message)
    assert len(parts) == message["data"]["chunks"] >= 3 and b"".join(parts) == big
    (hub_media / f"{photo_id}.jpg").unlink()
    message = federation.message_of("A", [row for row in federation.unpublished(hub, 10)
                                          if row["entity"] == "photo"][0])
    assert federation.photo_parts(hub_media, message) == [] and message["data"]["missing"]


def test_a_photo_before_its_chunks_waits_and_is_not_recorded(tmp_path):
    hub, city = database(tmp_path, "hub", HUB), database(tmp_path, "city", CITY)
    siti = seller(hub)
    item = listing(hub, siti)
    stored_photo(hub, siti, tmp_path / "hm", jpeg(), listing_id=item["id"])
    rows = federation.unpublished(hub, 10)
    for row in rows[:-1]:
        federation.apply_event(city, federation.message_of("A", row), from_hub="A", now=NOW,
                               media_root=tmp_path / "cm")
    message = federation.message_of("A", rows[-1])
    parts = federation.photo_parts(tmp_path / "hm", message)
    try:
        federation.apply_event(city, message, from_hub="A", now=NOW, media_root=tmp_path / "cm")
        raise AssertionError("applied without its bytes")
    except federation.EventNotReady:
        pass
    assert city.execute("SELECT COUNT(*) FROM federation_applied WHERE event_id = ?",
                        [message["id"]]).fetchone()[0] == 0
    federation.store_chunk(city, tmp_path / "cm", federation.chunk_subject("A", message["id"], 0), parts[0])
    assert federation.apply_event(city, message, from_hub="A", now=NOW,
                                  media_root=tmp_path / "cm") == "applied"


def test_a_database_that_becomes_a_hub_publishes_what_it_had_once(tmp_path):
    db = database(tmp_path, "was-standalone")
    siti = seller(db)
    kept, gone = listing(db, siti), listing(db, siti, name="tomat")
    with transaction(db):
        listings.withdraw_listing(db, gone["id"], NOW)
    stories.save_story(db, siti["id"], kept["id"], stories.clean_story("Pedas."), NOW)
    contacts.register_seller(db, contacts.get_or_create_contact(db, "+6281299990000", NOW)["id"],
                             "Budi", "Cibodas", NOW)
    assert federation.outbox_counts(db)["events"] == 0
    federation.sync_identity(db, HUB, NOW)
    kinds = [(row["kind"], row["entity_id"]) for row in db.query(
        "SELECT kind, entity_id FROM federation_events ORDER BY id")]
    assert kinds == [("seller.snapshot", siti["id"]), ("seller.snapshot", siti["id"] + 1),
                     ("listing.snapshot", kept["id"]), ("story.snapshot", 1)]
    federation.sync_identity(db, HUB, NOW)  # the app and the relay start again: nothing more
    assert federation.outbox_counts(db)["events"] == 4
    city = database(tmp_path, "city", CITY)
    assert all(outcome == "applied" for _, outcome in ship(db, city, tmp_path, tmp_path / "cm"))
    assert [row["code"] for row in listings.search_catalog(city)[0]] == ["A" + kept["code"]]


def test_a_restored_hub_republishes_and_the_city_forgets_what_it_lost(tmp_path):
    hub, city = database(tmp_path, "hub", HUB), database(tmp_path, "city", CITY)
    siti = seller(hub)
    kept = listing(hub, siti)
    backup = tmp_path / "backup.db"
    hub.execute(f"VACUUM INTO '{backup}'")
    lost = listing(hub, siti, name="tomat")  # after the last backup
    ship(hub, city, tmp_path, tmp_path)
    assert len(listings.search_catalog(city)[0]) == 2

    restored = open_database(backup)
    apply_migrations(restored)
    federation.advance_epoch(restored, NOW)
    federation.sync_identity(restored, HUB, NOW)  # `jembatan hub restore`, then start-up
    snapshot = [row["kind"] for row in restored.query(
        "SELECT kind FROM federation_events WHERE epoch = 2 ORDER BY id")]
    assert snapshot == ["seller.snapshot", "listing.snapshot", "hub.snapshot"]
    ship(restored, city, tmp_path, tmp_path)
    assert [row["code"] for row in listings.search_catalog(city)[0]] == ["A" + kept["code"]]
    assert listings.find_listing(city, "A" + lost["code"])["status"] == "withdrawn"
    assert listings.find_listing(city, "A" + kept["code"])["origin_epoch"] == 2


def test_acknowledged_events_are_pruned_after_the_retention_but_each_entitys_newest(tmp_path):
    hub = database(tmp_path, "hub", HUB)
    siti = seller(hub)
    item = listing(hub, siti)
    for quantity in (9, 8, 7):
        with transaction(hub):
            listings.set_quantity(hub, item["id"], Decimal(quantity), NOW)
    old = NOW - timedelta(days=8)
    federation.mark_published(hub, [row["id"] for row in federation.unpublished(hub, 100)], old)
    with transaction(hub):
        listings.set_quantity(hub, item["id"], Decimal(6), NOW)  # unpublished: never pruned
    # created, 9, 8 and 7 go (6 is newer); the seller's only event is its newest.
    assert federation.prune_events(hub, NOW, retention_days=7) == 4
    left = [(row["entity"], row["entity_seq"], row["published_at"] is not None)
            for row in hub.query("SELECT * FROM federation_events ORDER BY id")]
    assert left == [("seller", 1, True), ("listing", 5, False)]
    with transaction(hub):
        listings.set_quantity(hub, item["id"], Decimal(4), NOW)
    federation.mark_published(hub, [row["id"] for row in federation.unpublished(hub, 100)], NOW)
    assert federation.prune_events(hub, NOW, retention_days=7) == 0  # within the retention
    assert federation.prune_events(hub, NOW + timedelta(days=8), retention_days=7) == 1
    with transaction(hub):
        listings.set_quantity(hub, item["id"], Decimal(5), NOW)
    assert hub.execute("SELECT MAX(entity_seq) FROM federation_events WHERE entity = 'listing'"
                       ).fetchone()[0] == 7  # the count goes on: the city takes it as newer


def test_the_sweep_prunes_a_hubs_old_events(settings):
    from bot.pipeline.sweep import sweep

    db = open_database(settings["DATABASE_PATH"])
    apply_migrations(db)
    federation.sync_identity(db, HUB, NOW)
    item = listing(db, seller(db))
    with transaction(db):
        listings.withdraw_listing(db, item["id"], NOW)
    federation.mark_published(db, [row["id"] for row in federation.unpublished(db, 100)],
                              NOW - timedelta(days=30))
    sweep(db, dict(settings, **HUB, JEMBATAN_EVENTS_RETENTION_DAYS=7), None, now=NOW)
    assert [row["kind"] for row in db.query("SELECT kind FROM federation_events ORDER BY id")] == [
        "seller.updated", "listing.withdrawn"]
