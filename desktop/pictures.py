"""Pictures of results for the window: thumbnails in the result rows and the picture in
the preview, each a photo or the scanned page its passage was read from.

They are drawn on a thread of their own (``core.pictures``: a large photo takes a good
part of a second to decode) and kept, the most recently used few hundred; ``ready`` says
when one has arrived, so the view that asked can draw it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from desktop.tasks import Tasks

KEPT = 300
Key = tuple[str, str, int]  # path, location, longest side


class Pictures(QObject):
    ready = Signal(str, str)  # the path and location of a result whose picture arrived

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._drawing = Tasks("trove-pictures", self)
        self._kept: OrderedDict[Key, QImage | None] = OrderedDict()
        self._asked: set[Key] = set()

    def has(self, result: Any) -> bool:
        from core.pictures import has_picture  # imported once results exist, not at launch

        return has_picture(result.path, result.location)

    def get(self, result: Any, longest: int) -> QImage | None:
        """The result's picture if it is drawn already; otherwise None, and it is drawn
        (``ready`` follows).  None also for a result without one, or one that failed."""
        key = (result.path, result.location, longest)
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        if key not in self._asked and self.has(result):
            self._asked.add(key)
            self._drawing.run(lambda: _drawn(*key), lambda image: self._arrived(key, image))
        return None

    def shutdown(self) -> None:
        self._drawing.shutdown()

    def _arrived(self, key: Key, image: QImage | None) -> None:
        self._asked.discard(key)
        self._kept[key] = image  # None too: a picture that cannot be drawn is not retried
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        self.ready.emit(key[0], key[1])


def _drawn(path: str, location: str, longest: int) -> QImage | None:
    """On the drawing thread: QImage, unlike QPixmap, may be made off the GUI thread."""
    from core.pictures import picture

    png = picture(path, location, longest)
    if png is None:
        return None
    image = QImage.fromData(png, "PNG")
    return None if image.isNull() else image
