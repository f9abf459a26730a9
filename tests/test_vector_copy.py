"""The vectors in memory (core.store.quantised, core.store.mirror) against exact search,
kept in step with the index through every write, rebuilt when their saved copy is stale
or damaged, and never returning a deleted file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.app import Trove
from core.store.connection import snapshot
from core.store.mirror import VectorMirror
from core.store.quantised import EXACT_BELOW, QuantisedVectors, stored_vector
from core.store.saved import SavedArrays
from tests.conftest import run_index, write

DIMENSION = 384


def clustered(count: int, seed: int = 7) -> np.ndarray:
    """Unit vectors mixed from a few thousand topics, as passages mix subjects.  Not many
    copies of one vector with a little noise: their order is ties no index can keep."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((5000, DIMENSION)).astype(np.float32)
    picks = rng.integers(0, len(centres), (count, 3))
    weights = rng.dirichlet([2, 1, 1], count).astype(np.float32)
    vectors = (centres[picks] * weights[..., None]).sum(axis=1)
    vectors += 0.05 * rng.standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def exact_top(vectors: np.ndarray, query: np.ndarray, k: int, rows: np.ndarray) -> set[int]:
    scores = vectors[rows] @ query
    return set(rows[np.argsort(-scores)[:k]].tolist())


@pytest.fixture(scope="module")
def many() -> tuple[np.ndarray, QuantisedVectors]:
    vectors = clustered(EXACT_BELOW + 20_000)  # past the size where signs pick candidates
    index = QuantisedVectors(DIMENSION)
    keys = np.arange(len(vectors))
    index.add(keys, keys // 4, vectors)
    return vectors, index


def queries(vectors: np.ndarray, count: int = 30) -> np.ndarray:
    rng = np.random.default_rng(3)
    picked = vectors[rng.integers(0, len(vectors), count)]
    noisy = picked + 0.2 * rng.standard_normal(picked.shape).astype(np.float32)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def test_nearest_matches_exact_search(many: tuple[np.ndarray, QuantisedVectors]) -> None:
    vectors, index = many
    everything = np.arange(len(vectors))
    found = [
        len(set(index.nearest(q, 10).keys.tolist()) & exact_top(vectors, q, 10, everything))
        for q in queries(vectors)
    ]
    assert sum(found) / (10 * len(found)) >= 0.98


def test_scores_are_the_cosine_within_quantisation(
    many: tuple[np.ndarray, QuantisedVectors],
) -> None:
    vectors, index = many
    query = queries(vectors, 1)[0]
    nearest = index.nearest(query, 50)
    assert list(nearest.scores) == sorted(nearest.scores, reverse=True)
    assert np.abs(nearest.scores - vectors[nearest.keys] @ query).max() < 0.01
    assert (nearest.groups == nearest.keys // 4).all()


def test_a_filter_keeps_full_recall_inside_its_scope(
    many: tuple[np.ndarray, QuantisedVectors],
) -> None:
    vectors, index = many
    groups = np.arange(len(vectors)) // 4
    allowed = np.zeros(groups.max() + 1, dtype=bool)
    allowed[::7] = True  # one file in seven
    in_scope = np.flatnonzero(allowed[groups])
    found = 0
    for query in queries(vectors, 20):
        nearest = index.nearest(query, 10, allowed)
        assert len(nearest) == 10 and allowed[nearest.groups].all()
        found += len(set(nearest.keys.tolist()) & exact_top(vectors, query, 10, in_scope))
    assert found / 200 >= 0.98


def test_a_saved_copy_loads_the_same_with_room_to_grow(
    many: tuple[np.ndarray, QuantisedVectors], tmp_path: Path
) -> None:
    """Read back into arrays with a sixteenth to spare: adding a vector after a load does
    not copy the whole copy again (growing by half held 2.5 times it for a moment)."""
    vectors, index = many
    path = tmp_path / "copy"
    with open(path, "wb") as out:
        np.savez(out, **index.state())
    with SavedArrays(path) as saved:
        again = QuantisedVectors.from_saved(DIMENSION, len(index), saved.read_into)
    for query in queries(vectors, 5):
        assert again.nearest(query, 10).keys.tolist() == index.nearest(query, 10).keys.tolist()
    arrays = [again._codes, again._bits, again._keys]
    again.add(np.array([10**6]), np.array([7]), vectors[:1])
    assert all(
        after is before
        for after, before in zip([again._codes, again._bits, again._keys], arrays, strict=True)
    )
    assert again.nearest(vectors[0], 2).keys.tolist()[:2] in ([0, 10**6], [10**6, 0])


def test_removed_vectors_are_never_returned_and_room_is_reused() -> None:
    vectors = clustered(5000)
    index = QuantisedVectors(DIMENSION)
    keys = np.arange(len(vectors))
    index.add(keys, keys, vectors)
    gone = keys[keys % 3 == 0]
    index.remove(gone)  # more than a quarter: the rows are compacted
    assert index.size == len(vectors) - len(gone)
    assert len(index) == len(vectors) - len(gone)
    for query in queries(vectors, 5):
        returned = index.nearest(query, 200).keys
        assert not np.isin(returned, gone).any()
    index.add(gone[:10], gone[:10], vectors[gone[:10]])  # back again, at the same keys
    assert set(index.nearest(vectors[gone[0]], 1).keys.tolist()) == {int(gone[0])}


def test_a_vector_added_again_replaces_the_old_one() -> None:
    vectors = clustered(100)
    index = QuantisedVectors(DIMENSION)
    index.add(np.array([5]), np.array([1]), vectors[:1])
    index.add(np.array([5]), np.array([2]), vectors[1:2])
    assert len(index) == 1
    nearest = index.nearest(vectors[1], 5)
    assert nearest.keys.tolist() == [5] and nearest.groups.tolist() == [2]


# -- kept in step with the index -----------------------------------------------------


def topics_folder(root: Path, count: int = 40) -> Path:
    topics = ["fig tree watering", "bicycle gears", "lease and rent", "sourdough bread"]
    for i in range(count):
        topic = topics[i % len(topics)]
        write(root, f"{i % 3}/note_{i:02}.md", f"# {topic} {i}\n\nAbout {topic}, note {i}.\n")
    return root


def in_memory(trove: Trove) -> VectorMirror:
    binding = trove.store.model_binding()
    assert binding is not None
    with snapshot(trove.store.conn):
        trove.store.vectors.sync(binding)
    return trove.store.vectors


def stored_ids(trove: Trove) -> set[int]:
    return {int(r[0]) for r in trove.store.conn.execute("SELECT chunk_id FROM chunk_vec")}


def test_the_copy_follows_every_write_and_deletes_are_never_returned(
    fake_trove: Trove, tmp_path: Path
) -> None:
    folder = topics_folder(tmp_path / "notes")
    fake_trove.add_folder(folder)
    run_index(fake_trove)
    reader = fake_trove.reader()
    assert set(in_memory(reader).chunks.keys_held()) == stored_ids(fake_trove)
    before = {Path(r.path).name for r in reader.search("fig tree watering", 40, floor=False)}
    assert "note_00.md" in before
    (folder / "0" / "note_00.md").unlink()
    write(folder, "0/note_new.md", "# fig tree watering new\n\nAbout fig tree watering.\n")
    run_index(fake_trove)
    after = {Path(r.path).name for r in reader.search("fig tree watering", 40, floor=False)}
    assert "note_00.md" not in after and "note_new.md" in after
    assert set(reader.store.vectors.chunks.keys_held()) == stored_ids(fake_trove)
    similar = reader.similar(folder / "0" / "note_new.md", 40)
    assert "note_00.md" not in {Path(r.path).name for r in similar}
    reader.close()


def test_scores_are_the_stored_vectors_own_cosine(fake_trove: Trove, tmp_path: Path) -> None:
    """The index keeps int8 codes and the copy holds the same ones: its scores are the
    stored vectors' cosine, in order, and within quantisation of the model's vectors."""
    rng = np.random.default_rng(5)
    words = "bicycle gears chain saddle brake wheel spoke pedal frame tyre".split()
    for i in range(30):  # uneven word counts: vectors int8 cannot hold exactly
        text = " ".join(word for word in words for _ in range(int(rng.integers(1, 24))))
        write(tmp_path / "notes", f"note_{i:02}.txt", text + "\n")
    fake_trove.add_folder(tmp_path / "notes")
    run_index(fake_trove)
    mirror = in_memory(fake_trove)
    query = fake_trove.embedder.embed_query("bicycle gears chain brake")
    rows = fake_trove.store.conn.execute("SELECT chunk_id, embedding FROM chunk_vec")
    stored = {int(key): stored_vector(blob) for key, blob in rows}
    exact = {key: cosine(vector, query) for key, vector in stored.items()}
    with snapshot(fake_trove.store.conn):
        nearest = mirror.nearest("chunk", query, 10)
    assert len(nearest) == 10
    assert nearest.scores.tolist() == pytest.approx([exact[k] for k in nearest.keys.tolist()])
    assert nearest.keys.tolist() == sorted(exact, key=lambda k: -exact[k])[:10]
    texts = fake_trove.store.texts.passages(nearest.keys.tolist())
    model = fake_trove.embedder.embed_documents([texts[k] for k in nearest.keys.tolist()])
    from_model = [cosine(vector, query) for vector in model]
    # The fake model's 16 dimensions quantise coarser than a real model's 384 (0.002).
    assert nearest.scores.tolist() == pytest.approx(from_model, abs=0.01)
    assert nearest.scores.tolist() != pytest.approx(from_model, abs=1e-6)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_filters_apply_inside_the_fast_path(fake_trove: Trove, tmp_path: Path) -> None:
    folder = topics_folder(tmp_path / "notes")
    fake_trove.add_folder(folder)
    run_index(fake_trove)
    scoped = fake_trove.search("bicycle gears", 40, folder=folder / "1", floor=False)
    assert scoped and all(Path(r.path).parent.name == "1" for r in scoped)
    wanted = {p.name for p in (folder / "1").iterdir() if "bicycle" in p.read_text()}
    assert wanted <= {Path(r.path).name for r in scoped}


def copy_path(trove: Trove) -> Path:
    path = trove.store.vectors.copy_path
    assert path is not None
    return path


def test_the_copy_is_saved_private_and_reused(
    fake_trove: Trove, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_trove.add_folder(topics_folder(tmp_path / "notes"))
    run_index(fake_trove)
    fake_trove.search("lease and rent")
    saved = copy_path(fake_trove)
    assert saved.is_file() and saved.stat().st_mode & 0o077 == 0

    def no_rebuild(*_: object) -> None:
        raise AssertionError("rebuilt instead of reusing the saved copy")

    monkeypatch.setattr(VectorMirror, "_stored", no_rebuild)
    reader = fake_trove.reader()
    assert set(in_memory(reader).chunks.keys_held()) == stored_ids(fake_trove)
    reader.close()


def test_a_copy_older_than_the_log_is_rebuilt_after_a_crash(
    fake_trove: Trove, tmp_path: Path
) -> None:
    """A copy saved long ago whose changes the writer has since trimmed from the log (as
    after a crash that lost the newer copy) cannot be brought up to date: it is rebuilt
    from SQLite, and search matches the index again."""
    folder = topics_folder(tmp_path / "notes")
    fake_trove.add_folder(folder)
    run_index(fake_trove)
    fake_trove.search("bicycle gears")
    old = tmp_path / "old.vectors"
    shutil.copy(copy_path(fake_trove), old)
    for path in list((folder / "2").iterdir())[:5]:
        path.unlink()
    run_index(fake_trove)
    assert fake_trove.store.settle_vector_log(longer_than=0)  # saves and trims the log
    shutil.copy(old, copy_path(fake_trove))  # the crash: the newer copy is lost
    reader = fake_trove.reader()
    assert set(in_memory(reader).chunks.keys_held()) == stored_ids(fake_trove)
    reader.close()


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 not a zip", b"\x00" * 4096, b"cut"])
def test_a_damaged_copy_is_rebuilt(fake_trove: Trove, tmp_path: Path, damage: bytes) -> None:
    fake_trove.add_folder(topics_folder(tmp_path / "notes"))
    run_index(fake_trove)
    fake_trove.search("sourdough bread")
    saved = copy_path(fake_trove)
    saved.write_bytes(damage if damage != b"cut" else saved.read_bytes()[:-700])
    reader = fake_trove.reader()
    assert set(in_memory(reader).chunks.keys_held()) == stored_ids(fake_trove)
    assert reader.search("sourdough bread", floor=False)
    reader.close()


def test_a_copy_of_another_index_is_not_used(fake_trove: Trove, tmp_path: Path) -> None:
    fake_trove.add_folder(topics_folder(tmp_path / "notes"))
    run_index(fake_trove)
    fake_trove.search("fig tree watering")
    with fake_trove.store.transaction():
        fake_trove.store.set_meta("index_id", "another-index")
    reader = fake_trove.reader()
    assert not reader.store.vectors._load(("another-index", "x", DIMENSION), 10**9)
    assert set(in_memory(reader).chunks.keys_held()) == stored_ids(fake_trove)
    reader.close()


def test_the_answer_by_words_does_not_wait_for_the_copy(fake_trove: Trove, tmp_path: Path) -> None:
    """While the model loads, search by words answers without loading the vectors."""
    fake_trove.add_folder(topics_folder(tmp_path / "notes"))
    run_index(fake_trove)
    reader = fake_trove.reader()
    found = reader.search("bicycle gears", floor=False, meaning=False)
    assert found and not reader.store.vectors.spaces
    reader.close()
