"""Fusing the two ranking signals, meaning and keywords, with a weight set per query.

Each candidate file has a meaning score (its best passage's cosine similarity to the
query) and a keyword score (its best passage's bm25, credited by how much of the query's
word weight the file covers).  Scores, not ranks, are fused: rank fusion (``rrf``) ignores
how strong each side's match is, and on a small folder it lets a file sharing one
incidental word outrank a clear match in meaning.  Meaning is rescaled between the worst
and the best candidate, keywords against the best candidate, and the two are mixed with
a share of meaning set for each query instead of fixed.

The share starts from the prior, 0.7 meaning and 0.3 keywords (the fixed weights that
served the shared collections), and each side's weight is scaled by how far that side can
be trusted for this query, judged two ways; the two resulting shares are averaged:

- by match: how clearly the best passage matches in meaning (its cosine read along the
  points core.relevance uses: 0.2 nothing, 0.6 a clear match) against how fully the
  best-covered file holds the query's words (full at the coverage that earns full
  keyword credit).  A model that does not understand the queries or the collection
  finds no clear match, and keywords weigh more; a paraphrase whose words only turn up
  here and there leaves the weight with meaning.
- by decisiveness: how sharply each side singles out its best candidates, the drop from
  its best to its tenth candidate as a share of the drop from its best to its median
  one.  A query whose rare words only a few files hold makes the keyword side decisive;
  a side that rates its first page all alike says little about their order.

Neither signal is safe alone.  With query vectors turned to cosine 0.5 from themselves
the best cosine on CISI fell from 0.67 to 0.36 while meaning still deserved 0.7 of the
weight; decisiveness does not see such noise at all (it leaves the shape of the cosines
as it was) and alone fell 0.006 behind rank fusion on Cranfield so turned.  Averaged,
each one's mistakes are halved.  No constant was tuned: the prior, the cosine points and
the coverage point were already Trove's, the page of ten is the first page of
results.  The rule was chosen as the only one that kept every everyday target first and
was nowhere more than 0.001 below rank fusion, among those tried: fixed 0.5, either
signal alone, their product, z-scores, hedging towards 0.5 when the sides' first pages
share fewer than two files, and rank fusion over ranks spaced by score.  The cosine
points belong to the default model (all-MiniLM-L6-v2), as core.relevance's do.

Evidence, nDCG@10 (benchmarks/fusion_eval.py), fixed weights / rank fusion (k=60) / this:
SciFact 0.7320 / 0.7245 / 0.7339, CISI 0.4680 / 0.4466 / 0.4749, Cranfield 0.4317 /
0.4248 / 0.4313; the everyday folder puts 21 / 3 / 21 of its 21 targets first.  Where
keywords are much stronger than meaning (query vectors turned to cosine 0.3 or 0.2;
known-item queries of a document's 5 rarest or 5 random words), fixed weights fell up to
0.047 below rank fusion (CISI) and this fusion is above it in all 12 such tests, by 0.009
to 0.31.  With vectors at cosine 0.5, where both sides are about as good, it is level
with rank fusion on Cranfield (-0.0004) and above it elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

RRF_K = 60


@dataclass(frozen=True, slots=True)
class FusionSettings:
    meaning: float = 0.7  # prior share of meaning; keywords get the rest
    # A file whose best keyword passages hold this share of the query's word weight (by
    # rarity) gets full keyword credit; one holding less gets proportionally less.
    coverage: float = 0.4
    no_match: float = 0.2  # best cosine read as no match in meaning (core.relevance)
    clear_match: float = 0.6  # best cosine read as a clear match
    page: int = 10  # decisiveness: the drop from a side's best candidate to this one


def fuse(
    dense: Mapping[int, float],
    keyword: Mapping[int, float],
    coverage: Mapping[int, float],
    settings: FusionSettings = FusionSettings(),
) -> dict[int, float]:
    """Each candidate's fused score.  ``dense``: every candidate's best passage cosine
    (0.0 if the vector side could not score it); ``keyword``: best passage bm25 (higher
    better) of the candidates with the query's words; ``coverage``: share of the query's
    word weight in each file's best keyword passages."""
    files = list(dict.fromkeys([*dense, *keyword]))
    if not files:
        return {}
    meaning = _rescaled({f: dense.get(f, 0.0) for f in files})
    words = word_evidence(files, keyword, coverage, settings.coverage)
    share = meaning_share(
        max(dense.values(), default=0.0),
        max(coverage.values(), default=0.0),
        meaning.values(),
        words.values(),
        settings,
    )
    return {f: share * meaning[f] + (1.0 - share) * words[f] for f in files}


