"""Query latency, recall and size of Trove's index at scale (10k to 1M passages).

    .venv/bin/python -m benchmarks.scale --passages 100000 [--cache DIR] [--rebuild]

Text: the documents of the shared collections (SciFact, Cranfield, CISI in ../shared/eval)
are cut, in order, into base passages of whole sentences, 150-250 words each (a passage may
run on into the next document), and ``--base`` of them are drawn.  Each synthetic passage
holds the sentences of one base passage, its dominant one, shuffled.

Vectors: the base passages are embedded once with the real model (all-MiniLM-L6-v2, about
20 passages/s on two cores) and cached.  A synthetic passage's vector is its dominant base
vector (weight 1) plus one or two other base vectors (weights 0.15-0.5) plus gaussian
noise (norm 0.15), normalised: distinct vectors with a realistic spread, never copies of a
few, so the nearest neighbours have an order; and words and meaning roughly agree.

Files: 3-10 passages each, whose dominant bases follow each other (neighbouring passages of
one collection, as in a real document); 36 folders in 6 groups; .txt, .md, .pdf and .py,
their kinds as the extractor registry names them; mtimes spread over 2019-2025.  They are
written through the store methods the indexer uses (``upsert_file``, ``write_document``),
a few thousand passages a transaction; nothing exists on disk but the folders.  The built
index is cached under ``--cache`` by size, base and version; ``--rebuild`` makes it again.

Search is measured in a fresh process that only opens the index, as the command line does
(so build memory does not count), warm, through ``Trove.search(text, limit=20)``, query
embedding included: 50 queries of the collections plain and with a type (pdf, about 25%
of passages), folder (one group, about 17%) or date filter (since July 2024, about 20%);
``Trove.similar`` on 50 files; plain search again with the query vectors already known
(``no_embed_*``: all but the model, which varies most on a busy machine); the query
embedding alone; the first search (model and vectors loaded); recall@10 of the vector
search against numpy brute force over the same vectors; peak memory of that process; bytes
on disk per passage (index, log and the vector copy saved beside it, after the vector log
is settled and the log checkpointed, as after an indexing run).  One JSON line on stdout
at the end, with the one-minute load average; progress on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from benchmarks.metrics import load_corpus, load_queries
from benchmarks.recording import RecordingEmbedder
from core.app import Trove
from core.embedding import DEFAULT_MODEL_ID, Embedder, SentenceTransformerEmbedder
from core.extract import Registry
from core.paths import Locations
from core.settings import load_settings
from core.store import Chunk, FileStat, Store
from core.store.connection import snapshot
from core.store.quantised import stored_vector
from core.store.words import WORD_COPY

# Change these when the base passages or the synthetic index change: cached ones are
# then made again.
BASE_VERSION = "1"
VERSION = "4"  # 3: passages kept once (schema 0004); 4: vectors as int8 (schema 0007)
REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = ("scifact", "cranfield", "cisi")
MIN_WORDS = 150
SENTENCE_WORDS = (3, 100)  # shorter or longer "sentences" are headings or debris
PASSAGES_PER_FILE = (3, 10)
TRANSACTION_PASSAGES = 4000
GROUPS = "work personal research archive projects shared".split()
SUBFOLDERS = "notes reports drafts papers code misc".split()
EXTENSIONS = {"txt": 0.35, "md": 0.25, "pdf": 0.25, "py": 0.15}
MTIME_RANGE_S = (datetime(2019, 1, 1).timestamp(), datetime(2026, 1, 1).timestamp())
OTHER_WEIGHTS = (0.15, 0.5)
NOISE_NORM = 0.15
LIMIT = 20
WARMUP = 5

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BasePassage:
    title: str
    sentences: list[str]


@dataclass(frozen=True, slots=True)
class Base:
    passages: list[BasePassage]
    vectors: np.ndarray


@dataclass(frozen=True, slots=True)
class PlannedFile:
    path: str
    mtime_ns: int
    dominant: list[int]  # base passage of each of its passages


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- base passages and their vectors -------------------------------------------------


def _sentences(text: str) -> list[str]:
    # A plain cut after end punctuation: core.sentences keeps Cranfield's lower-case
    # abstracts whole ("... plate . the boundary-layer ...").
    found = re.split(r"(?<=[.!?])\s+", text.strip())
    low, high = SENTENCE_WORDS
    return [s for s in found if low <= len(s.split()) <= high]


def collection_passages(collection: Path) -> list[BasePassage]:
    """A collection's documents cut, in order, into runs of at least MIN_WORDS words."""
    passages: list[BasePassage] = []
    run: list[str] = []
    words, title = 0, ""
    for document in load_corpus(collection).values():
        for sentence in _sentences(document.text):
            title = title if run else document.title
            run.append(sentence)
            words += len(sentence.split())
            if words >= MIN_WORDS:
                passages.append(BasePassage(title, run))
                run, words = [], 0
    return passages


