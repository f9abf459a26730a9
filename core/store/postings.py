"""The keyword copy's postings (core.store.words): how they are laid out, built and saved.

For each word, its passages in ascending order and how often the word is in each (the
title's words counted ``title_weight`` times, as search weighs that column).  A posting
takes 3 bytes: a passage id's low 16 bits (its high bits follow from how many of the word's
postings fall in each block of 65,536 ids) and one byte: the count in 7 bits, capped where
bm25 has long stopped growing, and whether the word is in the text, not only the title.

A copy is built straight into its saved file, never whole in memory.  The passages are read
in order of id, a block of ids at a time, tokenised with FTS5's own tokenizer; each block's
postings are sorted by word and appended to a scratch file beside the index, in the 3 bytes
they keep.  The saved copy is then written a range of words at a time, each word's postings
gathered from every block in turn.  So the build holds one block and one range of words,
whatever the size of the index; sorting all postings as one array, as it did before, raised
the building process's peak by 2 GB at a million passages.  The search process then reads
the postings from the saved file (``Postings.from_saved``).
"""

from __future__ import annotations

import itertools
import os
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import apsw
import numpy as np

from core.paths import create_private_file, remove_abandoned
from core.store.connection import Row, fetch_all, snapshot
from core.store.keywords import fts_title
from core.store.mirror import index_id, latest_change
from core.store.saved import FileRows, SavedArrays
from core.store.texts import BATCH, Texts
from core.terms import Terms

FORMAT = 2
K1, B = 1.2, 0.75  # FTS5's bm25 constants
BLOCK_BITS = 16
BLOCK_MASK = (1 << BLOCK_BITS) - 1
CODE_BITS = 8  # a posting's count code, below its passage's low bits when sorting a block
WORD_SHIFT = BLOCK_BITS + CODE_BITS  # a word's number, above both
MAX_COUNT = 127  # counts keep 7 bits; the 8th says whether the word is in the text column
IN_TEXT = 128
MAX_PASSAGE = (1 << 31) - 1
READ_PASSAGES = 4_096  # passages read and tokenised at a time
WRITE_POSTINGS = 1 << 21  # postings gathered at a time when writing the saved copy
# Postings of the words read last, kept (9 bytes each, 36 MB at most): a query reads its
# words twice, to score passages and then to tell which candidates' text holds them.
RECENT_POSTINGS = 1 << 22


@dataclass(frozen=True, slots=True)
class Passage:
    """One passage's words as the keyword index holds them."""

    file: int
    counts: dict[str, float]  # each word's count, the title's ``title_weight`` times
    in_text: frozenset[str]  # the words of its text column (not only of the title)
    length: int  # tokens in both columns


