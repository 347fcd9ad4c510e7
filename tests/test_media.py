"""Photos end to end: a WhatsApp seller sends `JUAL …` with an image, an RQ job (real
Redis, burst worker) downloads it from a local server playing Twilio's media URL with
HTTP Basic auth, the file lands in MEDIA_DIR and the catalog serves it."""

from __future__ import annotations

import base64
import io
import itertools
from datetime import timedelta

import pytest
import redis as redis_lib
from PIL import Image
from werkzeug import Request, Response

from bot.pipeline.media import OLD_PHOTOS_CLEANED, clean_old_photos, download_media
from bot.pipeline.sweep import sweep
from bot.services import media
from bot.services.images import MAX_SIDE, publishable
from bot.services.media import media_dir
from bot.storage import utcnow
from tests.conftest import TWILIO_SID, TWILIO_TOKEN, run_worker, twilio_post

SITI = "+6281234567890"


def jpeg(width: int = 64, height: int = 48, exif: bytes = b"") -> bytes:
    """A real JPEG (a photo must decode to be published), with `exif` if given."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (47, 107, 69)).save(out, "JPEG", exif=exif)
    return out.getvalue()


JPEG = jpeg()
#: What the catalog serves for JPEG: re-encoded from its pixels (no metadata).
PUBLISHED = publishable(JPEG).content
MEDIA_PATH = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages/MM{'1' * 32}/Media/ME{'2' * 32}"
_sids = itertools.count(1)


class FakeTwilioMedia:
    """Twilio's media URL: answers only with the account's Basic credentials, from a script
    of (status, content type, body, send Content-Length?) answers; the last one repeats."""

    def __init__(self, httpserver, *answers):
        self.answers = list(answers) or [(200, "image/jpeg", JPEG, True)]
        self.requests: list[dict] = []
        httpserver.expect_request(MEDIA_PATH, method="GET").respond_with_handler(self.handle)
        self.url = httpserver.url_for(MEDIA_PATH)

    def handle(self, request: Request) -> Response:
        self.requests.append({"authorization": request.headers.get("Authorization")})
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Response("unauthorized", status=401)
        status, content_type, body, with_length = (
            self.answers.pop(0) if len(self.answers) > 1 else self.answers[0])
        if with_length:
            return Response(body, status=status, content_type=content_type)
        # streamed without Content-Length: the size cap must still hold
        return Response(iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                        status=status, content_type=content_type, direct_passthrough=True)


def whatsapp(client, body, media_url=None, content_type="image/jpeg", sender=SITI):
    params = {"MessageSid": f"MM{next(_sids):032d}", "AccountSid": TWILIO_SID,
              "From": f"whatsapp:{sender}", "To": "whatsapp:+14155238886", "Body": body,
              "NumMedia": "0", "ProfileName": "Siti", "WaId": sender[1:]}
    if media_url:
        params.update(NumMedia="1", MediaUrl0=media_url, MediaContentType0=content_type)
    response = twilio_post(client, "/twilio/messages", params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def seller(client):
    whatsapp(client, "DAFTAR Siti, Sukamaju")


def only_media(db) -> dict:
    (row,) = db.query("SELECT * FROM media")
    return row


def test_photo_is_downloaded_stored_and_served(client, db, settings, redis_url, httpserver, seller):
    provider = FakeTwilioMedia(httpserver)
    twiml = whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    assert "Jualan tercatat (foto sedang dipasang): cabai 50 kg, Rp12.000/kg. Kode: C2." in twiml
    assert only_media(db)["status"] == "pending"  # the webhook never downloads

    run_worker(redis_url)

    row = only_media(db)
    assert (row["status"], row["content_type"], row["size_bytes"], row["attempts"]) == (
        "stored", "image/jpeg", len(PUBLISHED), 1)
    assert (media_dir(settings) / row["file_name"]).read_bytes() == PUBLISHED
    assert len(provider.requests) == 1 and provider.requests[0]["authorization"].startswith("Basic ")
    for path in ("/media/C2", "/media/c2", f"/media/{row['id']}"):
        response = client.get(path)
        assert (response.status_code, response.mimetype, response.data) == (200, "image/jpeg", PUBLISHED)
    item = client.get("/api/v1/listings").get_json()["listings"][0]
    assert item["photo_url"] == "https://jembatan.example.org/media/C2"
    assert item["photos"] == [f"https://jembatan.example.org/media/{row['id']}"]


def test_photo_sent_alone_after_selling_is_downloaded(client, db, redis_url, httpserver, seller):
    provider = FakeTwilioMedia(httpserver)
    whatsapp(client, "JUAL cabai 50kg 12rb")
    assert "foto untuk jualan C2 cabai sudah diterima" in whatsapp(client, "", provider.url)
    run_worker(redis_url)
    assert only_media(db)["status"] == "stored"
    assert client.get("/media/C2").data == PUBLISHED


def test_provider_500_is_retried(client, db, redis_url, httpserver, seller):
    provider = FakeTwilioMedia(httpserver, (500, "application/json", b"{}", True),
                               (503, "text/plain", b"busy", True), (200, "image/jpeg", JPEG, True))
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    run_worker(redis_url)  # OUTBOX_RETRY_BASE_SECONDS=0 in tests: retries come at once
    row = only_media(db)
    assert (row["status"], row["attempts"], len(provider.requests)) == ("stored", 3, 3)
    assert client.get("/media/C2").data == PUBLISHED


def test_provider_failing_for_good_gives_up(client, db, redis_url, httpserver, seller):
    provider = FakeTwilioMedia(httpserver, (500, "text/plain", b"down", True))
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    run_worker(redis_url)
    row = only_media(db)
    assert (row["status"], row["attempts"]) == ("failed", media.MAX_DOWNLOAD_ATTEMPTS)
    assert len(provider.requests) == media.MAX_DOWNLOAD_ATTEMPTS
    assert client.get("/media/C2").status_code == 404


@pytest.mark.parametrize("with_length", [True, False], ids=["content-length", "streamed"])
def test_too_big_is_refused_and_the_seller_told(client, db, settings, redis_url, httpserver,
                                                 fake_twilio, seller, with_length):
    big = b"\xff\xd8" + b"x" * media.MAX_MEDIA_BYTES
    provider = FakeTwilioMedia(httpserver, (200, "image/jpeg", big, with_length))
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    run_worker(redis_url)
    row = only_media(db)
    assert (row["status"], row["error"], row["file_name"]) == ("refused", "too_big", None)
    assert not media_dir(settings).exists() or not any(media_dir(settings).iterdir())
    assert [r["Body"] for r in fake_twilio.requests] == [
        "Maaf, foto Bapak/Ibu tidak bisa dipasang karena lebih dari 5 MB. Silakan kirim foto yang lebih "
        "kecil."]
    assert client.get("/media/C2").status_code == 404


def test_wrong_type_is_refused_and_the_seller_told(client, db, redis_url, httpserver, fake_twilio,
                                                   seller):
    provider = FakeTwilioMedia(httpserver, (200, "text/html; charset=utf-8", b"<html>", True))
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    run_worker(redis_url)
    assert (only_media(db)["status"], only_media(db)["error"]) == ("refused", "wrong_type")
    assert [r["Body"] for r in fake_twilio.requests] == [
        "Maaf, file yang Bapak/Ibu kirim bukan foto JPG atau PNG, jadi tidak dipasang di katalog."]


def test_declared_video_is_refused_without_downloading(client, db, redis_url, httpserver,
                                                       fake_twilio, seller):
    provider = FakeTwilioMedia(httpserver)
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url, content_type="video/mp4")
    run_worker(redis_url)
    assert only_media(db)["status"] == "refused" and provider.requests == []
    assert len(fake_twilio.requests) == 1


def test_credentials_only_go_to_the_twilio_host(client, db, settings, seller):
    whatsapp(client, "JUAL cabai 50kg 12rb", "http://127.0.0.1:9/steal-my-token")
    outcome = download_media(db, settings, only_media(db)["id"])
    assert outcome.status == "refused"
    assert (only_media(db)["status"], only_media(db)["error"]) == ("refused", "foreign_url")


def test_downloads_redis_lost_are_enqueued_by_the_sweep(client, db, settings, redis_url, httpserver,
                                                        seller):
    provider = FakeTwilioMedia(httpserver)
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    redis_lib.Redis.from_url(redis_url).flushall()  # the job is gone
    connection = redis_lib.Redis.from_url(redis_url)
    assert sweep(db, settings, connection).media_enqueued == 0  # enqueued moments ago: wait
    assert sweep(db, settings, connection, utcnow() + timedelta(minutes=11)).media_enqueued == 1
    run_worker(redis_url)
    assert only_media(db)["status"] == "stored"
    assert download_media(db, settings, only_media(db)["id"]).status == "skipped"  # runs twice safely


def gps_exif() -> bytes:
    """EXIF as a phone writes it: the device, the orientation and where the photo was taken."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Google", "Pixel 7", 6  # make, model, rotated
    exif[0x8825] = {1: "S", 2: (6.0, 54.0, 30.5), 3: "E", 4: (107.0, 36.0, 10.25)}  # GPS
    return exif.tobytes()