def draw_base(shared: Path, count: int, seed: int) -> list[BasePassage]:
    pool = [p for name in COLLECTIONS for p in collection_passages(shared / name)]
    chosen = sorted(random.Random(seed).sample(range(len(pool)), min(count, len(pool))))
    return [pool[i] for i in chosen]


def embed_base(passages: Sequence[BasePassage], batch: int = 256) -> np.ndarray:
    embedder = SentenceTransformerEmbedder()
    parts, started = [], time.monotonic()
    for start in range(0, len(passages), batch):
        texts = [" ".join(p.sentences) for p in passages[start : start + batch]]
        parts.append(embedder.embed_documents(texts))
        done = start + len(texts)
        log(f"embedded {done:,}/{len(passages):,} ({done / (time.monotonic() - started):.0f}/s)")
    return np.concatenate(parts)


def load_base(cache: Path, shared: Path, count: int, seed: int) -> Base:
    """The base passages and their real vectors, embedded once and kept in ``cache``."""
    stem = cache / f"base-{count}-s{seed}-v{BASE_VERSION}"
    texts, vectors = stem.with_suffix(".json"), stem.with_suffix(".npy")
    if not (texts.exists() and vectors.exists()):
        passages = draw_base(shared, count, seed)
        log(f"embedding {len(passages):,} base passages with the real model, once")
        cache.mkdir(parents=True, exist_ok=True)
        np.save(vectors, embed_base(passages))
        texts.write_text(json.dumps([[p.title, p.sentences] for p in passages]), "utf-8")
    rows = json.loads(texts.read_text("utf-8"))
    return Base([BasePassage(t, s) for t, s in rows], np.load(vectors))


# -- the synthetic index -------------------------------------------------------------


