"""Integrity checks for the everyday-documents fixture.

The documents live in `resources/sample/` (they double as the sample folder); the queries in
`everyday_queries.jsonl`.

A paraphrase query must describe its target by meaning alone: it shares no content word with the
target's text or file name, so only a semantic match can find it. Identifier queries must occur
verbatim in their target and in no other file, so only an exact-term match can find them.

Run `python tests/data/check_everyday.py` to print the overlap of every query.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent
DOCUMENTS = DATA.parents[1] / "resources" / "sample"
QUERIES = DATA / "everyday_queries.jsonl"

# Function words only (articles, pronouns, prepositions, conjunctions, auxiliaries, question
# words, quantifiers). Nouns, verbs and adjectives are never listed, however common.
_STOP_TEXT = """
    a an the this that these those some any all each every both either neither no not nor
    i me my mine we us our ours you your yours he him his she her hers it its they them their
    theirs who whom whose which what when where why how whether if then than so too very
    and or but because as while until unless although though
    of in on at by for with without from to into onto over under about above below between
    through during before after against among per via up down out off again once
    is am are was were be been being do does did done have has had having
    will would shall should can could may might must
    there here just also only even still much many more most few less least other another
    such own same
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

_WORD = re.compile(r"[a-z0-9]+")


def normalise(word: str) -> str:
    """Fold plurals and -ing/-ed forms together, so "watering" still counts as "water"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            # "running" -> "runn" -> "run"
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word


def content_words(text: str) -> set[str]:
    tokens = _WORD.findall(text.lower())
    return {normalise(t) for t in tokens if len(t) > 1 and t not in STOP_WORDS}


def content_word_overlap(query: str, doc_text: str) -> set[str]:
    """Content words (normalised) that the query shares with the document."""
    return content_words(query) & content_words(doc_text)


def document_words_source(name: str) -> str:
    """What a paraphrase must avoid: the file's text plus the words of its file name."""
    path = DOCUMENTS / name
    return path.read_text(encoding="utf-8") + "\n" + re.sub(r"[_.\-]", " ", name)


def load_queries() -> list[dict[str, str]]:
    lines = QUERIES.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def query_problems(query: dict[str, str]) -> list[str]:
    expected = query["expected"]
    if not (DOCUMENTS / expected).is_file():
        return [f"{expected}: no such file"]
    if query["kind"] == "paraphrase":
        overlap = content_word_overlap(query["text"], document_words_source(expected))
        return [f"{expected}: shares {sorted(overlap)}"] if overlap else []
    if query["kind"] == "identifier":
        holders = [p.name for p in DOCUMENTS.iterdir() if query["text"] in p.read_text("utf-8")]
        return [] if holders == [expected] else [f"{query['text']!r} found in {holders}"]
    return [f"unknown kind {query['kind']!r}"]


def fixture_problems() -> list[str]:
    """Every broken promise of the fixture; empty when it is sound."""
    return [problem for query in load_queries() for problem in query_problems(query)]


if __name__ == "__main__":
    for query in load_queries():
        problems = query_problems(query)
        status = "ok " if not problems else "BAD"
        print(f"{status} {query['kind']:<10} {query['expected']:<34} {query['text']}")
        for problem in problems:
            print(f"      {problem}")
    print(f"{len(fixture_problems())} problem(s)")
