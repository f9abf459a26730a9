"""Check the accelerator path on a machine with CUDA (or Apple's MPS).

Prints one JSON line: which device `auto` picked, how close its vectors are to the CPU's for
the same texts (in this process, and against vectors saved on another machine's CPU), how fast
it embeds passages at several batch sizes and in half precision, and how long one query takes.

    python -m benchmarks.device_check --collection ../shared/eval/scifact
    python -m benchmarks.device_check --save-reference ref.npz   # on a CPU machine, first
    python -m benchmarks.device_check --reference ref.npz        # then on the GPU machine
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.embedding import SentenceTransformerEmbedder, select_device

REPO = Path(__file__).resolve().parents[1]


def passages(collection: Path, count: int) -> list[str]:
    texts = []
    with open(collection / "corpus.jsonl", encoding="utf-8") as corpus:
        for line in corpus:
            doc = json.loads(line)
            texts.append(f"{doc.get('title', '')}\n\n{doc['text']}")
            if len(texts) == count:
                break
    return texts


def cosines(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    values = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"min": round(float(values.min()), 6), "median": round(float(np.median(values)), 6)}


def synchronise(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def throughput(model: Any, texts: list[str], batch: int, device: str) -> float:
    """Passages a second through the bare model at one batch size, best of two."""
    best = 0.0
    for _ in range(2):
        synchronise(device)
        start = time.perf_counter()
        model.encode(texts, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)
        synchronise(device)
        best = max(best, len(texts) / (time.perf_counter() - start))
    return round(best, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, default=REPO.parent / "shared/eval/scifact")
    parser.add_argument("--passages", type=int, default=4096)
    parser.add_argument("--reference", type=Path, help="vectors saved by --save-reference")
    parser.add_argument("--save-reference", type=Path, metavar="OUT")
    args = parser.parse_args()
    import torch

    texts = passages(args.collection, args.passages)
    if args.save_reference:
        cpu = SentenceTransformerEmbedder(device="cpu", backend="torch")
        sample = texts[:256]
        np.savez(args.save_reference, texts=np.array(sample), vectors=cpu.embed_documents(sample))
        return

    figures: dict[str, Any] = {
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "auto": select_device("auto"),
    }
    if torch.cuda.is_available():
        figures["gpu"] = torch.cuda.get_device_name(0)

    start = time.perf_counter()
    embedder = SentenceTransformerEmbedder()  # the default model on the `auto` device
    embedder.embed_query("load the model")
    figures["load_s"] = round(time.perf_counter() - start, 2)
    device = embedder.device
    figures["device"] = device
    model = embedder.model

    sample = texts[:256]
    on_device = embedder.embed_documents(sample)
    on_cpu = SentenceTransformerEmbedder(device="cpu", backend="torch").embed_documents(sample)
    figures["cosine_to_cpu_here"] = cosines(on_device, on_cpu)
    if args.reference:
        saved = np.load(args.reference)
        figures["cosine_to_saved_cpu"] = cosines(
            embedder.embed_documents([str(t) for t in saved["texts"]]), saved["vectors"]
        )

    figures["passages_per_s"] = {
        str(batch): throughput(model, texts, batch, device) for batch in (32, 128, 512)
    }
    cpu_model = SentenceTransformerEmbedder(device="cpu", backend="torch").model
    figures["cpu_passages_per_s_batch32"] = throughput(cpu_model, texts[:512], 32, "cpu")

    times = []
    for text in texts[:200]:
        synchronise(device)
        start = time.perf_counter()
        embedder.embed_query(text[:120])
        times.append(1000 * (time.perf_counter() - start))
    ordered = sorted(times)
    figures["query_ms"] = {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[int(0.95 * len(ordered)) - 1], 2),
    }

    if device.startswith("cuda"):
        model.half()
        half = np.asarray(
            model.encode(sample, batch_size=128, normalize_embeddings=True), dtype=np.float32
        )
        figures["half_cosine_to_cpu"] = cosines(half, on_cpu)
        figures["half_passages_per_s"] = {
            str(batch): throughput(model, texts, batch, device) for batch in (128, 512)
        }
        model.float()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
