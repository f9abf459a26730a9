"""Query words: which ones count, how FTS5 sees them, and where they occur in a text.

Matching uses SQLite's own porter tokenizer, so highlighting agrees exactly with what
the keyword index matched ("running" highlights "runs").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import apsw

TOKENIZER = ("porter", ["unicode61", "remove_diacritics", "2"])
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    get got also may might must shall
    """.split()
)

# Things people look up verbatim: INV-2024-00731, AB12345, 4111-1111, v2.3.1, ABC_DEF.
_IDENTIFIER = re.compile(
    r"\b(?=[\w.\-/:]*\d)[A-Za-z0-9]+(?:[\-_/.:][A-Za-z0-9]+)+\b"
    r"|\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{4,}\b|\b\d{4,}\b"
)


@dataclass(frozen=True, slots=True)
class QueryTerms:
    words: tuple[str, ...]  # distinct words that count, lower-cased, in query order
    repeats: tuple[str, ...]  # the same words as often as the query says them
    stems: dict[str, tuple[str, ...]]  # each word as the keyword index sees it
    identifiers: tuple[str, ...]  # verbatim look-ups, as typed

    @property
    def empty(self) -> bool:
        return not self.words

    @property
    def all_stems(self) -> frozenset[str]:
        return frozenset(s for stems in self.stems.values() for s in stems)

    def fts_any(self) -> str:
        """An FTS5 expression matching passages with any of the words.

        A word the query repeats is repeated here too, so bm25 weighs it more: in a long,
        descriptive query, repetition marks what matters.
        """
        return " OR ".join(quote(word) for word in self.repeats)


class Terms:
    """Tokenizes with the same rules as the keyword index."""

    def __init__(self, conn: apsw.Connection) -> None:
        self._tokenizer = conn.fts5_tokenizer(*TOKENIZER)

    def stems(self, text: str) -> list[str]:
        tokens = self._tokenizer(
            text.encode("utf-8"), apsw.FTS5_TOKENIZE_QUERY, None, include_offsets=False
        )
        return [str(t[0]) for t in tokens]

    def query(self, text: str) -> QueryTerms:
        words = re.findall(r"\w+", text.lower())
        meaningful = [w for w in words if w not in STOPWORDS] or words
        stems = {word: tuple(self.stems(word)) for word in dict.fromkeys(meaningful)}
        repeats = tuple(word for word in meaningful if stems[word])
        identifiers = tuple(dict.fromkeys(m.group(0) for m in _IDENTIFIER.finditer(text)))
        kept = tuple(dict.fromkeys(repeats))
        return QueryTerms(kept, repeats, {w: stems[w] for w in kept}, identifiers)

    def document_tokens(self, text: str) -> list[str]:
        """The stems ``text`` puts in the keyword index, each time it does."""
        # Bare strings (no offsets, no colocated forms): a third faster than tuples.
        tokens = self._tokenizer(
            text.encode("utf-8"),
            apsw.FTS5_TOKENIZE_DOCUMENT,
            None,
            include_offsets=False,
            include_colocated=False,
        )
        return cast(list[str], tokens)

    def document_stems(self, text: str) -> set[str]:
        """The stems ``text`` puts in the keyword index."""
        return set(self.document_tokens(text))

    def positions(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, stem) of every token, as character offsets into ``text``."""
        data = text.encode("utf-8")
        # With offsets requested, every token comes as (start, end, stem, *colocated).
        found = self._tokenizer(data, apsw.FTS5_TOKENIZE_DOCUMENT, None)
        tokens = [(t[0], t[1], t[2]) for t in cast(list[tuple[int, int, str]], found)]
        if len(data) == len(text):
            return tokens
        chars = _byte_to_char(text)
        return [(chars[start], chars[end], stem) for start, end, stem in tokens]


def quote(text: str) -> str:
    """``text`` as one FTS5 string: a word, or a phrase if the tokenizer splits it."""
    return '"' + text.replace('"', '""') + '"'


def _byte_to_char(text: str) -> list[int]:
    mapping: list[int] = []
    for index, char in enumerate(text):
        mapping.extend([index] * len(char.encode("utf-8")))
    mapping.append(len(text))
    return mapping
