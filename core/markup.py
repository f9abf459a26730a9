"""Text as a person should read it in a result: Markdown and HTML markup taken out, white
space run together, and every character traced to where it stood in the stored text, so
that sentence bounds and line numbers found on the stored text still apply.

Only what is shown is cleaned; the stored and indexed text keeps its markup.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

Edit = tuple[int, int, str]  # replace text[start:end] with the string
Replacement = str | Callable[[re.Match[str]], str]
Cleaner = Callable[["Traced"], "Traced"]

CELL_SEPARATOR = " · "


@dataclass(frozen=True, slots=True)
class Traced:
    """A text made from a source text, with where each of its characters came from."""

    text: str
    origin: list[int]  # source offset of each character of ``text``, then of its end

    @classmethod
    def of(cls, source: str) -> Traced:
        return cls(source, list(range(len(source) + 1)))

    def index(self, source_offset: int) -> int:
        """The first position here whose character stood at ``source_offset`` or later."""
        return bisect.bisect_left(self.origin, source_offset)

    def edited(self, edits: Iterable[Edit]) -> Traced:
        """The text with ``edits`` made; an edit overlapping an earlier one is skipped.
        Kept characters keep their origin; new ones take the origin of what they replace."""
        parts: list[str] = []
        origin: list[int] = []
        last = 0
        for start, end, new in sorted(edits):
            if start < last:
                continue
            parts += [self.text[last:start], new]
            origin += self.origin[last:start] + [self.origin[start]] * len(new)
            last = end
        parts.append(self.text[last:])
        origin += self.origin[last:]
        return Traced("".join(parts), origin)

    def sub(self, pattern: re.Pattern[str], replacement: Replacement = "") -> Traced:
        """Like ``re.sub``; a pattern with a group named ``keep`` keeps that group's text
        (with its origins) and drops the rest of the match."""
        edits = list(_match_edits(pattern, self.text, replacement))
        return self.edited(edits) if edits else self


def readable(source: str, markup: bool = True) -> Traced:
    """``source`` with its white space run together and, if ``markup``, its Markdown and
    HTML markup taken out.  Code is shown with ``markup`` off: its ``**kwargs``,
    ``__init__`` and ``# comments`` are not markup."""
    traced = Traced.of(source)
    if markup:
        for signs, clean in _CLEANERS:
            # Most text holds little markup; a sign looked up is far cheaper than a scan.
            if any(sign in traced.text for sign in signs):
                traced = clean(traced)
    return traced.sub(_SPACE, " ")


def _rule(pattern: str, replacement: Replacement = "", flags: int = 0) -> Cleaner:
    compiled = re.compile(pattern, flags)
    return lambda traced: traced.sub(compiled, replacement)


def _match_edits(pattern: re.Pattern[str], text: str, replacement: Replacement) -> Iterator[Edit]:
    keep = "keep" in pattern.groupindex
    for match in pattern.finditer(text):
        start, end = match.span()
        if keep:
            yield start, match.start("keep"), ""
            yield match.end("keep"), end, ""
        else:
            yield start, end, replacement if isinstance(replacement, str) else replacement(match)


def _table_edits(text: str) -> Iterator[Edit]:
    """A Markdown table row ``| a | b |`` reads ``a · b;``: once line breaks are gone,
    the semicolon is what still tells one row from the next."""
    for row in _TABLE_ROW.finditer(text):
        pipes = list(_PIPE.finditer(text, row.start(), row.end()))
        for number, pipe in enumerate(pipes):
            last = number == len(pipes) - 1
            yield pipe.start(), pipe.end(), ";" if last else CELL_SEPARATOR if number else ""


def _heading_edits(text: str) -> Iterator[Edit]:
    """A heading ``## Notes`` reads ``Notes:``, so it does not run into the text below."""
    for heading in _HEADING.finditer(text):
        yield heading.start(), heading.start("title"), ""
        ending = ":" if heading["title"][-1].isalnum() else ""
        yield heading.end("title"), heading.end(), ending


_SPACE = re.compile(r"\s{2,}|[^\S ]")  # white space other than one plain space
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$", re.MULTILINE)
_PIPE = re.compile(r"[ \t]*(?<!\\)\|[ \t]*")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(?P<title>.*?\S)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_BLOCK_TAGS = "br|p|div|li|ul|ol|tr|td|th|table|h[1-6]|blockquote|hr|section|article|dd|dt"

# In order: each cleaner runs only if the text holds one of its signs.
_CLEANERS: list[tuple[tuple[str, ...], Cleaner]] = [
    (("<!--",), _rule(r"<!--.*?-->", flags=re.DOTALL)),
    # Table separator rows (|---|:--:|) and horizontal rules carry no words.
    (
        ("--", "**", "__", "- -", "* *", "_ _"),
        _rule(
            r"^[ \t]*\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+(?:[ \t]*:?-{3,}:?)?[ \t]*$"
            r"|^[ \t]*(?:[-*_][ \t]*){3,}$",
            flags=re.MULTILINE,
        ),
    ),
    (("|",), lambda traced: traced.edited(_table_edits(traced.text))),
    (("#",), lambda traced: traced.edited(_heading_edits(traced.text))),
    ((">",), _rule(r"^[ \t]{0,3}>[ \t]?", flags=re.MULTILINE)),  # quote
    (("- ", "* ", "+ "), _rule(r"^[ \t]*[-*+][ \t]+", "• ", re.MULTILINE)),  # list item
    (("](",), _rule(r"!?\[(?P<keep>[^\]\n]*)\]\([^)\s]*(?:[ \t]+\"[^\"\n]*\")?\)")),  # link
    (("][",), _rule(r"\[(?P<keep>[^\]\n]+)\]\[[^\]\n]*\]")),  # reference link
    (("<",), _rule(r"<(?P<keep>(?:https?|mailto):[^>\s]+)>")),  # autolink
    (("<",), _rule(rf"</?(?:{_BLOCK_TAGS})\b[^<>]*>", " ", re.IGNORECASE)),
    (("<",), _rule(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")),  # inline tag
    (
        ("&",),
        _rule(r"&(?:#\d{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});", lambda m: html.unescape(m[0])),
    ),
    (("**", "~~", "`", "__"), _rule(r"\*\*|~~|`+|(?<!\w)__|__(?!\w)")),  # strong, struck, code
    (("*",), _rule(r"(?<![\w*])\*(?=[^\s*])(?P<keep>[^*\n]*?[^\s*])\*(?![\w*])")),
    (("_",), _rule(r"(?<!\w)_(?=[^\s_])(?P<keep>[^_\n]*?[^\s_])_(?!\w)")),
]
