"""How well a file matches a query, on one scale for every query.

A search's own score ranks files against each other, but it is rescaled per query (the
best candidate always scores near the top), so it cannot tell a good match from the best
of a bad lot.  Relevance is built from absolute evidence instead, and the strongest of
three pieces counts, since each is evidence on its own:

- meaning: the cosine similarity between the query and the file's best passage, read
  along ``COSINE_POINTS``.  The model's cosines are no probabilities.  Measured with
  ``benchmarks/floor.py``: the best passage for a nonsense query has a cosine of about
  0.2 (median 0.18-0.27 on the sample folder and the shared collections), and a document
  judged relevant and ranked in the top 10 about 0.6 (median 0.61-0.64 on the three).
  So 0.2 reads as 0 ("nothing") and 0.6 as 1 ("a typical clear match"), linearly between.
  A query made only of identifiers has no meaning evidence: the model cannot tell one
  invoice number from another.  A query none of whose words occurs anywhere in the
  index is read along ``UNFAMILIAR_COSINE_POINTS``, stricter.
- words: the share of the query's word weight, by rarity (idf), that the file's best
  keyword passages hold (``Searcher._coverage``), read along ``COVERAGE_POINTS``.  A file
  holding every rare word asked for is a match whatever the model makes of them (names,
  jargon); one holding a few common words is not: up to half the weight counts for
  nothing, all of it for 0.75, short of full since one word of a short query can be
  common in a folder.
- identifier: a file holding an identifier the query spells out (an invoice number) is
  what was asked for: relevance 1.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

Curve = Sequence[tuple[float, float]]

COSINE_POINTS: Curve = ((0.2, 0.0), (0.6, 1.0))
# For a query none of whose words occurs anywhere in the folders ("zxqv blorft"): the
# model still finds something nearest, and text it reads poorly (formulas, other
# languages) sits near such a query at cosines of 0.3-0.4.  A real question worded
# entirely unlike its files is rare, so such a query needs a clearer match in meaning.
UNFAMILIAR_COSINE_POINTS: Curve = ((0.4, 0.0), (0.7, 1.0))
COVERAGE_POINTS: Curve = ((0.5, 0.0), (1.0, 0.75))

FLOOR = 0.25
"""Results below this relevance are hidden unless asked for (``floor=False``): a cosine
of 0.3, or two thirds of the query's word weight.  Measured with ``benchmarks/floor.py``
(docs/benchmarks.md), it hides 1.4 % of the relevant documents in SciFact's top 10
(Cranfield 0.3 %, CISI 0 %, the sample folder's 21 queries none), and leaves 0.5 % of the
results of nonsense queries (2 % of them keep at least one; on the sample folder none)
and 1.1 % of those of off-topic ones.  At 0.3 the sample folder loses a paraphrase."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one file offers for one query."""

    cosine: float | None  # best passage's similarity in meaning; None: not measured
    coverage: float  # share of the query's word weight (by rarity) the file holds
    exact: bool  # holds an identifier the query spells out
    familiar: bool = True  # some word of the query occurs somewhere in the index


def relevance(evidence: Evidence) -> float:
    """The file's relevance in [0, 1], comparable across queries (see the module doc)."""
    if evidence.exact:
        return 1.0
    words = along(COVERAGE_POINTS, evidence.coverage)
    if evidence.cosine is None:
        return words
    curve = COSINE_POINTS if evidence.familiar else UNFAMILIAR_COSINE_POINTS
    return max(along(curve, evidence.cosine), words)


def along(points: Curve, x: float) -> float:
    """``x`` read through a piecewise-linear curve, flat beyond its ends."""
    xs = [p[0] for p in points]
    i = bisect_right(xs, x)
    if i == 0:
        return points[0][1]
    if i == len(points):
        return points[-1][1]
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