def test_photo_is_published_without_exif_upright_and_resized(client, db, redis_url, httpserver,
                                                             seller):
    original = jpeg(3000, 2000, gps_exif())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the farm's position
    provider = FakeTwilioMedia(httpserver, (200, "image/jpeg", original, True))
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    run_worker(redis_url)
    served = client.get("/media/C2")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    photo = Image.open(io.BytesIO(served.data))
    assert dict(photo.getexif()) == {} and "exif" not in photo.info and "icc_profile" not in photo.info
    for trace in (b"Pixel 7", b"Google", b"Exif"):
        assert trace not in served.data
    # turned upright as the phone meant it (orientation 6), then fitted into MAX_SIDE
    assert photo.size == (MAX_SIDE * 2000 // 3000, MAX_SIDE)
    assert only_media(db)["size_bytes"] == len(served.data) < len(original)


def test_photos_stored_before_cleaning_lose_their_gps_at_the_next_sweep(client, db, settings, redis_url,
                                                                       httpserver, seller):
    """A photo kept as sent (before DECISIONS 236) is redrawn once, by the sweep (or
    `jembatan migrate`): its GPS position stops being served."""
    provider = FakeTwilioMedia(httpserver, (200, "image/jpeg", jpeg(64, 48), True))
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    run_worker(redis_url)
    row = only_media(db)
    stored = media_dir(settings) / row["file_name"]
    stored.write_bytes(jpeg(3000, 2000, gps_exif()))  # as an older version kept it
    (media_dir(settings) / OLD_PHOTOS_CLEANED).unlink(missing_ok=True)  # not cleaned yet
    assert Image.open(io.BytesIO(client.get("/media/C2").data)).getexif().get_ifd(0x8825)

    sweep(db, settings, redis_lib.from_url(redis_url))

    served = client.get("/media/C2")
    photo = Image.open(io.BytesIO(served.data))
    assert dict(photo.getexif()) == {} and b"Pixel 7" not in served.data
    assert max(photo.size) == MAX_SIDE and only_media(db)["size_bytes"] == len(served.data)
    assert clean_old_photos(db, settings) == 0  # once: the marker makes it a stat
    assert stored.read_bytes() == served.data


def test_photo_that_does_not_decode_is_refused(client, db, redis_url, httpserver, fake_twilio, seller):
    provider = FakeTwilioMedia(httpserver, (200, "image/jpeg", b"\xff\xd8\xff\xe0" + b"x" * 500, True))
    whatsapp(client, "JUAL cabai 50kg 12rb", provider.url)
    run_worker(redis_url)
    assert (only_media(db)["status"], only_media(db)["error"]) == ("refused", "wrong_type")
    assert len(fake_twilio.requests) == 1
    assert client.get("/media/C2").status_code == 404
