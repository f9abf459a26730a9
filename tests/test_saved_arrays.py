"""Saved copies read without a second copy in memory (core.store.saved)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.store.saved import READ_IN_PLACE, FileRows, SavedArrays


def save(path: Path, **arrays: np.ndarray) -> Path:
    with open(path, "wb") as out:
        np.savez(out, **arrays)
    return path


@pytest.fixture
def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    by_rows = rng.integers(0, 2**63, size=(6, 500), dtype=np.uint64)
    return {
        "codes": rng.integers(-127, 128, size=(500, 24), dtype=np.int8),
        "bits": by_rows,
        "by_columns": np.asfortranarray(by_rows),
        "words": np.array(["alpha", "beta", "gamma-delta"]),
        "empty": np.zeros(0, dtype=np.int64),
    }


def test_every_array_reads_back_as_saved(tmp_path: Path, arrays: dict[str, np.ndarray]) -> None:
    with SavedArrays(save(tmp_path / "copy", **arrays)) as saved:
        assert set(saved.members) == set(arrays)
        for name, array in arrays.items():
            np.testing.assert_array_equal(saved.read(name), array)
            if name != "by_columns":
                np.testing.assert_array_equal(saved.rows(name)[:], array)
        with pytest.raises(ValueError, match="laid out by columns"):
            saved.rows("by_columns")


def test_an_array_is_read_into_the_part_of_a_bigger_one_that_keeps_it(
    tmp_path: Path, arrays: dict[str, np.ndarray]
) -> None:
    """As the vector copy loads: each saved array fills the first columns or rows of one
    with room to spare, which is not contiguous for columns."""
    wider = np.zeros((6, 800), dtype=np.uint64)
    taller = np.zeros((900, 24), dtype=np.int8)
    with SavedArrays(save(tmp_path / "copy", **arrays)) as saved:
        saved.read_into("bits", wider[:, :500])
        np.testing.assert_array_equal(wider[:, :500], arrays["bits"])
        wider[:] = 0
        saved.read_into("by_columns", wider[:, :500])
        np.testing.assert_array_equal(wider[:, :500], arrays["bits"])
        saved.read_into("codes", taller[:500])
        np.testing.assert_array_equal(taller[:500], arrays["codes"])
        assert not wider[:, 500:].any() and not taller[500:].any()
        with pytest.raises(ValueError, match="saved as"):
            saved.read_into("codes", taller[:499])


def left_in_file(path: Path, arrays: dict[str, np.ndarray], name: str) -> FileRows:
    with SavedArrays(save(path, **arrays)) as saved:
        rows = saved.rows(name)
    assert isinstance(rows, FileRows)
    return rows


@pytest.mark.skipif(not READ_IN_PLACE, reason="read into memory where a file must be closed")
def test_rows_left_in_the_file_are_read_as_asked_and_outlive_its_replacement(
    tmp_path: Path, arrays: dict[str, np.ndarray]
) -> None:
    path = tmp_path / "copy"
    codes, bits = left_in_file(path, arrays, "codes"), left_in_file(path, arrays, "bits")
    expected = arrays["codes"]
    assert len(codes) == 500 and codes.shape == (500, 24)
    np.testing.assert_array_equal(codes[7], expected[7])
    np.testing.assert_array_equal(codes[-1], expected[-1])
    np.testing.assert_array_equal(codes[np.int64(3) : np.int64(9)], expected[3:9])
    np.testing.assert_array_equal(codes[490:900], expected[490:])
    assert codes[9:3].shape == (0, 24)
    np.testing.assert_array_equal(bits[5], arrays["bits"][5])
    for wrong in (500, -501):
        with pytest.raises(IndexError):
            codes[wrong]
    with pytest.raises(IndexError):
        codes[::2]
    save(tmp_path / "new", codes=np.zeros_like(expected)).replace(path)
    np.testing.assert_array_equal(codes[:], expected)  # the old file, still open


@pytest.mark.skipif(not READ_IN_PLACE, reason="read into memory where a file must be closed")
def test_rows_of_a_file_cut_short_after_opening_are_refused(
    tmp_path: Path, arrays: dict[str, np.ndarray]
) -> None:
    path = tmp_path / "copy"
    codes = left_in_file(path, arrays, "codes")
    with open(path, "r+b") as damaged:
        damaged.truncate(100)
    with pytest.raises(ValueError, match="ends inside"):
        codes[:]


def test_a_copy_cut_short_is_refused(tmp_path: Path, arrays: dict[str, np.ndarray]) -> None:
    path = save(tmp_path / "copy", **arrays)
    whole = path.read_bytes()
    for cut in (whole[: len(whole) // 2], whole[:1000] + whole[-600:], b""):
        path.write_bytes(cut)
        with pytest.raises(ValueError, match="not a saved copy"):
            SavedArrays(path)


def test_an_array_shorter_than_its_header_is_never_mapped(tmp_path: Path) -> None:
    """Mapping past the end of a file would kill the process at the first read."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<i8", "fortran_order": False, "shape": (100_000,)}
    )
    path = tmp_path / "copy"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("postings.npy", header.getvalue() + bytes(80))
    with pytest.raises(ValueError, match="shorter than its header says"):
        SavedArrays(path)


def test_compressed_or_object_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "copy"
    with open(path, "wb") as out:
        np.savez_compressed(out, codes=np.arange(10))
    with pytest.raises(ValueError, match="not an array stored as is"):
        SavedArrays(path)
    with open(path, "wb") as out:
        np.savez(out, things=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="Python objects"):
        SavedArrays(path)