def mixed_vectors(base: np.ndarray, dominant: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row: the dominant base vector, one or two others weighed less, and noise."""
    rows, dim = len(dominant), base.shape[1]
    others = rng.integers(0, len(base), size=(rows, 2))
    weights = rng.uniform(*OTHER_WEIGHTS, size=(rows, 2))
    weights[:, 1] *= rng.random(rows) < 0.5  # half mix two base vectors, half three
    mixed = base[dominant] + np.einsum("rk,rkd->rd", weights, base[others])
    mixed += rng.normal(0.0, NOISE_NORM / np.sqrt(dim), size=mixed.shape)
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    return np.asarray(mixed, dtype=np.float32)


def make_folders(root: Path) -> list[Path]:
    """The folders the files are spread over; they exist, as the folder filter asks."""
    folders = [root / group / sub for group in GROUPS for sub in SUBFOLDERS]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


def plan_files(
    rng: random.Random, base: Base, folders: Sequence[Path], passages: int, first: int
) -> list[PlannedFile]:
    """Files numbered from ``first`` holding ``passages`` passages in all."""
    planned: list[PlannedFile] = []
    while passages > 0:
        count = min(passages, rng.randint(*PASSAGES_PER_FILE))
        start = rng.randrange(len(base.passages))
        dominant = [(start + i) % len(base.passages) for i in range(count)]
        ext = rng.choices(list(EXTENSIONS), weights=list(EXTENSIONS.values()))[0]
        name = f"{_slug(base.passages[start].title)}-{first + len(planned)}.{ext}"
        mtime_ns = int(rng.uniform(*MTIME_RANGE_S) * 1e9)
        planned.append(PlannedFile(str(rng.choice(folders) / name), mtime_ns, dominant))
        passages -= count
    return planned


def _slug(title: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", title.lower())[:4]) or "untitled"


def passage_chunks(texts: Sequence[str], kind: str) -> list[Chunk]:
    """Passages as the chunker records them: spans into the texts joined by blank lines."""
    chunks, start = [], 0
    for order, text in enumerate(texts):
        location = f"page {order + 1}" if kind == "pdf" else f"line {2 * order + 1}"
        chunks.append(Chunk(order, start, start + len(text), location, text))
        start += len(text) + 2
    return chunks


def write_file(
    store: Store, planned: PlannedFile, folder_id: int, kind: str, base: Base, vectors: np.ndarray
) -> None:
    rng = random.Random(planned.path)
    texts = [" ".join(_shuffled(base.passages[d].sentences, rng)) for d in planned.dominant]
    document = "\n\n".join(texts)
    size = len(document.encode("utf-8"))
    stat = FileStat(planned.path, folder_id, size, planned.mtime_ns, kind)
    digest = hashlib.blake2b(planned.path.encode(), digest_size=20).hexdigest()
    title = base.passages[planned.dominant[0]].title
    file_id = store.upsert_file(stat, "indexed", digest=digest, title=title)
    store.write_document(file_id, stat, title, document, passage_chunks(texts, kind), vectors)


def _shuffled(items: list[str], rng: random.Random) -> list[str]:
    return rng.sample(items, len(items))


class Builder:
    """Writes the synthetic index, a transaction of a few thousand passages at a time."""

    def __init__(self, home: Path, base: Base, seed: int) -> None:
        self.base = base
        self.folders = make_folders(home / "files")
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.kinds = Registry.default()
        self.store = Store.open(Locations.under(home).database)
        with self.store.transaction():
            self.folder_id = self.store.add_folder(str(home / "files")).id
        self.store.bind_model(DEFAULT_MODEL_ID, base.vectors.shape[1])
        self.files = 0

    def write(self, passages: int) -> None:
        planned = plan_files(self.rng, self.base, self.folders, passages, self.files)
        dominant = np.array([d for file in planned for d in file.dominant])
        vectors = mixed_vectors(self.base.vectors, dominant, self.np_rng)
        offset = 0
        with self.store.transaction():
            for file in planned:
                kind = self.kinds.kind_of(Path(file.path)) or "text"
                part = vectors[offset : offset + len(file.dominant)]
                write_file(self.store, file, self.folder_id, kind, self.base, part)
                offset += len(file.dominant)
        self.files += len(planned)

    def close(self) -> None:
        self.store.settle_vector_log()  # as the indexer ends a run
        self.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.store.close()


def build_index(home: Path, base: Base, total: int, seed: int) -> dict[str, Any]:
    shutil.rmtree(home, ignore_errors=True)
    builder = Builder(home, base, seed)
    started, written = time.monotonic(), 0
    every = max(total // 20, TRANSACTION_PASSAGES)
    while written < total:
        step = min(TRANSACTION_PASSAGES, total - written)
        builder.write(step)
        written += step
        if written % every < step or written == total:
            rate = written / (time.monotonic() - started)
            log(f"built {written:,}/{total:,} passages, {rate:,.0f}/s")
    builder.close()
    build_s = time.monotonic() - started
    database = Locations.under(home).database
    # The index, its log and the saved vector copy beside it; not the shared-memory file.
    kept = [p for p in home.glob(f"{database.name}*") if not p.name.endswith("-shm")]
    size = sum(p.stat().st_size for p in kept)
    return {
        "passages": total,
        "files": builder.files,
        "build_s": round(build_s, 1),
        "build_rate": round(total / build_s),
        "bytes_per_passage": round(size / total),
    }


def ensure_index(home: Path, args: argparse.Namespace) -> None:
    done = home / "built.json"
    if done.exists() and not args.rebuild:
        log(f"reusing the index in {home}")
        return
    base = load_base(args.cache, args.shared, args.base, args.seed)
    log(f"building {args.passages:,} passages in {home}")
    figures = build_index(home, base, args.passages, args.seed)
    log(f"built in {figures['build_s']:.0f} s ({figures['build_rate']:,} passages/s)")
    done.write_text(json.dumps(figures), "utf-8")


# -- measuring -----------------------------------------------------------------------


class RememberedQueries(RecordingEmbedder):
    """Trove's model; while ``remembered`` is set, a query embedded before is answered from
    memory, so that a search can also be timed without the model."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.vectors: dict[str, np.ndarray] = {}
        self.remembered = False

    def embed_query(self, text: str) -> np.ndarray:
        if self.remembered and text in self.vectors:
            return self.vectors[text]
        self.vectors[text] = self.inner.embed_query(text)
        return self.vectors[text]


def vector_top_ids(trove: Trove, query_vector: np.ndarray, k: int) -> list[int]:
    """Passage ids of the ``k`` nearest ``query_vector`` as Trove's vector index finds them."""
    binding = trove.store.model_binding()
    assert binding is not None
    with snapshot(trove.store.conn):
        trove.store.vectors.sync(binding)
        nearest = trove.store.vectors.nearest("chunk", query_vector, k)
    return [int(key) for key in nearest.keys]


def latencies(run: Callable[[T], object], items: Sequence[T], warmup: Sequence[T]) -> list[float]:
    for item in warmup:
        run(item)
    times = []
    for item in items:
        started = time.perf_counter()
        run(item)
        times.append((time.perf_counter() - started) * 1000)
    return times


def percentiles(times: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(times, 50)), 1),
        "p95_ms": round(float(np.percentile(times, 95)), 1),
    }


