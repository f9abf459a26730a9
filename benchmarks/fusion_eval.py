"""Compare ways of fusing Trove's two ranking signals, on kept BEIR-layout indexes.

Each query is searched once through Trove's own ``Searcher`` (``--all --limit 100``, as
``beir_eval.py``), with ``_fused`` and ``_regularise`` wrapped to record what the fusion
saw: each candidate's best passage cosine and bm25, its keyword coverage, its identifier
match and its nearest candidates in meaning.  Re-ranking that record the way Searcher
does must give Searcher's own scores and order, or the script stops (exit 1): a change in
Searcher cannot silently void the figures.  Each fusion then re-ranks the record in
memory, so a variant costs milliseconds, not a re-index.  Indexes come from
``beir_eval.py --keep DIR``; a collection with no kept index under DIR is built first.

    python benchmarks/fusion_eval.py sample scifact cisi cranfield --keep /tmp/fusion-work
    python benchmarks/fusion_eval.py cisi --keep /tmp/fusion-work \
        --stress noise rare words --noise-cosine 0.5 0.3 0.2 --sensitivity
    python benchmarks/fusion_eval.py cisi --keep /tmp/fusion-work --prune 0.5 0.1 --tail 400

Columns, nDCG@10 over the judged queries:

- fixed: the fixed weights Trove ranked with before core.fusion (0.7 meaning, 0.3
  keywords x coverage); the record must reproduce Searcher's answer with this or with
  adaptive, and the script says which one Searcher uses;
- rrf: plain reciprocal rank fusion, k=60, of best-passage cosine and best-passage bm25
  over the same candidates (a side that did not score a file adds nothing);
- adaptive: ``core.fusion.fuse``, then the same regularisation and identifier rule;
- dense, keyword: each side alone, for orientation.

``sample`` is the everyday folder (resources/sample, tests/data/everyday_queries.jsonl),
indexed under DIR/sample-home.  Stress tests (``--stress``) stand in for a collection
where keywords beat meaning:

- noise: each query vector is turned away from itself to cosine C (``--noise-cosine``,
  seeded by the query text), so the vector side nominates and scores worse while the
  keyword side is untouched;
- rare, words: known-item queries of 5 of a document's rarest, or 5 random, words found
  in at least one other document (200 documents, seeded); that document is the answer.

``--sensitivity`` moves each setting of ``core.fusion.FusionSettings`` on its own.
``--prune SHARE ...`` leaves out of the keyword OR expression each query word found in
more than SHARE of all passages, as long as a rarer word is left, and ``--tail N ...``
caps the keyword candidate list (``search.KEYWORD_TAIL``) at N; each prints nDCG@10 of
fixed and adaptive and the share of passages the OR expression matches (mean, max).

Records are cached under DIR/fusion-cache, keyed by index folder, mode and queries;
``--fresh`` gathers again (needed after Trove's ranking code changes).  Exit code: 0 (a
measurement), 1 when Searcher no longer has the shape this script reads or its answer is
not reproduced (it says what), 2 when a collection is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import pickle
import random
import re
import shutil
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import astuple, dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
from beir_eval import TARGETS, file_stem, judged_queries
from beir_eval import main as beir_main
from metrics import Qrels, load_corpus, load_qrels, load_queries, ndcg_at_k

import core.search as search_module
from core import fusion
from core.app import Trove
from core.paths import Locations
from core.search import Searcher
from core.store.quantised import stored_vector
from core.terms import STOPWORDS, QueryTerms

SEARCH_LIMIT = 100  # as beir_eval: `trove search --all --limit 100`
REGULARISATION = (0.1, 5)  # Weights.neighbourhood, Weights.neighbours, as reproduced here
SAMPLE = "sample"  # the everyday folder in resources/sample, not a shared collection
KNOWN_ITEMS = 200
KNOWN_ITEM_WORDS = 5


USED: set[str] = set()  # which fusion Searcher was found to rank with


class ShapeError(Exception):
    """Searcher no longer offers what this script reads."""


@dataclass(frozen=True, slots=True)
class Case:
    """One query's candidates, as Searcher scored them."""

    query_id: str
    dense: dict[int, float]  # file id -> best passage cosine (files the model scored)
    keyword: dict[int, float]  # file id -> best passage bm25 (files the keyword side scored)
    coverage: dict[int, float]  # file id -> share of the query's word weight held
    exact: frozenset[int]  # files holding an identifier the query spells out
    neighbours: dict[int, tuple[int, ...]]  # file id -> nearest candidates in meaning
    searched: dict[int, float]  # Searcher's own final score of every candidate
    matches: int  # passages the keyword OR expression matches


