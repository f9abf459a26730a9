"""benchmarks/metrics.py against values worked out by hand (trec_eval definitions)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_metrics() -> ModuleType:
    # benchmarks/ is a folder of scripts, not an installed package, so it is not importable
    # by name; load the module from its file instead.
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "metrics.py"
    spec = importlib.util.spec_from_file_location("trove_benchmarks_metrics", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


metrics = _load_metrics()

LOG2_3 = math.log2(3)  # discount at rank 2
LOG2_5 = math.log2(5)  # discount at rank 4


def test_ndcg_binary_relevance() -> None:
    # Relevant at ranks 1 and 3: DCG = 1/1 + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3).
    value = metrics.ndcg_at_k(["a", "x", "b"], {"a": 1, "b": 1})
    assert value == pytest.approx(1.5 / (1 + 1 / LOG2_3))
    assert value == pytest.approx(0.919720, abs=1e-6)


def test_ndcg_graded_relevance_uses_linear_gains() -> None:
    # Ranking c(1), a(3), x(0), b(2): DCG = 1 + 3/log2(3) + 0 + 2/log2(5) = 3.754142.
    # Ideal a(3), b(2), c(1): 3 + 2/log2(3) + 1/2 = 4.761860.
    # Exponential gains (2^rel - 1) would give 0.714 instead of 0.788.
    value = metrics.ndcg_at_k(["c", "a", "x", "b"], {"a": 3, "b": 2, "c": 1})
    assert value == pytest.approx((1 + 3 / LOG2_3 + 2 / LOG2_5) / (3 + 2 / LOG2_3 + 0.5))
    assert value == pytest.approx(0.788377, abs=1e-6)


def test_ndcg_ideal_list_longer_than_k_is_cut_at_k() -> None:
    # Four relevant documents, k=2: ideal DCG@2 = 1 + 1/log2(3), not the sum over all four.
    value = metrics.ndcg_at_k(["a", "x", "b", "c"], {"a": 1, "b": 1, "c": 1, "d": 1}, k=2)
    assert value == pytest.approx(1 / (1 + 1 / LOG2_3))
    assert value == pytest.approx(0.613147, abs=1e-6)


def test_ndcg_graded_ideal_longer_than_k() -> None:
    # k=1: the ideal top document has grade 3; the ranking's top has grade 2.
    assert metrics.ndcg_at_k(["a", "b"], {"a": 2, "b": 3, "c": 1}, k=1) == pytest.approx(2 / 3)


def test_ndcg_perfect_and_empty_cases() -> None:
    assert metrics.ndcg_at_k(["b", "a"], {"a": 1, "b": 2}) == pytest.approx(1.0)
    assert metrics.ndcg_at_k([], {"a": 1}) == 0.0
    assert metrics.ndcg_at_k(["a"], {"a": 0}) == 0.0  # nothing relevant: no ideal to reach


def test_ndcg_counts_a_repeated_document_once() -> None:
    # The second "a" must not earn gain at rank 2.
    value = metrics.ndcg_at_k(["a", "a"], {"a": 1, "b": 1})
    assert value == pytest.approx(1 / (1 + 1 / LOG2_3))


def test_recall_at_k() -> None:
    qrels = {"a": 1, "b": 1, "c": 0, "d": 2}  # relevant: a, b, d ("c" was judged not relevant)
    ranked = ["a", "c", "x", "d"]
    assert metrics.recall_at_k(ranked, qrels, k=3) == pytest.approx(1 / 3)
    assert metrics.recall_at_k(ranked, qrels) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(ranked, {"c": 0}) == 0.0


def test_mrr() -> None:
    assert metrics.mrr(["x", "y", "b"], {"b": 1}) == pytest.approx(1 / 3)
    assert metrics.mrr(["x", "y", "b"], {"b": 1}, k=2) == 0.0
    assert metrics.mrr(["c", "b"], {"c": 0, "b": 2}) == pytest.approx(1 / 2)
    assert metrics.mrr([], {"b": 1}) == 0.0


def _write_collection(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Wings", "text": "Lift on a wing."},
        {"_id": "d2", "title": "", "text": "Untitled."},
    ]
    queries = [{"_id": "q1", "text": "what lifts a wing"}]
    (root / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
    (root / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n")
    return root


def test_loaders_read_the_beir_layout(tmp_path: Path) -> None:
    collection = _write_collection(tmp_path / "tiny")
    corpus = metrics.load_corpus(collection)
    assert list(corpus) == ["d1", "d2"]
    assert corpus["d1"] == metrics.Document("Wings", "Lift on a wing.")
    assert corpus["d2"].title == ""
    assert metrics.load_queries(collection) == {"q1": "what lifts a wing"}
    assert metrics.load_qrels(collection) == {"q1": {"d1": 2, "d2": 0}}
