"""XML parts of untrusted documents, parsed whole or streamed, with no entity tricks.

Document formats never need entity declarations, and a declared entity is how an XML
file expands a few bytes into gigabytes ("billion laughs") or reaches for local files.
A DOCTYPE that only names an external DTD (EPUB's NCX and XHTML files carry one) is
harmless, since expat fetches nothing; one with an internal subset is refused.

Element tags are in ElementTree's "{namespace}local" form; ``local`` drops the namespace,
so readers also accept the "strict" and transitional namespaces of the same format.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Iterator
from typing import TypeAlias
from xml.parsers import expat

from core.errors import ExtractionFailed

from .base import Category

Element: TypeAlias = ET.Element
Event: TypeAlias = tuple[str, ET.Element]  # ("start" or "end", element)


class _Refused(Exception):
    """Raised inside expat's callbacks to stop at a declaration."""


class _Builder:
    """Feeds expat's callbacks into an ElementTree builder, noting the events asked for."""

    def __init__(self, starts: Collection[str] = (), ends: Collection[str] = ()) -> None:
        self.tree = ET.TreeBuilder()
        self.events: list[tuple[str, Element, Element | None]] = []
        self._starts, self._ends = starts, ends
        self._open: list[Element] = []
        self._names: dict[str, tuple[str, str]] = {}  # expat's name -> (tag, local name)
        parser = expat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.buffer_size = 64 * 1024
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._entity
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self.tree.data
        self.parser = parser

    def _doctype(self, name: str, system: str | None, public: str | None, internal: int) -> None:
        if internal:
            raise _Refused

    def _entity(self, *_declaration: object) -> None:
        raise _Refused

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        tag, short = self._name(name)
        attrs = {self._name(k)[0]: v for k, v in attributes.items()} if attributes else {}
        element = self.tree.start(tag, attrs)
        if short in self._starts:
            self.events.append(("start", element, None))
        self._open.append(element)

    def _end(self, name: str) -> None:
        tag, short = self._name(name)
        element = self.tree.end(tag)
        self._open.pop()
        if short in self._ends:
            self.events.append(("end", element, self._open[-1] if self._open else None))

    def _name(self, name: str) -> tuple[str, str]:
        """expat's "namespace}local" as ElementTree's "{namespace}local", and the local part."""
        known = self._names.get(name)
        if known is None:
            tag = "{" + name if "}" in name else name
            known = self._names[name] = (tag, local(tag))
        return known


def parse(data: bytes, part: str) -> Element:
    """The root element of ``data``, the XML part named ``part`` (for error messages)."""
    builder = _Builder()
    _feed(builder, data, part, final=True)
    root: Element = builder.tree.close()
    return root


def stream(
    chunks: Iterable[bytes], part: str, ends: Collection[str], starts: Collection[str] = ()
) -> Iterator[Event]:
    """Events for the XML in ``chunks`` as it arrives: ("end", element) for elements whose
    local name is in ``ends``, ("start", element) for those in ``starts``.

    An element whose end was reported is cut from its parent once the caller moves on, so
    memory stays flat however long the part is.  At a start event only the element's
    attributes are known.
    """
    builder = _Builder(starts, ends)
    for chunk in chunks:
        _feed(builder, chunk, part, final=False)
        yield from _drain(builder)
    _feed(builder, b"", part, final=True)
    yield from _drain(builder)


def local(tag: str) -> str:
    """The tag or attribute name without its namespace."""
    return tag.rpartition("}")[2]


def attribute(element: Element, name: str) -> str | None:
    """The value of the attribute whose local name is ``name``, in whatever namespace."""
    value = element.get(name)
    if value is not None:
        return value
    for key, value in element.attrib.items():
        if local(key) == name:
            return value
    return None


def children(element: Element, name: str) -> Iterator[Element]:
    """Direct children with local name ``name``."""
    return (child for child in element if local(child.tag) == name)


def descendants(element: Element, name: str) -> Iterator[Element]:
    """``element`` and everything below it with local name ``name``, in document order."""
    return (node for node in element.iter() if local(node.tag) == name)


def first_text(element: Element, name: str) -> str | None:
    """The text of the first ``name`` element below ``element`` that holds any, with its
    whitespace collapsed (a title, say)."""
    for node in descendants(element, name):
        text = " ".join("".join(node.itertext()).split())
        if text:
            return text
    return None


def _drain(builder: _Builder) -> Iterator[Event]:
    events, builder.events = builder.events, []
    for kind, element, parent in events:
        yield kind, element
        if parent is not None:
            parent.remove(element)


def _feed(builder: _Builder, data: bytes, part: str, final: bool) -> None:
    try:
        builder.parser.Parse(data, final)
    except _Refused:
        raise ExtractionFailed(
            Category.CORRUPT,
            f"its part {part} declares XML entities, which documents never need "
            "(an entity-expansion attack?)",
        ) from None
    except (expat.ExpatError, LookupError, ValueError) as error:
        # The XML declaration may name an encoding that does not exist (LookupError) or
        # a multi-byte one expat cannot take (ValueError).
        raise ExtractionFailed(
            Category.CORRUPT, f"its part {part} is not well-formed XML ({error})"
        ) from None