@dataclass(slots=True)
class Postings:
    """One build of the copy, as saved: immutable.  The postings stay in the saved file
    and are read a word at a time (in memory where a file cannot be kept open).  Not safe
    for several threads at once: its owner (``WordCopy``) holds a lock."""

    words: dict[str, int]  # word -> its number
    starts: np.ndarray  # int64 (words + 1): where each word's postings begin
    blocks: np.ndarray | FileRows  # int32 (words, blocks): a word's postings in each block
    low: np.ndarray | FileRows  # uint16: passage id's low bits, by word, ascending
    counts: np.ndarray | FileRows  # uint8: weighted count of the word in the passage
    norm: np.ndarray  # float32 by passage id: bm25's length normalisation
    file_of: np.ndarray  # int64 by passage id: its file (-1: no such passage)
    passages: int
    average: float  # tokens a passage, on average
    seq: int  # the last logged change it reflects
    index: str  # the index it was built from (meta index_id)
    title_weight: float
    recent: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=OrderedDict)
    recent_postings: int = 0

    def postings(self, word: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, count codes) of the word's postings, read-only."""
        held = self.recent.get(word)
        if held is not None:
            self.recent.move_to_end(word)
            return held
        first, last = self.starts[word], self.starts[word + 1]
        bases = np.arange(self.blocks.shape[1], dtype=np.int64) << BLOCK_BITS
        ids = np.repeat(bases, self.blocks[word]) | self.low[first:last]
        codes = self.counts[first:last]
        ids.flags.writeable = codes.flags.writeable = False
        if len(ids) <= RECENT_POSTINGS:
            self.recent[word] = (ids, codes)
            self.recent_postings += len(ids)
            while self.recent_postings > RECENT_POSTINGS:
                self.recent_postings -= len(self.recent.popitem(last=False)[1][0])
        return ids, codes

    def ids(self, word: int) -> np.ndarray:
        return self.postings(word)[0]

    def counts_of(self, word: int) -> np.ndarray:
        """The word's weighted count in each of its passages, as floats."""
        return (self.postings(word)[1] & MAX_COUNT).astype(np.float32)

    def in_text(self, word: str, passages: np.ndarray) -> np.ndarray:
        """For each of ``passages`` (ids), whether its text column holds ``word``."""
        number = self.words.get(word)
        if number is None or len(passages) == 0:
            return np.zeros(len(passages), dtype=bool)
        ids, codes = self.postings(number)
        at = np.minimum(np.searchsorted(ids, passages), len(ids) - 1)
        held: np.ndarray = (ids[at] == passages) & (codes[at] & IN_TEXT != 0)
        return held

    def found_in(self, word: str) -> int:
        number = self.words.get(word)
        return 0 if number is None else int(self.starts[number + 1] - self.starts[number])

    @classmethod
    def from_saved(cls, saved: SavedArrays) -> Postings | None:
        """The postings ``write_copy`` saved, or None if saved in another format."""
        fmt, passages, seq = (int(v) for v in saved.read("meta"))
        if fmt != FORMAT:
            return None
        average, title_weight = (float(v) for v in saved.read("floats"))
        words = {str(word): number for number, word in enumerate(saved.read("words"))}
        return cls(
            words,
            saved.read("starts"),
            saved.rows("blocks"),
            saved.rows("low"),
            saved.rows("counts"),
            saved.read("norm"),
            saved.read("file_of"),
            passages,
            average,
            seq,
            str(saved.read("index")[0]),
            title_weight,
        )


class Tokens:
    """Passages' words as FTS5 puts them in its index (the same tokenizer, the same
    title), counted: the title's words ``title_weight`` times."""

    def __init__(self, conn: apsw.Connection, title_weight: float) -> None:
        self.conn = conn
        self.title_weight = title_weight
        self._terms = Terms(conn)

    def counted(self, file_id: int, title: str, text: str) -> Passage:
        tokens = self._terms.document_tokens
        in_title, in_text = Counter(tokens(title)), Counter(tokens(text))
        counts = {word: float(n) for word, n in in_text.items()}
        for word, n in in_title.items():
            counts[word] = counts.get(word, 0.0) + self.title_weight * n
        return Passage(file_id, counts, frozenset(in_text), in_title.total() + in_text.total())

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        """The words of each passage still in the index, by id."""
        found: dict[int, Passage] = {}
        texts = Texts(self.conn).passages(ids)
        for start in range(0, len(ids), BATCH):
            part = list(ids[start : start + BATCH])
            rows = fetch_all(
                self.conn,
                "SELECT c.id, c.file_id, f.name, f.title FROM chunks c "
                f"JOIN files f ON f.id = c.file_id WHERE c.id IN ({','.join('?' * len(part))})",
                part,
            )
            for chunk, file_id, name, title in rows:
                title_column = fts_title(str(name), title)
                found[int(chunk)] = self.counted(int(file_id), title_column, texts[int(chunk)])
        return found

    def titles(self, file_ids: set[int]) -> dict[int, str]:
        """The title column FTS5 holds for each file."""
        ids, titles = sorted(file_ids), {}
        for start in range(0, len(ids), BATCH):
            part = ids[start : start + BATCH]
            for file_id, name, title in self.conn.execute(
                f"SELECT id, name, title FROM files WHERE id IN ({','.join('?' * len(part))})",
                part,
            ):
                titles[int(file_id)] = fts_title(str(name), title)
        return titles


