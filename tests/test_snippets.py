"""The snippet shown with a result: led by the sentence that answers, cut at words with an
ellipsis where text is left out, free of markup, and located on its own line."""

from __future__ import annotations

import re
from pathlib import Path

import apsw
import pytest

from core.extract.markdown import parse
from core.snippets import Snippet, make_snippet
from core.terms import Terms
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder

# The start of a lease passage is boilerplate that says "rent" again and again; the
# amount comes later, in a sentence that says it only once.
LEASE = (
    "RESIDENTIAL TENANCY AGREEMENT. This agreement is made between the Landlord and the "
    "Tenant named in Schedule 1 and sets out the terms on which the Tenant will rent the "
    "premises. In this agreement 'Rent' means the rent payable under clause 4, 'Rent Day' "
    "means the day on which rent falls due and 'Rent Account' means the account into which "
    "the Tenant pays the rent. The Landlord may review the rent once a year, and a rent "
    "review never takes effect before the first anniversary of the term.\n\n"
    "4. Payment. The monthly rent is EUR 1,450, due on the first day of each month. "
    "Payment is made by standing order to the account named in Schedule 1. If the Tenant "
    "pays late, interest accrues at 3% above the base rate from the due date until the day "
    "of payment. The Tenant shall also pay council tax, water, electricity, gas and "
    "telephone charges for the premises during the term, keep the meters read and the "
    "bills paid, and hand copies of the final bills to the Landlord at the end of the term."
)
ANSWER = "The monthly rent is EUR 1,450, due on the first day of each month."


@pytest.fixture(scope="module")
def terms() -> Terms:
    return Terms(apsw.Connection(":memory:"))


def snippet(terms: Terms, query: str, passage: str, **options: object) -> Snippet:
    return make_snippet(terms, passage, terms.query(query).all_stems, **options)  # type: ignore[arg-type]


def marked(result: Snippet) -> list[str]:
    return [result.text[a:b] for a, b in result.highlights]


def test_the_snippet_holds_the_sentence_that_answers(terms: Terms) -> None:
    result = snippet(terms, "how much is the monthly rent", LEASE)
    assert ANSWER in result.text
    assert "monthly" in marked(result)
    # It is led by the answer, or by the short sentence just before it.
    assert result.text.startswith(("…" + ANSWER, "…4. Payment. " + ANSWER))


def test_an_ellipsis_marks_each_cut_and_words_stay_whole(terms: Terms) -> None:
    result = snippet(terms, "interest base rate", LEASE)
    assert result.text.startswith("…If the Tenant pays late, interest accrues")
    assert result.text.endswith("…")
    words = set(re.findall(r"\w+", LEASE))
    assert set(re.findall(r"\w+", result.text)) <= words, "no word is cut in half"


def test_a_whole_passage_has_no_ellipsis_and_one_space_between_words(terms: Terms) -> None:
    result = snippet(
        terms, "boiler", "  The boiler was serviced\nin March.\n\n   Next visit:  May.\n"
    )
    assert result.text == "The boiler was serviced in March. Next visit: May."
    assert marked(result) == ["boiler"]


def test_markdown_markup_is_cleaned_and_marks_stay_on_their_words(terms: Terms) -> None:
    passage = (
        "## Rent and deposit\n\n"
        "| Item | Amount |\n"
        "|------|-------:|\n"
        "| **Monthly rent** | EUR 1,450 |\n"
        "| [Deposit](https://example.com/deposit-terms) | `EUR 2,900` |\n"
    )
    result = snippet(terms, "monthly rent deposit", passage)
    assert result.text == (
        "Rent and deposit: Item · Amount; Monthly rent · EUR 1,450; Deposit · EUR 2,900;"
    )
    assert marked(result) == ["Rent", "deposit", "Monthly", "rent", "Deposit"]


def test_html_leftovers_and_emphasis_are_cleaned(terms: Terms) -> None:
    passage = "Call the <b>plumber</b> on Monday &amp; Tuesday.<br>Ask for *Dana* or __Sam__."
    result = snippet(terms, "plumber dana", passage)
    assert result.text == "Call the plumber on Monday & Tuesday. Ask for Dana or Sam."
    assert marked(result) == ["plumber", "Dana"]


def test_code_keeps_what_would_be_markup_in_prose(terms: Terms) -> None:
    code = "def __init__(self, **options):  # keep *all* options\n    self.options = options"
    result = snippet(terms, "options", code, prose=False)
    assert " ".join(code.split()) in result.text
    assert marked(result) == ["options", "options", "options", "options"]


def test_a_match_by_meaning_shows_the_first_whole_sentence(terms: Terms) -> None:
    """No query word in the passage: it is shown from its start, skipping the tail of a
    sentence that the previous, overlapping passage cut."""
    tail = "of the crossing. "
    rest = "The ferry timetable changes in May. " + "Boats leave every hour from the pier. " * 12
    cut = snippet(terms, "when do vessels depart", tail + rest)
    assert cut.text.startswith("…The ferry timetable changes in May. Boats leave")
    assert not cut.highlights
    clean = snippet(terms, "when do vessels depart", rest)
    assert clean.text.startswith("The ferry timetable changes in May.")
    assert clean.text.endswith("…")


LINES = 6000
TARGET = 5000


def _log_line(number: int) -> str:
    if number == TARGET:
        return f"Entry {number}: the zeppelin quartermaster inspected the ballast tanks."
    return f"Entry {number}: the routine maintenance check found nothing of note."


def test_a_snippet_deep_in_a_long_file_names_its_own_line(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    text = "\n".join(_log_line(n) for n in range(1, LINES + 1)) + "\n"
    for name in ("log.txt", "log.md", "log.py"):  # text, heading-less Markdown, code
        write(docs, name, text)
    trove = open_trove(FakeEmbedder())
    try:
        trove.add_folder(docs)
        run_index(trove)
        results = trove.search("zeppelin quartermaster", 5)
    finally:
        trove.close()
    assert sorted(Path(r.path).name for r in results) == ["log.md", "log.py", "log.txt"]
    for result in results:
        assert "zeppelin quartermaster" in result.snippet
        first = re.match(r"…?Entry (\d+):", result.snippet)
        assert first is not None, result.snippet
        assert TARGET - 5 <= int(first[1]) <= TARGET
        assert result.location == f"line {first[1]}", Path(result.path).name


def test_a_markdown_code_block_is_located_at_its_first_line() -> None:
    document = parse("Intro before any heading.\n\n```sh\nmake install\n```\n")
    assert [(p.location, p.text) for p in document.pieces] == [
        ("line 1", "Intro before any heading."),
        ("line 4", "make install"),
    ]
