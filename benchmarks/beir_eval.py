"""Measure Trove's ranking on BEIR-layout test collections, end to end through its CLI.

Each collection is written out as a folder of one text file per document, indexed by the real
`trove` command in a throwaway TROVE_HOME, and searched with all judged queries in one batch.
The script only measures: it exits 0 whether or not a target is met, and non-zero only when a
Trove command fails.

    python benchmarks/beir_eval.py scifact cranfield cisi --json results.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from metrics import (
    Document,
    Qrels,
    load_corpus,
    load_qrels,
    load_queries,
    mrr,
    ndcg_at_k,
    recall_at_k,
)

SEARCH_LIMIT = 100  # recall@100 needs the top 100 of every query

TARGETS = {"scifact": 0.73, "cranfield": 0.43, "cisi": 0.45}
"""nDCG@10 Trove is expected to reach."""

REFERENCE_METHODS = ("BM25", "dense", "RRF", "chunked RRF", "chunked fusion")
REFERENCE = {
    "scifact": (0.686, 0.645, 0.717, 0.731, 0.734),
    "cranfield": (0.374, 0.382, 0.421, 0.416, 0.423),
    "cisi": (0.386, 0.419, 0.442, 0.451, 0.465),
}
"""nDCG@10 of the simple reference code in shared/eval/README.md, for orientation."""


def reference_figures(collection: str) -> dict[str, float]:
    figures = REFERENCE.get(collection)
    return dict(zip(REFERENCE_METHODS, figures, strict=True)) if figures else {}


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class TroveCommandError(Exception):
    """A `trove` subcommand failed; carries what it printed so the report can show it."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(args)} exited with {returncode}")
        self.stderr = stderr


@dataclass
class CollectionResult:
    collection: str
    docs: int
    queries: int
    judged_queries: int
    index_seconds: float
    search_seconds: float
    ms_per_query: float
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    target_ndcg_at_10: float | None
    met_target: bool | None
    unanswered_queries: int
    unknown_paths: int
    reference_ndcg_at_10: dict[str, float]


# --- the document folder ---------------------------------------------------------------------


def file_stem(doc_id: str, taken: set[str]) -> str:
    """A file-name-safe stem for doc_id, unique even on case-insensitive file systems."""
    stem = _UNSAFE.sub("_", doc_id)[:80]
    # A hash suffix keeps two ids apart that sanitise (or case-fold) to the same stem.
    if stem != doc_id or not stem or stem.lower() in taken:
        stem = f"{stem}-{hashlib.sha1(doc_id.encode()).hexdigest()[:10]}"
    taken.add(stem.lower())
    return stem


