"""Pictures of results, for a window to show: a photo scaled down, or the scanned page a
passage was read from.

Returned as PNG bytes, so the caller needs no imaging library of its own (the desktop
app turns them into a pixmap).  Call it off the GUI thread: decoding a large photo takes
a good part of a second.  Only files Trove has read are drawn, and a picture's size is
checked from its header first, as the reader checks it.
"""

from __future__ import annotations

import io
from pathlib import Path

from core.extract.image import IMAGE_EXTENSIONS, MAX_PIXELS
from core.extract.pdf import scanned_page


def has_picture(path: str, location: str) -> bool:
    """Whether a result at ``location`` in ``path`` has a picture to show."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix in IMAGE_EXTENSIONS or (suffix == "pdf" and scanned_page(location) is not None)


def picture(path: str, location: str, longest: int) -> bytes | None:
    """The result's picture, at most ``longest`` pixels on its longer side, as PNG; None
    when it has none or it cannot be drawn (gone, damaged, too large)."""
    if not has_picture(path, location):
        return None
    try:
        page = scanned_page(location)
        drawn = _pdf_page(path, page, longest) if page is not None else _photo(path, longest)
    except Exception:  # a file changed or damaged since it was read shows no picture
        return None
    if drawn is None:
        return None
    out = io.BytesIO()
    drawn.save(out, format="PNG")
    return out.getvalue()


def _photo(path: str, longest: int):  # type: ignore[no-untyped-def]
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            return None
        image.draft("RGB", (longest, longest))  # JPEG: decode at a fraction of the size
        upright = ImageOps.exif_transpose(image.convert("RGB"))
        upright.thumbnail((longest, longest))
        return upright


def _pdf_page(path: str, number: int, longest: int):  # type: ignore[no-untyped-def]
    import pypdfium2

    pdf = pypdfium2.PdfDocument(path)
    try:
        if not 1 <= number <= len(pdf):
            return None
        page = pdf[number - 1]
        width, height = page.get_size()
        bitmap = page.render(scale=longest / max(width, height, 1))
        try:
            return bitmap.to_pil().copy()
        finally:
            bitmap.close()
            page.close()
    finally:
        pdf.close()
