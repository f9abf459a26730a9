"""The index database: sqlite-vec really loads, schema versions, model binding."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelMismatch, SchemaTooNew, StoreError
from core.store import Store, connect, vec_version
from core.store.records import FileStat
from core.store.schema import MIGRATIONS


def test_sqlite_vec_loads_and_answers_a_knn_query(tmp_path: Path) -> None:
    conn = connect(tmp_path / "t.db")
    assert vec_version(conn).startswith("v")
    conn.execute(
        "CREATE VIRTUAL TABLE v USING vec0(id INTEGER PRIMARY KEY, e float[2] "
        "distance_metric=cosine)"
    )
    for i, vec in enumerate([(1, 0), (0, 1), (1, 1)], 1):
        conn.execute("INSERT INTO v VALUES (?, ?)", (i, np.array(vec, np.float32).tobytes()))
    rows = conn.execute(
        "SELECT id FROM v WHERE e MATCH ? AND k = 2", (np.array([1, 0.1], np.float32).tobytes(),)
    ).fetchall()
    assert [r[0] for r in rows] == [1, 3]


def test_new_database_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "i.db")
    names = [r[0] for r in store.conn.execute("SELECT name FROM migrations")]
    assert names == [name for name, _ in MIGRATIONS]
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "i.db")
    store.conn.execute("INSERT INTO migrations VALUES ('9999_from_the_future', 0)")
    store.close()
    with pytest.raises(SchemaTooNew, match="newer version of Trove"):
        Store.open(tmp_path / "i.db")


def test_unopenable_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="cannot open the index"):
        Store.open(tmp_path / "dir.db")


def test_model_binding_refuses_another_model(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "i.db")
    store.bind_model("model-a", 8)
    store.bind_model("model-a", 8)  # the same model again is fine
    with pytest.raises(ModelMismatch, match="rebuild"):
        store.check_model("model-b")
    with pytest.raises(ModelMismatch):
        store.bind_model("model-b", 16)


def test_an_older_database_is_backed_up_and_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.store import schema

    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
        old = Store.open(tmp_path / "index.sqlite3")
        old.conn.execute("INSERT INTO folders(path, added_at) VALUES ('/data/share', 0)")
        old.close()
    store = Store.open(tmp_path / "index.sqlite3")
    assert [f.path for f in store.folders()] == ["/data/share"]
    assert store.folders()[0].poll is False
    backup = connect(tmp_path / "index.before-0001_initial.sqlite3")
    assert backup.execute("SELECT name FROM migrations").fetchall() == [("0001_initial",)]
    assert backup.execute("SELECT * FROM folders").fetchall() == [(1, "/data/share", "", 0.0)]
    backup.close()
    store.add_folder("/data/share", poll=True)
    assert store.folders()[0].poll is True


def test_an_older_index_keeps_each_passage_once_after_migrating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Passages are read as spans of their document's text; the plain copy older indexes
    kept beside it (a quarter of the file) goes."""
    from core.store import schema

    document = "First passage.\n\nSecond passage, the one that matters."
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
        old = Store.open(tmp_path / "index.sqlite3")
        with old.transaction():
            folder = old.add_folder("/data")
            file_id = old.upsert_file(FileStat("/data/a.txt", folder.id, 1, 1, "text"), "indexed")
            old.conn.execute(
                "INSERT INTO texts(file_id, body) VALUES (?, ?)",
                (file_id, zlib.compress(document.encode())),
            )
            old.conn.execute(
                "INSERT INTO chunks(file_id, ord, start, end, location, text) "
                "VALUES (?, 1, 16, ?, 'line 3', 'Second passage, the one that matters.')",
                (file_id, len(document)),
            )
        old.close()
    store = Store.open(tmp_path / "index.sqlite3")
    assert "text" not in [row[1] for row in store.conn.execute("PRAGMA table_info(chunks)")]
    (chunk_id,) = store.passages_of([file_id])[file_id]
    assert store.texts.passages([chunk_id]) == {chunk_id: "Second passage, the one that matters."}
    assert store.result_rows([chunk_id])[chunk_id] == (
        "/data/a.txt", "text", 1, "Second passage, the one that matters.", "line 3"
    )  # fmt: skip