@dataclass(frozen=True, slots=True)
class Collection:
    name: str
    queries: dict[str, str]
    qrels: dict[str, Qrels]
    home: Path
    doc_of_file: dict[int, str]
    passages: int


# --- reading the searcher ----------------------------------------------------------------

_NEEDED = {
    "search": ["text", "limit", "filters"],
    "_fused": ["found", "coverage"],
    "_regularise": ["scores"],
}


def check_shape() -> None:
    """Fail loudly when Searcher changed what this script relies on."""
    for name, params in _NEEDED.items():
        method = getattr(Searcher, name, None)
        if method is None:
            raise ShapeError(f"Searcher.{name} is gone")
        found = list(inspect.signature(method).parameters)[1:]
        if found[: len(params)] != params:
            raise ShapeError(f"Searcher.{name} takes {found}; this script expects {params}")
    weights = search_module.Weights()
    if (weights.neighbourhood, weights.neighbours, weights.exact) != (*REGULARISATION, 1.0):
        raise ShapeError(f"regularisation or identifier settings changed: {weights}")
    fields = getattr(search_module._Candidate, "__dataclass_fields__", {})
    if not {"dense", "keyword", "exact"} <= set(fields):
        raise ShapeError(f"_Candidate has fields {sorted(fields)}")
    if not isinstance(getattr(search_module, "KEYWORD_TAIL", None), int):
        raise ShapeError("search.KEYWORD_TAIL is gone")


def file_vectors(searcher: Searcher, files: list[int]) -> tuple[list[int], np.ndarray]:
    """File vectors as Searcher._regularise reads them: from the store's vectors in memory
    where it keeps them, else from the file_vec table."""
    mirror = getattr(searcher.store, "vectors", None)
    if mirror is not None:
        held, matrix = mirror.files.vectors(files)
        return [int(f) for f in held.tolist()], np.asarray(matrix)
    marks = ",".join("?" * len(files))
    rows = sql(
        searcher, f"SELECT file_id, embedding FROM file_vec WHERE file_id IN ({marks})", files
    )
    vectors = {int(f): stored_vector(v) for f, v in rows}
    ids = [f for f in files if f in vectors]
    return ids, np.stack([vectors[f] for f in ids]) if ids else np.zeros((0, 0))


def neighbours_of(searcher: Searcher, files: list[int]) -> dict[int, tuple[int, ...]]:
    """Each file's nearest candidates by file vector, found as Searcher._regularise does."""
    k = min(REGULARISATION[1], len(files) - 1)
    ids, matrix = file_vectors(searcher, files)
    if k < 1 or len(ids) <= k:
        return {}
    matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    with search_module._numpy_blas().limit(limits=1):
        similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    return {f: tuple(ids[j] for j in row) for f, row in zip(ids, nearest.tolist(), strict=True)}


def match_count(searcher: Searcher, text: str) -> int:
    """Passages the keyword side's OR expression matches (each one is bm25-scored)."""
    terms = searcher.terms.query(text)
    if terms.empty:
        return 0
    return int(
        sql(searcher, "SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH ?", [terms.fts_any()])[
            0
        ][0]
    )


