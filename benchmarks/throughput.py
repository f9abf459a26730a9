"""Indexing throughput against plain ``SentenceTransformer.encode`` on the same passages.

Writes N documents of a BEIR collection as files, indexes them through Trove with the real
model, records exactly which passage texts Trove sent to the model, then encodes those same
texts with a bare ``SentenceTransformer.encode`` call, in the same process.  The overhead is
everything Trove adds around the model: scanning, hashing, extraction, chunking, storage.

    python benchmarks/throughput.py --docs 1500
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.recording import RecordingEmbedder
from core.app import Trove
from core.embedding import SentenceTransformerEmbedder
from core.events import Finished
from core.paths import Locations

REPO = Path(__file__).resolve().parents[1]


def write_corpus(collection: Path, folder: Path, limit: int) -> int:
    folder.mkdir(parents=True)
    count = 0
    with open(collection / "corpus.jsonl", encoding="utf-8") as corpus:
        for line in corpus:
            doc = json.loads(line)
            text = f"{doc.get('title', '')}\n\n{doc['text']}"
            (folder / f"{doc['_id']}.txt").write_text(text, encoding="utf-8")
            count += 1
            if count == limit:
                break
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", default="scifact")
    parser.add_argument("--docs", type=int, default=1500)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "eval")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="trove-throughput-"))
    files = write_corpus(args.shared / args.collection, work / "docs", args.docs)
    real = SentenceTransformerEmbedder(backend="torch")  # measured against bare `encode`
    real.embed_documents(["warm up the model before anything is timed"] * 8)
    recorder = RecordingEmbedder(real)
    places = Locations(data=work / "home", config=work / "home", cache=work / "home")
    with Trove.open(places, embedder=recorder) as trove:
        trove.add_folder(work / "docs")
        started = time.perf_counter()
        finished = next(e for e in trove.index() if isinstance(e, Finished))
        index_seconds = time.perf_counter() - started

    texts = recorder.inputs
    started = time.perf_counter()
    real.model.encode(
        texts,
        batch_size=real.batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    plain_seconds = time.perf_counter() - started

    overhead = index_seconds / plain_seconds - 1
    print(f"documents              {files} files from {args.collection}")
    print(f"passages               {len(texts)} ({finished.chunks_embedded} committed)")
    print(f"threads / cores        torch {_torch_threads()} / {os.cpu_count()}")
    print(
        f"trove index            {index_seconds:8.1f} s  {len(texts) / index_seconds:6.1f} "
        "passages/s (scan, hash, extract, chunk, embed, store)"
    )
    print(f"  of which in encode   {recorder.encode_seconds:8.1f} s")
    print(
        f"plain encode           {plain_seconds:8.1f} s  {len(texts) / plain_seconds:6.1f} "
        "passages/s (same texts, one call)"
    )
    print(f"overhead               {overhead * 100:+8.1f} %  (target <= +10 %)")


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


if __name__ == "__main__":
    main()
