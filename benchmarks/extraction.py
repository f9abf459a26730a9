"""Extraction on hard files, and whether reading overlaps embedding.

1. Every file of ``shared/docs_robustness`` through the worker-process pool: total time,
   the slowest files, and the outcome per category.
2. A mixed folder (those files, copies of their PDFs, SciFact abstracts as Word files)
   indexed through Trove, against extraction alone and embedding alone of the same
   material: when reading runs beside the model, the whole run takes less than the sum.

    python benchmarks/extraction.py --abstracts 300 --pdf-copies 10
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.recording import RecordingEmbedder
from core.app import Trove
from core.embedding import SentenceTransformerEmbedder
from core.errors import ExtractionFailed
from core.events import Finished
from core.extract import Document, ExtractionPool
from core.paths import Locations
from core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "MANIFEST.json")


def extract_all(files: list[Path], workers: int) -> tuple[float, list[tuple[float, Path, str]]]:
    timings = []
    with ExtractionPool.for_settings(Settings(), workers) as pool:
        with contextlib.suppress(ExtractionFailed):
            pool.extract(files[0])  # start the worker before timing
        started = time.perf_counter()
        for path in files:
            begun = time.perf_counter()
            try:
                pool.extract(path)
                outcome = "text"
            except ExtractionFailed as failure:
                outcome = failure.category
            timings.append((time.perf_counter() - begun, path, outcome))
        return time.perf_counter() - started, timings


def robustness() -> None:
    files = files_of(SHARED / "docs_robustness")
    total, timings = extract_all(files, workers=1)
    print(f"robustness folder      {len(files)} files, {total:.2f} s in one worker")
    for seconds, path, outcome in sorted(timings, reverse=True)[:3]:
        print(f"  slow                 {seconds:6.2f} s  {path.relative_to(SHARED)} ({outcome})")
    counts = Counter(outcome for _, _, outcome in timings)
    print("  outcomes             " + ", ".join(f"{n} {k}" for k, n in counts.most_common()))


def mixed_folder(work: Path, abstracts: int, pdf_copies: int) -> Path:
    """The robustness files, every PDF of it ``pdf_copies`` times (each copy made
    distinct by a trailing comment, so none is skipped as a duplicate), and SciFact
    abstracts as Word files: extraction that costs something next to the model."""
    import docx

    folder = work / "mixed"
    shutil.copytree(SHARED / "docs_robustness", folder / "hard")
    (folder / "hard" / "MANIFEST.json").unlink()
    for pdf in sorted((SHARED / "docs_robustness" / "pdf").glob("*.pdf")):
        for n in range(pdf_copies):
            copy = folder / "pdf-copies" / f"{pdf.stem}-{n}.pdf"
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(pdf.read_bytes() + f"\n% copy {n}\n".encode())
    with open(SHARED / "eval" / "scifact" / "corpus.jsonl", encoding="utf-8") as corpus:
        for _, line in zip(range(abstracts), corpus, strict=False):
            doc = json.loads(line)
            document = docx.Document()
            document.add_heading(doc["title"], level=1)
            document.add_paragraph(doc["text"])
            path = folder / "abstracts" / f"{doc['_id']}.docx"
            path.parent.mkdir(parents=True, exist_ok=True)
            document.save(str(path))
    return folder


def overlap(abstracts: int, pdf_copies: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="trove-overlap-"))
    folder = mixed_folder(work, abstracts, pdf_copies)
    real = SentenceTransformerEmbedder()
    real.embed_documents(["warm up"] * 4)
    recorder = RecordingEmbedder(real)
    places = Locations(data=work / "home", config=work / "home", cache=work / "home")
    reads: list[tuple[float, float]] = []
    with Trove.open(places, embedder=recorder) as trove, trove.extraction_pool() as pool:
        trove.add_folder(folder)
        workers = pool.workers

        def timed_read(path: str) -> Document:
            begun = time.perf_counter()
            try:
                return pool.extract(Path(path))
            finally:
                reads.append((begun, time.perf_counter()))

        indexer = trove.indexer(pool)
        indexer.extract = timed_read
        started = time.perf_counter()
        finished = next(e for e in indexer.run() if isinstance(e, Finished))
        whole = time.perf_counter() - started
    reading, _ = extract_all(files_of(folder), workers)
    started = time.perf_counter()
    real.embed_documents(recorder.inputs)
    embedding = time.perf_counter() - started
    print(
        f"mixed folder           {len(files_of(folder))} files, "
        f"{finished.files_indexed} indexed, {len(recorder.inputs)} passages, "
        f"{workers} extraction worker(s)"
    )
    print(f"  extraction alone     {reading:7.1f} s")
    print(f"  embedding alone      {embedding:7.1f} s")
    print(f"  sum                  {reading + embedding:7.1f} s")
    print(f"  trove index          {whole:7.1f} s  ({recorder.encode_seconds:.1f} s in the model)")
    hidden = _overlap(reads, recorder.intervals)
    print(
        f"  reading inside Trove {sum(b - a for a, b in reads):7.1f} s, of which {hidden:.1f} s "
        "while the model was encoding"
    )


def _overlap(first: list[tuple[float, float]], second: list[tuple[float, float]]) -> float:
    """Seconds during which an interval of ``first`` and one of ``second`` both ran."""
    return sum(max(0.0, min(b, d) - max(a, c)) for a, b in first for c, d in second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abstracts", type=int, default=300)
    parser.add_argument("--pdf-copies", type=int, default=10)
    args = parser.parse_args()
    robustness()
    overlap(args.abstracts, args.pdf_copies)


if __name__ == "__main__":
    main()
