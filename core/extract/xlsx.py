"""Excel workbooks (.xlsx, .xlsm): every sheet's rows, streamed, plus cell comments.

Sheets are parsed as they inflate and each row is dropped once read, so a sheet of a
million rows costs time, not memory.  Dates are stored as day counts; the cell's number
format tells them apart from plain numbers, and they are written out as ISO dates.
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime, timedelta
from pathlib import Path

from .archive import Archive, ZipLimits, refuse_ole
from .base import Document, Piece
from .ooxml import main_part, relationship_id, relationships, title
from .package import expect
from .pieces import Rows
from .xmltree import Element, attribute, children, descendants, local, parse, stream

_WORKBOOK = "xl/workbook.xml"
# Number formats 14-22 and 45-47 are Excel's built-in date and time formats; 27-36 and
# 50-58 are the same in East Asian locales.
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
# In a format code, quoted text, escaped characters and [colour] or [$-locale] tags are
# not date parts; what is left is a date if it has a day, month, year, hour or second.
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')
_DATE_PARTS = re.compile(r"[dmyhs]", re.IGNORECASE)
_DIGITS = re.compile(r"(\d+)")
_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)


class XlsxExtractor:
    kind = "xlsx"

    def __init__(self, limits: ZipLimits | None = None) -> None:
        self.limits = limits

    def extract(self, path: Path) -> Document:
        refuse_ole(path, "an Excel workbook", "legacy Excel (.xls) workbook")
        with Archive(path, self.limits) as archive:
            expect(archive, frozenset({"xlsx"}), "an Excel workbook")
            workbook = _Workbook(archive)
            pieces: list[Piece] = []
            for name, part in workbook.sheets():
                pieces.extend(workbook.read_sheet(name, part))
            return Document(pieces, title(archive))


class _Workbook:
    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.part = main_part(archive) or _WORKBOOK
        self.root = parse(archive.read(self.part), self.part)
        self.links = relationships(archive, self.part)
        self.strings = self._shared_strings()
        self.epoch = _EPOCH_1904 if _uses_1904(self.root) else _EPOCH_1900
        self.date_styles = self._date_styles()

    def sheets(self) -> list[tuple[str, str]]:
        """(name, part) of each worksheet, in the workbook's order."""
        found: list[tuple[str, str]] = []
        for number, sheet in enumerate(descendants(self.root, "sheet"), start=1):
            link = self.links.get(relationship_id(sheet))
            if link is not None and link.type == "worksheet" and self.archive.has(link.target):
                found.append((attribute(sheet, "name") or f"Sheet{number}", link.target))
        if not found and not self.links:
            # Without relationships, the conventional names still find the sheets.
            parts = [
                n for n in self.archive.names() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n)
            ]
            found = [(posixpath.basename(p).removesuffix(".xml"), p) for p in _by_number(parts)]
        return found

    def read_sheet(self, name: str, part: str) -> list[Piece]:
        rows = Rows(name)
        number = 0
        for _event, node in stream(self.archive.chunks(part), part, ends={"row"}):
            number = _int(attribute(node, "r"), number + 1)
            rows.add(number, " | ".join(filter(None, map(self._cell, children(node, "c")))))
        return rows.pieces() + self._comments(name, part)

    def _cell(self, cell: Element) -> str:
        kind = attribute(cell, "t") or "n"
        if kind == "inlineStr":
            return _rich_text(cell)
        value = next((v.text or "" for v in children(cell, "v")), "").strip()
        if not value or kind == "e":
            return ""
        if kind == "s":
            index = _int(value, -1)
            return self.strings[index] if 0 <= index < len(self.strings) else ""
        if kind == "b":
            return "TRUE" if value == "1" else "FALSE"
        if kind == "n":
            return self._number(value, _int(attribute(cell, "s"), 0))
        return value

    def _number(self, value: str, style: int) -> str:
        try:
            number = float(value)
        except ValueError:
            return value
        if style in self.date_styles and 0 <= number < 2_958_466:  # up to year 9999
            moment = self.epoch + timedelta(days=number)
            if number < 1:
                return moment.strftime("%H:%M:%S")
            return moment.strftime("%Y-%m-%d" if number.is_integer() else "%Y-%m-%d %H:%M")
        return f"{number:.15g}"

    def _comments(self, name: str, part: str) -> list[Piece]:
        lines: list[str] = []
        for link in relationships(self.archive, part).values():
            if link.type != "comments" or not self.archive.has(link.target):
                continue
            root = parse(self.archive.read(link.target), link.target)
            for comment in descendants(root, "comment"):
                text = _rich_text(comment)
                if text:
                    lines.append(f"{attribute(comment, 'ref') or '?'}: {text}")
        return [Piece("\n".join(lines), f"{name}, comments")] if lines else []

    def _shared_strings(self) -> list[str]:
        part = next((r.target for r in self.links.values() if r.type == "sharedStrings"), None)
        if part is None or not self.archive.has(part):
            return []
        strings: list[str] = []
        for _event, node in stream(self.archive.chunks(part), part, ends={"si"}):
            strings.append(_rich_text(node))
        return strings

    def _date_styles(self) -> frozenset[int]:
        """The indexes of the cell styles whose number format shows a date or time."""
        part = next((r.target for r in self.links.values() if r.type == "styles"), None)
        if part is None or not self.archive.has(part):
            return frozenset()
        root = parse(self.archive.read(part), part)
        custom = {
            _int(attribute(fmt, "numFmtId"), -1): attribute(fmt, "formatCode") or ""
            for fmt in descendants(root, "numFmt")
        }
        styles: set[int] = set()
        for xfs in descendants(root, "cellXfs"):
            for index, xf in enumerate(children(xfs, "xf")):
                format_id = _int(attribute(xf, "numFmtId"), 0)
                if format_id in _DATE_FORMAT_IDS or _is_date_format(custom.get(format_id, "")):
                    styles.add(index)
        return frozenset(styles)


def _by_number(names: list[str]) -> list[str]:
    """Names in natural order: sheet2 before sheet10."""
    return sorted(
        names, key=lambda name: [int(t) if t.isdigit() else t for t in _DIGITS.split(name)]
    )


def _rich_text(node: Element) -> str:
    """The text of a string item: its runs, without phonetic guides (rPh)."""
    parts: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        name = local(item.tag)
        if name == "t":
            parts.append(item.text or "")
        elif name != "rPh":
            stack.extend(reversed(item))
    return "".join(parts).strip()


def _is_date_format(code: str) -> bool:
    return bool(code) and _DATE_PARTS.search(_FORMAT_NOISE.sub("", code)) is not None


def _uses_1904(workbook: Element) -> bool:
    properties = next(descendants(workbook, "workbookPr"), None)
    flag = attribute(properties, "date1904") if properties is not None else None
    return flag in ("1", "true")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
