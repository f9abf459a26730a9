"""Ranking files by meaning, with keywords and exact identifiers fused in.

Candidates come from two sides: the passages nearest the query's vector (the copy of the
vectors in memory, core.store.mirror) and the passages with its words (FTS5, bm25).  Each
candidate file is then scored on both sides, so a file found by one side is not penalised
for being absent from the other side's top list.  Scores, not ranks, are fused, with a
share of meaning set for each query by how clearly and how decisively each side matches
(core.fusion).  A file holding an identifier the query spells out (an invoice or policy
number) goes first.

Last, each file's score is blended with the scores of its nearest neighbours in meaning
among the candidates (score regularisation): files alike in content tend to be relevant
to the same request, so a file whose close neighbours also match is more likely a true
match than an isolated one that matched by accident.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from threadpoolctl import ThreadpoolController

from core.embedding import Embedder
from core.errors import ConfigError
from core.fusion import FusionSettings, fuse
from core.picture_model import PictureModel
from core.picture_search import Hit, PictureSide, looks_first, with_pictures
from core.relevance import FLOOR, Evidence, relevance
from core.snippets import make_snippet
from core.store import Store
from core.store.connection import snapshot
from core.store.filters import Filters
from core.store.keywords import KeywordIndex
from core.store.words import words_of
from core.terms import QueryTerms, Terms, quote

POOL_LIMIT = 4096  # candidates gathered on each side at most, whatever the limit asked
EXACT_MAX_FILES = 5  # an identifier held by more files than this identifies nothing
KEYWORD_TAIL = 2000  # keyword matches read to score candidates the vector side found


@cache
def _numpy_blas() -> ThreadpoolController:
    """numpy's BLAS pools.  Their threads spin for a while after each product and take the
    cores torch needs for the next query's embedding (+12 ms a query measured on 2 cores),
    so the small products ranking does run on one thread."""
    return ThreadpoolController().select(user_api="blas")


def prepare() -> None:
    """Look up numpy's BLAS pools now.  The lookup opens each loaded library again, so
    while another thread loads the model's libraries it waits for the loader's lock,
    holding the GIL: done once before that, a first search cannot stall the window."""
    _numpy_blas()


@dataclass(frozen=True, slots=True)
class Weights:
    # How meaning and keywords are weighed together, for each query (core.fusion).
    fusion: FusionSettings = field(default_factory=FusionSettings)
    exact: float = 1.0
    title: float = 2.0  # bm25 weight of the title column (file name and document title)
    # Share of a file's score taken from the mean score of its `neighbours` nearest
    # candidates in meaning (by file vector); the rest stays its own evidence.
    neighbourhood: float = 0.1
    neighbours: int = 5
    pool: int = 256


@dataclass(slots=True)
class Result:
    path: str
    score: float
    snippet: str
    location: str
    highlights: list[tuple[int, int]] = field(default_factory=list)
    file_id: int = 0
    chunk_id: int = 0
    kind: str = ""
    mtime_ns: int = 0
    # How well the file matches, on the same scale for every query (core.relevance);
    # for similar files, the cosine similarity of the two in meaning.
    relevance: float = 0.0


@dataclass(slots=True)
class _Candidate:
    file_id: int
    dense: dict[int, float] = field(default_factory=dict)  # chunk id -> cosine similarity
    keyword: dict[int, float] = field(default_factory=dict)  # chunk id -> bm25 (higher better)
    exact: bool = False


class Searcher:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        weights: Weights | None = None,
        *,
        pictures: PictureModel | None = None,
    ) -> None:
        """``pictures``: the model that reads pictures (core.picture_model), if set:
        pictures it finds for a query join the results."""
        self.store = store
        self.conn = store.conn
        self.embedder = embedder
        self.picture_side = PictureSide(store, pictures)
        self.weights = weights or Weights()
        self.terms = Terms(self.conn)
        self.keywords = KeywordIndex(self.conn)
        # The last filter's scope (_allowed), with the index version it was read at.
        self._scope: tuple[Filters, tuple[int, int], np.ndarray] | None = None
        self._embedding: ThreadPoolExecutor | None = None  # the query's model thread

    # -- public ----------------------------------------------------------------------

    def search(
        self,
        text: str,
        limit: int = 20,
        filters: Filters | None = None,
        *,
        floor: bool = True,
        meaning: bool = True,
    ) -> list[Result]:
        """The best ``limit`` files for ``text``, best first.  ``floor`` hides those whose
        relevance is below ``core.relevance.FLOOR`` (the rest keep their order);
        ``meaning=False`` ranks by keywords and identifiers only, without the model: an
        answer while it loads."""
        if not text.strip():
            raise ConfigError("the search text is empty")
        with snapshot(self.conn):
            if self.store.model_binding() is None:
                return []
            filters = filters or Filters()
            if not meaning:
                found, terms = self.keyword_candidates(text, limit, filters)
                return self._rank(found, terms, limit, floor)
            # Not for the answer by words: at a million passages, loading the copy of
            # the vectors would hold back the answer given while the model loads.
            self._sync_vectors()
            found, terms = self.candidates(text, limit, filters)
            results = self._rank(found, terms, limit, floor)
            if self.picture_side.on:
                allowed = self._allowed(filters)
                # A filter leaves out some of the nearest: ask for more, as the vectors do.
                k = self._pool(limit) if allowed is None else POOL_LIMIT
                hits = self.picture_side.for_text(text, k, allowed, floor)[:limit]
                results = with_pictures(results, hits, self._picture_results, limit)
            return results

    def candidates(
        self, text: str, limit: int, filters: Filters
    ) -> tuple[dict[int, _Candidate], QueryTerms]:
        """Files worth scoring for ``text``, each scored on both sides.  The model embeds
        the query on a thread of its own while the keyword side runs here: the model
        mostly runs without the GIL, so on two cores each hides most of the other."""
        terms = self.terms.query(text)
        embedding = self._query_thread().submit(self.embedder.embed_query, text)
        pool = self._pool(limit)
        try:
            matches = self._keyword_matches(terms, pool, filters)
        finally:
            query = embedding.result()  # waited for even if the keyword side failed
        found: dict[int, _Candidate] = {}
        for chunk, file_id, sim in self._nearest(query, pool, filters):
            found.setdefault(file_id, _Candidate(file_id)).dense[chunk] = sim
        _add_keyword_side(found, matches, pool)
        self._complete_dense(found, query)
        return found, terms

    def keyword_candidates(
        self, text: str, limit: int, filters: Filters
    ) -> tuple[dict[int, _Candidate], QueryTerms]:
        """Files with the words or identifiers of ``text``; the model is not asked."""
        terms = self.terms.query(text)
        pool = self._pool(limit)
        found: dict[int, _Candidate] = {}
        _add_keyword_side(found, self._keyword_matches(terms, pool, filters), pool)
        return found, terms

    def close(self) -> None:
        """Let the query's model thread go (it ends once idle)."""
        if self._embedding is not None:
            self._embedding.shutdown(wait=False)
            self._embedding = None

    def _query_thread(self) -> ThreadPoolExecutor:
        if self._embedding is None:
            self._embedding = ThreadPoolExecutor(1, thread_name_prefix="trove-query")
        return self._embedding

    def _pool(self, limit: int) -> int:
        return min(POOL_LIMIT, max(self.weights.pool, limit * 4))

    def _keyword_matches(self, terms: QueryTerms, pool: int, filters: Filters) -> _Matches:
        """The passages with the query's words, best first, and the files holding an
        identifier it spells out.  One query serves both uses of the ranking (below),
        since FTS5 ranks every match before it cuts."""
        if terms.empty:
            return _Matches([], set())
        ranked = self._keyword(terms, max(KEYWORD_TAIL, pool), filters)
        return _Matches(ranked, self._exact(terms.identifiers, filters))

    def similar(self, path: str, limit: int = 10, filters: Filters | None = None) -> list[Result]:
        """Files whose overall meaning is nearest to an indexed file's, itself excluded."""
        with snapshot(self.conn):
            self._sync_vectors()
            row = self.store.file_by_path(path)
            if row is None or row.state != "indexed":
                raise ConfigError(f"{path} is not in the index")
            vector = self.store.file_vector(row.id)
            if vector is None:
                raise ConfigError(f"{path} has no vector yet")
            alike = self.similar_to_vector(vector, limit, filters, exclude=row.id)
            look = self.store.pictures.vector(row.id) if self.picture_side.on else None
            if look is None:
                return alike
            pictures = self.similar_to_picture(look, limit, filters, exclude=row.id)
            return looks_first(pictures, alike, limit)

    def similar_to_picture(
        self,
        vector: np.ndarray,
        limit: int = 10,
        filters: Filters | None = None,
        *,
        exclude: int | None = None,
    ) -> list[Result]:
        """The pictures nearest ``vector`` (a picture model's) by what they show; none
        when pictures are not searched that way."""
        with snapshot(self.conn):
            if not self.picture_side.on:
                return []
            allowed = self._allowed(filters or Filters())
            k = limit + 1 if allowed is None else POOL_LIMIT
            hits = self.picture_side.for_picture(vector, k, allowed, exclude)
            return self._picture_results(hits[:limit])

    def similar_to_vector(
        self,
        vector: np.ndarray,
        limit: int = 10,
        filters: Filters | None = None,
        *,
        exclude: int | None = None,
    ) -> list[Result]:
        """Files whose overall meaning (mean passage direction) is nearest ``vector``."""
        with snapshot(self.conn):
            if not self._sync_vectors():
                return []
            allowed = self._allowed(filters or Filters())
            nearest = self.store.vectors.nearest("file", vector, limit + 1, allowed)
            scored = [
                (int(f), float(s))
                for f, s in zip(nearest.keys, nearest.scores, strict=True)
                if int(f) != exclude
            ][:limit]
            passages = self._best_passages([f for f, _ in scored], vector)
            return self._results(
                [(f, s, passages.get(f, 0), frozenset(), _clamp(s)) for f, s in scored]
            )

    def more_like_passage(self, chunk_id: int, limit: int = 10) -> list[Result]:
        """Files holding passages nearest to one passage, its own file excluded."""
        with snapshot(self.conn):
            vector = self.store.chunk_vector(chunk_id)
            if vector is None or not self._sync_vectors():
                raise ConfigError(f"passage {chunk_id} is not in the index")
            source = self.store.chunk_span(chunk_id)
            best: dict[int, tuple[float, int]] = {}
            nearest = self._nearest(vector, min(POOL_LIMIT, limit * 8), Filters())
            for chunk, file_id, sim in nearest:
                if source and file_id != source[0] and sim > best.get(file_id, (-2.0, 0))[0]:
                    best[file_id] = (sim, chunk)
            ranked = sorted(best.items(), key=lambda item: -item[1][0])[:limit]
            return self._results([(f, s, c, frozenset(), _clamp(s)) for f, (s, c) in ranked])

    # -- pictures by what they show --------------------------------------------------

    def _picture_results(self, hits: list[Hit]) -> list[Result]:
        """Results for pictures found by what they show, each with the passage that
        holds its name and its camera's facts (its last, written last)."""
        passages = self.store.passages_of([f for f, _, _ in hits])
        picks = [
            (f, cosine, max(passages[f]), frozenset[str](), fit)
            for f, cosine, fit in hits
            if passages.get(f)
        ]
        return self._results(picks)

    # -- gathering -------------------------------------------------------------------

    def _sync_vectors(self) -> bool:
        """Bring the vectors in memory up to this snapshot; False if there are none yet."""
        binding = self.store.model_binding()
        if binding is None:
            return False
        self.store.vectors.sync(binding)
        return True

    def _file_vectors(self, file_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids held, vectors) of files: from the copy in memory once it is loaded, else
        from the index (the answer by words, before anything else is loaded)."""
        mirror = self.store.vectors
        if mirror.spaces:
            return mirror.files.vectors(file_ids)
        found = [(f, v) for f in file_ids if (v := self.store.file_vector(f)) is not None]
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.array([f for f, _ in found]), np.stack([v for _, v in found])

    def _allowed(self, filters: Filters) -> np.ndarray | None:
        """Which files a search may return, as a mask by file id (None: all).  Asked of
        SQLite once for a filter until the index changes: a person typing with a type or
        folder filter set searches many times in one scope, and reading the scope costs
        about 1 µs a file in it (40-60 ms at a million passages)."""
        if filters.empty:
            return None
        version = self.store.version()
        if self._scope is not None and self._scope[:2] == (filters, version):
            return self._scope[2]
        ids = self.store.files_passing(filters)
        mask = np.zeros(max(ids, default=-1) + 1, dtype=bool)
        mask[ids] = True
        self._scope = (filters, version, mask)
        return mask

    def _nearest(
        self, vector: np.ndarray, k: int, filters: Filters
    ) -> list[tuple[int, int, float]]:
        nearest = self.store.vectors.nearest("chunk", vector, k, self._allowed(filters))
        return list(
            zip(
                nearest.keys.tolist(), nearest.groups.tolist(), nearest.scores.tolist(), strict=True
            )
        )

    def _keyword(self, terms: QueryTerms, k: int, filters: Filters) -> list[tuple[int, int, float]]:
        """The best ``k`` passages holding any of the query's words: from the copy in
        memory when it can answer (core.store.words), else from FTS5."""
        copy = self.store.words
        copy.title_weight = self.weights.title
        words = words_of(terms.stems[word] for word in terms.repeats)
        if words is not None and copy.sync():
            return copy.best(words, k, self._allowed(filters))
        where, params = filters.file_sql()
        return self.keywords.matches(terms.fts_any(), k, self.weights.title, where, params)

    def _exact(self, identifiers: Iterable[str], filters: Filters) -> set[int]:
        """Files holding an identifier the query spells out, if it identifies anything:
        a string found in many files ("2024") is a common word, not an identifier."""
        where, params = filters.file_sql()
        found: set[int] = set()
        for identifier in identifiers:
            files = self.keywords.holders(quote(identifier), EXACT_MAX_FILES + 1, where, params)
            if len(files) <= EXACT_MAX_FILES:
                found.update(files)
        return found

    def _complete_dense(self, found: dict[int, _Candidate], query: np.ndarray) -> None:
        """Score on meaning the candidates only the keyword side found."""
        no_dense = [c.file_id for c in found.values() if not c.dense]
        chunks = self.store.passages_of(no_dense)
        ids = [chunk for file_id in no_dense for chunk in chunks[file_id]]
        scored = self.store.vectors.chunks.similarity(query, ids)
        for chunk_id, file_id, score in zip(
            scored.keys.tolist(), scored.groups.tolist(), scored.scores.tolist(), strict=True
        ):
            found[file_id].dense[chunk_id] = score

    # -- scoring ---------------------------------------------------------------------

    def _rank(
        self, found: dict[int, _Candidate], terms: QueryTerms, limit: int, floor: bool = False
    ) -> list[Result]:
        if not found:
            return []
        coverage = self._coverage(found, terms)
        fused = self._regularise(self._fused(found, coverage))
        w = self.weights
        scored = [(fused[f] + (w.exact if c.exact else 0.0), f) for f, c in found.items()]
        scored.sort(reverse=True)
        reads = not _only_identifiers(terms)
        known = terms.empty or self._any_word_indexed(terms)
        relevant = {f: _relevance(c, coverage.get(f, 0.0), reads, known) for f, c in found.items()}
        if floor:
            scored = [(s, f) for s, f in scored if relevant[f] >= FLOOR]
        stems = terms.all_stems
        return self._results(
            [(f, s, self._passage(found[f]), stems, relevant[f]) for s, f in scored[:limit]]
        )

    def _fused(self, found: dict[int, _Candidate], coverage: dict[int, float]) -> dict[int, float]:
        """Each file's meaning and keyword scores weighed together, with the share of
        meaning set by this query's evidence (core.fusion)."""
        dense = {f: max(c.dense.values(), default=0.0) for f, c in found.items()}
        keyword = {f: max(c.keyword.values()) for f, c in found.items() if c.keyword}
        return fuse(dense, keyword, coverage, self.weights.fusion)

    def _regularise(self, scores: dict[int, float]) -> dict[int, float]:
        """Blend each file's score with the mean score of its nearest candidates in
        meaning (cluster hypothesis: alike files are relevant to the same requests)."""
        w = self.weights
        k = min(w.neighbours, len(scores) - 1)
        if w.neighbourhood <= 0 or k < 1:
            return scores
        held, matrix = self._file_vectors(list(scores))
        ids = held.tolist()
        if len(ids) <= k:
            return scores
        matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        with _numpy_blas().limit(limits=1):
            similarity = matrix @ matrix.T
        np.fill_diagonal(similarity, -np.inf)
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        own = np.array([scores[f] for f in ids])
        blended = (1 - w.neighbourhood) * own + w.neighbourhood * own[nearest].mean(axis=1)
        return {**scores, **dict(zip(ids, blended.tolist(), strict=True))}

    def _coverage(self, found: dict[int, _Candidate], terms: QueryTerms) -> dict[int, float]:
        """Share of the query's word weight (by rarity) present in each file's best
        keyword passages."""
        if terms.empty:
            return {}
        best = {
            file_id: sorted(c.keyword, key=c.keyword.__getitem__)[-3:]
            for file_id, c in found.items()
            if c.keyword
        }
        weights = self._idf(terms)
        total = sum(weights.values()) or 1.0
        files, present = self._words_present(best, terms)
        shares = present @ np.array([weights[word] for word in terms.words]) / total
        return dict(zip(files, shares.tolist(), strict=True))

    def _words_present(
        self, best: dict[int, list[int]], terms: QueryTerms
    ) -> tuple[list[int], np.ndarray]:
        """The files of ``best`` and, for each, which of the query's words (in the order
        of ``terms.words``) the text of its chosen passages holds: from the keyword copy
        when it answered, else by reading and tokenizing the passages."""
        files = list(best)
        chunks = [chunk for file_id in files for chunk in best[file_id]]
        stems = words_of(terms.stems[word] for word in terms.words)
        if stems is not None and self.store.words.usable and chunks:
            held = self.store.words.in_text(stems, chunks)
            starts = np.cumsum([0] + [len(best[file_id]) for file_id in files[:-1]])
            return files, np.logical_or.reduceat(held, starts, axis=0)
        texts = self.store.texts.passages(chunks)
        present = np.zeros((len(files), len(terms.words)), dtype=bool)
        for row, file_id in enumerate(files):
            found = set().union(*(self.terms.document_stems(texts[c]) for c in best[file_id]))
            present[row] = [set(terms.stems[w]) <= found for w in terms.words]
        return files, present

    def _idf(self, terms: QueryTerms) -> dict[str, float]:
        # The copy's count, once loaded: no count(*) of a million rows.
        mirror = self.store.vectors
        passages = max(1, len(mirror.chunks) if mirror.spaces else self.store.chunk_count())
        weights: dict[str, float] = {}
        copy = self.store.words
        holding = copy.passages_with if copy.usable else self.keywords.passages_with
        for word in terms.words:
            counts = [holding(stem) for stem in terms.stems[word]]
            n = min(counts) if counts else 0
            weights[word] = math.log(1.0 + (passages - n + 0.5) / (n + 0.5))
        return weights

    def _any_word_indexed(self, terms: QueryTerms) -> bool:
        """Whether any word of the query occurs anywhere in the index."""
        copy = self.store.words
        if copy.usable:
            return copy.holds_any(terms.all_stems)
        return self.keywords.any_indexed(terms.all_stems)

    def _passage(self, candidate: _Candidate) -> int:
        """The passage to show: best on meaning, unless another is far better on words."""
        ids = set(candidate.dense) | set(candidate.keyword)
        top_d = max(candidate.dense.values(), default=0.0) or 1.0
        top_k = max(candidate.keyword.values(), default=0.0) or 1.0
        meaning = self.weights.fusion.meaning
        return max(
            ids,
            key=lambda c: (
                meaning * candidate.dense.get(c, 0.0) / top_d
                + (1.0 - meaning) * candidate.keyword.get(c, 0.0) / top_k
            ),
        )

    # -- results ---------------------------------------------------------------------

    def _results(
        self, picks: Sequence[tuple[int, float, int, frozenset[str], float]]
    ) -> list[Result]:
        """Results for (file id, score, passage id, query stems, relevance) picks, in
        order; a file gone from the index in this snapshot is left out."""
        rows = self.store.result_rows([chunk for _, _, chunk, _, _ in picks])
        results = []
        for file_id, score, chunk_id, stems, fit in picks:
            if chunk_id not in rows:
                continue
            path, kind, mtime_ns, text, location = rows[chunk_id]
            snippet = make_snippet(self.terms, text, stems, prose=kind != "code", location=location)
            results.append(
                Result(
                    path,
                    round(score, 4),
                    snippet.text,
                    snippet.location,
                    snippet.highlights,
                    file_id,
                    chunk_id,
                    kind,
                    mtime_ns,
                    round(fit, 4),
                )
            )
        return results

    def _best_passages(self, file_ids: Sequence[int], vector: np.ndarray) -> dict[int, int]:
        """Each file's passage nearest ``vector``: the one to show for a similar file."""
        chunks = self.store.passages_of(file_ids)
        ids = [chunk for file_id in file_ids for chunk in chunks[file_id]]
        scored = self.store.vectors.chunks.similarity(vector, ids)
        best: dict[int, tuple[float, int]] = {}
        for chunk, file_id, score in zip(
            scored.keys.tolist(), scored.groups.tolist(), scored.scores.tolist(), strict=True
        ):
            if score > best.get(file_id, (-2.0, 0))[0]:
                best[file_id] = (score, chunk)
        return {file_id: chunk for file_id, (_, chunk) in best.items()}


