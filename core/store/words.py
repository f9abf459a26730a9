"""The passages' words in memory: bm25 over postings held in numpy, kept in step with SQLite.

FTS5 ranks a query of everyday words by scoring every passage that holds any of them, two
thirds of the index: 45 ms at 100,000 passages and 443 ms at a million on two cores.  This
copy holds the same postings (each word's passages, and how often the word is in each,
the title counted ``title_weight`` times) and scores them a word at a time in numpy: about
2 ms and 20 ms, with the same best passages (``benchmarks/keyword_side.py``).  A posting
takes 3 bytes: a passage id's low 16 bits (its high bits follow from how many of the word's
postings fall in each block of 65,536 ids) and one byte: the count in 7 bits, capped where
bm25 has long stopped growing, and whether the word is in the text, not only the title.

SQLite stays the source of truth, and FTS5 answers whenever the copy cannot:

- The copy is built on a thread of its own, from the texts, with FTS5's own tokenizer;
  searches use FTS5 meanwhile.  Only an index of ``MIN_PASSAGES`` or more gets one (at
  10,000 passages it took a query from 116 ms to 32-45 ms, built in 1.4 s); a smaller one
  is not rebuilt again and again while its folders are first indexed.  The copy is saved
  beside the index (``<index>-words``, as private as the index), so the next process
  loads it instead.
- It follows the log of passage changes that the vector copy follows (``vector_changes``):
  a passage removed is masked out, one added (or retitled: a moved file's passages are
  logged again) is read and tokenised into a small overlay.
- Rarity and passage length stay those of the build.  Once a tenth of the passages have
  changed, the copy is built again (it still answers meanwhile); if the log no longer
  reaches back to it, or it belongs to another index, it stops answering until rebuilt.
- Only queries whose every word is one token go through it: FTS5 matches a word the
  tokenizer splits ("e_mail") as a phrase, which postings cannot check.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw
import numpy as np

from core.paths import create_private_file
from core.store.connection import connect, fetch_all, snapshot
from core.store.keywords import fts_title
from core.store.mirror import index_id, latest_change, log_start
from core.store.saved import SavedArrays
from core.store.texts import BATCH, Texts
from core.terms import Terms

log = logging.getLogger(__name__)

WORD_COPY = "-words"  # the saved copy's name: the index file's, with this added
FORMAT = 2
MIN_PASSAGES = 5_000
K1, B = 1.2, 0.75  # FTS5's bm25 constants
BLOCK_BITS = 16
CODE_BITS = 8  # a posting's count code, below its passage id when sorting
WORD_SHIFT = 39  # a word's number above 31 bits of passage id and the code
MAX_COUNT = 127  # counts keep 7 bits; the 8th says whether the word is in the text column
IN_TEXT = 128
FILES_A_BATCH = 2_000
REBUILD_SHARE = 0.1  # changed passages, as a share of the build's, that call for a new build


@dataclass(frozen=True, slots=True)
class Passage:
    """One passage's words as the keyword index holds them."""

    file: int
    counts: dict[str, float]  # each word's count, the title's ``title_weight`` times
    in_text: frozenset[str]  # the words of its text column (not only of the title)
    length: int  # tokens in both columns


