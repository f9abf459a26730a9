"""The relevance floor: weak matches are hidden, strong ones keep their order, and relevance
means the same for every query.  With the real model, on the sample folder."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Trove
from core.cli.main import main
from core.embedding import SentenceTransformerEmbedder
from core.language import language_note
from core.relevance import FLOOR
from core.settings import Settings
from tests.conftest import REPO, SAMPLE, open_trove, run_index, write

SERIAL = "INV-2024-88317"
NONSENSE = "zxqv blorft quuxle wibbergast"
PARAPHRASES = [
    query
    for line in (REPO / "tests/data/everyday_queries.jsonl").read_text().splitlines()
    if line and (query := json.loads(line))["kind"] == "paraphrase"
]


@pytest.fixture(scope="module")
def everyday(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: SentenceTransformerEmbedder
) -> Iterator[Trove]:
    """The sample folder and one more invoice, whose number nothing else holds."""
    home = tmp_path_factory.mktemp("home")
    folder = tmp_path_factory.mktemp("docs") / "everyday"
    shutil.copytree(SAMPLE, folder)
    write(
        folder,
        "plumber_invoice.txt",
        f"Invoice {SERIAL}\n\nNordlicht Plumbing. Replacing the kitchen sink trap and the "
        "shut-off valve under the bathroom basin. Parts 84.00, labour 2 hours 130.00. "
        "Total due 214.00 within 30 days.\n",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TROVE_HOME", str(home))
        trove = open_trove(real_embedder)
        trove.add_folder(folder)
        run_index(trove)
        yield trove
        trove.close()


def _names(results: list) -> list[str]:  # type: ignore[type-arg]
    return [os.path.basename(r.path) for r in results]


@pytest.mark.model
def test_a_nonsense_query_finds_nothing(everyday: Trove) -> None:
    assert everyday.search(NONSENSE) == []
    assert everyday.search(NONSENSE, floor=False)  # there were results: the floor hid them


@pytest.mark.model
def test_every_paraphrase_still_finds_its_file_first_above_the_floor(everyday: Trove) -> None:
    for query in PARAPHRASES:
        results = everyday.search(query["text"], 5)
        assert _names(results)[:1] == [query["expected"]], query["text"]
        assert results[0].relevance >= FLOOR


@pytest.mark.model
def test_a_serial_number_finds_its_file_and_not_dozens_of_others(everyday: Trove) -> None:
    results = everyday.search(SERIAL)
    assert _names(results) == ["plumber_invoice.txt"]
    assert results[0].relevance == 1.0
    assert len(everyday.search(SERIAL, floor=False)) > 10  # what used to be shown


@pytest.mark.model
def test_the_floor_keeps_the_order_of_what_it_keeps(everyday: Trove) -> None:
    text = "paying for the house: rent, insurance and taxes"
    everything = everyday.search(text, 19, floor=False)
    kept = everyday.search(text, 19)
    assert 0 < len(kept) < len(everything)
    assert _names(kept) == [_names([r])[0] for r in everything if r.relevance >= FLOOR]


@pytest.mark.model
def test_relevance_means_the_same_for_every_query(everyday: Trove) -> None:
    """A clear match is near full, the best file for nonsense under the floor, though each is
    its own query's best by score."""
    clear = everyday.search("timing for growing food crops at home, month by month", 1)[0]
    weaker = everyday.search("bill from the freelancer who rebuilt our online storefront", 1)[0]
    nonsense = everyday.search(NONSENSE, 1, floor=False)[0]
    assert clear.relevance > 0.85
    assert FLOOR <= weaker.relevance < clear.relevance
    assert nonsense.relevance < FLOOR
    assert nonsense.score > weaker.relevance  # the per-query score could not tell


@pytest.mark.model
def test_keyword_search_works_before_the_model_is_loaded(everyday: Trove) -> None:
    embedder = SentenceTransformerEmbedder()  # loads its model on first use, if any
    with Trove.open(everyday.locations, settings=Settings(), embedder=embedder) as trove:
        by_words = trove.search("sourdough starter", 5, meaning=False)
        by_number = trove.search(SERIAL, 5, meaning=False)
        nonsense = trove.search(NONSENSE, 5, meaning=False)
    assert not embedder.loaded
    assert _names(by_words)[0] == "sourdough_recipe.md"
    assert all(r.relevance >= FLOOR for r in by_words)
    assert _names(by_number) == ["plumber_invoice.txt"]
    assert nonsense == []


@pytest.mark.model
def test_the_command_line_hides_weak_matches_unless_asked(
    everyday: Trove,
    real_embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TROVE_HOME", str(everyday.locations.data))
    monkeypatch.setattr(SentenceTransformerEmbedder, "for_settings", lambda _: real_embedder)
    assert main(["search", NONSENSE]) == 0
    hidden = capsys.readouterr()
    assert hidden.out == ""
    assert hidden.err.startswith(f'trove: no good match for "{NONSENSE}" (10 weaker results')
    assert "--all shows them" in hidden.err
    assert main(["search", NONSENSE, "--all", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown) == 10
    assert all(r["relevance"] < FLOOR for r in shown)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wie hoch ist die Kaution für die Wohnung?", "German"),
        ("Quelle est la date de la réunion avec le client ?", "French"),
        ("¿Cuándo es la próxima cita con el dentista?", "Spanish"),
    ],
)
def test_a_question_in_another_language_gets_a_note(text: str, language: str) -> None:
    note = language_note(text)
    assert note is not None and f"looks {language}" in note


@pytest.mark.parametrize(
    "text",
    [
        *(q["text"] for q in PARAPHRASES),
        "invoice from Müller GmbH for the kitchen tap",  # one foreign name
        "recieve the invocie from the plumbr",  # typos
        "Don Quixote de la Mancha summary",
        SERIAL,
    ],
)
def test_an_english_question_gets_no_note(text: str) -> None:
    assert language_note(text) is None


@pytest.mark.model
def test_a_query_of_words_found_nowhere_needs_a_clear_match_in_meaning(
    tmp_path: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    """Formulas in German sit close to letter salad for the model (cosine 0.34 here,
    which reads as relevance 0.35 for a query that shares words with the folder): when no
    word of the query occurs anywhere, such a cosine is no match."""
    folder = tmp_path / "maths"
    write(
        folder,
        "kreuzverhaeltnis.txt",
        "Seien z1, z2, z3, z4 ∈ C paarweise verschieden. Dann heißt DV(z1, z2, z3, z4) := "
        "(z1 − z4)(z3 − z2) / ((z1 − z2)(z3 − z4)) das Doppelverhältnis von z1, …, z4.\n",
    )
    write(folder, "fig.txt", "Water the fig when the top two inches of soil are dry.\n")
    trove = open_trove(real_embedder)
    trove.add_folder(folder)
    run_index(trove)
    assert trove.search(NONSENSE) == []
    hidden = trove.search(NONSENSE, floor=False)
    assert _names(hidden)[0] == "kreuzverhaeltnis.txt" and hidden[0].relevance < FLOOR
    # A word the folder holds makes the query familiar: the usual reading applies.
    assert _names(trove.search("Doppelverhältnis z1 z2"))[:1] == ["kreuzverhaeltnis.txt"]
    trove.close()
