"""Which files and folders Trove leaves alone.

Rules use gitignore syntax.  Defaults skip version-control data, dependency and build
output, virtual environments and caches; the user's patterns for a folder come after the
defaults, so ``!build/`` brings a default-ignored folder back.  What is private (keys,
password stores, credential files) is decided before these rules, on the whole path, by
``core.privacy``: no pattern here can bring it back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pathspec

DEFAULT_PATTERNS = """
    .git/ .hg/ .svn/ node_modules/ bower_components/ __pycache__/ *.py[co] .venv/ venv/ .tox/
    .nox/ .mypy_cache/ .pytest_cache/ .ruff_cache/ .cache/ .gradle/ .idea/ build/ dist/ target/
    *.egg-info/ .Trash/ .Trash-*/ $RECYCLE.BIN/ .DS_Store Thumbs.db desktop.ini ~$* *.tmp *.swp
    *~
""".split()

USER_IGNORE_FILE = ".troveignore"


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: str  # which rule matched, as a person would read it: "default rules: *.tmp"


class IgnoreRules:
    """Decides, for a path relative to a watched folder, whether to skip it and why."""

    def __init__(self, user_patterns: str = "") -> None:
        user_lines = [line.strip() for line in user_patterns.splitlines() if line.strip()]
        self._patterns = DEFAULT_PATTERNS + user_lines
        self._combined = pathspec.GitIgnoreSpec.from_lines(self._patterns)

    @classmethod
    def for_folder(cls, root: str, stored_patterns: str = "") -> IgnoreRules:
        """The folder's stored patterns plus those in its ``.troveignore``, if any."""
        patterns = stored_patterns
        try:
            with open(os.path.join(root, USER_IGNORE_FILE), encoding="utf-8") as handle:
                patterns += "\n" + handle.read()
        except (OSError, UnicodeDecodeError):
            pass
        return cls(patterns)

    def check(self, relative: str, is_dir: bool) -> Verdict | None:
        key = relative.replace(os.sep, "/") + ("/" if is_dir else "")
        result = self._combined.check_file(key)
        if not result.include or result.index is None:
            return None
        source = "default rules" if result.index < len(DEFAULT_PATTERNS) else "your patterns"
        return Verdict(f"{source}: {self._patterns[result.index]}")