def write_copy(conn: apsw.Connection, title_weight: float, path: Path) -> None:
    """Build the copy of the index ``conn`` reads, inside one read snapshot, and save it at
    ``path`` (as private as the index), replacing any copy there."""
    remove_abandoned(path)
    scratch = path.with_name(f"{path.name}.{os.getpid()}.runs")
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        create_private_file(scratch)
        with open(scratch, "w+b") as runs:
            builder = _Builder(conn, title_weight, runs)
            with snapshot(conn):
                builder.read()
            create_private_file(temporary)
            builder.save(temporary)
        os.replace(temporary, path)
    finally:
        scratch.unlink(missing_ok=True)
        temporary.unlink(missing_ok=True)


@dataclass(slots=True)
class _Run:
    """One block's postings in the scratch file: by word, then passage."""

    block: int
    words: np.ndarray  # int64: the words with postings in the block, ascending
    counts: np.ndarray  # int64: how many each has
    offset: int  # of the block's low bits in the scratch file; its count codes follow
    begins: np.ndarray = field(init=False)  # where each word's postings begin in the run
    size: int = field(init=False)  # postings in all

    def __post_init__(self) -> None:
        self.begins = np.cumsum(self.counts) - self.counts
        self.size = int(self.counts.sum())


class _Builder:
    def __init__(self, conn: apsw.Connection, title_weight: float, runs: IO[bytes]) -> None:
        self.conn = conn
        self.title_weight = title_weight
        self.runs = runs
        self.tokens = Tokens(conn, title_weight)
        self.texts = Texts(conn)
        self.words: dict[str, int] = {}
        self.blocks: list[_Run] = []
        self.held: list[np.ndarray] = []  # (passage, file, tokens) rows
        self.seq, self.index = -1, ""

    def read(self) -> None:
        """Every passage's postings into the scratch file, a block of ids at a time (call
        inside a read snapshot)."""
        self.seq, self.index = latest_change(self.conn), index_id(self.conn)
        block, last = -1, -1
        keys: list[np.ndarray] = []
        while spans := fetch_all(
            self.conn,
            "SELECT id, file_id, start, end FROM chunks WHERE id > ? ORDER BY id LIMIT ?",
            (last, READ_PASSAGES),
        ):
            last = int(spans[-1][0])
            if last > MAX_PASSAGE:
                raise ValueError("too many passages for the keyword copy")
            for number, group in itertools.groupby(spans, key=lambda s: int(s[0]) >> BLOCK_BITS):
                if number != block:
                    self._add_block(block, keys)
                    block, keys = number, []
                keys.append(self._keys(list(group)))
        self._add_block(block, keys)
        self.runs.flush()

    def _keys(self, spans: list[Row]) -> np.ndarray:
        """The postings of some passages of one block, each as one int64 for sorting: word
        number, then the passage's low bits, then its count code."""
        file_ids = {int(row[1]) for row in spans}
        titles, documents = self.tokens.titles(file_ids), self.texts.documents(file_ids)
        numbers: list[int] = []
        low: list[int] = []
        counts: list[float] = []
        flags: list[bool] = []
        held = np.empty((len(spans), 3), dtype=np.int64)
        for row, (chunk, file_id, begin, end) in enumerate(spans):
            text = documents.get(int(file_id), "")[int(begin) : int(end)]
            passage = self.tokens.counted(int(file_id), titles.get(int(file_id), ""), text)
            held[row] = int(chunk), int(file_id), passage.length
            bits = int(chunk) & BLOCK_MASK
            for word, n in passage.counts.items():
                numbers.append(self.words.setdefault(word, len(self.words)))
                low.append(bits)
                counts.append(n)
                flags.append(word in passage.in_text)
        self.held.append(held)
        key = np.array(numbers, dtype=np.int64) << WORD_SHIFT
        key |= np.array(low, dtype=np.int64) << CODE_BITS
        key |= _codes(counts, flags).astype(np.int64)
        return key

    def _add_block(self, block: int, keys: list[np.ndarray]) -> None:
        if block < 0:
            return
        key = np.concatenate(keys)
        key.sort()
        words = key >> WORD_SHIFT
        firsts = np.flatnonzero(np.diff(words, prepend=-1))
        counts = np.diff(firsts, append=len(key))
        offset = self.runs.seek(0, os.SEEK_END)
        self.runs.write(((key >> CODE_BITS) & BLOCK_MASK).astype(np.uint16).tobytes())
        self.runs.write((key & ((1 << CODE_BITS) - 1)).astype(np.uint8).tobytes())
        self.blocks.append(_Run(block, words[firsts], counts, offset))

    def save(self, path: Path) -> None:
        """Write the copy as ``numpy.savez`` would, the postings a range of words at a time."""
        table = np.concatenate(self.held) if self.held else np.zeros((0, 3), dtype=np.int64)
        size = int(table[:, 0].max()) + 1 if len(table) else 0
        blocks = np.zeros((len(self.words), (size >> BLOCK_BITS) + 1), dtype=np.int32)
        for run in self.blocks:
            blocks[run.words, run.block] = run.counts
        starts = np.zeros(len(self.words) + 1, dtype=np.int64)
        np.cumsum(blocks.sum(axis=1, dtype=np.int64), out=starts[1:])
        before = np.cumsum(blocks, axis=1, dtype=np.int64) - blocks  # in earlier blocks
        average = float(table[:, 2].mean()) if len(table) else 1.0
        norm = np.zeros(size, dtype=np.float32)
        file_of = np.full(size, -1, dtype=np.int64)
        norm[table[:, 0]] = K1 * (1 - B + B * table[:, 2] / max(average, 1e-9))
        file_of[table[:, 0]] = table[:, 1]
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            small = {
                "words": np.array(list(self.words), dtype=str),
                "starts": starts,
                "blocks": blocks,
                "norm": norm,
                "file_of": file_of,
                "meta": np.array([FORMAT, len(table), self.seq], dtype=np.int64),
                "floats": np.array([average, self.title_weight], dtype=np.float64),
                "index": np.array([self.index]),
            }
            for name, array in small.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, array, allow_pickle=False)
            for name, dtype in (("low", np.dtype(np.uint16)), ("counts", np.dtype(np.uint8))):
                with archive.open(f"{name}.npy", "w", force_zip64=True) as out:
                    shape = (int(starts[-1]),)
                    header = {"descr": dtype.str, "fortran_order": False, "shape": shape}
                    np.lib.format.write_array_header_1_0(out, header)
                    for first, last in _word_ranges(starts):
                        out.write(self._gathered(name, dtype, starts, before, first, last))

    def _gathered(
        self,
        name: str,
        dtype: np.dtype,
        starts: np.ndarray,
        before: np.ndarray,
        first: int,
        last: int,
    ) -> bytes:
        """The low bits or count codes of words ``first`` to ``last`` (excluded), by word,
        each word's from every block in turn."""
        out = np.empty(int(starts[last] - starts[first]), dtype=dtype)
        for run in self.blocks:
            begin, end = np.searchsorted(run.words, [first, last])
            if begin == end:
                continue
            words, counts = run.words[begin:end], run.counts[begin:end]
            begins = run.begins[begin:end]
            size = int(counts.sum())
            start = run.offset + (2 * run.size if name == "counts" else 0)
            self.runs.seek(start + int(begins[0]) * dtype.itemsize)
            data = np.frombuffer(self.runs.read(size * dtype.itemsize), dtype=dtype)
            if len(data) != size:
                raise OSError("the keyword copy's scratch file ends early")
            # A word's postings go after its postings in earlier blocks.
            to = starts[words] - starts[first] + before[words, run.block]
            out[np.repeat(to - (begins - begins[0]), counts) + np.arange(size)] = data
        return out.tobytes()


def _word_ranges(starts: np.ndarray) -> list[tuple[int, int]]:
    """Ranges of words with about ``WRITE_POSTINGS`` postings each (a word with more, alone)."""
    ranges, first, words = [], 0, len(starts) - 1
    while first < words:
        last = int(np.searchsorted(starts, starts[first] + WRITE_POSTINGS, side="right")) - 1
        last = min(max(last, first + 1), words)
        ranges.append((first, last))
        first = last
    return ranges


def _codes(counts: list[float], in_text: list[bool]) -> np.ndarray:
    """Counts as one byte each: 7 bits of count, and IN_TEXT where the word is in the text."""
    capped = np.minimum(np.rint(np.array(counts, dtype=np.float64)), MAX_COUNT).astype(np.uint8)
    flags = np.array(in_text, dtype=bool).astype(np.uint8) * np.uint8(IN_TEXT)
    codes: np.ndarray = capped | flags
    return codes