def test_an_older_index_keeps_its_vectors_without_the_filter_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vector tables lose the type, folder and date columns nothing reads any more;
    every vector stays under its key."""
    from core.store import schema

    vectors = {
        key: np.random.default_rng(key).standard_normal(4).astype(np.float32) for key in (3, 8)
    }
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
        old = Store.open(tmp_path / "index.sqlite3")
        with old.transaction():
            old.set_meta("model_id", "m")
            old.set_meta("model_dim", "4")
            for table, key in (("chunk_vec", "chunk_id"), ("file_vec", "file_id")):
                old.conn.execute(
                    f"CREATE VIRTUAL TABLE {table} USING vec0({key} INTEGER PRIMARY KEY, "
                    "embedding float[4] distance_metric=cosine, kind TEXT, ext TEXT, dir TEXT, "
                    "mtime INTEGER)"
                )
                for item, vector in vectors.items():
                    old.conn.execute(
                        f"INSERT INTO {table}({key}, embedding, kind, ext, dir, mtime) "
                        "VALUES (?, ?, 'text', 'txt', '/data/', 1)",
                        (item, vector.tobytes()),
                    )
        old.close()
    store = Store.open(tmp_path / "index.sqlite3")
    for table, key in (("chunk_vec", "chunk_id"), ("file_vec", "file_id")):
        columns = [row[1] for row in store.conn.execute(f"PRAGMA table_info({table})")]
        assert columns == [key, "embedding"]
    for item, vector in vectors.items():  # as int8 codes since 0007_vectors_in_int8
        for kept in (store.chunk_vector(item), store.file_vector(item)):
            assert kept is not None and cosine(kept, vector) > 0.999


def test_an_older_index_keeps_its_vectors_as_int8_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Float vectors become int8 codes, a quarter of the room, each in the direction it
    had; the float index is kept aside as the backup."""
    from core.store import schema

    rng = np.random.default_rng(7)
    vectors = {key: rng.standard_normal(384).astype(np.float32) for key in range(1, 41)}
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:6])
        old = Store.open(tmp_path / "index.sqlite3")
        with old.transaction():
            old.set_meta("model_id", "m")
            old.set_meta("model_dim", "384")
            for table, key in schema.VECTOR_TABLES.values():
                schema.create_vector_table(old.conn, table, 384, "float")
                old.conn.executemany(
                    f"INSERT INTO {table}({key}, embedding) VALUES (?, ?)",
                    [(item, vector.tobytes()) for item, vector in vectors.items()],
                )
        old.close()
    store = Store.open(tmp_path / "index.sqlite3")
    for item, vector in vectors.items():
        for kept in (store.chunk_vector(item), store.file_vector(item)):
            assert kept is not None and cosine(kept, vector) > 0.9995
    for table, _ in schema.VECTOR_TABLES.values():
        lengths = store.conn.execute(f"SELECT DISTINCT length(embedding) FROM {table}").fetchall()
        assert lengths == [(384,)]
    tables = {str(row[0]) for row in store.conn.execute("SELECT name FROM sqlite_master")}
    assert "converting" not in tables
    assert store.conn.execute("PRAGMA freelist_count").fetchone() == (0,)  # compacted
    backup = connect(tmp_path / "index.before-0006_date_taken.sqlite3")
    assert backup.execute("SELECT DISTINCT length(embedding) FROM chunk_vec").fetchall() == [
        (1536,)
    ]
    backup.close()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_files_under_targets_reads_exactly_what_they_cover(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "i.db")
    home, other = store.add_folder("/home/me"), store.add_folder("/srv/other")
    paths = ["/home/me/notes/a.txt", "/home/me/notes/deep/b.txt", "/home/me/notes-old/c.txt",
             "/home/me/top.txt", "/home/me/notesx.txt"]  # fmt: skip
    with store.transaction():
        for path in paths:
            store.upsert_file(FileStat(path, home.id, 1, 1, "text"), "indexed")
        store.upsert_file(FileStat("/srv/other/d.txt", other.id, 1, 1, "text"), "indexed")
    found = store.files_under(home.id, ["/home/me/notes", "/home/me/top.txt"])
    assert sorted(found) == [
        "/home/me/notes/a.txt",
        "/home/me/notes/deep/b.txt",
        "/home/me/top.txt",
    ]
    assert sorted(store.files_under(home.id, ["/home/me"])) == sorted(paths)
    assert store.files_under(other.id, ["/home/me"]) == {}


def test_a_page_of_results_is_read_by_passage_not_by_scanning_files(tmp_path: Path) -> None:
    """result_rows starts from the passages asked for: for a page of more than a few of
    them, SQLite (with no statistics) would rather start from the index on files' state
    and visit every indexed file (200 ms a page at a million passages)."""
    from tests.conftest import indexed_sample, open_trove
    from tests.fakes import FakeEmbedder

    indexed_sample(FakeEmbedder(), tmp_path)
    trove = open_trove(FakeEmbedder())
    try:
        store = trove.store
        chunks = [int(r[0]) for r in store.conn.execute("SELECT id FROM chunks LIMIT 40")]
        seen: list[tuple[str, object]] = []

        def trace(_cursor: object, statement: str, bindings: object) -> bool:
            seen.append((statement, bindings))
            return True

        store.conn.exec_trace = trace
        rows = store.result_rows(chunks)
        store.conn.exec_trace = None
        assert set(rows) == set(chunks)
        statement, bindings = next(s for s in seen if "JOIN files" in s[0])
        plan = [
            str(row[3]) for row in store.conn.execute(f"EXPLAIN QUERY PLAN {statement}", bindings)
        ]
        assert plan[0].startswith("SEARCH c USING INTEGER PRIMARY KEY"), plan
    finally:
        trove.close()