def sql(searcher: Searcher, statement: str, params: list[Any]) -> list[Any]:
    """Rows of a read on the searcher's connection (this script's own look-ups)."""
    return cast(list[Any], searcher.store.conn.execute(statement, params).fetchall())


def passage_count(searcher: Searcher) -> int:
    return int(sql(searcher, "SELECT count(*) FROM chunks", [])[0][0])


def passages_with(searcher: Searcher, stem: str) -> int:
    """Passages holding ``stem``, from the keyword index's vocabulary table."""
    rows = sql(searcher, "SELECT doc FROM chunk_vocab WHERE term = ?", [stem])
    return int(rows[0][0]) if rows else 0


def gather(searcher: Searcher, query_id: str, text: str, count: bool) -> Case:
    """Run Trove's own search for ``text`` (``--all --limit 100``), recording what its
    fusion saw; fail if re-ranking that record does not give Trove's answer."""
    seen: dict[str, Any] = {"found": {}, "coverage": {}, "neighbours": {}, "scored": {}}
    fused, regularised = searcher._fused, searcher._regularise

    def record_fused(found: dict[int, Any], coverage: dict[int, float]) -> dict[int, float]:
        seen.update(found=found, coverage=coverage)
        return fused(found, coverage)

    def record_regularised(scores: dict[int, float]) -> dict[int, float]:
        seen.update(neighbours=neighbours_of(searcher, list(scores)))
        seen.update(scored=regularised(scores))
        return seen["scored"]  # type: ignore[no-any-return]

    with (
        patched(searcher, "_fused", record_fused),
        patched(searcher, "_regularise", record_regularised),
    ):
        answer = [r.file_id for r in searcher.search(text, SEARCH_LIMIT, floor=False)]
    found, exact = seen["found"], frozenset(f for f, c in seen["found"].items() if c.exact)
    case = Case(
        query_id,
        {f: max(c.dense.values()) for f, c in found.items() if c.dense},
        {f: max(c.keyword.values()) for f, c in found.items() if c.keyword},
        seen["coverage"],
        exact,
        seen["neighbours"],
        {f: s + (1.0 if f in exact else 0.0) for f, s in seen["scored"].items()},
        match_count(searcher, text) if count else -1,
    )
    USED.add(check_reproduced(case, answer))
    return case


def check_reproduced(case: Case, answer: list[int]) -> str:
    """Which fusion Searcher ranks with (the fixed weights or core.fusion), checked by
    re-ranking the record; a ShapeError if neither gives Searcher's scores and order."""
    for name in ("fixed", "adaptive"):
        again = VARIANTS[name](case)
        error = max((abs(again[f] - s) for f, s in case.searched.items()), default=0.0)
        if error <= 1e-9 and top_files(again) == answer:
            return name
    raise ShapeError(f"query {case.query_id}: Searcher's scores or order are not reproduced")


# --- variants of the searcher (stress tests, pruning) ------------------------------------


class NoisyEmbedder:
    """Turns each query vector away from itself to a fixed cosine, seeded by the text."""

    def __init__(self, inner: Any, cosine: float) -> None:
        self.inner = inner
        self.cosine = cosine

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_query(self, text: str) -> np.ndarray:
        query = np.asarray(self.inner.embed_query(text), dtype=np.float64)
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        noise = np.random.default_rng(seed).standard_normal(query.shape)
        unit = query / np.linalg.norm(query)
        away = noise - (noise @ unit) * unit
        away /= np.linalg.norm(away)
        turned = self.cosine * unit + np.sqrt(1.0 - self.cosine**2) * away
        return cast(np.ndarray, turned.astype(np.float32))


class PrunedTerms:
    """Searcher.terms, whose OR expression leaves out words in over ``share`` of passages
    while a rarer word of the query is left."""

    def __init__(self, searcher: Searcher, share: float) -> None:
        self.inner = searcher.terms
        self.searcher = searcher
        self.limit = share * passage_count(searcher)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def query(self, text: str) -> QueryTerms:
        terms: QueryTerms = self.inner.query(text)
        counts = {
            w: min((passages_with(self.searcher, stem) for stem in s), default=0)
            for w, s in terms.stems.items()
        }
        kept = tuple(w for w in terms.repeats if counts[w] <= self.limit)
        return replace(terms, repeats=kept) if kept else terms


