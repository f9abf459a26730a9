"""What the command line takes in and writes out, when it comes from a hostile or odd
source: file names and text carrying terminal escape sequences, bytes that are not
UTF-8, dates and numbers beyond any range.  The real `trove` commands run in this
process (``main``), with the hashing stand-in for the model."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.cli.main import main
from core.cli.output import BOLD, RESET, print_results
from core.embedding import SentenceTransformerEmbedder
from tests.conftest import open_trove, write
from tests.fakes import FakeEmbedder

ESC, BEL, CSI = "\x1b", "\x07", "\x9b"
CLIPBOARD = f"{ESC}]52;c;cm0gLXJmIH4K{BEL}"  # OSC 52: puts text on the clipboard
TITLE = f"{ESC}]0;pwned{BEL}"  # OSC 0: renames the terminal window
CLEAR = f"{ESC}[2J"  # erases the screen
HOSTILE_TEXT = f"garden roses {CLIPBOARD} pruning {TITLE} spring {CLEAR} beans {CSI}31m red"
HOSTILE_NAME = f"roses{TITLE}{CLEAR}{CSI}.txt"
# Whatever a terminal may take as the start or end of a control sequence.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def inert(text: str) -> bool:
    return CONTROL.search(text) is None


@pytest.fixture(autouse=True)
def hashing_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Trove.open()` in the commands gets the hashing stand-in instead of the model."""
    monkeypatch.setattr(
        SentenceTransformerEmbedder,
        "for_settings",
        classmethod(lambda cls, settings: FakeEmbedder()),
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / f"docs{CLEAR}"
    write(root, HOSTILE_NAME, HOSTILE_TEXT)
    write(root, "beans.txt", "garden beans want sun and a little water")
    write(root, f"blank{TITLE}.txt", "   \n\n  ")  # holds no text: a failure
    return root


@pytest.fixture
def indexed(folder: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    assert main(["add", str(folder)]) == 0
    assert main(["index"]) == 0
    capsys.readouterr()
    yield folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """argparse's refusal of an argument: status 2 and its message."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    assert exited.value.code == 2
    return capsys.readouterr().err


# -- escape sequences --------------------------------------------------------------------


def test_search_results_show_controls_as_escapes(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "search", "garden roses pruning")
    assert code == 0 and inert(out), out
    assert "roses\\x1b]0;pwned\\x07\\x1b[2J\\x9b.txt" in out  # still tells the file apart
    assert "\\x1b]52;c;cm0gLXJmIH4K\\x07" in out


def test_bold_matches_are_the_only_escapes_on_a_terminal(folder: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with open_trove(FakeEmbedder()) as trove:
        trove.add_folder(folder)
        list(trove.index())
        results = trove.search("garden roses pruning", 5)
    shown = Terminal()
    print_results(results, shown)
    text = shown.getvalue()
    assert BOLD in text
    assert inert(text.replace(BOLD, "").replace(RESET, "")), text


def test_json_keeps_the_exact_text_yet_writes_no_control(
    indexed: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "search", "garden roses pruning", "--json")
    assert code == 0 and inert(out), out
    hostile = [r for r in json.loads(out) if r["path"] == str(indexed / HOSTILE_NAME)]
    assert hostile and HOSTILE_TEXT in hostile[0]["snippet"]

    batch = tmp_path / "queries.jsonl"
    batch.write_text(json.dumps({"id": CLEAR, "text": "garden roses pruning"}) + "\n")
    code, out, _ = run(capsys, "search", "--batch", str(batch))
    assert code == 0 and inert(out), out
    answer = json.loads(out)
    assert answer["id"] == CLEAR
    assert HOSTILE_TEXT in next(r["snippet"] for r in answer["results"])


def test_status_folders_and_failures_show_controls_as_escapes(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "add", str(folder))
    assert code == 0 and inert(out) and "docs\\x1b[2J" in out, out
    assert main(["index"]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "status")
    assert code == 0 and inert(out) and "docs\\x1b[2J" in out, out
    code, out, _ = run(capsys, "status", "--failed")
    assert code == 0 and inert(out) and "blank\\x1b]0;pwned\\x07.txt" in out, out
    code, out, _ = run(capsys, "remove", str(folder))
    assert code == 0 and inert(out) and "docs\\x1b[2J" in out, out


def test_notices_and_errors_show_controls_as_escapes(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    indexed.rename(indexed.with_name("elsewhere"))
    code, _, err = run(capsys, "index")  # the folder is unreachable: a notice
    assert "docs\\x1b[2J is not reachable" in err and inert(err), err

    code, _, err = run(capsys, "search", "roses", "--in", f"/nowhere{TITLE}")
    assert code == 1 and "/nowhere\\x1b]0;pwned\\x07 is not a folder" in err and inert(err)

    err = refused(capsys, "search", "roses", f"extra{TITLE}")
    assert "unrecognized arguments" in err and inert(err), err


# -- input beyond what the core can take ---------------------------------------------------


def test_query_that_is_not_utf8_is_refused(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(capsys, "search", os.fsdecode(b"caf\xe9"))  # typed in a Latin-1 terminal
    assert "'caf\\xe9' is not UTF-8 text" in err and inert(err), err


@pytest.mark.parametrize(
    "since, matches",
    [("999999999d", "all"), ("0001-01-01", "all"), ("9999-12-31", "none")],
)
def test_dates_at_the_ends_of_time(
    indexed: Path, capsys: pytest.CaptureFixture[str], since: str, matches: str
) -> None:
    code, out, _ = run(capsys, "search", "garden", "--json", "--since", since)
    assert code == 0
    found = {Path(r["path"]).name for r in json.loads(out)}
    assert found == ({HOSTILE_NAME, "beans.txt"} if matches == "all" else set())


def test_batch_line_that_is_not_utf8_is_named(
    indexed: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    batch = tmp_path / "latin1.jsonl"
    batch.write_bytes(b'{"id": 1, "text": "garden"}\n{"id": 2, "text": "caf\xe9"}\n')
    code, out, err = run(capsys, "search", "--batch", str(batch))
    assert code == 1 and err == "trove: line 2 of the batch is not UTF-8 text\n"
    assert json.loads(out)["id"] == 1


def test_batch_text_with_a_lone_surrogate_is_named(
    indexed: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    batch = tmp_path / "surrogate.jsonl"
    batch.write_text('{"id": 1, "text": "caf\\udce9"}\n')
    code, _, err = run(capsys, "search", "--batch", str(batch))
    assert code == 1 and err == "trove: line 1 of the batch holds text that is not Unicode\n"


@pytest.mark.parametrize("command", ["similar", "search --in", "add", "remove"])
def test_names_that_are_not_utf8_are_refused(
    indexed: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    odd = indexed / os.fsdecode(b"caf\xe9")
    odd.mkdir()
    argv = {
        "similar": ["similar", str(odd)],
        "search --in": ["search", "garden", "--in", str(odd)],
        "add": ["add", str(odd)],
        "remove": ["remove", str(odd)],
    }[command]
    err = refused(capsys, *argv)
    assert "caf\\xe9' is not a UTF-8 name" in err and inert(err), err


def test_limit_must_be_a_plain_number(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, "search", "garden", "--limit", "²")
    assert "expected a positive whole number, not '²'" in err
