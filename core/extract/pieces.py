"""Cutting extracted text into pieces of a bounded size."""

from __future__ import annotations

from .base import Piece

# Large enough to keep a section together, small enough that one gigantic line or
# section does not become a single unsearchable blob downstream.
MAX_PIECE_CHARS = 4000


def split_long(text: str, limit: int = MAX_PIECE_CHARS) -> list[str]:
    """Cut ``text`` into runs of at most ``limit`` characters.

    Cuts prefer a line break, then a space, in the second half of the window, so words
    survive; text without either (minified code, base64) is cut hard.
    """
    runs: list[str] = []
    start = 0
    # Offsets, not slicing off the rest: a 50 MB line must not be copied per cut.
    while len(text) - start > limit:
        cut = _cut_point(text, start, limit)
        runs.append(text[start:cut])
        start = cut
    runs.append(text[start:])
    return runs


def _cut_point(text: str, start: int, limit: int) -> int:
    for sep in ("\n", " "):
        at = text.rfind(sep, start + limit // 2, start + limit)
        if at >= 0:
            return at + 1
    return start + limit


class Sections:
    """Gathers paragraphs under the heading they follow and packs them into pieces.

    A piece never spans two sections, so its location (the heading) stays true.  Text
    before the first heading takes the location of its first paragraph instead.
    """

    def __init__(self, limit: int = MAX_PIECE_CHARS) -> None:
        self._limit = limit
        self._pieces: list[Piece] = []
        self._heading: str | None = None
        self._buffer: list[str] = []
        self._size = 0
        self._location = ""

    def heading(self, location: str, text: str) -> None:
        """Start a new section; its heading text opens the section's first piece."""
        self._flush()
        self._heading = location
        self.add(text)

    def add(self, paragraph: str, where: str = "") -> None:
        """Append one paragraph; ``where`` locates it when no heading has been seen."""
        paragraph = paragraph.strip()
        if not paragraph:
            return
        for run in split_long(paragraph, self._limit):
            if self._buffer and self._size + len(run) + 2 > self._limit:
                self._flush()
            if not self._buffer:
                self._location = self._heading if self._heading is not None else where
            self._buffer.append(run)
            self._size += len(run) + 2

    def add_at_line(self, text: str, line: int) -> None:
        """Append a block that starts on ``line`` of the file.  Before the first heading,
        pieces are located by line and chunking counts lines on from a piece's start, so
        each such block (and each run of a long one) is a piece of its own: packed behind
        another, the blank lines and markup between them would go uncounted."""
        if self._heading is not None:
            self.add(text)
            return
        self._flush()
        for run in split_long(text, self._limit):
            lead = len(run) - len(run.lstrip())
            if run.strip():
                self._pieces.append(
                    Piece(run.strip(), f"line {line + run.count(chr(10), 0, lead)}")
                )
            line += run.count("\n")

    def pieces(self) -> list[Piece]:
        self._flush()
        return list(self._pieces)

    def _flush(self) -> None:
        if self._buffer:
            self._pieces.append(Piece("\n\n".join(self._buffer), self._location))
        self._buffer, self._size = [], 0


class Outline:
    """The chain of headings above the current point, for short section labels.

    A label shows the last two headings ("Setup › Linux").  A heading at or above
    ``title_level`` (Markdown's and HTML's single h1, Word's Title style) names the whole
    document and would only repeat in every label below it.
    """

    depth = 2
    max_name_chars = 120  # a "heading" can be a whole paragraph in careless documents

    def __init__(self, title_level: int = 1) -> None:
        self._title_level = title_level
        self._trail: list[tuple[int, str]] = []

    def enter(self, level: int, text: str) -> str:
        """Record a heading of ``level`` (1 = top) and return the label of its section."""
        while self._trail and self._trail[-1][0] >= level:
            self._trail.pop()
        self._trail.append((level, text[: self.max_name_chars].strip()))
        names = [name for _level, name in self._trail]
        if len(names) > 1 and self._trail[0][0] <= self._title_level:
            names = names[1:]
        return " › ".join(names[-self.depth :])


class Rows:
    """Packs the rows of a table into pieces located by their row numbers.

    A location reads "Budget, rows 1-40" (or "rows 1-40" without a sheet name).  With
    ``repeat_header`` the first row is repeated at the start of every later piece, so
    that a piece of a CSV file still says what its columns mean.
    """

    max_rows = 40

    def __init__(
        self, label: str = "", repeat_header: bool = False, limit: int = MAX_PIECE_CHARS
    ) -> None:
        self._label = label
        self._repeat_header = repeat_header
        self._limit = limit
        self._header: str | None = None
        self._pieces: list[Piece] = []
        self._lines: list[str] = []
        self._size = 0
        self._first = self._last = 0

    def add(self, number: int, line: str) -> None:
        """Append row ``number`` (1 = first), already joined into one line of text."""
        line = line.strip()
        if not line:
            return
        if self._repeat_header and self._header is None:
            self._header = line
        for run in split_long(line, self._limit - self._header_room()):
            if self._lines and (
                self._size + len(run) + 1 > self._limit or number - self._first >= self.max_rows
            ):
                self._flush()
            if not self._lines:
                self._start(number)
            self._lines.append(run)
            self._size += len(run) + 1
            self._last = number

    def pieces(self) -> list[Piece]:
        self._flush()
        return list(self._pieces)

    def _header_room(self) -> int:
        """The characters a repeated header takes at the top of a piece (0 if none)."""
        header = self._header
        if header is None or len(header) >= self._limit // 4:
            return 0  # a header that long would crowd out the rows
        return len(header) + 1

    def _start(self, number: int) -> None:
        self._first = self._last = number
        if self._pieces and self._header_room():
            assert self._header is not None
            self._lines.append(self._header)
            self._size += len(self._header) + 1

    def _flush(self) -> None:
        if self._lines:
            self._pieces.append(Piece("\n".join(self._lines), self._location()))
        self._lines, self._size = [], 0

    def _location(self) -> str:
        rows = (
            f"row {self._first}"
            if self._first == self._last
            else (f"rows {self._first}-{self._last}")
        )
        return f"{self._label}, {rows}" if self._label else rows


def column_name(index: int) -> str:
    """A spreadsheet column's letters from its 0-based index: 0 -> "A", 27 -> "AB"."""
    letters = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