@contextmanager
def patched(target: Any, name: str, value: Any) -> Iterator[None]:
    if not hasattr(target, name):
        raise ShapeError(f"{target!r} has no {name}")
    old = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, old)


# --- fusions ------------------------------------------------------------------------------


def regularise(scores: Mapping[int, float], case: Case) -> dict[int, float]:
    share = REGULARISATION[0]
    blended = dict(scores)
    for file_id, near in case.neighbours.items():
        mean = sum(scores[n] for n in near) / len(near)
        blended[file_id] = (1 - share) * scores[file_id] + share * mean
    return blended


def finish(scores: Mapping[int, float], case: Case) -> dict[int, float]:
    """Regularisation and the identifier rule, as Searcher applies them after fusing."""
    return {f: s + (1.0 if f in case.exact else 0.0) for f, s in regularise(scores, case).items()}


def fixed_fused(case: Case) -> dict[int, float]:
    """Searcher._fused before core.fusion, restated over a Case: 0.7 min-max dense +
    0.3 keyword x coverage."""
    files = list(case.searched)
    dense = {f: case.dense.get(f, 0.0) for f in files}
    low, high = min(dense.values()), max(dense.values())
    top = max((case.keyword.get(f, 0.0) for f in files), default=0.0) or 1.0
    return {
        f: 0.7 * ((dense[f] - low) / (high - low) if high > low else 1.0)
        + 0.3 * case.keyword.get(f, 0.0) / top * min(1.0, case.coverage.get(f, 0.0) / 0.4)
        for f in files
    }


def fixed(case: Case) -> dict[int, float]:
    return finish(fixed_fused(case), case)


def adaptive(case: Case) -> dict[int, float]:
    dense = {f: case.dense.get(f, 0.0) for f in case.searched}  # as Searcher: 0.0 if unscored
    return finish(fusion.fuse(dense, case.keyword, case.coverage), case)


def plain_rrf(case: Case) -> dict[int, float]:
    return fusion.rrf(case.dense, case.keyword)


VARIANTS: dict[str, Callable[[Case], Mapping[int, float]]] = {
    "fixed": fixed,
    "rrf": plain_rrf,
    "adaptive": adaptive,
    "dense": lambda case: case.dense,
    "keyword": lambda case: case.keyword,
}


def top_files(scores: Mapping[int, float]) -> list[int]:
    # Searcher sorts (score, file id) pairs high to low; ties go the same way here.
    return [f for _, f in sorted(((s, f) for f, s in scores.items()), reverse=True)][:SEARCH_LIMIT]


def ranking(scores: Mapping[int, float], doc_of_file: Mapping[int, str]) -> list[str]:
    return [doc_of_file[f] for f in top_files(scores) if f in doc_of_file]


def ndcg(
    cases: list[Case], collection: Collection, variant: Callable[[Case], Mapping[int, float]]
) -> float:
    return statistics.fmean(
        ndcg_at_k(ranking(variant(c), collection.doc_of_file), collection.qrels[c.query_id])
        for c in cases
    )


# --- collections, queries and gathering ---------------------------------------------------


def kept_home(keep: Path, name: str) -> Path | None:
    homes = sorted(keep.glob(f"{name}-*/home/index.sqlite3"), key=lambda p: p.stat().st_mtime)
    return homes[-1].parent if homes else None


