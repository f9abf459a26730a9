"""What the window says about a search's results: how many, how they were ranked, and
what to do when nothing is a good match."""

from __future__ import annotations

import html

from desktop.engine import Answer, Query

# Links in the "no good match" message.
CLEAR_FILTERS = "clear-filters"
SHOW_ALL = "show-all"

BY_WORDS = "matched by their words; ranking by meaning as soon as the language model is loaded"


def same_search(first: Query, second: Query) -> bool:
    """Whether two queries ask the same thing (dates compared by the range chosen)."""
    if (first.text, first.types, first.folder) != (second.text, second.types, second.folder):
        return False
    if first.since is None or second.since is None:
        return first.since is second.since
    return abs((first.since - second.since).total_seconds()) < 60


def summary(answer: Answer) -> str:
    """The line above the results: their count, how they were ranked, language notes."""
    count = len(answer.results)
    parts = [f"{count} file{'s' if count != 1 else ''}"]
    if not answer.by_meaning:
        parts.append(BY_WORDS)
    elif answer.query.everything:
        parts.append("weaker matches included")
    if answer.language_note:
        parts.append(answer.language_note)
    return " · ".join(parts)


def nothing_found(answer: Answer, filters: list[str]) -> str:
    """The message, in rich text, for a search with no result above the floor."""
    text = html.escape(answer.query.text)
    if not answer.by_meaning:
        lines = [
            f"No file holds the words “{text}”.",
            "Searching by meaning once the language model is loaded…",
        ]
    else:
        lines = [f"No good match for “{text}”."]
        if not answer.query.everything:
            lines.append(_link(SHOW_ALL, "Show weaker matches"))
    if answer.language_note:
        lines.append(html.escape(answer.language_note))
    if filters:
        named = html.escape(", ".join(filters))
        lines.append(f"Searched only {named}. {_link(CLEAR_FILTERS, 'Search everything')}")
    return "<br>".join(lines)


def plain(text: str) -> str:
    """Plain text for the rich-text message label."""
    return html.escape(text).replace("\n", "<br>")


def _link(target: str, label: str) -> str:
    return f'<a href="{target}">{html.escape(label)}</a>'
