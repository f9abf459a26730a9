"""RTF documents: the visible text, paragraph by paragraph, and the title from \\info.

RTF is plain ASCII with escapes: \\'hh is a byte in the document's code page (\\ansicpg)
or in the code page of the current font's character set, and \\uN is a Unicode code
unit followed by a fallback for older readers, which is skipped.  Groups that are not
text (font and colour tables, pictures, embedded objects, field instructions, and every
\\* destination) are skipped whole.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace
from pathlib import Path

from .base import Document
from .pieces import Sections

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # control word and parameter
    rb"|\\'([0-9a-fA-F]{2})"  # a byte in the current code page
    rb"|\\(.)"  # control symbol
    rb"|([{}])"  # group
    rb"|[\r\n]+"  # line ends in the source mean nothing
    rb"|([^\\{}\r\n]+)",  # text
    re.DOTALL,
)
_SKIPPED = frozenset({
    "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "objdata", "fldinst",
    "datafield", "themedata", "colorschememapping", "latentstyles", "datastore",
    "xmlnstbl", "listtable", "listoverridetable", "rsidtbl", "generator", "filetbl",
    "revtbl", "header", "headerl", "headerr", "headerf", "footer", "footerl", "footerr",
    "footerf", "nonshppict", "shpinst", "bkmkstart", "bkmkend", "private", "template",
})  # fmt: skip
_BREAKS = {"par": "\n", "sect": "\n", "page": "\n", "line": "\n", "row": "\n"}
_SPECIALS = {
    "tab": "\t", "cell": " | ", "nestcell": " | ", "emdash": "\u2014", "endash": "\u2013",
    "bullet": "\u2022", "lquote": "\u2018", "rquote": "\u2019", "ldblquote": "\u201c",
    "rdblquote": "\u201d", "emspace": " ", "enspace": " ", "qmspace": " ",
}  # fmt: skip
_SYMBOLS = {"~": " ", "_": "-", "-": "", "\\": "\\", "{": "{", "}": "}", "\n": "\n", "\r": "\n"}
# \fcharset numbers to code pages; 0 (ANSI) and 1 (default) mean the document's own.
_CHARSETS = {
    77: "mac_roman", 128: "cp932", 129: "cp949", 134: "cp936", 136: "cp950", 161: "cp1253",
    162: "cp1254", 163: "cp1258", 177: "cp1255", 178: "cp1256", 186: "cp1257",
    204: "cp1251", 222: "cp874", 238: "cp1250", 254: "cp437", 255: "cp850",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Group:
    """What applies inside one {...} group; a nested group starts as a copy."""

    sink: str = "text"  # "text", "skip", "title" or "fonttbl"
    skip_after_unicode: int = 1  # \ucN: fallback characters that follow each \uN
    font: int | None = None
    hidden: bool = False


class RtfExtractor:
    kind = "rtf"

    def extract(self, path: Path) -> Document:
        reader = _Reader(path.read_bytes())
        reader.run()
        sections = Sections()
        paragraphs = (line.strip() for line in reader.text().split("\n"))
        for number, paragraph in enumerate(filter(None, paragraphs), start=1):
            sections.add(paragraph, f"paragraph {number}")
        title = " ".join(reader.title_text().split())
        return Document(sections.pieces(), title or None)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.group = _Group()
        self.stack: list[_Group] = []
        self.codepage = "cp1252"
        self.fonts: dict[int, str] = {}  # font number -> code page
        self.defining_font: int | None = None
        self.out: list[str] = []
        self.title: list[str] = []
        self.pending = bytearray()  # bytes awaiting decoding in one code page
        self.pending_codepage = self.codepage
        self.to_skip = 0  # fallback characters still to drop after a \uN

    def run(self) -> None:
        position, size = 0, len(self.data)
        while position < size:
            token = _TOKEN.match(self.data, position)
            if token is None:  # a lone backslash at the very end
                break
            position = token.end()
            word, parameter, hexbyte, symbol, brace, text = token.groups()
            if word is not None:
                position += self._word(word.decode("ascii"), parameter)
            elif hexbyte is not None:
                self._bytes(bytes([int(hexbyte, 16)]))
            elif symbol is not None:
                self._symbol(symbol.decode("latin-1"))
            elif brace is not None:
                self._brace(brace)
            elif text is not None:
                self._bytes(text)
        self._flush()

    def text(self) -> str:
        # \uN gives UTF-16 code units; a pair of surrogates becomes one character.
        joined = "".join(self.out)
        return joined.encode("utf-16", "surrogatepass").decode("utf-16", "replace")

    def title_text(self) -> str:
        return "".join(self.title).encode("utf-16", "surrogatepass").decode("utf-16", "replace")

    def _word(self, word: str, raw: bytes | None) -> int:
        """Handle one control word; returns how many raw bytes follow it to be skipped."""
        parameter = int(raw) if raw is not None else None
        self._flush()
        if word == "bin":
            return max(parameter or 0, 0)  # binary data, whatever group it is in
        if word in _SKIPPED or word == "title":
            self._destination(word)
        elif word == "u" and parameter is not None:
            self._unicode(parameter)
        elif word == "uc" and parameter is not None:
            self.group = replace(self.group, skip_after_unicode=max(parameter, 0))
        elif word in ("f", "fcharset", "cpg", "ansicpg", "deff", "mac", "pc", "pca"):
            self._encoding(word, parameter)
        elif word == "v":
            self.group = replace(self.group, hidden=parameter != 0)
        elif word in _BREAKS or word in _SPECIALS:
            self._emit(_BREAKS.get(word) or _SPECIALS[word])
        return 0

    def _destination(self, word: str) -> None:
        if word == "fonttbl":
            self.group = replace(self.group, sink="fonttbl")
        elif word == "title" and self.group.sink in ("skip", "text"):
            self.group = replace(self.group, sink="title")
        else:
            self.group = replace(self.group, sink="skip")

    def _encoding(self, word: str, parameter: int | None) -> None:
        if word == "ansicpg" and parameter is not None:
            self.codepage = _codec(f"cp{parameter}") or self.codepage
        elif word in ("mac", "pc", "pca"):
            self.codepage = {"mac": "mac_roman", "pc": "cp437", "pca": "cp850"}[word]
        elif word == "f" and self.group.sink == "fonttbl":
            self.defining_font = parameter
        elif word == "f" or word == "deff":
            self.group = replace(self.group, font=parameter)
        elif self.defining_font is not None and parameter is not None:
            codepage = _CHARSETS.get(parameter) if word == "fcharset" else _codec(f"cp{parameter}")
            if codepage is not None:
                self.fonts[self.defining_font] = codepage

    def _unicode(self, unit: int) -> None:
        self._emit(chr(unit % 65536))  # a signed 16-bit code unit; junk wraps harmlessly
        self.to_skip = self.group.skip_after_unicode

    def _symbol(self, symbol: str) -> None:
        if symbol == "*":
            self.group = replace(self.group, sink="skip")
        elif self.to_skip:
            self.to_skip -= 1
        elif symbol in _SYMBOLS:
            self._emit(_SYMBOLS[symbol])

    def _brace(self, brace: bytes) -> None:
        self._flush()
        self.to_skip = 0
        if brace == b"{":
            self.stack.append(self.group)
        elif self.stack:
            self.group = self.stack.pop()

    def _bytes(self, data: bytes) -> None:
        if self.to_skip:
            dropped = min(self.to_skip, len(data))
            self.to_skip -= dropped
            data = data[dropped:]
        if not data or self.group.sink not in ("text", "title") or self.group.hidden:
            return
        codepage = self._codepage()
        if codepage != self.pending_codepage:
            self._flush()
            self.pending_codepage = codepage
        self.pending += data

    def _emit(self, text: str) -> None:
        self._flush()
        if self.group.hidden:
            return
        if self.group.sink == "text":
            self.out.append(text)
        elif self.group.sink == "title":
            self.title.append(text)

    def _flush(self) -> None:
        if not self.pending:
            return
        text = self.pending.decode(self.pending_codepage, errors="replace")
        self.pending.clear()
        (self.title if self.group.sink == "title" else self.out).append(text)

    def _codepage(self) -> str:
        font = self.group.font
        return self.fonts.get(font, self.codepage) if font is not None else self.codepage


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