def open_collection(
    name: str,
    shared: Path,
    keep: Path,
    queries: dict[str, str] | None = None,
    qrels: dict[str, Qrels] | None = None,
) -> Collection:
    home = kept_home(keep, name)
    if home is None:
        if beir_main([name, "--keep", str(keep), "--shared", str(shared)]) != 0:
            raise SystemExit(f"building {name} failed")
        home = kept_home(keep, name)
        assert home is not None
    corpus = load_corpus(shared / name)
    taken: set[str] = set()
    names = {file_stem(doc_id, taken) + ".txt": doc_id for doc_id in corpus}
    all_qrels = qrels if qrels is not None else load_qrels(shared / name)
    judged = (
        queries if queries is not None else judged_queries(load_queries(shared / name), all_qrels)
    )
    with Trove.open(Locations.under(home)) as trove:
        rows = sql(trove.searcher, "SELECT id, path FROM files", [])
        passages = passage_count(trove.searcher)
    doc_of_file = {int(i): names[Path(p).name] for i, p in rows if Path(p).name in names}
    return Collection(name, judged, all_qrels, home, doc_of_file, passages)


def open_sample(keep: Path) -> Collection:
    """Trove's everyday sample folder and its paraphrased and identifier queries
    (tests/data/everyday_queries.jsonl), indexed under DIR/sample-home once."""
    repo = Path(__file__).resolve().parent.parent
    home, docs = keep / "sample-home", keep / "sample-docs"
    if not (home / "index.sqlite3").exists():
        shutil.copytree(repo / "resources" / "sample", docs, dirs_exist_ok=True)
        with Trove.open(Locations.under(home)) as trove:
            trove.add_folder(docs)
            for _ in trove.index():
                pass
    lines = (repo / "tests" / "data" / "everyday_queries.jsonl").read_text().splitlines()
    asked = [json.loads(line) for line in lines if line.strip()]
    queries = {f"everyday-{n}": q["text"] for n, q in enumerate(asked)}
    qrels = {f"everyday-{n}": {q["expected"]: 1} for n, q in enumerate(asked)}
    with Trove.open(Locations.under(home)) as trove:
        rows = sql(trove.searcher, "SELECT id, path FROM files", [])
        passages = passage_count(trove.searcher)
    doc_of_file = {int(i): Path(p).name for i, p in rows}
    return Collection("sample", queries, qrels, home, doc_of_file, passages)


def known_item_queries(
    shared: Path, name: str, rarest: bool
) -> tuple[dict[str, str], dict[str, Qrels]]:
    """Known-item queries, each the 5 rarest (``rarest``) or 5 random words of a document
    found in at least one other document; that document is the one relevant answer."""
    corpus = load_corpus(shared / name)
    words = {
        d: set(re.findall(r"[a-z]{4,}", f"{doc.title} {doc.text}".lower())) - STOPWORDS
        for d, doc in corpus.items()
    }
    df = Counter(w for found in words.values() for w in found)
    draw = random.Random(f"{rarest}-{name}")
    queries: dict[str, str] = {}
    for doc_id in draw.sample(sorted(corpus), KNOWN_ITEMS):
        usable = sorted((df[w], w) for w in words[doc_id] if df[w] >= 2)
        if len(usable) >= KNOWN_ITEM_WORDS:
            chosen = usable[:KNOWN_ITEM_WORDS] if rarest else draw.sample(usable, KNOWN_ITEM_WORDS)
            queries[f"known-{doc_id}"] = " ".join(w for _, w in chosen)
    return queries, {q: {q.removeprefix("known-"): 1} for q in queries}


def cache_path(collection: Collection, mode: str) -> Path:
    queries = "\n".join(f"{q}\t{t}" for q, t in collection.queries.items())
    key = hashlib.sha256(f"{collection.home}|{mode}|{queries}".encode()).hexdigest()
    return collection.home.parent.parent / "fusion-cache" / f"{collection.name}-{key[:16]}.pkl"