def pick_queries(shared: Path, count: int, seed: int) -> list[str]:
    pool = [text for name in COLLECTIONS for text in load_queries(shared / name).values()]
    return random.Random(seed).sample(pool, count)


def filter_options(home: Path) -> dict[str, dict[str, Any]]:
    """The filters measured, as ``Trove.search`` takes them."""
    return {
        "type": {"types": ["pdf"]},
        "folder": {"folder": home / "files" / GROUPS[2]},
        "date": {"since": datetime(2024, 7, 1)},
    }


def keyword_copy_figures(trove: Trove, database: Path, passages: int) -> dict[str, Any]:
    """Load (or build, and save) the keyword copy before search is timed, as a search
    process does in the background at its first search: its time and its size."""
    log("preparing the keyword copy")
    copy = trove.store.words
    started = time.monotonic()
    with snapshot(trove.store.conn):
        copy.sync()
    copy.wait()
    with snapshot(trove.store.conn):
        usable = copy.sync()
    saved = Path(f"{database}{WORD_COPY}")
    size = saved.stat().st_size if saved.exists() else 0
    return {
        "keyword_copy": usable,
        "keyword_copy_s": round(time.monotonic() - started, 1),
        "keyword_copy_bytes_per_passage": round(size / passages),
    }


def search_figures(trove: Trove, home: Path, queries: list[str]) -> dict[str, Any]:
    warm, timed = queries[:WARMUP], queries[WARMUP:]
    search = partial(trove.search, limit=LIMIT)
    first = latencies(search, warm[:1], [])[0] / 1000  # loads the model and the vectors
    figures: dict[str, Any] = percentiles(latencies(search, timed, warm))
    figures["first_search_s"] = round(first, 1)
    figures["filtered"] = {
        name: percentiles(latencies(partial(search, **options), timed, warm[:2]))
        for name, options in filter_options(home).items()
    }
    # A filter's scope is read once until the index changes (Searcher._allowed): the
    # timed searches reuse it, and the first search with a filter pays this on top.
    for name, options in filter_options(home).items():
        filters = trove.filters(options.get("types"), options.get("folder"), options.get("since"))
        started = time.perf_counter()
        with snapshot(trove.store.conn):
            trove.store.files_passing(filters)
        figures["filtered"][name]["scope_read_ms"] = round(
            (time.perf_counter() - started) * 1000, 1
        )
    return figures


def no_embed_figures(
    trove: Trove, embedder: RememberedQueries, queries: list[str]
) -> dict[str, float]:
    """Plain search with each query's vector known already: all but the model."""
    embedder.remembered = True
    times = latencies(partial(trove.search, limit=LIMIT), queries[WARMUP:], queries[:WARMUP])
    embedder.remembered = False
    return {f"no_embed_{key}": value for key, value in percentiles(times).items()}


def similar_figures(trove: Trove, count: int, seed: int) -> dict[str, float]:
    files = trove.status().states.get("indexed", 0)
    ids = random.Random(seed).sample(range(1, files + 1), min(count + 2, files))
    rows = trove.store.conn.execute(
        f"SELECT path FROM files WHERE id IN ({','.join(map(str, ids))})"
    ).fetchall()
    paths = [str(row[0]) for row in rows]
    times = percentiles(latencies(trove.similar, paths[2:], paths[:2]))
    return {f"similar_{key}": value for key, value in times.items()}