def write_documents(corpus: dict[str, Document], folder: Path) -> dict[str, str]:
    """Write one `<stem>.txt` per document (title, blank line, text); return file name -> id."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    taken: set[str] = set()
    for doc_id, doc in corpus.items():
        name = file_stem(doc_id, taken) + ".txt"
        body = f"{doc.title}\n\n{doc.text}\n" if doc.title else f"{doc.text}\n"
        (folder / name).write_text(body, encoding="utf-8")
        names[name] = doc_id
    return names


def write_batch(queries: dict[str, str], path: Path) -> None:
    lines = (json.dumps({"id": qid, "text": text}) + "\n" for qid, text in queries.items())
    path.write_text("".join(lines), encoding="utf-8")


# --- driving the trove CLI -------------------------------------------------------------------


def default_trove() -> Path:
    # The console script installed into the same environment as the interpreter running us.
    return Path(sys.executable).parent / ("trove.exe" if os.name == "nt" else "trove")


def run_trove(trove: Path, args: list[str], home: Path, stream_stderr: bool = False) -> str:
    """Run `trove <args>` with TROVE_HOME=home; return its stdout or raise TroveCommandError."""
    command = [str(trove), *args]
    env = {**os.environ, "TROVE_HOME": str(home)}
    # Indexing takes minutes; its progress goes straight to our stderr so it is seen live.
    stderr = None if stream_stderr else subprocess.PIPE
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    if done.returncode != 0:
        raise TroveCommandError(command, done.returncode, done.stderr or "(stderr shown above)")
    return done.stdout


def timed_trove(
    trove: Path, args: list[str], home: Path, stream: bool = False
) -> tuple[str, float]:
    start = time.perf_counter()
    out = run_trove(trove, args, home, stream_stderr=stream)
    return out, time.perf_counter() - start


def parse_rankings(stdout: str, names: dict[str, str]) -> tuple[dict[str, list[str]], int]:
    """Query id -> ranked doc ids from `search --json` lines, and how many paths were unknown."""
    rankings: dict[str, list[str]] = {}
    unknown = 0
    for line in stdout.splitlines():
        if not line.strip():
            continue
        answer = json.loads(line)
        ranked = []
        for hit in answer["results"]:
            doc_id = names.get(Path(hit["path"]).name)
            if doc_id is None:
                unknown += 1
            else:
                ranked.append(doc_id)
        rankings[str(answer["id"])] = ranked
    return rankings, unknown


# --- one collection --------------------------------------------------------------------------


def judged_queries(queries: dict[str, str], qrels: dict[str, Qrels]) -> dict[str, str]:
    # Queries without any relevant document carry no signal; trec_eval skips them too.
    return {
        qid: text
        for qid, text in queries.items()
        if any(r > 0 for r in qrels.get(qid, {}).values())
    }


def quality(
    queries: dict[str, str], qrels: dict[str, Qrels], rankings: dict[str, list[str]]
) -> dict[str, float]:
    """Mean nDCG@10, recall@100 and MRR@10 over the queries; a missing answer scores zero."""
    ranked = {q: rankings.get(q, []) for q in queries}
    if not ranked:
        return {"ndcg_at_10": 0.0, "recall_at_100": 0.0, "mrr_at_10": 0.0}
    return {
        "ndcg_at_10": statistics.fmean(ndcg_at_k(r, qrels[q], k=10) for q, r in ranked.items()),
        "recall_at_100": statistics.fmean(
            recall_at_k(r, qrels[q], k=100) for q, r in ranked.items()
        ),
        "mrr_at_10": statistics.fmean(mrr(r, qrels[q], k=10) for q, r in ranked.items()),
    }


def evaluate(
    collection: str, source: Path, work: Path, trove: Path, limit: int | None
) -> CollectionResult:
    corpus = load_corpus(source)
    qrels = load_qrels(source)
    judged = judged_queries(load_queries(source), qrels)
    queries = dict(list(judged.items())[:limit]) if limit is not None else judged
    print(f"{collection}: writing {len(corpus)} documents to {work}", file=sys.stderr)

    names = write_documents(corpus, work / "docs")
    home = work / "home"
    home.mkdir()
    batch = work / "queries.jsonl"
    write_batch(queries, batch)

    run_trove(trove, ["add", str(work / "docs")], home)
    _, index_seconds = timed_trove(trove, ["index"], home, stream=True)
    # --all: the ranking is measured, not the relevance floor (benchmarks/floor.py is).
    search_args = ["search", "--batch", str(batch), "--json", "--all", "--limit", str(SEARCH_LIMIT)]
    stdout, search_seconds = timed_trove(trove, search_args, home)
    rankings, unknown = parse_rankings(stdout, names)

    figures = quality(queries, qrels, rankings)
    target = TARGETS.get(collection)
    return CollectionResult(
        collection=collection,
        docs=len(corpus),
        queries=len(queries),
        judged_queries=len(judged),
        index_seconds=index_seconds,
        search_seconds=search_seconds,
        ms_per_query=1000 * search_seconds / max(len(queries), 1),
        ndcg_at_10=figures["ndcg_at_10"],
        recall_at_100=figures["recall_at_100"],
        mrr_at_10=figures["mrr_at_10"],
        target_ndcg_at_10=target,
        met_target=None if target is None else figures["ndcg_at_10"] >= target,
        unanswered_queries=sum(1 for q in queries if q not in rankings),
        unknown_paths=unknown,
        reference_ndcg_at_10=reference_figures(collection),
    )


# --- reporting -------------------------------------------------------------------------------


def report(r: CollectionResult) -> str:
    subset = "" if r.queries == r.judged_queries else f" (first {r.queries} of {r.judged_queries})"
    target = "no target"
    if r.target_ndcg_at_10 is not None:
        verdict = "met" if r.met_target else "NOT met"
        target = f"target >= {r.target_ndcg_at_10:.2f}: {verdict}"
    reference = ", ".join(f"{k} {v:.3f}" for k, v in r.reference_ndcg_at_10.items())
    lines = [
        f"== {r.collection}: {r.docs} docs, {r.queries} queries{subset}",
        f"   index time    {r.index_seconds:9.1f} s",
        f"   search time   {r.search_seconds:9.1f} s  ({r.ms_per_query:.1f} ms/query)",
        f"   nDCG@10       {r.ndcg_at_10:9.4f}    {target}",
        f"   reference     {reference or '-'}",
        f"   recall@100    {r.recall_at_100:9.4f}",
        f"   MRR@10        {r.mrr_at_10:9.4f}",
    ]
    if r.unanswered_queries or r.unknown_paths:
        lines.append(
            f"   warning: {r.unanswered_queries} queries missing from the output, "
            f"{r.unknown_paths} result paths not from the collection"
        )
    return "\n".join(lines)


def summary(results: list[CollectionResult]) -> str:
    rows = [
        f"{'collection':<11} {'nDCG@10':>8} {'target':>7} {'R@100':>7} {'index s':>8} {'ms/q':>7}"
    ]
    for r in results:
        target = f"{r.target_ndcg_at_10:.2f}" if r.target_ndcg_at_10 is not None else "-"
        rows.append(
            f"{r.collection:<11} {r.ndcg_at_10:8.4f} {target:>7} {r.recall_at_100:7.4f} "
            f"{r.index_seconds:8.1f} {r.ms_per_query:7.1f}"
        )
    return "\n".join(rows)


def write_json(results: list[CollectionResult], trove: Path, out: Path) -> None:
    payload = {"trove": str(trove), "collections": {r.collection: asdict(r) for r in results}}
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collections", nargs="+", help="collection folder names, e.g. scifact")
    parser.add_argument(
        "--shared",
        type=Path,
        default=repo.parent / "shared" / "eval",
        help="folder holding the collections (default: <repo>/../shared/eval)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the document folders and TROVE_HOME under DIR",
    )
    parser.add_argument(
        "--limit-queries",
        type=int,
        metavar="N",
        help="evaluate only the first N judged queries (quick runs)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the figures to OUT")
    parser.add_argument(
        "--trove",
        type=Path,
        default=default_trove(),
        help="trove executable (default: the one next to this python)",
    )
    return parser.parse_args(argv)


def work_folder(keep: Path | None, collection: str, scratch: Path) -> Path:
    if keep is None:
        return Path(tempfile.mkdtemp(prefix=f"{collection}-", dir=scratch))
    keep.mkdir(parents=True, exist_ok=True)
    # A fresh subfolder per run, so an earlier run's state never leaks into this one.
    return Path(tempfile.mkdtemp(prefix=f"{collection}-", dir=keep))


def missing_inputs(args: argparse.Namespace) -> list[str]:
    """What is absent, checked up front so a typo does not surface after an hour of indexing."""
    missing = [str(args.trove)] if not args.trove.is_file() else []
    for collection in args.collections:
        for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
            if not (args.shared / collection / name).is_file():
                missing.append(str(args.shared / collection / name))
    return missing


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if missing := missing_inputs(args):
        print("not found:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2
    results: list[CollectionResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="trove-beir-") as scratch:
            for collection in args.collections:
                work = work_folder(args.keep, collection, Path(scratch))
                result = evaluate(
                    collection, args.shared / collection, work, args.trove, args.limit_queries
                )
                results.append(result)
                print(report(result), flush=True)
    except TroveCommandError as error:
        print(f"trove failed: {error}\n{error.stderr}", file=sys.stderr)
        return 1
    finally:
        if args.json and results:
            write_json(results, args.trove, args.json)
    if len(results) > 1:
        print("\n" + summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