def gather_all(
    collection: Collection,
    mode: str,
    fresh: bool,
    setup: Callable[[Searcher], Any],
    count: bool = False,
) -> list[Case]:
    path = cache_path(collection, mode)
    if path.exists() and not fresh:
        # Plain tuples: a Case pickled from __main__ would not load from an importer.
        return [Case(*fields) for fields in pickle.loads(path.read_bytes())]
    with Trove.open(Locations.under(collection.home)) as trove:
        searcher = trove.searcher
        with setup(searcher):
            cases = [gather(searcher, q, t, count) for q, t in collection.queries.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps([astuple(case) for case in cases]))
    return cases


# --- reporting ------------------------------------------------------------------------------


def paired(cases: list[Case], collection: Collection, a: str, b: str) -> tuple[float, float]:
    """Mean per-query nDCG@10 difference a - b, and its standard error."""
    diffs = [
        ndcg_at_k(ranking(VARIANTS[a](c), collection.doc_of_file), collection.qrels[c.query_id])
        - ndcg_at_k(ranking(VARIANTS[b](c), collection.doc_of_file), collection.qrels[c.query_id])
        for c in cases
    ]
    spread = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0
    return statistics.fmean(diffs), spread


def quality_row(label: str, cases: list[Case], collection: Collection) -> str:
    figures = " ".join(f"{ndcg(cases, collection, f):8.4f}" for f in VARIANTS.values())
    gain, error = paired(cases, collection, "adaptive", "rrf")
    return f"{label:<22} {len(cases):5d} {figures}   {gain:+.4f} ± {error:.4f}"


def quality_header() -> str:
    names = " ".join(f"{v:>8}" for v in VARIANTS)
    return f"{'collection':<22} {'qs':>5} {names}   adaptive - rrf (± s.e.)"


SENSITIVITY = {
    "meaning .6": fusion.FusionSettings(meaning=0.6),
    "meaning .8": fusion.FusionSettings(meaning=0.8),
    "cos .1-.5": fusion.FusionSettings(no_match=0.1, clear_match=0.5),
    "cos .3-.7": fusion.FusionSettings(no_match=0.3, clear_match=0.7),
    "page 5": fusion.FusionSettings(page=5),
    "page 20": fusion.FusionSettings(page=20),
}
"""Each setting of core.fusion moved on its own, for the --sensitivity table."""


def adaptive_with(settings: fusion.FusionSettings) -> Callable[[Case], Mapping[int, float]]:
    def ranked(case: Case) -> dict[int, float]:
        dense = {f: case.dense.get(f, 0.0) for f in case.searched}
        return finish(fusion.fuse(dense, case.keyword, case.coverage, settings), case)

    return ranked


def sensitivity_header() -> str:
    names = " ".join(f"{v:>10}" for v in ["as set", *SENSITIVITY])
    return f"{'adaptive, nDCG@10':<22} {names}"


def sensitivity_row(label: str, cases: list[Case], collection: Collection) -> str:
    variants = [fusion.FusionSettings(), *SENSITIVITY.values()]
    figures = " ".join(f"{ndcg(cases, collection, adaptive_with(v)):10.4f}" for v in variants)
    return f"{label:<22} {figures}"


def pruning_row(label: str, cases: list[Case], collection: Collection) -> str:
    shares = [c.matches / collection.passages for c in cases if c.matches >= 0]
    figures = " ".join(
        f"{ndcg(cases, collection, VARIANTS[v]):8.4f}" for v in ("fixed", "adaptive")
    )
    return (
        f"{label:<22} {figures} {statistics.fmean(c.matches for c in cases):10.0f} "
        f"{100 * statistics.fmean(shares):7.1f}% {100 * max(shares):7.1f}%"
    )


