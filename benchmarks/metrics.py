"""Ranking metrics and loaders for BEIR-layout test collections.

A collection folder holds `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl` (`_id`,
`text`) and `qrels/test.tsv` (header line, then `query-id`, `corpus-id`, `score`).

The metrics follow trec_eval: linear gains, a document counts as relevant when its judged
score is above zero, and a query's figure only depends on its own ranking and judgments.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

Qrels = dict[str, int]
"""Judged documents of one query: corpus id -> graded relevance (0 or less = not relevant)."""


class Document(NamedTuple):
    title: str
    text: str


def _dedupe(ranked_ids: list[str]) -> list[str]:
    # A document listed twice must not be credited twice; trec_eval keeps the first rank.
    return list(dict.fromkeys(ranked_ids))


def dcg(gains: list[int]) -> float:
    """Discounted cumulative gain of gains in rank order (rank 1 is divided by log2(2))."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranked_ids: list[str], qrels: Qrels, k: int = 10) -> float:
    """nDCG@k with linear gains; the ideal ranking is every judged grade sorted high to low."""
    ideal = sorted((rel for rel in qrels.values() if rel > 0), reverse=True)[:k]
    ideal_dcg = dcg(ideal)
    if ideal_dcg == 0:
        return 0.0
    gains = [max(qrels.get(doc_id, 0), 0) for doc_id in _dedupe(ranked_ids)[:k]]
    return dcg(gains) / ideal_dcg


def recall_at_k(ranked_ids: list[str], qrels: Qrels, k: int = 100) -> float:
    """Fraction of the relevant documents (score > 0) that appear in the top k."""
    relevant = {doc_id for doc_id, rel in qrels.items() if rel > 0}
    if not relevant:
        return 0.0
    found = relevant.intersection(_dedupe(ranked_ids)[:k])
    return len(found) / len(relevant)


def mrr(ranked_ids: list[str], qrels: Qrels, k: int | None = None) -> float:
    """Reciprocal rank of the first relevant document within the top k (all when k is None)."""
    for rank, doc_id in enumerate(_dedupe(ranked_ids)[:k], start=1):
        if qrels.get(doc_id, 0) > 0:
            return 1.0 / rank
    return 0.0


def _read_jsonl(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_corpus(collection: Path) -> dict[str, Document]:
    """Corpus id -> document, in file order."""
    return {
        row["_id"]: Document(row.get("title") or "", row.get("text") or "")
        for row in _read_jsonl(Path(collection) / "corpus.jsonl")
    }


def load_queries(collection: Path) -> dict[str, str]:
    """Query id -> query text, in file order."""
    return {row["_id"]: row["text"] for row in _read_jsonl(Path(collection) / "queries.jsonl")}


def load_qrels(collection: Path, split: str = "test") -> dict[str, Qrels]:
    """Query id -> judged documents, from `qrels/<split>.tsv`."""
    qrels: dict[str, Qrels] = {}
    with (Path(collection) / "qrels" / f"{split}.tsv").open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        next(rows, None)  # header: query-id, corpus-id, score
        for row in rows:
            if len(row) >= 3:
                query_id, corpus_id, score = row[0], row[1], row[2]
                qrels.setdefault(query_id, {})[corpus_id] = int(float(score))
    return qrels
