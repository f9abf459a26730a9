"""Where the sentences of a passage start and end, so a snippet can show whole ones.

Good enough for display, not for linguistics: a full stop ends a sentence unless it
follows a common abbreviation, an initial or a list number, or the next word starts in
lower case.  A line break ends one where the layout says so: a blank line, a list item,
a table row or a heading, or a short line (a title, a code line); hard-wrapped prose
runs on across its line breaks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

Span = tuple[int, int]

SHORT_LINE = 40  # characters: a shorter line is a unit of its own (a heading, a label)

_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st no nr art sec para fig vol pp p vs approx ca cf jr sr e.g i.e eg ie
    al incl excl dept est min max jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)
_TERMINAL = re.compile(r"[.!?…]+[\"'’”)\]]*(?=\s)")
_OPENING = "\"'‘“([•"
# A line opening a unit of its own: list item, quote, table row, heading.
_UNIT_LINE = re.compile(r"[ \t]*(?:[-*+•][ \t]|\d{1,3}[.)][ \t]|[>|#])")
_WORD_BEFORE = re.compile(r"[\w.]*$")
# Lines that never wrap onto the next: table rows and headings.
_WHOLE_LINE = re.compile(r"[ \t]*[|#]")


def sentence_spans(text: str, every_line: bool = False) -> list[Span]:
    """The sentences of ``text`` in order, white space trimmed off.  With ``every_line``
    (code, logs) each line break ends one."""
    cuts = sorted({0, len(text), *_sentence_ends(text), *_line_ends(text, every_line)})
    spans: list[Span] = []
    for start, end in pairwise(cuts):
        chunk = text[start:end]
        lead = len(chunk) - len(chunk.lstrip())
        if chunk.strip():
            spans.append((start + lead, start + len(chunk.rstrip())))
    return spans


def starts_mid_sentence(text: str) -> bool:
    """Whether ``text`` opens with the tail of a sentence cut off before it."""
    head = text.lstrip()[:1]
    return head.islower() or (head != "" and head in ",.;:)]}")


def _sentence_ends(text: str) -> Iterator[int]:
    for match in _TERMINAL.finditer(text):
        if _ends_sentence(text, match):
            yield match.end()


def _ends_sentence(text: str, terminal: re.Match[str]) -> bool:
    following = text[terminal.end() : terminal.end() + 12].lstrip().lstrip(_OPENING)
    if following[:1].islower():
        return False
    if terminal[0] != ".":
        return True
    word = _WORD_BEFORE.search(text, max(0, terminal.start() - 12), terminal.start())
    before = word[0].lower() if word else ""
    if before in _ABBREVIATIONS or (len(before) == 1 and before.isalpha()):
        return False
    return not (before.isdigit() and _opens_line(text, terminal.start() - len(before)))


def _opens_line(text: str, index: int) -> bool:
    line_start = text.rfind("\n", 0, index) + 1
    return not text[line_start:index].strip()


def _line_ends(text: str, every_line: bool) -> Iterator[int]:
    lines = text.split("\n")
    offset = 0
    for line, following in pairwise(lines):
        offset += len(line) + 1
        if every_line or _unit_break(line, following):
            yield offset


def _unit_break(line: str, following: str) -> bool:
    if not following.strip() or _UNIT_LINE.match(following):
        return True
    if _WHOLE_LINE.match(line):
        return True
    return len(line.strip()) < SHORT_LINE and not following.lstrip()[:1].islower()