def pruning_header() -> str:
    return (
        f"{'collection, setting':<22} {'fixed':>8} {'adaptive':>8} {'OR matches':>10} "
        f"{'mean':>8} {'max':>8}"
    )


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("collections", nargs="+", help="collection folder names, e.g. scifact")
    parser.add_argument(
        "--keep",
        type=Path,
        required=True,
        metavar="DIR",
        help="where beir_eval.py --keep put (or is to put) the indexes",
    )
    parser.add_argument(
        "--shared",
        type=Path,
        default=repo.parent / "shared" / "eval",
        help="folder holding the collections (default: <repo>/../shared/eval)",
    )
    parser.add_argument("--stress", nargs="*", default=[], choices=["noise", "rare", "words"])
    parser.add_argument("--noise-cosine", nargs="+", type=float, default=[0.5], metavar="C")
    parser.add_argument("--prune", nargs="*", type=float, default=[], metavar="SHARE")
    parser.add_argument("--tail", nargs="*", type=int, default=[], metavar="N")
    parser.add_argument("--fresh", action="store_true", help="gather again, ignoring the cache")
    parser.add_argument(
        "--sensitivity", action="store_true", help="adaptive fusion with each setting moved"
    )
    return parser.parse_args(argv)


def stress_cases(
    args: argparse.Namespace, collection: Collection, stress: str
) -> Iterator[tuple[str, list[Case], Collection]]:
    """Each stress test's cases: one per noise level, or one set of known-item queries."""
    if stress == "noise":
        for cosine in args.noise_cosine:
            noisy = lambda s, c=cosine: patched(s, "embedder", NoisyEmbedder(s.embedder, c))  # noqa: E731
            cases = gather_all(collection, f"noise-{cosine}", args.fresh, noisy)
            yield f"noise {cosine}", cases, collection
        return
    queries, qrels = known_item_queries(args.shared, collection.name, stress == "rare")
    known = replace(collection, queries=queries, qrels=qrels)
    yield stress, gather_all(known, stress, args.fresh, lambda _: nullcontext()), known


def report_collection(args: argparse.Namespace, name: str) -> None:
    if name == SAMPLE:
        collection = open_sample(args.keep)
    else:
        collection = open_collection(name, args.shared, args.keep)
    plain = gather_all(collection, "plain", args.fresh, lambda _: nullcontext(), count=True)
    target = TARGETS.get(name)
    tests = [(f"{name} (target {target})" if target else name, plain, collection)]
    for stress in args.stress:
        if name != SAMPLE or stress == "noise":  # the sample folder has no corpus file
            tests.extend(
                (f"  stress: {label}", cases, stressed)
                for label, cases, stressed in stress_cases(args, collection, stress)
            )
    for label, cases, tested in tests:
        print(quality_row(label, cases, tested), flush=True)
    if args.sensitivity:
        print(sensitivity_header())
        for label, cases, tested in tests:
            print(sensitivity_row(label, cases, tested), flush=True)
    if args.prune or args.tail:
        report_pruning(args, collection, plain)


def report_pruning(args: argparse.Namespace, collection: Collection, plain: list[Case]) -> None:
    print(pruning_header())
    print(pruning_row(f"{collection.name}, as is", plain, collection))
    for share in args.prune:
        pruned = lambda s, share=share: patched(s, "terms", PrunedTerms(s, share))  # noqa: E731
        cases = gather_all(collection, f"prune-{share}", args.fresh, pruned, count=True)
        print(pruning_row(f"  prune > {share:.0%}", cases, collection), flush=True)
    for tail in args.tail:
        capped = lambda s, tail=tail: patched(search_module, "KEYWORD_TAIL", tail)  # noqa: E731
        cases = gather_all(collection, f"tail-{tail}", args.fresh, capped, count=True)
        print(pruning_row(f"  keyword tail {tail}", cases, collection), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [
        c
        for c in args.collections
        if c != SAMPLE and not (args.shared / c / "corpus.jsonl").is_file()
    ]
    if missing:
        print(f"not found under {args.shared}: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        check_shape()
        print(quality_header())
        for name in args.collections:
            report_collection(args, name)
        if USED:
            print(f"Searcher was found to rank with: {', '.join(sorted(USED))}")
    except ShapeError as error:
        print(f"fusion_eval: {error}; update benchmarks/fusion_eval.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
