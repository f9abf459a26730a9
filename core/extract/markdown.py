"""Markdown: one section per heading, located by the heading's text."""

from __future__ import annotations

import re
from pathlib import Path

from .base import Document
from .decoding import decode
from .pieces import Outline, Sections
from .text import lines_of

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER = {"---": ("---", "..."), "+++": ("+++",)}

# Markup that only adds noise to the text a person searches.
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_REF_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s+\S+.*$", re.MULTILINE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_EMPHASIS = re.compile(r"(\*\*|__|~~|`)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$", re.MULTILINE)
_QUOTE = re.compile(r"^ {0,3}> ?", re.MULTILINE)


class MarkdownExtractor:
    kind = "markdown"

    def extract(self, path: Path) -> Document:
        return parse(decode(path.read_bytes()))


def parse(text: str) -> Document:
    """Split Markdown into sections; the first level-1 heading is the title."""
    return _Parser().run(lines_of(text))


class _Parser:
    def __init__(self) -> None:
        self.sections = Sections()
        self.outline = Outline()
        self.title: str | None = None
        self.paragraph: list[str] = []
        self.paragraph_line = 0

    def run(self, lines: list[str]) -> Document:
        index = _body_start(lines)
        while index < len(lines):
            index = self._line(lines, index)
        self._flush()
        return Document(pieces=self.sections.pieces(), title=self.title)

    def _line(self, lines: list[str], index: int) -> int:
        """Consume the line at ``index`` (a whole fenced block at once); return the next index."""
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            return self._code_block(lines, index, fence.group(1))
        atx = _ATX.match(line)
        setext = _SETEXT.match(line)
        if atx:
            self._heading(len(atx.group(1)), atx.group(2) or "")
        elif setext and self.paragraph:
            text = " ".join(self.paragraph)
            self.paragraph = []
            self._heading(1 if setext.group(1)[0] == "=" else 2, text)
        elif line.strip():
            if not self.paragraph:
                self.paragraph_line = index + 1
            self.paragraph.append(line)
        else:
            self._flush()
        return index + 1

    def _code_block(self, lines: list[str], index: int, fence: str) -> int:
        self._flush()
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        self.sections.add_at_line("\n".join(lines[index + 1 : end]), index + 2)
        return end + 1

    def _heading(self, level: int, raw: str) -> None:
        self._flush()
        text = _clean(raw).strip()
        if not text:
            return
        if level == 1 and self.title is None:
            self.title = text
        self.sections.heading(self.outline.enter(level, text), text)

    def _flush(self) -> None:
        if self.paragraph:
            text = _clean("\n".join(self.paragraph))
            self.sections.add_at_line(text, self.paragraph_line)
        self.paragraph = []


def _body_start(lines: list[str]) -> int:
    """Index of the first line after YAML (---) or TOML (+++) front matter, if any."""
    if not lines or lines[0].strip() not in _FRONT_MATTER:
        return 0
    closers = _FRONT_MATTER[lines[0].strip()]
    for index in range(1, len(lines)):
        if lines[index].strip() in closers:
            return index + 1
    return 0


def _clean(text: str) -> str:
    text = _COMMENT.sub("", text)
    text = _REF_DEFINITION.sub("", text)
    text = _TABLE_RULE.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _QUOTE.sub("", text)
    return _EMPHASIS.sub("", text)
