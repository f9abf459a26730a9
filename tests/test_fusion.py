"""core.fusion: the share of meaning follows the evidence of each query."""

from __future__ import annotations

import pytest

from core.fusion import (
    FusionSettings,
    decisiveness,
    fuse,
    meaning_match,
    meaning_share,
    rrf,
    word_match,
)

# 40 candidates: file 0 is the clear best in meaning and holds none of the query's words;
# file 1 holds all of them and is middling in meaning; the rest trail off on both sides.
MEANING_FIRST = 0
WORDS_FIRST = 1


def _ranked(scores: dict[int, float]) -> list[int]:
    return sorted(scores, key=lambda f: -scores[f])


def _fixed(
    dense: dict[int, float], keyword: dict[int, float], coverage: dict[int, float]
) -> dict[int, float]:
    """Today's fixed weights, 0.7 meaning and 0.3 keywords, as the reference."""
    low, high = min(dense.values()), max(dense.values())
    top = max(keyword.values())
    return {
        f: 0.7 * (dense[f] - low) / (high - low)
        + 0.3 * keyword.get(f, 0.0) / top * min(1.0, coverage.get(f, 0.0) / 0.4)
        for f in dense
    }


def _flat_meaning_decisive_words() -> tuple[dict[int, float], ...]:
    """Twelve files alike in meaning at the top, one file singled out by rare words."""
    dense = {f: 0.62 - 0.0001 * f for f in range(12)} | {f: 0.45 - 0.004 * f for f in range(12, 40)}
    dense[WORDS_FIRST] = 0.40
    keyword = {WORDS_FIRST: 20.0} | {f: 1.0 + 0.01 * f for f in range(12, 40)}
    coverage = {WORDS_FIRST: 1.0} | dict.fromkeys(range(12, 40), 0.2)
    return dense, keyword, coverage


def test_decisive_words_outrank_a_flat_top_in_meaning() -> None:
    dense, keyword, coverage = _flat_meaning_decisive_words()
    assert _ranked(fuse(dense, keyword, coverage))[0] == WORDS_FIRST
    # The fixed weights would let meaning's near-ties win: the case has teeth.
    assert _ranked(_fixed(dense, keyword, coverage))[0] == MEANING_FIRST


def test_a_clear_match_in_meaning_beats_incidental_words() -> None:
    """A paraphrase: the target shares no word with the query; another file shares one
    common word, so rank fusion would put it first."""
    dense = {MEANING_FIRST: 0.62} | {f: 0.35 - 0.005 * f for f in range(1, 40)}
    keyword = {f: 5.0 - 0.1 * f for f in range(1, 40)}
    coverage = dict.fromkeys(range(1, 40), 0.15)
    assert _ranked(fuse(dense, keyword, coverage))[0] == MEANING_FIRST
    assert _ranked(rrf(dense, keyword))[0] != MEANING_FIRST


def test_equal_evidence_keeps_the_prior_weights() -> None:
    """Clear matches on both sides, alike in shape: the fusion is today's 0.7 / 0.3."""
    dense = {f: 0.7 - 0.01 * f for f in range(40)}
    keyword = {f: 10.0 * cosine - 1.0 for f, cosine in dense.items()}
    coverage = dict.fromkeys(dense, 1.0)
    fused = fuse(dense, keyword, coverage)
    assert fused == pytest.approx(_fixed(dense, keyword, coverage))


def test_weak_meaning_shifts_weight_to_words() -> None:
    shape = [1.0 - 0.02 * n for n in range(40)]
    strong = meaning_share(0.65, 1.0, shape, shape)
    weak = meaning_share(0.25, 1.0, shape, shape)
    assert strong == pytest.approx(0.7)
    assert weak < 0.5 < strong


def test_words_covering_little_of_the_query_shift_weight_to_meaning() -> None:
    shape = [1.0 - 0.02 * n for n in range(40)]
    assert meaning_share(0.65, 0.1, shape, shape) > 0.8


def test_with_no_difference_in_meaning_the_keyword_order_stands() -> None:
    dense = dict.fromkeys(range(10), 0.5)
    keyword = {f: float(f) for f in range(1, 10)}
    coverage = dict.fromkeys(range(1, 10), 1.0)
    assert _ranked(fuse(dense, keyword, coverage)) == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]


def test_without_keyword_matches_the_order_is_meaning() -> None:
    dense = {f: 0.3 + 0.01 * f for f in range(30)}
    assert _ranked(fuse(dense, {}, {})) == list(range(29, -1, -1))


def test_every_candidate_of_either_side_is_scored() -> None:
    fused = fuse({1: 0.5, 2: 0.4}, {3: 2.0}, {3: 1.0})
    assert set(fused) == {1, 2, 3}
    assert fuse({}, {}, {}) == {}


def test_decisiveness_measures_how_the_best_stand_out() -> None:
    assert decisiveness([5.0] * 30) == 0.0
    assert decisiveness([]) == 0.0
    one_clear = [10.0] + [1.0] * 29
    assert decisiveness(one_clear) == pytest.approx(1.0)
    # Evenly spaced: the tenth of 21 lies 9 steps down, the median 10.
    assert decisiveness([float(n) for n in range(21)]) == pytest.approx(0.9)
    assert decisiveness([3.0, 2.0, 1.0, 0.0], page=10) == pytest.approx(1.5)


def test_match_readings_follow_the_settings() -> None:
    settings = FusionSettings()
    assert meaning_match(0.2, settings) == 0.0
    assert meaning_match(0.4, settings) == pytest.approx(0.5)
    assert meaning_match(0.9, settings) == 1.0
    assert word_match(0.2, settings) == pytest.approx(0.5)
    assert word_match(0.8, settings) == 1.0


def test_rrf_adds_one_over_k_plus_rank_from_each_side() -> None:
    fused = rrf({1: 0.9, 2: 0.8}, {2: 7.0, 3: 1.0}, k=60)
    assert fused[1] == pytest.approx(1 / 61)
    assert fused[2] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[3] == pytest.approx(1 / 62)
