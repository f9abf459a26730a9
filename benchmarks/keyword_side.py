"""The keyword side at scale: FTS5's bm25 against postings held in numpy, side by side.

    .venv/bin/python -m benchmarks.keyword_side --passages 100000 [--queries 40]

Reads an index the scale benchmark built (``benchmarks.scale``, cached by size) and, in
this process, builds postings of every passage with the keyword index's own tokenizer:
title and text tokens per passage, the title counted ``--title`` times, as search weighs
that column.  Each query is then ranked five ways, best 2,000 passages, on the same words
(the query's words OR'ed, repeated words repeated, as core.search asks FTS5):

- ``fts5``: FTS5's ``bm25()``, as Trove ranks today;
- ``exact``: bm25 term at a time over int32 passage ids and float32 term frequencies;
- ``impact8``: the same with each posting's whole bm25 part but the word's rarity
  precomputed and kept in 8 bits (5 bytes a posting);
- ``blocks``: ``exact`` in 3 bytes a posting (a passage id's low 16 bits, its high bits
  from per-word counts of postings in each 65,536 ids; the count in 8 bits);
- ``pruned``: ``impact8`` keeping, of a word in more than ``--keep`` of all passages, only
  its that-many best postings (static pruning: very common words count only where they
  count most).

For each: p50 / p95 of the ranking alone, warm; bytes held; agreement of its best 100 and
best 10 with FTS5's (the share scored by FTS5 at least as high as its own 100th or 10th
best: ties fall either way; mean and min over the queries).  One JSON
line on stdout at the end; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import apsw
import numpy as np

from benchmarks.scale import pick_queries
from core.store.connection import connect
from core.store.keywords import fts_title
from core.store.texts import Texts
from core.terms import TOKENIZER, Terms

K1, B = 1.2, 0.75
DEPTH = 2000
FILES_A_BATCH = 2000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Postings:
    """Every passage's words: for each word, the passages holding it (ascending int32
    ids) and its weighted count in each (title times ``title`` plus text)."""

    def __init__(self, conn: apsw.Connection, title: float) -> None:
        tokenize = conn.fts5_tokenizer(*TOKENIZER)

        def tokens(text: str) -> list[str]:
            return tokenize(  # type: ignore[no-any-return]
                text.encode("utf-8"),
                apsw.FTS5_TOKENIZE_DOCUMENT,
                None,
                include_offsets=False,
                include_colocated=False,
            )

        self.term_ids: dict[str, int] = {}
        texts = Texts(conn)
        files = [int(r[0]) for r in conn.execute("SELECT DISTINCT file_id FROM chunks")]
        terms: list[np.ndarray] = []
        passages: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        lengths: dict[int, int] = {}
        for start in range(0, len(files), FILES_A_BATCH):
            part = files[start : start + FILES_A_BATCH]
            marks = ",".join("?" * len(part))
            names = {
                int(f): fts_title(str(n), t)
                for f, n, t in conn.execute(
                    f"SELECT id, name, title FROM files WHERE id IN ({marks})", part
                )
            }
            documents = texts.documents(part)
            t_ids, p_ids, tf = [], [], []
            for chunk, file_id, begin, end in conn.execute(
                f"SELECT id, file_id, start, end FROM chunks WHERE file_id IN ({marks})", part
            ):
                in_title = Counter(tokens(names.get(file_id, "")))
                in_text = Counter(tokens(documents.get(file_id, "")[begin:end]))
                lengths[chunk] = sum(in_title.values()) + sum(in_text.values())
                for word in in_title.keys() | in_text.keys():
                    t_ids.append(self.term_ids.setdefault(word, len(self.term_ids)))
                    p_ids.append(chunk)
                    tf.append(title * in_title.get(word, 0) + in_text.get(word, 0))
            terms.append(np.array(t_ids, dtype=np.int32))
            passages.append(np.array(p_ids, dtype=np.int32))
            counts.append(np.array(tf, dtype=np.float32))
            log(f"  postings: {min(start + FILES_A_BATCH, len(files))} of {len(files)} files")
        term = np.concatenate(terms)
        order = np.lexsort((np.concatenate(passages), term))
        self.ids = np.concatenate(passages)[order]
        self.tf = np.concatenate(counts)[order]
        self.starts = np.searchsorted(term[order], np.arange(len(self.term_ids) + 1))
        self.count = len(lengths)
        size = int(self.ids.max()) + 1
        length = np.zeros(size, dtype=np.float32)
        length[list(lengths)] = list(lengths.values())
        average = float(length[list(lengths)].mean())
        self.norm = (K1 * (1 - B + B * length / average)).astype(np.float32)

    def span(self, word: str) -> slice | None:
        term = self.term_ids.get(word)
        return None if term is None else slice(self.starts[term], self.starts[term + 1])

    def idf(self, df: int) -> float:
        # FTS5's bm25: never below a millionth, so a word in most passages still counts.
        return max(1e-6, math.log((self.count - df + 0.5) / (df + 0.5)))


class Impacts:
    """Each posting's bm25 part but the rarity, in 8 bits on one scale for all words;
    ``keep``: a word in more than that share of passages keeps only its best that many."""

    def __init__(self, postings: Postings, keep: float | None = None) -> None:
        part = postings.tf * (K1 + 1) / (postings.tf + postings.norm[postings.ids])
        self.step = float(part.max()) / 255
        codes = np.clip(np.rint(part / self.step), 1, 255).astype(np.uint8)
        self.postings = postings
        self.spans: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        limit = None if keep is None else max(1, int(keep * postings.count))
        for word, term in postings.term_ids.items():
            lo, hi = postings.starts[term], postings.starts[term + 1]
            ids, impact = postings.ids[lo:hi], codes[lo:hi]
            if limit is not None and hi - lo > limit:
                best = np.argpartition(-impact, limit - 1)[:limit]
                ids, impact = ids[best], impact[best]
            self.spans[word] = (ids, impact, int(hi - lo))

    @property
    def nbytes(self) -> int:
        return sum(ids.nbytes + impact.nbytes for ids, impact, _ in self.spans.values())


class Blocks:
    """The postings in 3 bytes each, scored exactly: a passage id as its low 16 bits (its
    high bits from how many of the word's postings fall in each 65,536 ids) and the
    weighted count in 8 bits (capped at 255, where bm25 has long saturated)."""

    def __init__(self, postings: Postings) -> None:
        self.postings = postings
        self.spans: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for word, term in postings.term_ids.items():
            lo, hi = postings.starts[term], postings.starts[term + 1]
            ids = postings.ids[lo:hi]
            edges = np.searchsorted(ids, np.arange(0, int(ids[-1]) + 2**16, 2**16))
            counts = np.minimum(postings.tf[lo:hi], 255).astype(np.uint8)
            low = (ids & 0xFFFF).astype(np.uint16)
            self.spans[word] = (low, np.diff(edges).astype(np.int32), counts)

    @property
    def nbytes(self) -> int:
        held = sum(sum(a.nbytes for a in arrays) for arrays in self.spans.values())
        return held + self.postings.norm.nbytes


def rank_blocks(blocks: Blocks, words: Sequence[str]) -> np.ndarray:
    postings = blocks.postings
    scores = np.zeros(len(postings.norm), dtype=np.float32)
    for word in words:
        held = blocks.spans.get(word)
        if held is None:
            continue
        low, per_block, counts = held
        ids = np.repeat(np.arange(len(per_block), dtype=np.int32) << 16, per_block) | low
        tf = counts.astype(np.float32)
        idf = np.float32(postings.idf(len(ids)))
        scores[ids] += idf * (tf * np.float32(K1 + 1)) / (tf + postings.norm[ids])
    return _best(scores)


def rank_fts5(conn: apsw.Connection, title: float, expression: str) -> list[tuple[int, float]]:
    sql = (
        "SELECT rowid, -bm25(chunk_fts, ?, 1.0) AS s FROM chunk_fts "
        "WHERE chunk_fts MATCH ? ORDER BY s DESC LIMIT ?"
    )
    return [(int(r), float(s)) for r, s in conn.execute(sql, (title, expression, DEPTH))]


def rank_exact(postings: Postings, words: Sequence[str]) -> np.ndarray:
    scores = np.zeros(len(postings.norm), dtype=np.float32)
    for word in words:
        span = postings.span(word)
        if span is None:
            continue
        ids, tf = postings.ids[span], postings.tf[span]
        idf = postings.idf(len(ids))
        scores[ids] += idf * (tf * (K1 + 1)) / (tf + postings.norm[ids])
    return _best(scores)


def rank_impacts(impacts: Impacts, words: Sequence[str]) -> np.ndarray:
    scores = np.zeros(len(impacts.postings.norm), dtype=np.float32)
    for word in words:
        held = impacts.spans.get(word)
        if held is None:
            continue
        ids, impact, df = held
        scores[ids] += np.float32(impacts.postings.idf(df) * impacts.step) * impact
    return _best(scores)


def _best(scores: np.ndarray) -> np.ndarray:
    found = np.flatnonzero(scores)
    if len(found) > DEPTH:
        found = found[np.argpartition(-scores[found], DEPTH - 1)[:DEPTH]]
    return found[np.argsort(-scores[found], kind="stable")]


def timed(run: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best * 1000, result


def agreement(found: Sequence[int], truth: dict[int, float], k: int) -> float:
    """Share of ``found``'s best ``k`` that FTS5 scores at least as high as its own k-th
    best (``truth``: FTS5's best passages and scores, best first).  Passages with the
    same words tie, and a tie may fall either way, so ids alone would under-count."""
    scores = list(truth.values())[:k]
    if not scores:
        return 1.0
    bar = scores[-1] * (1 - 1e-5)
    kept = sum(truth.get(passage, -math.inf) >= bar for passage in found[: len(scores)])
    return kept / len(scores)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--title", type=float, default=2.0)
    parser.add_argument("--keep", type=float, default=0.05)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "trove-bench")
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "eval"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    found = sorted(args.cache.glob(f"index-{args.passages}-*"))
    if not found:
        raise SystemExit(
            f"no index of {args.passages} passages under {args.cache}: "
            f"run `python -m benchmarks.scale --passages {args.passages}` first"
        )
    conn = connect(found[-1] / "index.sqlite3", readonly=True)
    start = time.perf_counter()
    postings = Postings(conn, args.title)
    figures: dict[str, object] = {
        "passages": postings.count,
        "words": len(postings.term_ids),
        "postings": len(postings.ids),
        "build_s": round(time.perf_counter() - start, 1),
    }
    impacts = Impacts(postings)
    pruned = Impacts(postings, args.keep)
    blocks = Blocks(postings)
    figures["bytes"] = {
        "blocks": blocks.nbytes,
        "exact": postings.ids.nbytes + postings.tf.nbytes + postings.norm.nbytes,
        "impact8": impacts.nbytes,
        "pruned": pruned.nbytes,
    }
    terms = Terms(conn)
    ways = ("exact", "impact8", "blocks", "pruned")
    times: dict[str, list[float]] = {way: [] for way in ("fts5", *ways)}
    agree = {way: {"top100": [], "top10": []} for way in ways}
    for text in pick_queries(args.shared, args.queries, args.seed):
        query = terms.query(text)
        if query.empty:
            continue
        words = [stem for word in query.repeats for stem in query.stems[word]]
        ms, rows = timed(partial(rank_fts5, conn, args.title, query.fts_any()))
        times["fts5"].append(ms)
        truth = dict(rows)  # type: ignore[call-overload]
        runs: dict[str, Callable[[], np.ndarray]] = {
            "exact": partial(rank_exact, postings, words),
            "impact8": partial(rank_impacts, impacts, words),
            "blocks": partial(rank_blocks, blocks, words),
            "pruned": partial(rank_impacts, pruned, words),
        }
        for way, run in runs.items():
            ms, ranked = timed(run)
            times[way].append(ms)
            ids = ranked.tolist()  # type: ignore[union-attr]
            agree[way]["top100"].append(agreement(ids, truth, 100))
            agree[way]["top10"].append(agreement(ids, truth, 10))
    for way, values in times.items():
        ordered = sorted(values)
        figures[f"{way}_p50_ms"] = round(statistics.median(ordered), 2)
        figures[f"{way}_p95_ms"] = round(ordered[int(0.95 * (len(ordered) - 1))], 2)
    for way, by_depth in agree.items():
        for depth, values in by_depth.items():
            figures[f"{way}_{depth}_mean"] = round(statistics.mean(values), 3)
            figures[f"{way}_{depth}_min"] = round(min(values), 3)
    for key, value in figures.items():
        log(f"{key}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
