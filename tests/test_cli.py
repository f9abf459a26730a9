"""The real `trove` command, run as a user would, with the real model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.embedding import gpu_likely
from tests.conftest import SAMPLE

pytestmark = pytest.mark.model

TROVE = str(Path(sys.executable).parent / "trove")
HOME: dict[str, str] = {}


def trove(
    *args: str, check: bool = True, home: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TROVE_HOME=home or HOME["path"])
    done = subprocess.run([TROVE, *args], capture_output=True, text=True, timeout=300, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index for the module: the everyday folder plus a file with an invoice number."""
    root = tmp_path_factory.mktemp("cli")
    folder = root / "docs"
    shutil.copytree(SAMPLE, folder)
    HOME["path"] = str(root / "home")
    trove("add", str(folder))
    done = trove("index")
    assert "Indexed 18 files" in done.stdout
    return folder


def test_search_json(indexed: Path) -> None:
    text = "how frequently does my indoor ficus tree need a drink"
    done = trove("search", text, "--json", "--limit", "3", "--all")  # weak matches too
    results = json.loads(done.stdout)
    assert len(results) == 3
    assert results[0]["path"] == str(indexed / "houseplants.md")
    assert {"path", "score", "relevance", "snippet", "location"} <= set(results[0])


def test_search_text_output_and_filters(indexed: Path) -> None:
    done = trove("search", "wireless internet setup", "--type", "md", "--since", "30d")
    assert str(indexed / "router_setup.md") in done.stdout.splitlines()[0]
    done = trove("search", "wireless internet setup", "--type", "pdf")
    assert "No matching files" in done.stdout


def test_batch_search_loads_the_model_once(indexed: Path, tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        "\n".join(
            json.dumps({"id": f"q{i}", "text": t})
            for i, t in enumerate(["INV-2024-0387", "holiday plans for Portugal's capital city"])
        )
        + "\n"
    )
    lines = trove("search", "--batch", str(batch), "--json", "--limit", "2").stdout.splitlines()
    answers = [json.loads(line) for line in lines]
    assert [a["id"] for a in answers] == ["q0", "q1"]
    assert answers[0]["results"][0]["path"].endswith("invoice_web_design.txt")
    assert answers[1]["results"][0]["path"].endswith("lisbon_itinerary.md")


def test_similar_json(indexed: Path) -> None:
    done = trove("similar", str(indexed / "sourdough_recipe.md"), "--json", "--limit", "2")
    paths = [r["path"] for r in json.loads(done.stdout)]
    assert len(paths) == 2 and str(indexed / "sourdough_recipe.md") not in paths


def test_status_and_doctor(indexed: Path) -> None:
    status = trove("status").stdout
    assert "18 indexed" in status and "all-MiniLM-L6-v2" in status
    doctor = trove("doctor").stdout
    assert "FAIL" not in doctor and doctor.count("ok  ") >= 6, doctor
    for part in ("data folder", "disk space", "window libs", "sqlite-vec", "database", "model"):
        assert part in doctor, doctor
    # backend "auto": OpenVINO where torch has no GPU to use
    expected = "torch" if gpu_likely() else "cpu with openvino"
    assert f"running on {expected}" in doctor, doctor


@pytest.mark.parametrize(
    "args, message",
    [
        (("add", "/no/such/folder"), "is not a folder"),
        (("remove", "/no/such/folder"), "is not a watched folder"),
        (("similar", "/no/such/file.txt"), "is not in the index"),
        (("search",), "give either the search text or --batch"),
        (("search", "x", "--since", "yesterday-ish"), "is not a date"),
        (("search", "x", "--limit", "0"), "positive whole number"),
        (("search", "x", "--type", "nosuchtype"), "unknown file type"),
        (("search", "--batch", "/no/such/batch.jsonl"), "cannot read"),
    ],
)
def test_user_mistakes_give_one_clear_line(
    indexed: Path, args: tuple[str, ...], message: str
) -> None:
    done = trove(*args, check=False)
    assert done.returncode != 0
    assert message in done.stderr


def test_bad_batch_line_names_the_line(indexed: Path, tmp_path: Path) -> None:
    batch = tmp_path / "bad.jsonl"
    batch.write_text('{"id": 1, "text": "fine"}\nnot json\n')
    done = trove("search", "--batch", str(batch), "--json", check=False)
    assert done.returncode == 1 and "line 2" in done.stderr


def test_index_without_folders_says_what_to_do(tmp_path: Path) -> None:
    done = trove("index", check=False, home=str(tmp_path / "empty-home"))
    assert done.returncode == 1 and "trove add" in done.stderr


def test_the_index_summary_counts_failed_and_unsupported_apart(tmp_path: Path) -> None:
    """As `trove status` does: a .doc is not a failure to read, it is a kind Trove skips
    (the summary said "2 failed" where status said "1 failed, 1 unsupported")."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "note.txt").write_text("A short note about the garden shed.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a PDF\n")
    (folder / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    home = str(tmp_path / "home")
    trove("add", str(folder), home=home)
    done = trove("index", home=home)
    assert "; 1 failed, 1 unsupported." in done.stdout
    status = trove("status", home=home).stdout
    assert "1 failed" in status and "1 unsupported" in status
