"""The keyword copy (core.store.words) against FTS5: the same best passages and
scores, kept in step through every write, saved and loaded, rebuilt when its saved copy is
another index's or damaged, and never returning a deleted file."""

from __future__ import annotations

import logging
import os
import random
import stat
from pathlib import Path

import numpy as np
import pytest

from core.app import Trove
from core.store import postings
from core.store.connection import snapshot
from core.store.keywords import KeywordIndex
from core.store.saved import READ_IN_PLACE, FileRows
from core.store.words import WordCopy, highest, words_of
from core.terms import Terms
from tests.conftest import dead_pid, open_trove, run_index, write
from tests.fakes import FakeEmbedder

VOCABULARY = (
    "river garden lease rent tenant budget invoice harbour ferry bicycle gear chain "
    "sourdough flour oven proof fig tree water soil pot repot leaf summer winter train "
    "ticket station museum painting lighthouse keeper storm island map compass"
).split()
QUERIES = (
    "rent for the garden lease",
    "ferry to the island lighthouse",
    "repot the fig tree in summer",
    "water water soil",  # a word said twice counts twice
    "museum ticket",
)


def notes(folder: Path, count: int = 60, seed: int = 5) -> Path:
    rng = random.Random(seed)
    for i in range(count):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(40, 160))]
        body = ". ".join(" ".join(words[j : j + 8]) for j in range(0, len(words), 8))
        write(
            folder, f"{i // 20}/note {i:02} {rng.choice(VOCABULARY)}.md", f"# Note {i}\n\n{body}.\n"
        )
    return folder


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Trove, Path]:
    folder = notes(tmp_path / "notes")
    trove = open_trove(FakeEmbedder())
    trove.add_folder(folder)
    run_index(trove)
    yield trove, folder
    trove.close()


def ready(trove: Trove, copy: WordCopy | None = None) -> WordCopy:
    """A keyword copy (the store's own by default) loaded or built, in the background
    and waited for, then synced."""
    copy = copy or trove.store.words
    copy.min_passages = 0
    with snapshot(trove.store.conn):
        copy.sync()
    copy.wait(120)
    with snapshot(trove.store.conn):
        assert copy.sync()
    return copy


def stems(trove: Trove, text: str) -> list[str]:
    query = Terms(trove.store.conn).query(text)
    found = words_of(query.stems[word] for word in query.repeats)
    assert found is not None
    return found


def fts5(trove: Trove, text: str, k: int = 50) -> list[tuple[int, int, float]]:
    query = Terms(trove.store.conn).query(text)
    return KeywordIndex(trove.store.conn).matches(query.fts_any(), k, 2.0, "", [])


def same_ranking(ours: list[tuple[int, int, float]], theirs: list[tuple[int, int, float]]) -> None:
    """The same scores in the same order, and each passage where FTS5 has it, up to ties
    (passages with the same score may come in either order)."""
    assert len(ours) == len(theirs)
    assert [s for _, _, s in ours] == pytest.approx([s for _, _, s in theirs], rel=1e-4)
    by_score: dict[float, set[tuple[int, int]]] = {}
    for passage, file_id, score in theirs:
        by_score.setdefault(round(score, 3), set()).add((passage, file_id))
    for passage, file_id, score in ours[:-1]:  # the last may tie with one left out
        assert (passage, file_id) in by_score[round(score, 3)]


def test_the_copy_ranks_passages_as_fts5_does(indexed: tuple[Trove, Path]) -> None:
    trove, _ = indexed
    copy = ready(trove)
    for text in QUERIES:
        with snapshot(trove.store.conn):
            same_ranking(copy.best(stems(trove, text), 50), fts5(trove, text))


