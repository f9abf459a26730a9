"""Dates as people type them for a filter: ``2024-05-01``, or ``7d`` back from now."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

SPANS_IN_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
HINT = "use 2024-05-01 or 7d, 3w, 6m, 1y"


def parse_since(value: str) -> datetime:
    """The moment ``value`` names: a date, or a number of days, weeks, months or years
    back from now.  ValueError, with a sentence for the person, if it names none."""
    relative = re.fullmatch(r"(\d+)([dwmy])", value.strip().lower())
    if relative:
        days = int(relative.group(1)) * SPANS_IN_DAYS[relative.group(2)]
        try:
            return datetime.now() - timedelta(days=days)
        except OverflowError:
            return datetime.min  # further back than dates go: every file
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date; {HINT}") from None
