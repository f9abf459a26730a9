"""The passages' words beside the index: bm25 over postings in numpy, in step with SQLite.

FTS5 ranks a query of everyday words by scoring every passage that holds any of them, two
thirds of the index: 45 ms at 100,000 passages and 443 ms at a million on two cores.  This
copy holds the same postings (each word's passages, and how often the word is in each,
the title counted ``title_weight`` times) and scores them a word at a time in numpy: about
2 ms and 20 ms, with the same best passages (``benchmarks/keyword_side.py``), 3 bytes a
posting (``core.store.postings``: their layout and how they are built).

SQLite stays the source of truth, and FTS5 answers whenever the copy cannot:

- The copy is built on a thread of its own, from the texts, with FTS5's own tokenizer;
  searches use FTS5 meanwhile.  Only an index of ``MIN_PASSAGES`` or more gets one (at
  10,000 passages it took a query from 116 ms to 32-45 ms, built in 1.4 s); a smaller one
  is not rebuilt again and again while its folders are first indexed.  It is built straight
  into a file beside the index (``<index>-words``, as private as the index) and loaded
  from there, by this process and the next: the postings stay in that file, and a search
  reads its own words' (``core.store.saved``).  Where that file cannot be written, FTS5
  answers.
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
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import apsw
import numpy as np

from core.store.connection import connect, fetch_all, snapshot
from core.store.mirror import index_id, latest_change, log_start
from core.store.postings import K1, MAX_COUNT, B, Passage, Postings, Tokens, write_copy
from core.store.saved import SavedArrays

log = logging.getLogger(__name__)

WORD_COPY = "-words"  # the saved copy's name: the index file's, with this added
MIN_PASSAGES = 5_000
REBUILD_SHARE = 0.1  # changed passages, as a share of the build's, that call for a new build
SAMPLE_EVERY = 16  # of the scores, to find how high the best few thousand are (``highest``)


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
        assert self.path is not None and self.copy_path is not None
        try:
            conn = connect(self.path, readonly=True)
            try:
                base = None if fresh else self._load(conn)
                if base is None:
                    write_copy(conn, self.title_weight, self.copy_path)
                    base = self._load(conn)
                if base is None:
                    raise OSError("the copy just saved could not be read back")
                with self._lock:
                    self._adopt(base)
                    with snapshot(conn):
                        if log_start(conn) <= self._seq:
                            self._follow_log(conn, latest_change(conn))
            finally:
                conn.close()
        except (apsw.Error, OSError, ValueError, MemoryError) as error:
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

    # -- answering -------------------------------------------------------------------

    def passages_with(self, word: str) -> int:
        """How many passages hold ``word``, as of the build and the changes since."""
        assert self._base is not None
        return self._base.found_in(word) + len(self._with_word.get(word, ()))

    def holds_any(self, words: Iterable[str]) -> bool:
        """Whether any of ``words`` is in a passage still in the index: what FTS5's
        vocabulary tells only by reading each word's whole list of passages."""
        with self._lock:
            base = self._base
            assert base is not None and self.usable
            masked = int(self._masked.sum())
            for word in words:
                if self._with_word.get(word):
                    return True
                number = base.words.get(word)
                if number is None:
                    continue
                if base.found_in(word) > masked or not self._masked[base.ids(number)].all():
                    return True
            return False

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
            masked = int(self._masked.sum())
            total = max(1, base.passages + len(self._added) - masked)
            idf = {word: _idf(total, self.passages_with(word)) for word in words}
            for word in words:
                number = base.words.get(word)
                if number is not None:
                    ids = base.ids(number)
                    tf = base.counts_of(number)
                    scores[ids] += idf[word] * (tf * np.float32(K1 + 1)) / (tf + base.norm[ids])
            if masked:
                scores[: len(self._masked)][self._masked] = 0.0
            for word in words:
                for passage in self._with_word.get(word, ()):
                    held = self._added[passage]
                    count = min(held.counts[word], MAX_COUNT)
                    norm = K1 * (1 - B + B * held.length / base.average)
                    scores[passage] += idf[word] * count * (K1 + 1) / (count + norm)
            if allowed is None:
                found = highest(scores, limit)
            else:
                found = np.flatnonzero(scores)
                files = self._files(found)
                keep = (files >= 0) & (files < len(allowed))
                keep[keep] = allowed[files[keep]]
                found = first_highest(found[keep], scores, limit)
            found = found[np.argsort(-scores[found], kind="stable")]  # ties: by passage id
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


def highest(scores: np.ndarray, limit: int) -> np.ndarray:
    """Where the ``limit`` highest positive ``scores`` are (all the positive ones if fewer),
    ascending; of scores tied at the cut, the first.  Over many scores, a threshold from a
    sample of them first keeps only a few times ``limit`` (at a million, most of the 7 ms
    it takes to gather and partition every positive score): if at least ``limit`` pass it,
    none of the highest is left out; if not, all positive scores are partitioned."""
    if limit <= 0:
        return np.zeros(0, dtype=np.int64)
    sample = scores[::SAMPLE_EVERY]
    kept = 2 * limit // SAMPLE_EVERY  # twice as many as needed, so that the check passes
    if kept and len(sample) > 8 * kept:
        threshold = np.partition(sample, len(sample) - kept)[len(sample) - kept]
        if threshold > 0:
            found = np.flatnonzero(scores >= threshold)
            if len(found) >= limit:
                return first_highest(found, scores, limit)
    return first_highest(np.flatnonzero(scores > 0), scores, limit)


def first_highest(found: np.ndarray, scores: np.ndarray, limit: int) -> np.ndarray:
    """Of ``found`` (ascending), the ``limit`` with the highest scores, the first of those
    tied at the cut, in the order given."""
    if len(found) <= limit:
        return found
    values = scores[found]
    cut = np.partition(values, len(values) - limit)[len(values) - limit]
    above = values > cut
    at = np.flatnonzero(values == cut)[: limit - int(above.sum())]
    above[at] = True
    kept: np.ndarray = found[above]
    return kept


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
