"""Ranking by meaning, with the real model on a small folder of everyday documents."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.app import Trove
from core.embedding import SentenceTransformerEmbedder
from core.errors import ModelError
from core.fusion import rrf
from core.search import Searcher, Weights
from tests.conftest import REPO, SAMPLE, open_trove, run_index
from tests.data.check_everyday import content_word_overlap, fixture_problems
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.model

QUERIES = [
    json.loads(line)
    for line in (REPO / "tests/data/everyday_queries.jsonl").read_text().splitlines()
    if line
]
PARAPHRASES = [q for q in QUERIES if q["kind"] == "paraphrase"]
IDENTIFIERS = [q for q in QUERIES if q["kind"] == "identifier"]


@pytest.fixture(scope="module")
def everyday(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: SentenceTransformerEmbedder
) -> Iterator[tuple[Trove, Path]]:
    home = tmp_path_factory.mktemp("home")
    folder = tmp_path_factory.mktemp("docs") / "everyday"
    shutil.copytree(SAMPLE, folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TROVE_HOME", str(home))
        trove = open_trove(real_embedder)
        trove.add_folder(folder)
        finished, _ = run_index(trove)
        assert finished.files_indexed == len(list(folder.iterdir()))
        yield trove, folder
        trove.close()


def _rank_of(results: list, name: str) -> int | None:  # type: ignore[type-arg]
    names = [os.path.basename(r.path) for r in results]
    return names.index(name) + 1 if name in names else None


def test_fixture_queries_share_no_content_word_with_their_targets() -> None:
    assert fixture_problems() == []


@pytest.mark.parametrize("query", PARAPHRASES, ids=lambda q: q["expected"])
def test_paraphrased_query_finds_its_file_first(
    everyday: tuple[Trove, Path], query: dict[str, str]
) -> None:
    trove, folder = everyday
    target = (folder / query["expected"]).read_text(encoding="utf-8")
    assert content_word_overlap(query["text"], target) == set()
    results = trove.search(query["text"], 5)
    assert _rank_of(results, query["expected"]) == 1, [os.path.basename(r.path) for r in results]


def test_keyword_search_alone_cannot_answer_the_paraphrases(everyday: tuple[Trove, Path]) -> None:
    """The paraphrase test means something: keywords alone put no target first."""
    trove, _ = everyday
    searcher = trove.searcher
    for query in PARAPHRASES:
        terms = searcher.terms.query(query["text"])
        hits = searcher._keyword(terms, 50, trove.filters(None, None, None))
        best = max(hits, key=lambda hit: hit[2])[1] if hits else None
        name = (
            trove.store.conn.execute("SELECT name FROM files WHERE id = ?", (best,)).fetchone()
            if best
            else None
        )
        assert name is None or name[0] != query["expected"], query["text"]


def test_plain_score_fusion_would_fail_here(everyday: tuple[Trove, Path]) -> None:
    """Without coverage weighting, incidental words win: the fixture has teeth."""
    trove, _ = everyday
    naive = Searcher(trove.store, trove.embedder, Weights())
    naive._coverage = lambda found, terms: dict.fromkeys(found, 1.0)  # type: ignore[method-assign]
    misses = sum(_rank_of(naive.search(q["text"], 5), q["expected"]) != 1 for q in PARAPHRASES)
    assert misses >= 3


def test_rank_fusion_of_the_same_signals_would_fail_here(everyday: tuple[Trove, Path]) -> None:
    """The fusion Trove chose against plain reciprocal rank fusion of the same two
    signals over the same candidates: ranks alone let files sharing a word or two with
    the query crowd out the paraphrases' targets."""
    trove, _ = everyday
    ranks = Searcher(trove.store, trove.embedder, Weights())

    def rank_fused(found: dict, coverage: dict) -> dict[int, float]:  # type: ignore[type-arg]
        dense = {f: max(c.dense.values(), default=0.0) for f, c in found.items()}
        return rrf(dense, {f: max(c.keyword.values()) for f, c in found.items() if c.keyword})

    ranks._fused = rank_fused  # type: ignore[method-assign]
    misses = sum(_rank_of(ranks.search(q["text"], 5), q["expected"]) != 1 for q in PARAPHRASES)
    chosen = sum(_rank_of(trove.search(q["text"], 5), q["expected"]) != 1 for q in PARAPHRASES)
    assert chosen == 0 < misses


@pytest.mark.parametrize("query", IDENTIFIERS, ids=lambda q: q["text"])
def test_exact_identifier_is_found_first(
    everyday: tuple[Trove, Path], query: dict[str, str]
) -> None:
    trove, _ = everyday
    results = trove.search(query["text"], 5)
    assert _rank_of(results, query["expected"]) == 1
    top = results[0]
    assert query["text"] in top.snippet
    marked = [top.snippet[a:b] for a, b in top.highlights]
    assert marked and all(part.lower() in query["text"].lower() for part in marked)


def test_result_carries_passage_location_and_highlights(everyday: tuple[Trove, Path]) -> None:
    trove, _ = everyday
    top = trove.search("sourdough starter feeding", 3)[0]
    assert os.path.basename(top.path) == "sourdough_recipe.md"
    assert top.location
    assert top.highlights
    assert {top.snippet[a:b].lower() for a, b in top.highlights} & {"sourdough", "starter"}


