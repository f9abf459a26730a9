"""HTML: the readable text of a page, one section per heading."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from .base import Document
from .decoding import decode
from .pieces import Outline, Sections

if TYPE_CHECKING:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

# Page furniture and non-text elements: what a person would not call the page's text.
_DROPPED = [
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form",
    "svg", "template", "iframe", "object", "embed", "canvas", "select", "button",
]  # fmt: skip
# The same furniture marked up by role, hidden content, and wiki "[edit]" links.
_DROPPED_SELECTOR = (
    '[role="navigation"], [role="banner"], [role="contentinfo"], [hidden], .mw-editsection'
)
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Elements that end a line of text; everything else flows inline.
_BLOCKS = _HEADINGS | {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd",
    "table", "tr", "td", "th", "caption", "blockquote", "pre", "br", "hr", "figure",
    "figcaption", "address", "details", "summary", "body",
}  # fmt: skip
# <meta charset=...>, <meta http-equiv=... content="...; charset=...">, or XHTML's
# <?xml ... encoding="..."?>.
_CHARSET = re.compile(
    rb"""(?:<meta[^>]+charset|<\?xml[^>]+encoding)\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class HtmlExtractor:
    kind = "html"

    def extract(self, path: Path) -> Document:
        data = path.read_bytes()
        return parse(decode(data, declared_charset(data)))


def declared_charset(data: bytes) -> str | None:
    """The charset a <meta> tag near the top of the page declares, if any."""
    found = _CHARSET.search(data[:4096])
    return found.group(1).decode("ascii") if found else None


def parse(markup: str) -> Document:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(markup)
    title = _title(tree)
    tree.strip_tags(_DROPPED)
    for node in tree.css(_DROPPED_SELECTOR):
        node.decompose()
    sections = Sections()
    if tree.body is not None:
        _walk(tree.body, sections)
    return Document(pieces=sections.pieces(), title=title)


def _title(tree: LexborHTMLParser) -> str | None:
    for selector in ("title", "h1"):
        node = tree.css_first(selector)
        if node is not None:
            text = _SPACES.sub(" ", node.text()).strip()
            if text:
                return text
    return None


def _walk(root: LexborNode, sections: Sections) -> None:
    """Visit the tree in document order without recursion (pages can nest deeply)."""
    lines = _Lines()
    outline = Outline()
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag or ""
        if leaving:
            lines.end_block(tag)
        elif node.is_text_node:
            lines.text(node.text_content or "")
        elif tag in _HEADINGS:
            sections.add(lines.take())
            heading = _SPACES.sub(" ", node.text()).strip()
            if not heading:
                continue
            label = outline.enter(int(tag[1]), heading)
            sections.heading(label, heading)
        elif node.is_element_node:
            lines.start_block(tag)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))
    sections.add(lines.take())


class _Lines:
    """Accumulates inline text, breaking lines at block elements and keeping <pre> as is."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._pre_depth = 0

    def text(self, text: str) -> None:
        self._parts.append(text if self._pre_depth else _SPACES.sub(" ", text))

    def start_block(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._parts.append("\n")
        if tag == "pre":
            self._pre_depth += 1

    def end_block(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._parts.append("\n")
        if tag == "pre":
            self._pre_depth -= 1

    def take(self) -> str:
        """The text gathered so far, one tidy line per block; resets the buffer."""
        raw = "".join(self._parts)
        self._parts = []
        lines = (line.strip() for line in raw.split("\n"))
        return "\n".join(line for line in lines if line)