@dataclass(frozen=True, slots=True)
class _Matches:
    ranked: list[tuple[int, int, float]]  # (passage, file, bm25), best first
    exact: set[int]  # files holding an identifier the query spells out


def _add_keyword_side(found: dict[int, _Candidate], matches: _Matches, pool: int) -> None:
    """The first ``pool`` keyword matches nominate candidates; the longer tail only
    scores files the vector side nominated."""
    for rank, (chunk, file_id, score) in enumerate(matches.ranked):
        if rank < pool or file_id in found:
            found.setdefault(file_id, _Candidate(file_id)).keyword[chunk] = score
    for file_id in matches.exact:
        found.setdefault(file_id, _Candidate(file_id)).exact = True


def _relevance(candidate: _Candidate, coverage: float, meaning: bool, known: bool) -> float:
    cosine = max(candidate.dense.values()) if meaning and candidate.dense else None
    return relevance(Evidence(cosine, coverage, candidate.exact, known))


def _only_identifiers(terms: QueryTerms) -> bool:
    """Whether the query is nothing but identifiers ("INV-2024-88317").  The model does
    not read those: two invoice numbers look alike to it whatever their digits, so only
    the files holding the identifier, or its parts, match such a query."""
    parts = {part for found in terms.identifiers for part in re.findall(r"\w+", found.lower())}
    return bool(parts) and set(terms.words) <= parts


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))