def test_similar_files_exclude_the_file_itself(everyday: tuple[Trove, Path]) -> None:
    trove, folder = everyday
    results = trove.similar(folder / "letter_to_landlord_roof.txt", 3)
    names = [os.path.basename(r.path) for r in results]
    assert "letter_to_landlord_roof.txt" not in names
    assert names[0] == "lease_agreement_clause.txt"
    assert results[0].score >= results[-1].score


def test_more_like_this_passage(everyday: tuple[Trove, Path]) -> None:
    trove, _ = everyday
    passage = trove.search("half marathon long run pace", 1)[0]
    results = trove.more_like_passage(passage.chunk_id, 3)
    assert passage.path not in [r.path for r in results]
    assert len(results) == 3


def test_type_filter_with_the_real_model(everyday: tuple[Trove, Path]) -> None:
    trove, _ = everyday
    results = trove.search("backing up photographs", 5, types=["code"])
    assert [os.path.basename(r.path) for r in results] == ["backup_photos.py"]


def test_a_common_number_is_not_treated_as_an_identifier(
    tmp_path: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    folder = tmp_path / "years"
    for n in range(8):
        (folder / f"report{n}.txt").parent.mkdir(exist_ok=True)
        (folder / f"report{n}.txt").write_text(f"Quarterly report {n} for 2024: sales figures.")
    (folder / "garden.txt").write_text("Planting tomatoes and basil in spring.")
    trove = open_trove(real_embedder)
    trove.add_folder(folder)
    run_index(trove)
    results = trove.search("vegetable garden 2024", 3)
    assert os.path.basename(results[0].path) == "garden.txt"
    assert all(r.score < 1.0 for r in results)  # no file got the identifier bonus


def test_a_file_borrows_score_from_its_nearest_neighbours_in_meaning(
    everyday: tuple[Trove, Path],
) -> None:
    """Score regularisation: a file alike in content to a strong match is lifted a little;
    an unrelated file is not, and a share of zero leaves every score as it was."""
    trove, _ = everyday
    ids = dict(trove.store.conn.execute("SELECT name, id FROM files"))
    scores = dict.fromkeys(ids.values(), 0.0)
    scores[ids["lease_agreement_clause.txt"]] = 1.0
    nearest_one = Searcher(trove.store, trove.embedder, Weights(neighbourhood=0.1, neighbours=1))
    blended = nearest_one._regularise(scores)
    assert blended[ids["letter_to_landlord_roof.txt"]] == pytest.approx(0.1)
    assert blended[ids["sourdough_recipe.md"]] == 0.0
    assert blended[ids["lease_agreement_clause.txt"]] == pytest.approx(0.9)
    off = Searcher(trove.store, trove.embedder, Weights(neighbourhood=0.0))
    assert off._regularise(scores) == scores


def test_a_filters_scope_is_read_once_until_the_index_changes(
    fake_trove: Trove, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "garden.md").write_text("# Garden\n\nTomatoes along the south fence.\n")
    (docs / "notes.txt").write_text("Tomatoes again, in a plain note.\n")
    fake_trove.add_folder(docs)
    run_index(fake_trove)
    reader = fake_trove.reader()
    asked: list[object] = []
    passing = reader.store.files_passing
    monkeypatch.setattr(reader.store, "files_passing", lambda f: asked.append(f) or passing(f))
    names = lambda: sorted(Path(r.path).name for r in reader.search("tomatoes", types=["md"]))  # noqa: E731
    assert names() == ["garden.md"]
    assert names() == ["garden.md"]
    assert len(asked) == 1  # the second search reused the scope
    (docs / "orchard.md").write_text("# Orchard\n\nTomatoes under the apple trees.\n")
    run_index(fake_trove)  # another connection writes: the scope is read again
    assert names() == ["garden.md", "orchard.md"]
    assert len(asked) == 2
    reader.close()


class _WaitsForTheKeywordSide(FakeEmbedder):
    """Embeds a query only once the keyword side has begun, as it may while they overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.keyword_side_began = threading.Event()
        self.overlapped: list[bool] = []

    def embed_query(self, text: str) -> np.ndarray:
        self.overlapped.append(self.keyword_side_began.wait(timeout=5))
        return super().embed_query(text)


def test_the_query_is_embedded_while_the_keyword_side_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "garden.md").write_text("# Garden\n\nTomatoes along the south fence.\n")
    embedder = _WaitsForTheKeywordSide()
    with open_trove(embedder) as trove:
        trove.add_folder(docs)
        run_index(trove)
        searcher = trove.searcher
        matches = searcher._keyword_matches

        def keyword_side(*args: object) -> object:
            embedder.keyword_side_began.set()
            return matches(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(searcher, "_keyword_matches", keyword_side)
        assert [Path(r.path).name for r in trove.search("tomatoes")] == ["garden.md"]
        assert embedder.overlapped == [True]


def test_a_model_that_fails_on_the_query_fails_the_search(tmp_path: Path) -> None:
    class Broken(FakeEmbedder):
        def embed_query(self, text: str) -> np.ndarray:
            raise ModelError("the model file is damaged")

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "garden.md").write_text("# Garden\n\nTomatoes along the south fence.\n")
    with open_trove(Broken()) as trove:
        trove.add_folder(docs)
        run_index(trove)
        with pytest.raises(ModelError, match="damaged"):
            trove.search("tomatoes")
        assert [Path(r.path).name for r in trove.search("tomatoes", meaning=False)] == ["garden.md"]