def meaning_share(
    best_cosine: float,
    best_coverage: float,
    meaning: Iterable[float],
    words: Iterable[float],
    settings: FusionSettings = FusionSettings(),
) -> float:
    """The share of meaning for one query: the prior weighed by match and by
    decisiveness, the two shares averaged.  ``meaning`` and ``words`` are the two
    sides' scores over the candidates."""
    prior = settings.meaning
    by_match = _share(
        prior * meaning_match(best_cosine, settings),
        (1.0 - prior) * word_match(best_coverage, settings),
        prior,
    )
    by_decisiveness = _share(
        prior * decisiveness(meaning, settings.page),
        (1.0 - prior) * decisiveness(words, settings.page),
        prior,
    )
    return (by_match + by_decisiveness) / 2.0


def meaning_match(best_cosine: float, settings: FusionSettings = FusionSettings()) -> float:
    """How clearly the best passage matches in meaning, from 0 (none) to 1 (clear)."""
    span = settings.clear_match - settings.no_match
    return min(1.0, max(0.0, (best_cosine - settings.no_match) / span))


def word_match(best_coverage: float, settings: FusionSettings = FusionSettings()) -> float:
    """How fully the best-covered file holds the query's words, from 0 to 1 (at the
    coverage that earns full keyword credit)."""
    return min(1.0, max(0.0, best_coverage / settings.coverage))


def decisiveness(scores: Iterable[float], page: int = 10) -> float:
    """How sharply scores single out their best: the drop from the best to the
    ``page``-th as a share of the drop from the best to the median (0 when flat)."""
    ordered = sorted(scores, reverse=True)
    if not ordered:
        return 0.0
    best, middle = ordered[0], ordered[len(ordered) // 2]
    if best <= middle:
        return 0.0
    return (best - ordered[min(page, len(ordered)) - 1]) / (best - middle)


def word_evidence(
    files: Iterable[int],
    keyword: Mapping[int, float],
    coverage: Mapping[int, float],
    saturation: float,
) -> dict[int, float]:
    """Keyword scores against the best candidate's, credited by coverage."""
    chosen = list(files)
    top = max((keyword.get(f, 0.0) for f in chosen), default=0.0) or 1.0
    return {
        f: keyword.get(f, 0.0) / top * min(1.0, coverage.get(f, 0.0) / saturation) for f in chosen
    }


def rrf(
    dense: Mapping[int, float], keyword: Mapping[int, float], k: int = RRF_K
) -> dict[int, float]:
    """Reciprocal rank fusion: 1 / (k + rank) from each side that scored a file."""
    fused: dict[int, float] = {}
    for side in (dense, keyword):
        for rank, file_id in enumerate(sorted(side, key=lambda f: -side[f]), start=1):
            fused[file_id] = fused.get(file_id, 0.0) + 1.0 / (k + rank)
    return fused


def _rescaled(scores: Mapping[int, float]) -> dict[int, float]:
    """Between the worst (0) and the best (1) candidate; all 1 when they are alike."""
    low, high = min(scores.values()), max(scores.values())
    if high <= low:
        return dict.fromkeys(scores, 1.0)
    return {f: (s - low) / (high - low) for f, s in scores.items()}


def _share(meaning: float, words: float, fallback: float) -> float:
    total = meaning + words
    return meaning / total if total > 0 else fallback