def test_a_copy_built_a_few_passages_at_a_time_ranks_as_fts5_does(
    indexed: tuple[Trove, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build with blocks of 8 passage ids, reads of 7 passages and writes of about 40
    postings (each far bigger in use): every word's postings gathered from many blocks,
    over ids with gaps where files were removed."""
    trove, folder = indexed
    for gone in sorted(folder.glob("1/*.md"))[::3]:
        gone.unlink()
    run_index(trove)
    bits = 3
    monkeypatch.setattr(postings, "BLOCK_BITS", bits)
    monkeypatch.setattr(postings, "BLOCK_MASK", (1 << bits) - 1)
    monkeypatch.setattr(postings, "WORD_SHIFT", bits + postings.CODE_BITS)
    monkeypatch.setattr(postings, "READ_PASSAGES", 7)
    monkeypatch.setattr(postings, "WRITE_POSTINGS", 40)
    copy = ready(trove)
    base = copy._base
    assert base is not None and base.blocks.shape[1] > 10
    assert max(base.found_in(word) for word in base.words) > 40  # a word alone in its write
    for text in QUERIES:
        with snapshot(trove.store.conn):
            same_ranking(copy.best(stems(trove, text), 50), fts5(trove, text))
    terms = Terms(trove.store.conn)
    words = sorted(terms.document_stems(" ".join(VOCABULARY)))
    with snapshot(trove.store.conn):
        passages = [int(r[0]) for r in trove.store.conn.execute("SELECT id FROM chunks")]
        texts = trove.store.texts.passages(passages)
        held = copy.in_text(words, passages)
    for row, passage in enumerate(passages):
        present = terms.document_stems(texts[passage])
        assert held[row].tolist() == [word in present for word in words]


def test_a_copy_that_cannot_be_saved_leaves_fts5_answering_and_nothing_behind(
    indexed: tuple[Trove, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    trove, _ = indexed
    copy = trove.store.words
    copy.min_passages = 0

    def refuse(path: Path) -> None:
        if path.name.endswith(".tmp"):  # the scratch file is made, the copy is not
            raise PermissionError(f"read-only folder: {path}")
        path.touch()

    monkeypatch.setattr(postings, "create_private_file", refuse)
    with caplog.at_level(logging.WARNING), snapshot(trove.store.conn):
        assert not copy.sync()
    copy.wait(120)
    with snapshot(trove.store.conn):
        assert not copy.sync()
    assert "could not be made; FTS5 answers" in caplog.text
    assert copy.path is not None
    assert sorted(p.name for p in copy.path.parent.iterdir() if "-words" in p.name) == []
    assert trove.search("rent for the garden lease", limit=5)


def test_the_copy_follows_deletions_additions_and_renames(indexed: tuple[Trove, Path]) -> None:
    trove, folder = indexed
    copy = ready(trove)
    gone = next(folder.glob("0/note 00 *.md"))
    gone.unlink()
    write(folder, "2/quokka.md", "A quokka smiled at the ferry.\n")
    renamed = next(folder.glob("1/note 20 *.md"))
    renamed.rename(renamed.with_name("wombat burrow.md"))
    run_index(trove)
    with snapshot(trove.store.conn):
        assert copy.sync()
        files = {
            row.id: row.path
            for row in map(trove.store.file_by_path, map(str, folder.rglob("*.md")))
            if row
        }
        for text in (*QUERIES, "quokka", "wombat burrow"):
            # Every passage that matches (fewer than 500), scored within a percent: the
            # words' rarity and the average length stay the build's until it is redone.
            ours = {(p, f): score for p, f, score in copy.best(stems(trove, text), 500)}
            theirs = {(p, f): score for p, f, score in fts5(trove, text, 500)}
            assert ours.keys() == theirs.keys()
            assert [ours[key] for key in theirs] == pytest.approx(list(theirs.values()), rel=0.01)
            assert {f for _, f in ours} <= set(files)  # no passage of a deleted file
        assert {files[f] for _, f, _ in copy.best(["quokka"], 10)} == {str(folder / "2/quokka.md")}
        # A moved file's passages hold its new name in their title column.
        assert {files[f] for _, f, _ in copy.best(["wombat"], 10)} == {
            str(renamed.with_name("wombat burrow.md"))
        }


def test_whether_a_word_is_held_anywhere_agrees_with_fts5(indexed: tuple[Trove, Path]) -> None:
    """Through deletions after the build (its postings still there, masked) and additions."""
    trove, folder = indexed
    write(folder, "2/axolotl.md", "An axolotl in the garden pond.\n")
    run_index(trove)
    copy = ready(trove)
    (folder / "2/axolotl.md").unlink()
    write(folder, "2/quokka.md", "A quokka smiled at the ferry.\n")
    run_index(trove)
    keywords = KeywordIndex(trove.store.conn)
    with snapshot(trove.store.conn):
        assert copy.sync()
        assert not copy.holds_any(["axolotl", "pond", "nowhere"])
        assert copy.holds_any(["axolotl", "quokka"]) and copy.holds_any(["garden"])
        for words in (["axolotl"], ["pond"], ["quokka"], ["garden"], ["nowhere"], []):
            assert copy.holds_any(words) == keywords.any_indexed(words), words


def test_words_in_the_text_agree_with_the_tokenizer(indexed: tuple[Trove, Path]) -> None:
    """In the copy as built, in memory, and as loaded, with its postings left in the file."""
    trove, _ = indexed
    built = ready(trove)
    loaded = ready(trove, WordCopy(trove.store.conn, built.path))
    terms = Terms(trove.store.conn)
    for copy in (built, loaded):
        with snapshot(trove.store.conn):
            chunks = trove.store.conn.execute("SELECT id FROM chunks")
            passages = [int(r[0]) for r in chunks][:40]
            texts = trove.store.texts.passages(passages)
            words = ["note", "rent", "ferri", "water", "quokka"]
            held = copy.in_text(words, passages)
        for row, passage in enumerate(passages):
            present = terms.document_stems(texts[passage])
            assert held[row].tolist() == [word in present for word in words]
        assert held.any() and not held.all()


def test_a_filter_keeps_only_the_files_it_allows(indexed: tuple[Trove, Path]) -> None:
    trove, _ = indexed
    copy = ready(trove)
    with snapshot(trove.store.conn):
        everything = copy.best(stems(trove, "rent lease"), 500)
        files = sorted({f for _, f, _ in everything})
        allowed = np.zeros(max(files) + 1, dtype=bool)
        allowed[files[::2]] = True
        kept = copy.best(stems(trove, "rent lease"), 500, allowed)
    assert kept == [hit for hit in everything if allowed[hit[1]]]


def test_search_finds_the_same_files_with_the_copy_and_without(
    indexed: tuple[Trove, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    trove, _ = indexed
    ready(trove)
    with_copy = {text: trove.search(text, limit=15) for text in QUERIES}
    assert trove.store.words.usable
    monkeypatch.setattr(WordCopy, "sync", lambda self: False)
    for text, results in with_copy.items():
        without = trove.search(text, limit=15)
        assert [r.score for r in results] == pytest.approx([r.score for r in without], abs=1e-4)
        assert {(r.path, round(r.score, 3)) for r in results} == {
            (r.path, round(r.score, 3)) for r in without
        }


def test_the_copy_is_saved_privately_and_loaded_by_the_next_process(
    indexed: tuple[Trove, Path],
) -> None:
    trove, _ = indexed
    copy = ready(trove)
    assert copy.copy_path is not None and copy.copy_path.is_file()
    if os.name == "posix":
        assert stat.S_IMODE(copy.copy_path.stat().st_mode) == 0o600
    saved_at = copy.copy_path.stat().st_mtime_ns
    again = ready(trove, WordCopy(trove.store.conn, copy.path))
    with snapshot(trove.store.conn):
        same_ranking(again.best(stems(trove, QUERIES[0]), 50), fts5(trove, QUERIES[0]))
    assert copy.copy_path.stat().st_mtime_ns == saved_at  # loaded, not built again
    beside = {p.name for p in copy.copy_path.parent.iterdir()}
    assert not [name for name in beside if name.endswith((".runs", ".tmp"))]  # none left
    if READ_IN_PLACE:  # the postings stay in the file: a search reads only its words'
        base = again._base
        assert base is not None
        assert all(isinstance(rows, FileRows) for rows in (base.blocks, base.low, base.counts))


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_the_files_a_copy_is_built_through_are_private_and_cleared_after_a_crash(
    indexed: tuple[Trove, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    trove, _ = indexed
    modes: dict[str, int] = {}
    save = postings._Builder.save

    def saving(builder: postings._Builder, path: Path) -> None:
        for made in path.parent.iterdir():
            if made.name.endswith((".runs", ".tmp")):
                modes[made.suffix] = stat.S_IMODE(made.stat().st_mode)
        save(builder, path)

    monkeypatch.setattr(postings._Builder, "save", saving)
    copy = trove.store.words
    assert copy.copy_path is not None
    left = copy.copy_path.with_name(f"{copy.copy_path.name}.{dead_pid()}.runs")
    left.write_bytes(b"postings of a build that crashed")
    ready(trove)
    assert modes == {".runs": 0o600, ".tmp": 0o600}
    assert not left.exists()  # removed by the next build


def test_a_copy_of_another_index_or_a_damaged_one_is_built_again(
    indexed: tuple[Trove, Path], caplog: pytest.LogCaptureFixture
) -> None:
    trove, _ = indexed
    copy = ready(trove)
    assert copy.copy_path is not None
    with trove.store.transaction():
        trove.store.set_meta("index_id", "another index")
    with snapshot(trove.store.conn):
        assert not copy.sync()  # not this index's: FTS5 answers until it is built again
    copy.wait(120)
    with snapshot(trove.store.conn):
        assert copy.sync()
    copy.copy_path.write_bytes(b"not a saved copy at all")
    again = WordCopy(trove.store.conn, copy.path)
    again.min_passages = 0
    with caplog.at_level(logging.WARNING), snapshot(trove.store.conn):
        assert not again.sync()
    again.wait(120)
    assert "saved keyword copy is unreadable" in caplog.text
    with snapshot(trove.store.conn):
        assert again.sync()
        same_ranking(again.best(stems(trove, QUERIES[1]), 50), fts5(trove, QUERIES[1]))


def test_small_indexes_and_split_words_stay_with_fts5(indexed: tuple[Trove, Path]) -> None:
    trove, _ = indexed
    copy = trove.store.words  # the default threshold: far more passages than these
    with snapshot(trove.store.conn):
        assert not copy.sync()
    assert copy._worker is None  # nothing is built for a small index
    assert words_of([("rent",), ("e", "mail")]) is None  # FTS5 matches "e_mail" as a phrase
    assert trove.search("rent for the garden lease e_mail", limit=5)


def test_a_copy_turned_off_answers_nothing_and_builds_nothing(
    indexed: tuple[Trove, Path],
) -> None:
    """As in `trove search TEXT`, which would exit before a build could finish."""
    trove, _ = indexed
    copy = trove.store.words
    copy.min_passages = 0
    copy.enabled = False
    with snapshot(trove.store.conn):
        assert not copy.sync()
    assert copy._worker is None
    assert trove.search("rent for the garden lease", limit=5)
    assert copy._worker is None and not copy.usable


def test_the_highest_scores_are_found_whatever_their_spread() -> None:
    """Exactly the best ``limit`` positive scores, the first of those tied at the cut, where
    the sample's threshold works, where it keeps too few, and where no sampled score is
    positive."""
    rng = np.random.default_rng(11)
    size = 200_000
    spread = rng.exponential(size=size).astype(np.float32)
    spread[rng.random(size) < 0.3] = 0.0
    rare = np.zeros(size, dtype=np.float32)
    rare[rng.choice(size, 1500, replace=False)] = rng.random(1500, dtype=np.float32) + 0.1
    unsampled = np.zeros(size, dtype=np.float32)
    unsampled[1::16] = rng.random(len(unsampled[1::16]), dtype=np.float32) + 0.1
    high_in_sample = np.full(size, 0.5, dtype=np.float32)
    high_in_sample[::16] = 2.0  # the sample says 2.0 is common; few others reach it
    few_sampled = np.zeros(size, dtype=np.float32)
    few_sampled[: 300 * 16 : 16] = rng.random(300, dtype=np.float32) + 0.1
    ties = rng.integers(0, 4, size=size).astype(np.float32)
    for scores in (spread, rare, unsampled, high_in_sample, few_sampled, ties, spread[:5000]):
        positive = np.flatnonzero(scores > 0)
        ranked = positive[np.lexsort((positive, -scores[positive]))]  # ties: the first
        for limit in (1, 10, 2000, 20_000):
            found = highest(scores, limit)
            assert np.array_equal(found, np.sort(ranked[:limit]))
    assert len(highest(spread, 0)) == 0
