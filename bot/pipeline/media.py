"""Download the photos sellers send and keep them under MEDIA_DIR, for the catalog.

Runs in an RQ job (`bot.jobs.download_media_job`), never in a webhook: the provider may
take seconds. Like delivery, the network call happens outside any transaction and the
database decides what the result means, so running the job twice is harmless.
Photos are stored as the storefront publishes them: upright, resized, without EXIF
(`bot.services.images`). A refused photo (too big, not an image) gets the seller a short notice; a provider
failure is retried with backoff, and the sweep re-enqueues downloads Redis lost.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from bot.channels.base import PermanentSendError, RetryableSendError
from bot.channels.twilio_media import MediaRefused, fetch_media
from bot.services import contacts, images, media
from bot.services.handover import Handover
from bot.services.media import media_dir
from bot.storage import transaction, utcnow
from conversations.news.notify import queue_notification

log = logging.getLogger(__name__)

#: The notice a seller gets when their photo is refused, per reason.
REFUSAL_REPLIES = {"too_big": "photo.too_big", "wrong_type": "photo.wrong_type"}


@dataclass(frozen=True)
class DownloadOutcome:
    """What one attempt did: stored, refused, retry (at `retry_at`), failed or skipped;
    `outbox_id` is a notice to the seller that must be delivered."""

    status: str
    retry_at: datetime | None = None
    outbox_id: int | None = None

    @property
    def handover(self) -> Handover:
        """The seller's notice of a refused photo, to deliver."""
        return Handover(outbox_ids=[self.outbox_id] if self.outbox_id else [])


def download_media(
    db: sqlite_utils.Database, config: dict, media_id: int, now: datetime | None = None
) -> DownloadOutcome:
    """Fetch one pending media row from the provider and store it, or record why not."""
    now = now or utcnow()
    row = media.get_media(db, media_id)
    if row is None or row["status"] != "pending":
        return DownloadOutcome("skipped")
    declared = (row["declared_type"] or "").split(";")[0].strip().lower()
    try:
        if declared and declared not in media.IMAGE_TYPES:
            raise MediaRefused("wrong_type", declared)  # no need to fetch a video or a PDF
        fetched = fetch_media(config, row["provider_url"], allowed_types=frozenset(media.IMAGE_TYPES),
                              max_bytes=media.MAX_MEDIA_BYTES)
    except MediaRefused as refusal:
        return _refuse(db, config, row, refusal, now)
    except (RetryableSendError, PermanentSendError) as exc:
        with transaction(db):
            retry_at = media.record_failure(
                db, media_id, str(exc), now, retryable=isinstance(exc, RetryableSendError),
                base_delay_seconds=config.get("OUTBOX_RETRY_BASE_SECONDS", 15),
            )
        log.info("media %s: %s, next try %s", media_id, exc, retry_at)
        return DownloadOutcome("retry" if retry_at else "failed", retry_at)
    try:
        # Published without EXIF (GPS, device) and resized (DECISIONS 236).
        photo = images.publishable(fetched.content)
    except images.NotAPicture as refusal:
        return _refuse(db, config, row, MediaRefused(refusal.reason, fetched.content_type), now)
    file_name = f"{media_id}{media.IMAGE_TYPES[photo.content_type]}"
    _write_atomically(media_dir(config) / file_name, photo.content)
    with transaction(db):
        stored = media.record_stored(db, media_id, file_name, photo.content_type,
                                     len(photo.content), now)
    return DownloadOutcome("stored" if stored else "skipped")


def _refuse(db, config, row, refusal: MediaRefused, now) -> DownloadOutcome:
    log.info("media %s refused: %s (%s)", row["id"], refusal.reason, refusal.content_type)
    outbox_id = None
    with transaction(db):
        if media.record_refused(db, row["id"], refusal.reason, refusal.content_type) and (
            refusal.reason in REFUSAL_REPLIES
        ):
            contact = contacts.get_contact(db, row["contact_id"])
            outbox_id = queue_notification(db, config, contact, REFUSAL_REPLIES[refusal.reason], now)
    return DownloadOutcome("refused", outbox_id=outbox_id)


#: Written in MEDIA_DIR once every photo stored before cleaning existed was redrawn.
OLD_PHOTOS_CLEANED = ".old-photos-cleaned-v1"


def clean_old_photos(db: sqlite_utils.Database, config: dict) -> int:
    """Redraw every stored photo that still carries EXIF (GPS!) or other metadata, as
    `images.publishable` does for new ones; return how many were rewritten. Photos stored
    before DECISIONS 236 were kept as sent. Runs once (`jembatan migrate`, else the first
    sweep), then a marker file makes it a single `stat`."""
    directory = media_dir(config)
    marker = directory / OLD_PHOTOS_CLEANED
    if marker.exists() or not directory.is_dir():
        return 0
    rewritten = 0
    for row in media.stored_photos(db):
        path = directory / row["file_name"]
        try:
            content = path.read_bytes()
        except OSError:
            continue
        if not images.carries_metadata(content):
            continue
        try:
            photo = images.publishable(content)
        except images.NotAPicture:
            continue
        if photo.content_type != row["content_type"]:
            continue  # the file name's extension says its type; such a file was never served
        _write_atomically(path, photo.content)
        with transaction(db):
            media.record_redrawn(db, row["id"], len(photo.content))
        rewritten += 1
    marker.write_text(f"{rewritten} photos redrawn\n")
    if rewritten:
        log.info("redrew %s stored photos without their metadata", rewritten)
    return rewritten


def _write_atomically(path: Path, content: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a photo."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
