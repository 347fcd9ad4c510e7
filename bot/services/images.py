"""Photos as the storefront publishes them: decoded, turned upright, at most
`MAX_SIDE` pixels on their longer side, and re-encoded without any metadata.

A phone's JPEG carries EXIF (the GPS position of the farm or the house, the device, the
time), PNGs may carry text chunks and WebPs EXIF/XMP: none of it survives, since the
image is drawn anew from its pixels and saved with no `exif`, `icc_profile` or text
(DECISIONS 236). What does not decode as a picture is refused, as is a picture too large
to decode safely (Pillow's decompression-bomb guard, turned into an error).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

#: The longer side of a published photo: sharp on a phone, a few hundred kB at most.
MAX_SIDE = 1280
#: Refuse pictures with more pixels than this (a 12 MP phone photo is ~12M).
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 82
#: What each decoded format is saved as (a GIF or BMP that claimed to be a JPEG: JPEG).
_SAVE_AS = {"JPEG": ("JPEG", "image/jpeg"), "PNG": ("PNG", "image/png"),
            "WEBP": ("WEBP", "image/webp")}


class NotAPicture(ValueError):
    """The bytes are not an image we can publish (`reason`: wrong_type or too_big)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Published:
    content: bytes
    content_type: str
    width: int
    height: int


def carries_metadata(content: bytes) -> bool:
    """Whether a stored photo still holds EXIF, XMP, an ICC profile, a comment or text
    chunks, or is larger than `MAX_SIDE` (stored before photos were cleaned). A file
    that does not decode counts as clean: there is nothing to redraw."""
    try:
        with Image.open(io.BytesIO(content)) as opened:
            meta = set(opened.info) & {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment",
                                       "Description", "Comment", "Author", "parameters"}
            return bool(meta or opened.getexif() or getattr(opened, "text", None)
                        or max(opened.size) > MAX_SIDE)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


def publishable(content: bytes) -> Published:
    """The photo as the storefront serves it: upright, resized, without metadata."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(content)) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise NotAPicture("too_big")
                fmt, content_type = _SAVE_AS.get(opened.format or "", _SAVE_AS["JPEG"])
                image = ImageOps.exif_transpose(opened)  # the EXIF orientation, applied
                image.load()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            if isinstance(exc, NotAPicture):
                raise
            raise NotAPicture("wrong_type") from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise NotAPicture("too_big") from exc
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    wanted = ("RGB", "L") if fmt == "JPEG" else ("RGB", "RGBA", "L", "LA")
    if image.mode not in wanted:
        image = image.convert("RGB" if fmt == "JPEG" or "transparency" not in image.info else "RGBA")
    # A fresh image from the pixels alone: no EXIF, XMP, ICC, comments or text chunks.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    options = {"quality": JPEG_QUALITY, "optimize": True} if fmt == "JPEG" else {}
    if fmt == "WEBP":
        options = {"quality": JPEG_QUALITY}
    clean.save(out, fmt, **options)
    return Published(out.getvalue(), content_type, clean.width, clean.height)
