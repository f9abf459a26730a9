"""Pictures as documents: the text OCR finds in them, the facts their camera recorded
(when, with what, where), and their name.  A photo without text is still a document:
it is found by its name, its date and its folder, and is not a failure.

Pillow decodes; the picture's size is checked from its header before a pixel is
decoded, so a small file that claims 30,000 x 30,000 pixels (a decompression bomb) is
refused without costing memory.  A multi-page TIFF (a scanner's) is read page by page.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ExtractionFailed

from .base import Category, Document, Piece, Thumbnail

if TYPE_CHECKING:
    from PIL import Image

    from core.ocr import TextReader

IMAGE_EXTENSIONS = ("jpg", "jpeg", "jpe", "png", "tif", "tiff", "webp", "bmp", "gif")
# Phones' photos; read where the pillow-heif package is installed (`pip install
# trove[heic]`).  The installed app leaves it out: its encoder library is GPL-licensed.
HEIC_EXTENSIONS = ("heic", "heif")
HEIC_PACKAGE = "pillow_heif"
MAX_PIXELS = 50_000_000  # 50 megapixels: beyond any camera's photo, within the memory limit
MAX_FRAMES = 50  # pages of a TIFF read, as for a scanned PDF
# A thumbnail for a picture model: its shorter side at most this (CLIP models look at
# 224 or 336 pixels), its longer side at most three times that.
THUMBNAIL_SIDE = 336

# EXIF tags (the standard's numbers).
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_MAKE, _MODEL, _DATE_TIME, _DATE_TAKEN, _DESCRIPTION = 271, 272, 306, 36867, 270
_LATITUDE_REF, _LATITUDE, _LONGITUDE_REF, _LONGITUDE = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class PhotoFacts:
    taken: datetime | None = None
    camera: str = ""
    position: tuple[float, float] | None = None  # latitude, longitude in degrees
    description: str = ""

    def sentence(self) -> str:
        """The facts as words a search can match: "Photo taken on 14 March 2025 at 14:22
        with a Canon EOS 80D at 48.8584, 2.2945."""
        parts = ["Photo"]
        if self.taken is not None:
            parts.append(f"taken on {self.taken.day} {self.taken:%B %Y} at {self.taken:%H:%M}")
        if self.camera:
            parts.append(f"with a {self.camera}")
        if self.position is not None:
            parts.append(f"at {self.position[0]:.4f}, {self.position[1]:.4f}")
        sentence = " ".join(parts) + "." if len(parts) > 1 else ""
        return f"{self.description}\n{sentence}".strip()


class ImageExtractor:
    kind = "image"

    def __init__(
        self, reader: TextReader | None, max_frames: int = MAX_FRAMES, *, thumbnails: bool = False
    ) -> None:
        self.reader = reader  # None: OCR is off, a picture is its name and facts
        self.max_frames = max_frames
        self.thumbnails = thumbnails  # hand over the picture, shrunk, for a picture model

    def extract(self, path: Path) -> Document:
        from PIL import Image, UnidentifiedImageError

        if path.suffix.lower().lstrip(".") in HEIC_EXTENSIONS:
            _open_heic()

        # Opening reads the header only, and each frame's size is checked before any of
        # its pixels is decoded, with its dimensions in the reason.  Pillow's own guard
        # would refuse at open, before they are known.
        Image.MAX_IMAGE_PIXELS = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    return self._document(image, path)
        except UnidentifiedImageError:
            raise ExtractionFailed(
                Category.CORRUPT, "it is not a picture Trove can decode"
            ) from None
        except (OSError, SyntaxError, ValueError) as error:
            # Pillow says "image file is truncated", "broken data stream", ...
            raise ExtractionFailed(Category.CORRUPT, f"the picture is damaged ({error})") from None

    def _document(self, image: Image.Image, path: Path) -> Document:
        _check_size(image)
        facts = photo_facts(image)
        pieces = self._text(image)
        pieces.append(Piece(f"{path.stem}\n{facts.sentence()}".strip(), "picture"))
        return Document(
            pieces=pieces,
            title=facts.description or None,
            taken=facts.taken,
            thumbnail=thumbnail(image) if self.thumbnails else None,
        )

    def _text(self, image: Image.Image) -> list[Piece]:
        if self.reader is None:
            return []
        from PIL import ImageOps

        frames = min(getattr(image, "n_frames", 1), self.max_frames)
        if image.format == "GIF":
            frames = 1  # an animation's frames repeat its text
        pieces = []
        for frame in range(frames):
            image.seek(frame)
            _check_size(image)  # a TIFF's pages each have their own
            upright = ImageOps.exif_transpose(image)
            text = self.reader.text(upright)
            where = f"page {frame + 1}" if frames > 1 else "text in the picture"
            if text.strip():
                pieces.append(Piece(text, where))
        return pieces


def thumbnail(image: Image.Image) -> Thumbnail:
    """The first page of ``image``, upright, shrunk to ``THUMBNAIL_SIDE``, as RGB on white."""
    from PIL import Image, ImageOps

    image.seek(0)
    upright = ImageOps.exif_transpose(image)
    width, height = upright.size
    scale = min(1.0, THUMBNAIL_SIDE / max(1, min(width, height)))
    scale = min(scale, 3 * THUMBNAIL_SIDE / max(1, width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = upright.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    if small.mode in ("RGBA", "LA", "PA") or "transparency" in small.info:
        rgba = small.convert("RGBA")
        flat = Image.new("RGB", size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        small = flat
    rgb = small.convert("RGB")
    return Thumbnail(rgb.width, rgb.height, rgb.tobytes())


def _open_heic() -> None:
    """Teach Pillow to open HEIC and HEIF, where pillow-heif is installed."""
    try:
        from pillow_heif import register_heif_opener  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise ExtractionFailed(
            Category.UNSUPPORTED,
            "reading HEIC photos needs the pillow-heif package (`pip install pillow-heif`)",
        ) from None
    register_heif_opener()


def photo_facts(image: Image.Image) -> PhotoFacts:
    """When, with what and where a photo was taken, from its EXIF; whatever is missing
    or garbled is left out."""
    try:
        exif = image.getexif()
        details = exif.get_ifd(_EXIF_IFD)
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # a damaged EXIF block must not cost the picture
        return PhotoFacts()
    camera = " ".join(
        dict.fromkeys(_text(exif.get(tag)) for tag in (_MAKE, _MODEL) if _text(exif.get(tag)))
    )
    return PhotoFacts(
        taken=_moment(details.get(_DATE_TAKEN) or exif.get(_DATE_TIME)),
        camera=_camera(camera),
        position=_position(gps),
        description=_text(exif.get(_DESCRIPTION)),
    )


def _check_size(image: Image.Image) -> None:
    """Refuse a picture (or one page of it) over ``MAX_PIXELS``, from its header."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ExtractionFailed(
            Category.TOO_LARGE,
            f"the picture is too large ({width} x {height} pixels, "
            f"over {MAX_PIXELS // 10**6} megapixels)",
        )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).replace("\x00", " ").split()) if value is not None else ""


def _camera(name: str) -> str:
    """ "Canon Canon EOS 80D" as "Canon EOS 80D": many makers repeat their name."""
    words = name.split()
    if len(words) > 1 and words[1].lower().startswith(words[0].lower()):
        words = words[1:]
    return " ".join(words)


def _moment(value: Any) -> datetime | None:
    text = _text(value)
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _position(gps: Any) -> tuple[float, float] | None:
    try:
        latitude = _degrees(gps[_LATITUDE], gps.get(_LATITUDE_REF), "S")
        longitude = _degrees(gps[_LONGITUDE], gps.get(_LONGITUDE_REF), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def _degrees(parts: Any, reference: Any, negative: str) -> float:
    degrees, minutes, seconds = (float(part) for part in parts)
    value = degrees + minutes / 60 + seconds / 3600
    return -value if _text(reference).upper() == negative else value
