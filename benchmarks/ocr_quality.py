"""How well Trove reads pictures: character accuracy of OCR, and whether a paraphrase
finds each picture first once indexed.

Known sentences are drawn with Pillow into pictures (fonts at 10 to 28 px, slight
rotation, JPEG noise, a two-column page, a dark photo-like background) and into
scanned-style PDFs (pages that are pictures only), in a new folder. Each is read by
Trove's OCR and compared with what was drawn; then the folder is indexed through Trove's
own command line and each file's paraphrase is searched for.

    .venv/bin/python -m benchmarks.ocr_quality [--keep DIR]
    .venv/bin/python -m benchmarks.ocr_quality --indexing [--copies 5]

Prints one JSON line per file and a summary: mean and minimum character accuracy, words
merged (a space lost between two words), seconds per picture, and how many paraphrases
rank their file first.

``--indexing`` instead indexes a folder where one file in ten is a picture (the sample
folder COPIES times, each file with a line of its own, plus as many of the pictures above)
through `trove index`, with OCR on and with OCR off, alternately, REPEATS times each, and
prints the times.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from core.extract.registry import Registry

FONT_FOLDERS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONT_FILES = (
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSans.ttf",
    "LiberationSerif-Regular.ttf",
)


@dataclass(frozen=True)
class Picture:
    name: str  # file name, with the extension that says how it is saved
    lines: tuple[str, ...]
    query: str  # a paraphrase: shares few words with the lines
    size: int = 22  # text height in pixels
    rotate: float = 0.0
    quality: int = 90  # JPEG quality
    font: int = 0  # which font: 0 is Pillow's own, others from FONT_FILES when present
    dark: bool = False  # light text on a dark, blurred background
    columns: tuple[tuple[str, ...], tuple[str, ...]] | None = None


PICTURES = (
    Picture(
        "receipt.jpg",
        (
            "ACME Hardware Store, 12 Market Street",
            "Garden hose 25 m 34.50",
            "Brass nozzle 12.00",
            "Amount paid: 46.50 by card",
        ),
        "how much did the watering equipment cost",
        size=20,
        rotate=1.5,
        quality=55,
    ),
    Picture(
        "dentist_letter.png",
        (
            "Dear Ms Alvarez,",
            "your dental check-up has been moved to Thursday 9 May at 3 pm.",
            "Please bring your insurance card.",
        ),
        "when is my teeth appointment",
        size=18,
        font=1,
    ),
    Picture(
        "flight_screenshot.png",
        ("Boarding pass", "Flight LH 1234 to Lisbon departs at 07:45 from gate B12", "Seat 14C"),
        "what time does the plane to Portugal leave",
        size=16,
        font=3,
    ),
    Picture(
        "bread_recipe.jpg",
        (
            "Sourdough loaf",
            "Bake at 230 degrees for forty minutes,",
            "then leave it to cool on a rack.",
        ),
        "oven temperature for baking bread",
        size=26,
        rotate=-2.0,
        quality=70,
        font=2,
    ),
    Picture(
        "pool_notice.webp",
        (
            "NOTICE",
            "The swimming pool is closed for maintenance until 3 June.",
            "We apologise for the inconvenience.",
        ),
        "when can I go for a swim again",
        size=28,
        dark=True,
    ),
    Picture(
        "parking_permit.png",
        ("Residents parking permit number 5521", "Valid until 31 December for zone K"),
        "car park pass expiry date",
        size=11,
    ),
    Picture(
        "vaccination_card.jpg",
        (
            "Vaccination record",
            "Tetanus booster given on 4 October 2021",
            "Next dose due in ten years",
        ),
        "when was my last tetanus jab",
        size=14,
        rotate=3.0,
        quality=35,
        font=1,
    ),
    Picture(
        "library_slip.jpg",
        (
            "Central Library",
            "Three books borrowed on 2 March are due back on 23 March.",
            "Renew online or at the front desk.",
        ),
        "return date for the loaned novels",
        size=10,
        rotate=-4.0,
        quality=40,
        font=2,
    ),
    Picture(
        "newsletter_page.png",
        (),
        "how often should I lubricate my bike",
        size=15,
        columns=(
            (
                "Cycling club news",
                "Oil the bicycle chain once a month",
                "and after every rainy ride.",
                "Check the tyre pressure weekly.",
            ),
            (
                "Garden corner",
                "Tomato plants want six hours",
                "of direct sun and deep watering",
                "twice a week in summer.",
            ),
        ),
    ),
    Picture(
        "boiler_scan.pdf",
        (
            "Service agreement",
            "The boiler must be serviced every twelve months.",
            "Call Harmon Heating on 0161 555 0192 to book a visit.",
        ),
        "yearly heater inspection",
        size=20,
        rotate=0.8,
        quality=60,
        font=1,
    ),
    Picture(
        "insurance_scan.pdf",
        (
            "Claim reference 77-AX-310",
            "Water damage in the kitchen after the pipe burst",
            "was assessed on 2 February.",
        ),
        "kitchen flood claim number",
        size=17,
    ),
)


def fonts() -> list[Path]:
    found = []
    for name in FONT_FILES:
        for folder in FONT_FOLDERS:
            if (Path(folder) / name).is_file():
                found.append(Path(folder) / name)
                break
    return found


def _font(choice: int, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    available = fonts()
    if choice == 0 or not available:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(available[(choice - 1) % len(available)]), size)


def draw(picture: Picture, seed: int = 1) -> Image.Image:
    """The picture as a scanner or a phone would have taken it."""
    rng = random.Random(f"{seed}-{picture.name}")
    font = _font(picture.font, picture.size)
    width, height = 1400, 1000
    background, ink = ("#202830", "#f0f0e8") if picture.dark else ("#fbfaf6", "#111111")
    image = Image.new("RGB", (width, height), background)
    pen = ImageDraw.Draw(image)
    if picture.dark:  # a photo-like backdrop: blotches, blurred
        for _ in range(40):
            x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(20, 120)
            shade = rng.randrange(20, 70)
            pen.ellipse((x - r, y - r, x + r, y + r), fill=(shade, shade + 8, shade + 16))
        image = image.filter(ImageFilter.GaussianBlur(6))
        pen = ImageDraw.Draw(image)
    step = int(picture.size * 2.2)
    if picture.columns is None:
        for row, line in enumerate(picture.lines):
            pen.text((90, 80 + row * step), line, fill=ink, font=font)
    else:
        for column, lines in enumerate(picture.columns):
            for row, line in enumerate(lines):
                pen.text((90 + column * 640, 80 + row * step), line, fill=ink, font=font)
    if picture.rotate:
        image = image.rotate(
            picture.rotate, resample=Image.Resampling.BICUBIC, fillcolor=background
        )
    return image


def save(picture: Picture, folder: Path, seed: int = 1) -> Path:
    path = folder / picture.name
    image = draw(picture, seed)
    if path.suffix in (".jpg", ".pdf"):
        # Through JPEG first: a scan's or a phone's compression noise.
        jpeg = folder / f".{picture.name}.jpg"
        image.save(jpeg, quality=picture.quality)
        image = Image.open(jpeg).convert("RGB")
        jpeg.unlink()
    if path.suffix == ".pdf":
        image.save(path, resolution=150.0)  # a page that is one picture, as a scanner makes
    else:
        image.save(path, quality=picture.quality) if path.suffix == ".jpg" else image.save(path)
    return path


def truth(picture: Picture) -> str:
    if picture.columns is not None:
        return " ".join(" ".join(lines) for lines in picture.columns)
    return " ".join(picture.lines)


def accuracy(read: str, expected: str) -> float:
    """1 - edit distance / length, on text with white space made single spaces."""
    a, b = " ".join(read.split()), " ".join(expected.split())
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return max(0.0, 1.0 - previous[-1] / max(len(b), 1))


def merged_words(read: str, expected: str) -> int:
    """Pairs of neighbouring words drawn apart that OCR read as one."""
    got = set(read.split())
    words = expected.split()
    return sum(1 for a, b in itertools.pairwise(words) if a + b in got)


def read_text(registry: Registry, path: Path) -> tuple[str, float]:
    started = time.perf_counter()
    document = registry.extract(path, 10**9)
    elapsed = time.perf_counter() - started
    text = " ".join(p.text for p in document.pieces if p.location != "picture")
    return text, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="make the pictures in DIR and keep them")
    parser.add_argument("--indexing", action="store_true", help="time indexing, OCR on and off")
    parser.add_argument("--copies", type=int, default=5, help="copies of the sample folder")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.indexing:
        return indexing(args.copies, args.repeats)
    root = args.keep or Path(tempfile.mkdtemp(prefix="trove-ocr-"))
    folder = root / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [save(picture, folder) for picture in PICTURES]
    registry = Registry.default()
    read_text(registry, paths[0])  # the models load once, not in the first file's time
    rows = []
    for picture, path in zip(PICTURES, paths, strict=True):
        text, seconds = read_text(registry, path)
        rows.append(
            {
                "file": picture.name,
                "accuracy": round(accuracy(text, truth(picture)), 4),
                "merged": merged_words(text, truth(picture)),
                "seconds": round(seconds, 2),
                "read": text,
            }
        )
    ranks = _ranks(root, folder)
    for row, picture in zip(rows, PICTURES, strict=True):
        row["rank"] = ranks.get(picture.name)
        print(json.dumps(row))
    scores = [r["accuracy"] for r in rows]
    print(
        json.dumps(
            {
                "files": len(rows),
                "fonts": 1 + len(fonts()),
                "accuracy_mean": round(statistics.mean(scores), 4),
                "accuracy_min": round(min(scores), 4),
                "merged_words": sum(r["merged"] for r in rows),
                "seconds_median": round(statistics.median(r["seconds"] for r in rows), 2),
                "seconds_max": round(max(r["seconds"] for r in rows), 2),
                "found_first": sum(1 for r in rows if r["rank"] == 1),
            }
        )
    )


def mixed_folder(root: Path, copies: int) -> tuple[Path, int]:
    """The sample folder ``copies`` times over, each file with a line of its own (so no
    copy is taken for a copy and costs nothing), and one picture for every nine of them:
    the folder, and how many pictures it holds."""
    import shutil

    folder = root / "mixed"
    sample = Path(__file__).resolve().parents[1] / "resources" / "sample"
    for copy in range(copies):
        shutil.copytree(sample, folder / f"copy{copy}")
        for path in (folder / f"copy{copy}").iterdir():
            with path.open("a", encoding="utf-8") as text:
                text.write(f"\n\nFiled as copy {copy} of {path.name}.\n")
    texts = sum(1 for p in folder.rglob("*") if p.is_file())
    pictures = folder / "pictures"
    pictures.mkdir()
    for number in range(max(1, texts // 9)):
        path = save(PICTURES[number % len(PICTURES)], pictures, seed=number)
        path.rename(path.with_name(f"{number:02}-{path.name}"))
    return folder, max(1, texts // 9)


def index_seconds(home: Path, folder: Path, settings: dict[str, object]) -> float:
    """Seconds ``trove index`` takes over ``folder`` in a new home with ``settings``."""
    import shutil

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    (home / "settings.json").write_text(json.dumps({"version": 1, **settings}))
    env = {**os.environ, "TROVE_HOME": str(home)}
    trove = [sys.executable, "-m", "core.cli"]
    subprocess.run([*trove, "add", str(folder)], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run([*trove, "index"], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def indexing(copies: int, repeats: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="trove-ocr-index-"))
    folder, pictures = mixed_folder(root, copies)
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(repeats):
        for ocr in (True, False):
            times[ocr].append(index_seconds(root / f"home-{ocr}", folder, {"ocr": ocr}))
    on, off = min(times[True]), min(times[False])
    print(
        json.dumps(
            {
                "files": files,
                "pictures": pictures,
                "index_s_ocr_on": [round(t, 1) for t in times[True]],
                "index_s_ocr_off": [round(t, 1) for t in times[False]],
                "ratio_min": round(on / off, 2),
            }
        )
    )


def _ranks(root: Path, folder: Path) -> dict[str, int | None]:
    """Each picture's rank for its paraphrase, searched through `trove`."""
    env = {**os.environ, "TROVE_HOME": str(root / "home")}
    trove = [sys.executable, "-m", "core.cli"]
    for command in (["add", str(folder)], ["index"]):
        subprocess.run([*trove, *command], env=env, check=True, capture_output=True)
    ranks: dict[str, int | None] = {}
    for picture in PICTURES:
        done = subprocess.run(
            [*trove, "search", picture.query, "--json", "--all", "--limit", "10"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        names = [Path(r["path"]).name for r in json.loads(done.stdout)]
        ranks[picture.name] = names.index(picture.name) + 1 if picture.name in names else None
    return ranks


if __name__ == "__main__":
    main()