@dataclass(slots=True)
class Postings:
    """One build of the copy: immutable once made."""

    words: dict[str, int]  # word -> its number
    starts: np.ndarray  # int64 (words + 1): where each word's postings begin
    blocks: np.ndarray  # int32 (words, blocks): how many of a word's postings in each block
    low: np.ndarray  # uint16: passage id's low bits, by word, ascending
    counts: np.ndarray  # uint8: weighted count of the word in the passage
    norm: np.ndarray  # float32 by passage id: bm25's length normalisation
    file_of: np.ndarray  # int64 by passage id: its file (-1: no such passage)
    passages: int
    average: float  # tokens a passage, on average
    seq: int  # the last logged change it reflects
    index: str  # the index it was built from (meta index_id)
    title_weight: float

    def ids(self, word: int) -> np.ndarray:
        bases = np.arange(self.blocks.shape[1], dtype=np.int64) << BLOCK_BITS
        high = np.repeat(bases, self.blocks[word])
        ids: np.ndarray = high | self.low[self.starts[word] : self.starts[word + 1]]
        return ids

    def counts_of(self, word: int) -> np.ndarray:
        """The word's weighted count in each of its passages, as floats."""
        codes = self.counts[self.starts[word] : self.starts[word + 1]]
        return (codes & MAX_COUNT).astype(np.float32)

    def in_text(self, word: str, passages: np.ndarray) -> np.ndarray:
        """For each of ``passages`` (ids), whether its text column holds ``word``."""
        number = self.words.get(word)
        if number is None or len(passages) == 0:
            return np.zeros(len(passages), dtype=bool)
        ids = self.ids(number)
        at = np.minimum(np.searchsorted(ids, passages), len(ids) - 1)
        codes = self.counts[self.starts[number] + at]
        held: np.ndarray = (ids[at] == passages) & (codes & IN_TEXT != 0)
        return held

    def found_in(self, word: str) -> int:
        number = self.words.get(word)
        return 0 if number is None else int(self.starts[number + 1] - self.starts[number])

    def state(self) -> dict[str, np.ndarray]:
        return {
            "words": np.array(list(self.words), dtype=str),
            "starts": self.starts,
            "blocks": self.blocks,
            "low": self.low,
            "counts": self.counts,
            "norm": self.norm,
            "file_of": self.file_of,
            "meta": np.array([FORMAT, self.passages, self.seq], dtype=np.int64),
            "floats": np.array([self.average, self.title_weight], dtype=np.float64),
            "index": np.array([self.index]),
        }

    @classmethod
    def from_saved(cls, saved: SavedArrays) -> Postings | None:
        """The postings saved by ``state``; the big arrays are mapped from the file, not
        read (core.store.saved): a search touches only its words' postings."""
        fmt, passages, seq = (int(v) for v in saved.read("meta"))
        if fmt != FORMAT:
            return None
        average, title_weight = (float(v) for v in saved.read("floats"))
        words = {str(word): number for number, word in enumerate(saved.read("words"))}
        return cls(
            words,
            saved.read("starts"),
            saved.mapped("blocks"),
            saved.mapped("low"),
            saved.mapped("counts"),
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


def build(conn: apsw.Connection, title_weight: float) -> Postings:
    """The copy of the index ``conn`` reads, inside one read snapshot.

    Each posting is gathered as one int64 (word number, passage id, count code), so that
    a single in-place sort orders them by word and then passage with no second copy."""
    with snapshot(conn):
        seq, index = latest_change(conn), index_id(conn)
        tokens = Tokens(conn, title_weight)
        texts = Texts(conn)
        words: dict[str, int] = {}
        keys: list[np.ndarray] = []
        held: list[tuple[int, int, int]] = []  # (passage, file, tokens)
        files = [int(row[0]) for row in conn.execute("SELECT id FROM files ORDER BY id")]
        for start in range(0, len(files), FILES_A_BATCH):
            first, last = files[start], files[min(start + FILES_A_BATCH, len(files)) - 1]
            titles = {
                int(f): fts_title(str(name), title)
                for f, name, title in conn.execute(
                    "SELECT id, name, title FROM files WHERE id BETWEEN ? AND ?", (first, last)
                )
            }
            spans = fetch_all(
                conn,
                "SELECT id, file_id, start, end FROM chunks WHERE file_id BETWEEN ? AND ?",
                (first, last),
            )
            documents = texts.documents({int(row[1]) for row in spans})
            numbers: list[int] = []
            passages: list[int] = []
            counts: list[float] = []
            flags: list[bool] = []
            for chunk, file_id, begin, end in spans:
                text = documents.get(int(file_id), "")[int(begin) : int(end)]
                passage = tokens.counted(int(file_id), titles.get(int(file_id), ""), text)
                held.append((int(chunk), int(file_id), passage.length))
                for word, n in passage.counts.items():
                    numbers.append(words.setdefault(word, len(words)))
                    passages.append(int(chunk))
                    counts.append(n)
                    flags.append(word in passage.in_text)
            keys.append(_keys(numbers, passages, _codes(counts, flags)))
    return _assemble(words, keys, held, seq, index, title_weight)


def _keys(numbers: list[int], passages: list[int], codes: np.ndarray) -> np.ndarray:
    """Postings packed for sorting: word number, then passage id, then count code."""
    key = np.array(numbers, dtype=np.int64) << WORD_SHIFT
    key |= np.array(passages, dtype=np.int64) << CODE_BITS
    key |= codes.astype(np.int64)
    return key


def _assemble(
    words: dict[str, int],
    batches: list[np.ndarray],
    held: list[tuple[int, int, int]],
    seq: int,
    index: str,
    title_weight: float,
) -> Postings:
    if len(words) >= 1 << (63 - WORD_SHIFT) or max((p for p, _, _ in held), default=0) >> 31:
        raise ValueError("too many words or passages for the keyword copy")
    key = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
    batches.clear()
    key.sort()  # in place: by word, then passage
    starts = np.searchsorted(key, np.arange(len(words) + 1, dtype=np.int64) << WORD_SHIFT)
    size = max((p for p, _, _ in held), default=-1) + 1
    blocks_n = (size >> BLOCK_BITS) + 1
    # Where each (word, block of passage ids) begins: the counts of postings in each.
    edges = (np.arange(len(words), dtype=np.int64)[:, None] << WORD_SHIFT) | (
        np.arange(blocks_n + 1, dtype=np.int64)[None, :] << (BLOCK_BITS + CODE_BITS)
    )
    edges[:, -1] = (np.arange(1, len(words) + 1, dtype=np.int64)) << WORD_SHIFT
    blocks = np.diff(np.searchsorted(key, edges.ravel()).reshape(edges.shape), axis=1)
    counts = (key & ((1 << CODE_BITS) - 1)).astype(np.uint8)
    low = ((key >> CODE_BITS) & ((1 << BLOCK_BITS) - 1)).astype(np.uint16)
    del key
    table = np.array(held, dtype=np.int64).reshape(-1, 3)
    norm = np.zeros(size, dtype=np.float32)
    file_of = np.full(size, -1, dtype=np.int64)
    average = float(table[:, 2].mean()) if len(table) else 1.0
    if len(table):
        norm[table[:, 0]] = K1 * (1 - B + B * table[:, 2] / max(average, 1e-9))
        file_of[table[:, 0]] = table[:, 1]
    return Postings(
        words,
        starts.astype(np.int64),
        blocks.astype(np.int32),
        low,
        counts,
        norm,
        file_of,
        len(table),
        average,
        seq,
        index,
        title_weight,
    )


class WordCopy:
    """The copy one Store searches with: loaded or built in the background, kept in step
    with the log inside each search's snapshot, saved when built."""

    def __init__(self, conn: apsw.Connection, path: Path | None) -> None:
        self.conn = conn
        self.path = path  # the index file
        self.copy_path = None if path is None else Path(f"{path}{WORD_COPY}")
        self.title_weight = 2.0
        self.min_passages = MIN_PASSAGES
        # Off in a process that answers one search and exits (`trove search TEXT`): it
        # would only start a build, slowing that search, and exit before it is done.
        self.enabled = True
        self.usable = False  # as of the last sync: the copy can answer in that snapshot
        self._lock = threading.RLock()
        self._base: Postings | None = None
        self._seq = -1
        self._masked = np.zeros(0, dtype=bool)  # base passages removed or replaced
        self._added: dict[int, Passage] = {}
        self._with_word: dict[str, set[int]] = {}
        self._changed = 0
        self._worker: threading.Thread | None = None
        self._failed = False

    # -- keeping in step -------------------------------------------------------------

    def sync(self) -> bool:
        """Bring the copy up to the connection's snapshot (call inside it); whether it can
        answer there.  Never waits for a build: one is started when worth it."""
        with self._lock:
            if not self.enabled:
                self.usable = False
                return False
            latest, start = latest_change(self.conn), log_start(self.conn)
            base = self._base
            self.usable = (
                base is not None
                and base.index == index_id(self.conn)
                and base.title_weight == self.title_weight
                and start <= self._seq
            )
            if self.usable and latest > self._seq:
                self._follow_log(self.conn, latest)
            stale = base is not None and self._changed > REBUILD_SHARE * max(base.passages, 1)
            if not self.usable or stale:
                self._prepare_in_background(fresh=stale or base is not None)
            return self.usable

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the copy being loaded or built, if any (tests, benchmarks)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def _prepare_in_background(self, *, fresh: bool) -> None:
        """Load the saved copy (unless ``fresh``) or build one, on a thread of its own,
        if the index is big enough to be worth it."""
        if self.path is None or self._failed or (self._worker and self._worker.is_alive()):
            return
        row = self.conn.execute("SELECT max(id) FROM chunks").fetchone()
        if row is None or (row[0] or 0) < self.min_passages:
            return
        self._worker = threading.Thread(
            target=self._prepare, args=(fresh,), name="trove-words", daemon=True
        )
        self._worker.start()

    def _prepare(self, fresh: bool) -> None:
        assert self.path is not None
        try:
            conn = connect(self.path, readonly=True)
            try:
                base = None if fresh else self._load(conn)
                if base is None:
                    base = build(conn, self.title_weight)
                    self._save(base)
                with self._lock:
                    self._adopt(base)
                    with snapshot(conn):
                        if log_start(conn) <= self._seq:
                            self._follow_log(conn, latest_change(conn))
            finally:
                conn.close()
        except (apsw.Error, OSError, MemoryError) as error:
            log.warning("the keyword copy could not be made; FTS5 answers: %s", error)
            self._failed = True

    def _load(self, conn: apsw.Connection) -> Postings | None:
        if self.copy_path is None or not self.copy_path.is_file():
            return None
        try:
            with SavedArrays(self.copy_path) as saved:
                base = Postings.from_saved(saved)
        except (OSError, ValueError, KeyError) as error:  # SavedArrays: ValueError if damaged
            log.warning("the saved keyword copy is unreadable, building it again: %s", error)
            return None
        with snapshot(conn):
            reaches = log_start(conn) <= (base.seq if base else -1) <= latest_change(conn)
            if base is None or base.index != index_id(conn) or not reaches:
                return None
        return base if base.title_weight == self.title_weight else None

    def _adopt(self, base: Postings) -> None:
        self._base = base
        self._seq = base.seq
        self._masked = np.zeros(len(base.norm), dtype=bool)
        self._added, self._with_word, self._changed = {}, {}, 0

    def _follow_log(self, conn: apsw.Connection, latest: int) -> None:
        rows = fetch_all(
            conn,
            "SELECT key, added FROM vector_changes WHERE space = 'chunk' AND seq > ? "
            "AND seq <= ? ORDER BY seq",
            (self._seq, latest),
        )
        final = {int(key): bool(added) for key, added in rows}
        for passage in final:
            self._forget(passage)
        came = [passage for passage, added in final.items() if added]
        for passage, held in Tokens(conn, self.title_weight).passages(came).items():
            self._added[passage] = held
            for word in held.counts:
                self._with_word.setdefault(word, set()).add(passage)
        self._changed += len(final)
        self._seq = latest

    def _forget(self, passage: int) -> None:
        if passage < len(self._masked):
            self._masked[passage] = True
        held = self._added.pop(passage, None)
        if held is not None:
            for word in held.counts:
                self._with_word[word].discard(passage)

    def _save(self, base: Postings) -> None:
        if self.copy_path is None:
            return
        temporary = self.copy_path.with_name(f"{self.copy_path.name}.{os.getpid()}.tmp")
        try:
            create_private_file(temporary)
            with open(temporary, "wb") as out:
                arrays: dict[str, Any] = base.state()
                np.savez(out, **arrays)
            os.replace(temporary, self.copy_path)
        except OSError as error:  # a read-only folder: the copy lives in memory only
            log.info("keyword copy not saved: %s", error)
            temporary.unlink(missing_ok=True)

    # -- answering -------------------------------------------------------------------

    def passages_with(self, word: str) -> int:
        """How many passages hold ``word``, as of the build and the changes since."""
        assert self._base is not None
        return self._base.found_in(word) + len(self._with_word.get(word, ()))

    def best(
        self, words: Sequence[str], limit: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, int, float]]:
        """(passage, file, bm25 score) of the best ``limit`` passages holding any of
        ``words`` (one token each; a word given twice counts twice, as FTS5 counts a
        phrase given twice); ``allowed``: a boolean array by file id, as the vector
        side's."""
        with self._lock:
            base = self._base
            assert base is not None and self.usable
            size = max(len(base.norm), max(self._added, default=-1) + 1)
            scores = np.zeros(size, dtype=np.float32)
            total = max(1, base.passages + len(self._added) - int(self._masked.sum()))
            idf = {word: _idf(total, self.passages_with(word)) for word in words}
            for word in words:
                number = base.words.get(word)
                if number is not None:
                    ids = base.ids(number)
                    tf = base.counts_of(number)
                    scores[ids] += idf[word] * (tf * np.float32(K1 + 1)) / (tf + base.norm[ids])
            scores[: len(self._masked)][self._masked] = 0.0
            for word in words:
                for passage in self._with_word.get(word, ()):
                    held = self._added[passage]
                    count = min(held.counts[word], MAX_COUNT)
                    norm = K1 * (1 - B + B * held.length / base.average)
                    scores[passage] += idf[word] * count * (K1 + 1) / (count + norm)
            found = np.flatnonzero(scores)
            if allowed is not None:
                files = self._files(found)
                keep = (files >= 0) & (files < len(allowed))
                keep[keep] = allowed[files[keep]]
                found = found[keep]
            if len(found) > limit:
                found = found[np.argpartition(-scores[found], limit - 1)[:limit]]
            found = found[np.argsort(-scores[found], kind="stable")]
            files = self._files(found)
            return [
                (int(p), int(f), float(scores[p]))
                for p, f in zip(found.tolist(), files.tolist(), strict=True)
                if f >= 0
            ]

    def in_text(self, words: Sequence[str], passages: Sequence[int]) -> np.ndarray:
        """(passages, words) booleans: whether each passage's text holds each word."""
        with self._lock:
            base = self._base
            assert base is not None and self.usable
            ids = np.asarray(passages, dtype=np.int64)
            held = np.zeros((len(ids), len(words)), dtype=bool)
            for column, word in enumerate(words):
                held[:, column] = base.in_text(word, ids)
            masked = ids < len(self._masked)
            masked[masked] = self._masked[ids[masked]]
            held[masked] = False
            for row, passage in enumerate(ids.tolist()):
                added = self._added.get(passage)
                if added is not None:
                    held[row] = [word in added.in_text for word in words]
            return held

    def _files(self, passages: np.ndarray) -> np.ndarray:
        """The file of each passage (-1: none known)."""
        assert self._base is not None
        file_of = self._base.file_of
        files = np.full(len(passages), -1, dtype=np.int64)
        inside = passages < len(file_of)
        files[inside] = file_of[passages[inside]]
        if self._added:
            added = np.fromiter(self._added, dtype=np.int64, count=len(self._added))
            for row in np.flatnonzero(np.isin(passages, added)).tolist():
                files[row] = self._added[int(passages[row])].file
        return files


def _codes(counts: list[float], in_text: list[bool]) -> np.ndarray:
    """Counts as one byte each: 7 bits of count, and IN_TEXT where the word is in the text."""
    capped = np.minimum(np.rint(np.array(counts, dtype=np.float64)), MAX_COUNT).astype(np.uint8)
    flags = np.array(in_text, dtype=bool).astype(np.uint8) * np.uint8(IN_TEXT)
    codes: np.ndarray = capped | flags
    return codes


def _idf(passages: int, holding: int) -> float:
    # FTS5's: never below a millionth, so a word in most passages still counts a little.
    return max(1e-6, math.log((passages - holding + 0.5) / (holding + 0.5)))


def words_of(stems: Iterable[tuple[str, ...]]) -> list[str] | None:
    """The single tokens of a query's words, or None if a word is several (a phrase)."""
    found = []
    for word in stems:
        if len(word) != 1:
            return None
        found.append(word[0])
    return found
