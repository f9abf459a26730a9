"""Calibrate the relevance floor: what it costs in recall and how much noise it removes.

Each shared collection (and the sample folder) is indexed through the real `trove` command,
as `beir_eval.py` does, and searched with `--all --json`, so every result comes back with
its relevance.  Candidate floors are then applied to those answers:

- recall cost: the share of relevant documents (qrels) in the top 10 and top 100 that a
  floor would hide;
- noise removed: for 30 nonsense queries and for off-topic ones (each collection's and the
  sample folder's queries against the other indexes, which hold little or nothing relevant
  to them), the share of results and of queries with any result that a floor leaves.

    python benchmarks/floor.py scifact cranfield cisi --cache /tmp/trove-floor

With ``--cache`` each collection's documents and index are kept and reused by later runs.
It only measures; the chosen floor is ``core.relevance.FLOOR``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from beir_eval import (
    TroveCommandError,
    default_trove,
    judged_queries,
    run_trove,
    write_batch,
    write_documents,
)
from metrics import Qrels, load_corpus, load_qrels, load_queries

from core.relevance import FLOOR

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "resources" / "sample"
SAMPLE_QUERIES = REPO / "tests" / "data" / "everyday_queries.jsonl"
FLOORS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
SEARCH_LIMIT = 100
NONSENSE_COUNT = 30

# Everyday words with nothing in common: a query of a few of them asks for nothing.
_WORDS = """
    umbrella tractor violin pebble lantern walrus saddle kettle marble glacier hammock
    trumpet ladder compass velvet orchard parrot anchor biscuit canyon feather harbor
    jigsaw kayak lemon meadow napkin oyster pillow quilt rooster scooter tulip whistle
