"""Incremental indexing with real files, real SQLite and a counting stand-in model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.app import Trove
from core.errors import ModelMismatch
from core.events import CancelToken, Finished, Progress, ScanDone
from core.model_switch import rebuild
from tests.conftest import SHARED, open_trove, run_index, write
from tests.fakes import FakeEmbedder

PARAGRAPH = "The lighthouse keeper logged every passing ship in a leather journal. " * 30


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write(root, "notes/alpha.txt", "Alpha notes about sailing boats.\n\n" + PARAGRAPH)
    write(root, "notes/beta.md", "# Beta\n\nRecipes for lemon cake and scones.\n")
    write(root, "code/tool.py", "def backup():\n    '''Copy photos to the spare drive.'''\n")
    write(
        root,
        "gamma.html",
        "<html><title>Gamma</title><body><p>Bird migration maps."
        "</p><script>var x = 'never indexed';</script></body></html>",
    )
    return root


@pytest.fixture
def trove(docs: Path) -> Trove:
    trove = open_trove(FakeEmbedder())
    trove.add_folder(docs)
    return trove


def _embedder(trove: Trove) -> FakeEmbedder:
    assert isinstance(trove.embedder, FakeEmbedder)
    return trove.embedder


def _paths(trove: Trove) -> set[str]:
    return {
        r[0] for r in trove.store.conn.execute("SELECT path FROM files WHERE state = 'indexed'")
    }


def _top(trove: Trove, text: str) -> str:
    results = trove.search(text, 3)
    return os.path.basename(results[0].path) if results else ""


def test_first_run_indexes_everything_and_second_run_embeds_nothing(
    trove: Trove, docs: Path
) -> None:
    finished, events = run_index(trove)
    assert finished.files_indexed == 4 and finished.files_failed == 0
    assert any(isinstance(e, Progress) for e in events)
    before = _embedder(trove).embedded
    assert before == finished.chunks_embedded > 4  # the long file makes several passages
    finished, events = run_index(trove)
    scan = next(e for e in events if isinstance(e, ScanDone))
    assert (scan.unchanged, scan.to_index) == (4, 0)
    assert _embedder(trove).embedded == before
    assert finished.chunks_embedded == 0


def test_script_text_is_not_indexed(trove: Trove) -> None:
    run_index(trove)
    hits = trove.store.conn.execute(
        "SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH 'never'"
    ).fetchone()[0]
    assert hits == 0


def test_touched_but_unchanged_file_costs_no_embedding(trove: Trove, docs: Path) -> None:
    run_index(trove)
    before = _embedder(trove).embedded
    os.utime(docs / "notes/beta.md", ns=(1, 1))
    run_index(trove)
    assert _embedder(trove).embedded == before
    row = trove.store.file_by_path(str(docs / "notes/beta.md"))
    assert row is not None and row.mtime_ns == 1


def test_modified_file_is_re_embedded_alone(trove: Trove, docs: Path) -> None:
    run_index(trove)
    before = _embedder(trove).embedded
    write(docs, "notes/beta.md", "# Beta\n\nNow about volcano eruptions in Iceland.\n")
    finished, _ = run_index(trove)
    assert finished.files_indexed == 1
    assert _embedder(trove).embedded - before == finished.chunks_embedded == 1
    assert _top(trove, "volcano eruptions") == "beta.md"
    # The old words are gone from the file: it is not found by them, however weakly.
    old = trove.search("lemon scones", 5, floor=False)
    assert old and (old[0].path != str(docs / "notes/beta.md") or "lemon" not in old[0].snippet)


def test_renamed_and_moved_files_keep_their_vectors(
    trove: Trove, docs: Path, tmp_path: Path
) -> None:
    run_index(trove)
    before = _embedder(trove).embedded
    os.rename(docs / "notes/alpha.txt", docs / "notes/renamed-alpha.txt")
    shutil.move(str(docs / "gamma.html"), str(docs / "code/gamma.html"))
    _, events = run_index(trove)
    scan = next(e for e in events if isinstance(e, ScanDone))
    assert scan.moved == 2 and scan.deleted == 0
    assert _embedder(trove).embedded == before
    assert str(docs / "notes/renamed-alpha.txt") in _paths(trove)
    assert str(docs / "notes/alpha.txt") not in _paths(trove)
    hit = trove.search("lighthouse keeper journal", 1)[0]
    assert hit.path == str(docs / "notes/renamed-alpha.txt")
    scoped = trove.search("bird migration", 5, folder=docs / "code")
    assert [r.path for r in scoped][:1] == [str(docs / "code/gamma.html")]


def test_move_between_watched_folders_reuses_vectors(
    trove: Trove, docs: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    trove.add_folder(other)
    run_index(trove)
    before = _embedder(trove).embedded
    shutil.move(str(docs / "notes/alpha.txt"), str(other / "alpha.txt"))
    run_index(trove)
    assert _embedder(trove).embedded == before
    assert trove.search("lighthouse keeper", 1)[0].path == str(other / "alpha.txt")


def test_copy_reuses_vectors(trove: Trove, docs: Path) -> None:
    run_index(trove)
    before = _embedder(trove).embedded
    shutil.copy(docs / "notes/alpha.txt", docs / "alpha-copy.txt")
    _, events = run_index(trove)
    assert next(e for e in events if isinstance(e, ScanDone)).copied == 1
    assert _embedder(trove).embedded == before
    paths = {r.path for r in trove.search("lighthouse keeper", 5)}
    assert {str(docs / "alpha-copy.txt"), str(docs / "notes/alpha.txt")} <= paths


def test_deleted_files_leave_the_index(trove: Trove, docs: Path) -> None:
    run_index(trove)
    (docs / "notes/beta.md").unlink()
    _, events = run_index(trove)
    assert next(e for e in events if isinstance(e, ScanDone)).deleted == 1
    assert str(docs / "notes/beta.md") not in _paths(trove)
    leftovers = trove.store.conn.execute(
        "SELECT count(*) FROM chunks c LEFT JOIN files f ON f.id = c.file_id WHERE f.id IS NULL"
    ).fetchone()[0]
    assert leftovers == 0
    assert (
        trove.store.conn.execute("SELECT count(*) FROM chunk_vec").fetchone()[0]
        == trove.store.chunk_count()
    )


def test_removing_a_folder_forgets_its_files(trove: Trove, docs: Path) -> None:
    run_index(trove)
    assert trove.remove_folder(docs) == 4
    assert trove.store.chunk_count() == 0
    assert trove.store.conn.execute("SELECT count(*) FROM chunk_vec").fetchone()[0] == 0


def test_unreachable_folder_keeps_its_entries(trove: Trove, docs: Path, tmp_path: Path) -> None:
    run_index(trove)
    docs.rename(tmp_path / "unplugged")
    _, events = run_index(trove)
    assert any("not reachable" in getattr(e, "message", "") for e in events)
    assert len(_paths(trove)) == 4


class _Crash(RuntimeError):
    pass


def test_a_killed_run_resumes_without_redoing_committed_work(docs: Path) -> None:
    for n in range(12):
        write(docs, f"bulk/file{n:02}.txt", f"Bulk file number {n} about topic {n}. " * 40)
    crashing = FakeEmbedder()
    calls = {"n": 0}
    original = crashing.embed_documents

    def embed_then_crash(texts):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise _Crash("power cut")
        return original(texts)

    crashing.embed_documents = embed_then_crash  # type: ignore[method-assign]
    trove = open_trove(crashing, commit_every=8)
    trove.add_folder(docs)
    with pytest.raises(_Crash):
        list(trove.index())
    committed = trove.store.state_counts().get("indexed", 0)
    assert 0 < committed < 16
    trove.close()

    fresh = FakeEmbedder()
    trove = open_trove(fresh)
    finished, _ = run_index(trove)
    assert finished.files_indexed == 16 - committed
    assert trove.store.state_counts() == {"indexed": 16}


def test_cancel_stops_between_batches(docs: Path) -> None:
    for n in range(30):
        write(docs, f"bulk/file{n:02}.txt", f"Bulk file {n}. " * 200)
    trove = open_trove(FakeEmbedder(), commit_every=8)
    trove.add_folder(docs)
    cancel = CancelToken()
    events = []
    for event in trove.index(cancel):
        events.append(event)
        if isinstance(event, Progress) and event.files_done:
            cancel.cancel()
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.cancelled
    assert 0 < trove.store.state_counts()["indexed"] < 34


def test_ignore_rules_and_private_folders(trove: Trove, docs: Path) -> None:
    write(docs, "node_modules/pkg/readme.md", "dependency text")
    write(docs, ".git/notes.txt", "git internals")
    write(docs, ".ssh/config.txt", "Host secret")
    write(docs, "keys/server.pem", "-----BEGIN PRIVATE KEY-----")
    write(docs, "env/pyvenv.cfg", "home = /usr")
    write(docs, "env/lib/site.py", "print('venv')")
    write(docs, "drafts/skip-me.txt", "draft")
    trove.remove_folder(docs)
    trove.add_folder(docs, ignore="drafts/\n")
    run_index(trove)
    names = {os.path.relpath(p, docs) for p in _paths(trove)}
    assert names == {"notes/alpha.txt", "notes/beta.md", "code/tool.py", "gamma.html"}


def test_symlinks_are_not_followed_out_of_the_folder(
    trove: Trove, docs: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    write(outside, "secret.txt", "outside text that must stay out")
    os.symlink(outside, docs / "link-to-outside")
    os.symlink(outside / "secret.txt", docs / "secret-link.txt")
    os.symlink(docs, docs / "notes" / "loop")
    run_index(trove)
    assert all(str(outside) not in p and "loop" not in p for p in _paths(trove))


def test_a_bad_file_is_recorded_and_the_run_goes_on(trove: Trove, docs: Path) -> None:
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not really a pdf")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 50)
    finished, _ = run_index(trove)
    assert finished.files_indexed == 4
    failed = {os.path.basename(p): c for p, c, _ in trove.store.failures()}
    assert set(failed) == {"broken.pdf", "binary.txt"}
    assert all(failed.values())
    # Failures are not retried until they change or the user asks.
    finished, _ = run_index(trove)
    assert finished.files_failed == 0
    assert trove.retry_failed() == 2
    finished, _ = run_index(trove)
    assert finished.files_failed == 2


def test_filters_keep_full_recall(tmp_path: Path) -> None:
    """A scoped query finds its file even when hundreds of better matches lie outside."""
    crowd, target = tmp_path / "crowd", tmp_path / "scoped"
    for n in range(300):
        write(crowd, f"c{n:03}.txt", f"harbour ferry timetable {n}")
    write(target, "old/t.md", "harbour ferry notes, sort of")
    trove = open_trove(FakeEmbedder())
    trove.add_folder(tmp_path)
    run_index(trove)
    assert str(target / "old/t.md") not in [
        r.path for r in trove.search("harbour ferry timetable", 20)
    ]
    for scoped in (
        trove.search("harbour ferry timetable", 5, folder=target),
        trove.search("harbour ferry timetable", 5, types=["markdown"]),
        trove.search("harbour ferry timetable", 5, types=["md"]),
    ):
        assert [r.path for r in scoped] == [str(target / "old/t.md")]


def test_another_model_is_refused_until_rebuild(trove: Trove, docs: Path) -> None:
    run_index(trove)
    trove.close()
    other = open_trove(FakeEmbedder(dimension=32, model_id="test/other-model"))
    with pytest.raises(ModelMismatch, match="rebuild"):
        other.search("sailing boats", 3)
    with pytest.raises(ModelMismatch):
        list(other.index())
    finished = list(rebuild(other))[-1]
    assert isinstance(finished, Finished) and finished.files_indexed == 4
    assert other.store.model_binding() == ("test/other-model", 32)
    assert other.search("sailing boats", 1)[0].path == str(docs / "notes/alpha.txt")


def test_the_robustness_collection_indexes_without_a_stuck_run(tmp_path: Path) -> None:
    """Every tricky real-world file ends in the ledger; the run finishes."""
    folder = SHARED / "docs_robustness"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not checked out next to the repository")
    trove = open_trove(FakeEmbedder(), extract_timeout_s=30)
    trove.add_folder(folder)
    finished, _ = run_index(trove)
    states = trove.store.state_counts()
    assert sum(states.values()) == len([p for p in folder.rglob("*") if p.is_file()])
    assert finished.files_indexed == states["indexed"] >= 30
    assert states["unsupported"] == 2  # Word and Excel 97-2003
    assert finished.files_failed == states["failed"] + states["unsupported"]
    assert all(category and reason for _, category, reason in trove.store.failures())


def test_a_touched_file_is_dated_by_its_new_time_in_filters(trove: Trove, docs: Path) -> None:
    """Content unchanged, time moved back: the date filter reads the new time (it is kept
    on the vectors too, where the filter runs inside the nearest-neighbour search)."""
    from datetime import datetime, timedelta

    run_index(trove)
    alpha = docs / "notes/alpha.txt"
    old = datetime(2023, 3, 1).timestamp()
    os.utime(alpha, (old, old))
    finished, _ = run_index(trove)
    assert finished.files_indexed == 0  # nothing re-embedded: only the time changed
    week_ago = datetime.now() - timedelta(days=7)
    # floor=False: every file the filter lets through, however weak a match.
    recent = [r.path for r in trove.search("sailing boats", 5, since=week_ago, floor=False)]
    assert str(alpha) not in recent and recent
    assert str(alpha) in [r.path for r in trove.search("sailing boats", 5, floor=False)]
