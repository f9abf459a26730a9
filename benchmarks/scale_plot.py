"""Query latency against index size, drawn as an SVG for docs/benchmarks.md.

    .venv/bin/python -m benchmarks.scale_plot                      # 10k, 100k, 1M passages
    .venv/bin/python -m benchmarks.scale_plot --sizes 10000 100000 --save /tmp/scale.jsonl
    .venv/bin/python -m benchmarks.scale_plot --load /tmp/scale.jsonl   # redraw only

Runs ``benchmarks.scale`` once per size (its cached indexes are reused; other options
after ``--`` are passed on to it), then draws p50 (solid) and p95 (dashed) of plain
search, of each filter, of "similar" and of plain search with the query vector known
(no model), with numpy's exact brute force for reference, on log-scaled axes, into
``--out`` (docs/scale.svg).  Drawn with plain SVG text, no plotting library.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 760, 460
PLOT = (70, 50, 560, 400)  # left, top, right, bottom of the plotting area
Record = dict[str, Any]
DASHES = {"p50": "", "p95": "6 4", "exact": "2 3"}


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    colour: str
    dash: str  # SVG stroke-dasharray; "" for a solid line
    points: list[tuple[float, float]]  # (passages, milliseconds)


@dataclass(frozen=True, slots=True)
class LogScale:
    """Maps [low, high] (decades) onto [start, end] pixels, logarithmically."""

    low: float
    high: float
    start: float
    end: float

    @classmethod
    def around(cls, values: Sequence[float], start: float, end: float) -> LogScale:
        """A scale from the 1-2-5 step at or below the least value to the one at or above
        the greatest."""
        decade = 10.0 ** math.floor(math.log10(min(values)))
        steps = [step * decade * 10**k for k in range(12) for step in (1, 2, 5)]
        low = max(s for s in steps if s <= min(values))
        high = min(s for s in steps if s >= max(values))
        return cls(low, high if high > low else low * 2, start, end)

    def __call__(self, value: float) -> float:
        share = math.log10(value / self.low) / math.log10(self.high / self.low)
        return self.start + share * (self.end - self.start)

    def ticks(self, steps: Sequence[int] = (1, 2, 5)) -> list[float]:
        decades = range(round(math.log10(self.low)), round(math.log10(self.high)) + 1)
        found = [step * 10.0**d for d in decades for step in steps]
        return [t for t in found if self.low <= t <= self.high]


# -- figures -------------------------------------------------------------------------

LINES: list[tuple[str, str, Callable[[Record, str], float]]] = [
    ("plain search", "#1f77b4", lambda r, p: r[f"{p}_ms"]),
    ("type filter", "#ff7f0e", lambda r, p: r["filtered"]["type"][f"{p}_ms"]),
    ("folder filter", "#2ca02c", lambda r, p: r["filtered"]["folder"][f"{p}_ms"]),
    ("date filter", "#d62728", lambda r, p: r["filtered"]["date"][f"{p}_ms"]),
    ("similar", "#9467bd", lambda r, p: r[f"similar_{p}_ms"]),
    ("plain, no model", "#17becf", lambda r, p: r[f"no_embed_{p}_ms"]),
]


def series(records: Sequence[Record]) -> list[Series]:
    ordered = sorted(records, key=lambda r: r["passages"])
    drawn = [
        Series(f"{label} {p}", colour, DASHES[p], [(r["passages"], pick(r, p)) for r in ordered])
        for label, colour, pick in LINES
        for p in ("p50", "p95")
    ]
    exact = [(r["passages"], max(r["numpy_exact_ms"], 0.1)) for r in ordered]
    return [*drawn, Series("numpy exact p50", "#7f7f7f", DASHES["exact"], exact)]


def run_scale(size: int, extra: Sequence[str]) -> Record:
    command = [sys.executable, "-m", "benchmarks.scale", "--passages", str(size), *extra]
    print(f"$ {' '.join(command)}", file=sys.stderr, flush=True)
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, check=True)
    record: Record = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(record), flush=True)
    return record


# -- drawing -------------------------------------------------------------------------


def size_label(value: float) -> str:
    for divisor, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= divisor:
            return f"{value / divisor:g}{suffix}"
    return f"{value:g}"


def ms_label(value: float) -> str:
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


def text(x: float, y: float, content: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(content)}</text>'


def line(x1: float, y1: float, x2: float, y2: float, style: str) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style}/>'


def grid(xs: LogScale, ys: LogScale) -> list[str]:
    left, top, right, bottom = PLOT
    style = 'stroke="#ddd"'
    parts = []
    for tick in xs.ticks(steps=(1,)):
        parts.append(line(xs(tick), top, xs(tick), bottom, style))
        parts.append(text(xs(tick), bottom + 18, size_label(tick)))
    for tick in ys.ticks():
        parts.append(line(left, ys(tick), right, ys(tick), style))
        parts.append(text(left - 6, ys(tick) + 4, ms_label(tick), "end"))
    parts.append(
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'fill="none" stroke="#444"/>'
    )
    parts.append(text((left + right) / 2, bottom + 40, "passages in the index (log scale)"))
    label_y = (top + bottom) / 2
    rotate = f' transform="rotate(-90 18 {label_y:.1f})"'
    parts.append(text(18, label_y, "latency per query (log scale)", extra=rotate))
    return parts


def polyline(drawn: Series, xs: LogScale, ys: LogScale) -> list[str]:
    points = " ".join(f"{xs(x):.1f},{ys(y):.1f}" for x, y in drawn.points)
    dash = f' stroke-dasharray="{drawn.dash}"' if drawn.dash else ""
    style = f'fill="none" stroke="{drawn.colour}" stroke-width="2"{dash}'
    marks = [
        f'<circle cx="{xs(x):.1f}" cy="{ys(y):.1f}" r="3" fill="{drawn.colour}"/>'
        for x, y in drawn.points
    ]
    return [f'<polyline points="{points}" {style}/>', *marks]


def legend(drawn: Sequence[Series]) -> list[str]:
    x, y = PLOT[2] + 20, PLOT[1] + 10
    parts = []
    for row, entry in enumerate(drawn):
        top = y + row * 20
        dash = f' stroke-dasharray="{entry.dash}"' if entry.dash else ""
        style = f'stroke="{entry.colour}" stroke-width="2"{dash}'
        parts.append(line(x, top, x + 28, top, style))
        parts.append(text(x + 36, top + 4, entry.label, "start"))
    return parts


def caption(records: Sequence[Record]) -> str:
    """What the lines are, and how busy the machine was: the figures depend on it."""
    loads = ", ".join(
        f"{r.get('load_1m', float('nan')):.1f} at {size_label(r['passages'])}"
        for r in sorted(records, key=lambda r: r["passages"])
    )
    return f"solid: p50, dashed: p95; one-minute load average while measured: {loads}"


def svg(drawn: Sequence[Series], title: str, note: str) -> str:
    xs = LogScale.around([x for s in drawn for x, _ in s.points], PLOT[0] + 20, PLOT[2] - 20)
    ys = LogScale.around([y for s in drawn for _, y in s.points], PLOT[3], PLOT[1])
    body = [
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        text(WIDTH / 2, 24, title, extra=' font-size="16"'),
        text(WIDTH / 2, 40, note, extra=' font-size="11" fill="#555"'),
        *grid(xs, ys),
        *(part for s in drawn for part in polyline(s, xs, ys)),
        *legend(drawn),
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">\n'
        + "\n".join(body)
        + "\n</svg>\n"
    )


# -- command line --------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "scale.svg")
    parser.add_argument("--save", type=Path, help="also write the JSON lines measured here")
    parser.add_argument("--load", type=Path, help="draw these JSON lines; measure nothing")
    parser.add_argument("--title", default="Trove search latency against index size")
    args, extra = parser.parse_known_args(argv)
    return args, [part for part in extra if part != "--"]


def main(argv: Sequence[str] | None = None) -> None:
    args, extra = parse_args(argv)
    if args.load:
        lines = args.load.read_text("utf-8").splitlines()
        records = [json.loads(row) for row in lines if row.strip()]
    else:
        records = [run_scale(size, extra) for size in args.sizes]
    if args.save:
        args.save.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    args.out.write_text(svg(series(records), args.title, caption(records)), "utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
