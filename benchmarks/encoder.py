"""Encoder backends side by side: torch against OpenVINO, through Trove's own embedder.

    python benchmarks/encoder.py --passages 2000 --repeats 3 --loads 3
    python benchmarks/encoder.py --precision f32    # OpenVINO in float32 even on AMX CPUs

Needs the openvino package.  The default model is converted once into a throwaway cache
(timed, in a fresh process: that is what the first launch with the backend costs), then:

- throughput: the same N passages of about 200 tokens cut from SciFact, batch 32, all
  cores, each backend in turn, their order swapped every repeat; min and median
  passages/s, and the speed-up (torch time / OpenVINO time) of each repeat;
- query latency: one short query on 1 and on 2 threads, after a warm-up;
- load time: a fresh process from its start to the first query vector, backends
  alternating, with the model-ready moment beside it.

On a shared machine only the ratios measured side by side mean much.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.embedding import SentenceTransformerEmbedder  # noqa: E402
from core.openvino_runtime import OpenVINOModel  # noqa: E402

BACKENDS = ("torch", "openvino")
QUERY = "does vitamin d lower the risk of fractures"

# Run in a fresh interpreter: argv = backend, cache folder, precision, parent's clock.
LOAD_SCRIPT = """
import sys, time
started = float(sys.argv[4])
from pathlib import Path
from core.embedding import SentenceTransformerEmbedder
from core.openvino_runtime import OpenVINOModel
OpenVINOModel.precision = sys.argv[3] or None
embedder = SentenceTransformerEmbedder(backend=sys.argv[1], cache=Path(sys.argv[2]))
_ = embedder.dimension
ready = time.time() - started
embedder.embed_query("a first question")
print(ready, time.time() - started)
"""


def passages(corpus: Path, count: int, embedder: SentenceTransformerEmbedder) -> list[str]:
    """``count`` pieces of about 200 model tokens, cut from the collection's documents."""
    found: list[str] = []
    with open(corpus, encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            text = f"{doc.get('title', '')}\n\n{doc['text']}"
            spans = embedder.token_spans(text)
            for start in range(0, len(spans), 200):
                piece = spans[start : start + 200]
                if len(piece) >= 100 or start == 0:
                    found.append(text[piece[0][0] : piece[-1][1]])
                if len(found) == count:
                    return found
    return found


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def load_times(backend: str, cache: Path, precision: str) -> tuple[float, float]:
    """Seconds from a fresh process's start to the model ready and to its first vector."""
    command = [sys.executable, "-c", LOAD_SCRIPT, backend, str(cache), precision]
    done = subprocess.run(
        [*command, repr(time.time())],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    ready, first = done.stdout.split()[-2:]
    return float(ready), float(first)


def throughput(
    embedders: dict[str, SentenceTransformerEmbedder], texts: list[str], repeats: int
) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {name: [] for name in embedders}
    for repeat in range(repeats):
        order = list(embedders) if repeat % 2 == 0 else list(reversed(embedders))
        for name in order:
            seconds[name].append(timed(lambda e=embedders[name]: e.embed_documents(texts)))
        print(
            f"  repeat {repeat + 1}: " + ", ".join(f"{n} {seconds[n][-1]:.1f} s" for n in BACKENDS)
        )
    return seconds


def query_latency(embedder: SentenceTransformerEmbedder, threads: int, runs: int) -> list[float]:
    """One query as Trove embeds it, on ``threads`` threads (the passage path takes the
    thread setting; for this model a query and a passage are encoded alike)."""
    embedder.threads = threads
    embedder.embed_documents([QUERY])  # warm up this thread count
    return [timed(lambda: embedder.embed_documents([QUERY])) * 1000 for _ in range(runs)]


def folder_megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def line(name: str, values: list[float], unit: str, per: float | None = None) -> str:
    shown = [per / v for v in values] if per else values
    best = max(shown) if per else min(shown)
    return f"  {name:9s} best {best:8.2f} {unit}  median {statistics.median(shown):8.2f} {unit}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loads", type=int, default=3, help="fresh processes per backend")
    parser.add_argument("--queries", type=int, default=20, help="timed queries per setting")
    parser.add_argument("--precision", default="", help="OpenVINO precision hint (f32, bf16)")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/eval/scifact")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    OpenVINOModel.precision = args.precision or None
    cache = Path(tempfile.mkdtemp(prefix="trove-encoder-"))
    first_launch = timed(lambda: load_times("openvino", cache, args.precision))
    converted = next((cache / "models").iterdir())
    embedders = {name: SentenceTransformerEmbedder(backend=name, cache=cache) for name in BACKENDS}
    texts = passages(args.corpus / "corpus.jsonl", args.passages, embedders["torch"])
    for embedder in embedders.values():
        embedder.embed_documents(texts[:64])  # load and warm up
    hint = embedders["openvino"].model.compiled(0).get_property("INFERENCE_PRECISION_HINT")
    print(f"{len(texts)} passages of up to 200 tokens, batch 32, all cores; OpenVINO in {hint}")

    seconds = throughput(embedders, texts, args.repeats)
    ratios = [t / o for t, o in zip(seconds["torch"], seconds["openvino"], strict=True)]
    print("throughput (passages/s)")
    for name in BACKENDS:
        print(line(name, seconds[name], "/s", per=len(texts)))
    print(f"  speed-up  min {min(ratios):.2f}x  median {statistics.median(ratios):.2f}x")

    print("query latency (ms), one short query")
    for threads in (1, 2):
        for name in BACKENDS:
            timings = query_latency(embedders[name], threads, args.queries)
            print(line(f"{name}", timings, "ms") + f"  ({threads} thread{'s' * (threads > 1)})")

    loads: dict[str, list[tuple[float, float]]] = {name: [] for name in BACKENDS}
    for _ in range(args.loads):
        for name in BACKENDS:
            loads[name].append(load_times(name, cache, args.precision))
    print("fresh process to model ready / to first vector (s)")
    for name in BACKENDS:
        ready, first = zip(*loads[name], strict=True)
        print(
            f"  {name:9s} ready min {min(ready):5.2f} median {statistics.median(ready):5.2f}"
            f"  first vector min {min(first):5.2f} median {statistics.median(first):5.2f}"
        )
    print(f"first launch with openvino (conversion + load): {first_launch:.1f} s")
    print(f"converted model: {folder_megabytes(converted):.0f} MB in {converted}")


if __name__ == "__main__":
    main()
