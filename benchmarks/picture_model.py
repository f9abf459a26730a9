"""What searching photos by what they show costs: a CLIP model the size of ViT-B/32.

No CLIP weights can be downloaded where Trove is built, so the model here has ViT-B/32's
architecture (transformers' CLIPConfig defaults: a 12-layer vision transformer on 224 px
in 32 px patches, a 12-layer text transformer, 512-dimensional vectors) with random
weights.  Its speed and memory are the real model's; what it finds is not, so this
measures cost only.

    .venv/bin/python -m benchmarks.picture_model [--pictures 40] [--repeats 3]

It prints, as JSON:
- the model's load time, and the process's memory before and after;
- a query's embedding time (median and minimum of 20);
- a picture's embedding time from its thumbnail, one at a time as indexing does;
- with ``--indexing``: indexing a folder where one file in ten is a picture through
  ``trove index``, with the model set and without (OCR on in both), and the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.ocr_quality import PICTURES, index_seconds, mixed_folder, save
from tests.tiny_clip import build


def build_vit_b32(folder: Path) -> Path:
    """A sentence-transformers folder holding a ViT-B/32-sized CLIP, random weights."""
    from transformers import CLIPConfig
    from transformers.models.clip import CLIPImageProcessorPil

    return build(folder, CLIPConfig(), CLIPImageProcessorPil())  # ViT-B/32's shape


def _rss_mb() -> float:
    """This process's peak resident memory.  Read from /proc where it can be: getrusage's
    peak survives exec, so a child started from a big process would report the parent's."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def speed(model_folder: Path, pictures: int) -> dict[str, object]:
    """Run in a fresh process: loading counts importing torch and the model's code."""
    from PIL import Image

    from core.extract.image import thumbnail
    from core.picture_model import ClipModel

    before = _rss_mb()
    started = time.perf_counter()
    model = ClipModel(str(model_folder), device="cpu")
    model.embed_text("warm up")
    load_s = time.perf_counter() - started
    queries = []
    for number in range(20):
        started = time.perf_counter()
        model.embed_text(f"a dog on a beach at sunset, take {number}")
        queries.append(time.perf_counter() - started)
    folder = Path(tempfile.mkdtemp(prefix="trove-pictures-"))
    shrink, embed = [], []
    photos = [p for p in PICTURES if not p.name.endswith(".pdf")]  # scans are documents
    for number in range(pictures):
        path = save(photos[number % len(photos)], folder, seed=number)
        with Image.open(path) as image:
            started = time.perf_counter()
            small = thumbnail(image)
            shrink.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.embed_pictures([small])
        embed.append(time.perf_counter() - started)
    shutil.rmtree(folder)
    return {
        "model": "ViT-B/32 shape, random weights",
        "dimension": model.dimension,
        "load_s": round(load_s, 2),
        "rss_mb_before": round(before),
        "rss_mb_after": round(_rss_mb()),
        "query_ms_median": round(1000 * statistics.median(queries), 1),
        "query_ms_min": round(1000 * min(queries), 1),
        "thumbnail_ms_median": round(1000 * statistics.median(shrink), 1),
        "picture_ms_median": round(1000 * statistics.median(embed), 1),
        "picture_ms_min": round(1000 * min(embed), 1),
        "pictures": pictures,
    }


def indexing(model_folder: Path, repeats: int) -> dict[str, object]:
    """``trove index`` on the sample folder five times over plus one picture in ten,
    with the picture model and without, side by side."""
    root = Path(tempfile.mkdtemp(prefix="trove-pictures-index-"))
    folder, pictures = mixed_folder(root, 5)
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(repeats):
        for label, setting in (("with", str(model_folder)), ("without", "")):
            home = root / f"home-{label}"
            times[label].append(index_seconds(home, folder, {"picture_model": setting}))
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(root)
    return {
        "files": files,
        "pictures": pictures,
        "index_s_with_model": [round(t, 1) for t in times["with"]],
        "index_s_without": [round(t, 1) for t in times["without"]],
        "ratio_min": round(min(times["with"]) / min(times["without"]), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=40)
    parser.add_argument("--indexing", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # in a fresh process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(speed(args.measure, args.pictures)))
        return
    work = Path(tempfile.mkdtemp(prefix="trove-vit-b32-"))
    try:
        model = build_vit_b32(work / "clip-vit-b32-random")
        # Loading and memory are measured in a process that has loaded nothing yet.
        command = [sys.executable, "-m", "benchmarks.picture_model", "--measure", str(model)]
        command += ["--pictures", str(args.pictures)]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        if args.indexing:
            figures["indexing"] = indexing(model, args.repeats)
        print(json.dumps(figures, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