""".split()
_ONSETS = "b bl br d dr f fl g gl gr k kl l m n p pl qu r s st t tr v w z".split()
_CODAS = ["", "b", "ft", "g", "k", "l", "m", "n", "rd", "rt", "sh", "st", "x", "zz"]

Hit = tuple[str, float]  # document id (file name for the sample), relevance


@dataclass
class Index:
    """One indexed folder: its TROVE_HOME and file name -> document id."""

    name: str
    home: Path
    names: dict[str, str]


@dataclass
class QuerySet:
    """Queries to run against an index, and what is relevant to each (nothing, for
    queries that ask for nothing there)."""

    name: str
    queries: dict[str, str]
    qrels: dict[str, Qrels] = field(default_factory=dict)


@dataclass
class Answers:
    """Every result of one query set on one index, with its relevance."""

    index: str
    queries: QuerySet
    hits: dict[str, list[Hit]]


# --- indexing, kept between runs -------------------------------------------------------------


def prepare(name: str, source: Path | None, root: Path, trove: Path) -> Index:
    """Index a collection (or the sample folder when ``source`` is None) under root/name,
    or reuse the index a former run left there."""
    work = root / name
    done, names_file = work / "indexed", work / "names.json"
    if done.exists():
        return Index(name, work / "home", json.loads(names_file.read_text(encoding="utf-8")))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if source is None:
        shutil.copytree(SAMPLE, work / "docs")
        names = {p.name: p.name for p in (work / "docs").iterdir()}
    else:
        names = write_documents(load_corpus(source), work / "docs")
    (work / "home").mkdir()
    print(f"{name}: indexing {len(names)} documents", file=sys.stderr)
    run_trove(trove, ["add", str(work / "docs")], work / "home")
    run_trove(trove, ["index"], work / "home", stream_stderr=True)
    names_file.write_text(json.dumps(names), encoding="utf-8")
    done.touch()
    return Index(name, work / "home", names)


# --- queries that ask for nothing ------------------------------------------------------------


def nonsense_queries(count: int = NONSENSE_COUNT, seed: int = 12) -> dict[str, str]:
    """A third each: made-up words ("blorft quuxle"), letter salad ("zxqv kjw"), and
    everyday words with nothing in common ("walrus ladder biscuit")."""
    rng = random.Random(seed)
    makers = (_made_up_word, _letter_salad, lambda r: r.choice(_WORDS))
    queries: dict[str, str] = {}
    for number in range(count):
        make = makers[number % len(makers)]
        queries[f"nonsense-{number}"] = " ".join(make(rng) for _ in range(rng.randint(2, 5)))
    return queries


def _made_up_word(rng: random.Random) -> str:
    syllables = [rng.choice(_ONSETS) + rng.choice("aeiou") for _ in range(rng.randint(2, 3))]
    return "".join(syllables) + rng.choice(_CODAS)


def _letter_salad(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(3, 6)))


def own_queries(name: str, shared: Path, limit: int | None) -> QuerySet:
    """A collection's judged queries, or the sample folder's queries and their files."""
    if name == "sample":
        rows = [json.loads(line) for line in SAMPLE_QUERIES.read_text().splitlines() if line]
        queries = {f"sample-{n}": row["text"] for n, row in enumerate(rows)}
        qrels = {f"sample-{n}": {row["expected"]: 1} for n, row in enumerate(rows)}
        return QuerySet("sample", queries, qrels)
    qrels = load_qrels(shared / name)
    judged = judged_queries(load_queries(shared / name), qrels)
    return QuerySet(name, dict(list(judged.items())[:limit]), qrels)


# --- searching -------------------------------------------------------------------------------


def search_all(index: Index, sets: list[QuerySet], trove: Path, work: Path) -> list[Answers]:
    """Every query of every set in one `trove search --batch --all` run (one model load)."""
    batch = work / f"{index.name}-queries.jsonl"
    write_batch(
        {f"{qs.name}:{qid}": text for qs in sets for qid, text in qs.queries.items()}, batch
    )
    args = ["search", "--batch", str(batch), "--json", "--all", "--limit", str(SEARCH_LIMIT)]
    print(f"{index.name}: {sum(len(qs.queries) for qs in sets)} queries", file=sys.stderr)
    hits: dict[str, list[Hit]] = {}
    for line in run_trove(trove, args, index.home).splitlines():
        answer = json.loads(line)
        hits[answer["id"]] = [
            (index.names.get(Path(r["path"]).name, r["path"]), float(r["relevance"]))
            for r in answer["results"]
        ]
    return [
        Answers(index.name, qs, {qid: hits.get(f"{qs.name}:{qid}", []) for qid in qs.queries})
        for qs in sets
    ]


# --- figures ---------------------------------------------------------------------------------


def recall_cost(answers: Answers, floor: float, depth: int) -> float:
    """Share of the relevant documents in the top ``depth`` that ``floor`` hides."""
    relevant = [
        relevance
        for qid, hits in answers.hits.items()
        for doc, relevance in hits[:depth]
        if answers.queries.qrels.get(qid, {}).get(doc, 0) > 0
    ]
    return sum(1 for r in relevant if r < floor) / max(1, len(relevant))


def noise_left(answers: list[Answers], floor: float) -> tuple[float, float]:
    """Share of the results, and of the queries with any result, that ``floor`` leaves."""
    results = [r for a in answers for hits in a.hits.values() for _, r in hits]
    queries = [hits for a in answers for hits in a.hits.values()]
    left = sum(1 for r in results if r >= floor) / max(1, len(results))
    answered = sum(1 for hits in queries if any(r >= floor for _, r in hits))
    return left, answered / max(1, len(queries))


def report(own: list[Answers], noise: dict[str, list[Answers]], floors: list[float]) -> str:
    """Per candidate floor: recall cost on each collection, noise left over all indexes."""
    head = [
        "floor",
        *(f"{a.index} lost@10 / @100" for a in own),
        *(f"{kind}: results / queries left" for kind in noise),
    ]
    rows = []
    for floor in floors:
        cells = [f"{floor:.2f}" + (" (chosen)" if abs(floor - FLOOR) < 1e-9 else "")]
        cells += [
            f"{recall_cost(a, floor, 10):.1%} / {recall_cost(a, floor, 100):.1%}" for a in own
        ]
        cells += [_left(answers, floor) for answers in noise.values()]
        rows.append(cells)
    return _table(head, rows)


def report_by_index(own: list[Answers], noise: dict[str, list[Answers]]) -> str:
    """At the chosen floor, the noise each index lets through."""
    head = ["index", *(f"{kind}: results / queries left" for kind in noise)]
    rows = [
        [
            a.index,
            *(
                _left([n for n in answers if n.index == a.index], FLOOR)
                for answers in noise.values()
            ),
        ]
        for a in own
    ]
    return _table(head, rows)


def _left(answers: list[Answers], floor: float) -> str:
    results, queries = noise_left(answers, floor)
    return f"{results:.1%} / {queries:.0%}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = [head, ["---"] * len(head), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collections", nargs="+", help="collection folder names, e.g. cisi")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument(
        "--cache", type=Path, metavar="DIR", help="keep (and reuse) each index under DIR"
    )
    parser.add_argument(
        "--limit-queries", type=int, metavar="N", help="only the first N queries of each set"
    )
    parser.add_argument(
        "--floors",
        type=lambda text: [float(f) for f in text.split(",")],
        default=sorted({*FLOORS, FLOOR}),
        help="candidate floors, comma-separated",
    )
    parser.add_argument("--trove", type=Path, default=default_trove())
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, root: Path) -> str:
    names = ["sample", *args.collections]
    sets = {n: own_queries(n, args.shared, args.limit_queries) for n in names}
    nonsense = QuerySet("nonsense", nonsense_queries())
    own: list[Answers] = []
    noise: dict[str, list[Answers]] = {"nonsense": [], "off-topic": []}
    for name in names:
        index = prepare(name, None if name == "sample" else args.shared / name, root, args.trove)
        # The other indexes' queries ask for next to nothing here: each is another field.
        others = [QuerySet(f"off-{n}", sets[n].queries) for n in names if n != name]
        mine, garbage, *off = search_all(index, [sets[name], nonsense, *others], args.trove, root)
        own.append(mine)
        noise["nonsense"].append(garbage)
        noise["off-topic"].extend(off)
    return f"{report(own, noise, args.floors)}\n\n{report_by_index(own, noise)}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.cache is not None:
            args.cache.mkdir(parents=True, exist_ok=True)
            print(measure(args, args.cache))
        else:
            with tempfile.TemporaryDirectory(prefix="trove-floor-") as scratch:
                print(measure(args, Path(scratch)))
    except TroveCommandError as error:
        print(f"trove failed: {error}\n{error.stderr}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