def stored_vectors(trove: Trove) -> tuple[np.ndarray, np.ndarray]:
    """Every passage's id and vector as stored (unit length), for the exact search."""
    count, dim = trove.store.chunk_count(), trove.embedder.dimension
    ids, matrix = np.empty(count, dtype=np.int64), np.empty((count, dim), dtype=np.float32)
    rows: Iterator[tuple[int, bytes]] = trove.store.conn.execute(
        "SELECT chunk_id, embedding FROM chunk_vec"
    )
    for row, (chunk_id, blob) in enumerate(rows):
        ids[row], matrix[row] = chunk_id, stored_vector(blob)  # int8 codes, as unit vectors
    return ids, matrix


def exact_figures(trove: Trove, queries: list[str], k: int = 10) -> dict[str, float]:
    """recall@k of the vector search against numpy brute force, and that brute force's time."""
    ids, matrix = stored_vectors(trove)
    recalls, times = [], []
    for query in (trove.embedder.embed_query(text) for text in queries):
        started = time.perf_counter()
        scores = matrix @ query
        top = np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        times.append((time.perf_counter() - started) * 1000)
        found = set(vector_top_ids(trove, query, k))
        recalls.append(len(found.intersection(ids[top].tolist())) / k)
    return {
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "numpy_exact_ms": round(float(np.median(times)), 1),
    }


def memory_figures() -> dict[str, float]:
    """This process's peak resident memory, and what is resident now: its own memory
    (``anon``) and pages of files it maps (``file``: mostly libraries; the keyword copy's
    postings are read, not mapped, so their pages sit in the system's file cache).  VmHWM,
    not ru_maxrss: a spawned process's ru_maxrss starts from its parent's, whose memory it
    briefly shared."""
    try:
        status = Path("/proc/self/status").read_text("utf-8")
    except OSError:  # not Linux
        return {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    names = {"VmHWM": "peak_rss_mb", "RssAnon": "rss_anon_mb", "RssFile": "rss_file_mb"}
    figures = {}
    for field, name in names.items():
        kib = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
        figures[name] = round(int(kib[1]) / 1024) if kib else 0.0
    return figures


def measure(home: Path, args: argparse.Namespace) -> dict[str, Any]:
    """All search figures of a built index, in this process."""
    built = home / "built.json"
    if not built.exists():
        raise SystemExit(f"no index built in {home}: run without --search-only first")
    figures: dict[str, Any] = json.loads(built.read_text("utf-8"))
    figures["load_1m"] = round(os.getloadavg()[0], 2)
    queries = pick_queries(args.shared, args.queries + WARMUP, args.seed)
    locations = Locations.under(home)
    model = SentenceTransformerEmbedder.for_settings(load_settings(locations.settings))
    embedder = RememberedQueries(model)
    with Trove.open(locations, embedder=embedder) as trove:
        figures.update(keyword_copy_figures(trove, locations.database, figures["passages"]))
        log("measuring search")
        figures.update(search_figures(trove, home, queries))
        figures.update(no_embed_figures(trove, embedder, queries))
        figures.update(similar_figures(trove, args.queries, args.seed))
        embed = latencies(trove.embedder.embed_query, queries[WARMUP:], queries[:WARMUP])
        figures["embed_ms"] = percentiles(embed)["p50_ms"]
        figures.update(memory_figures())  # before the exact search's copy of the vectors
        log("measuring recall against numpy brute force")
        figures.update(exact_figures(trove, queries[WARMUP:]))
    return figures


# -- command line --------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--passages", type=int, required=True)
    parser.add_argument("--base", type=int, default=3000, help="real passages embedded")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "trove-bench")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--rebuild", action="store_true", help="build the index again")
    parser.add_argument(
        "--search-only", action="store_true", help="measure the cached index in this process"
    )
    return parser.parse_args(argv)


def search_in_fresh_process(args: argparse.Namespace) -> str:
    command = [sys.executable, "-m", "benchmarks.scale", "--search-only"]
    for option in ("passages", "base", "queries", "seed", "cache", "shared"):
        command += [f"--{option}", str(getattr(args, option))]
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def main(argv: Sequence[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = parse_args(argv)
    home = args.cache / f"index-{args.passages}-b{args.base}-s{args.seed}-v{VERSION}"
    if args.search_only:
        print(json.dumps(measure(home, args)), flush=True)
        return
    ensure_index(home, args)
    print(search_in_fresh_process(args), flush=True)


if __name__ == "__main__":
    main()
