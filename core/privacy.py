"""What Trove never reads: secret stores, credential files and Trove's own folders.

This is a maintained list: when a tool is found to keep secrets somewhere new, it gets a
rule here (with a test in ``tests/test_privacy.py``).  Each rule has a label a person
understands and patterns that are matched against the whole absolute path, so watching
``~/.config`` or adding ``~/.ssh`` itself is caught as surely as a ``.ssh`` folder deep
inside a watched one.

A pattern names a folder (it ends in ``/``) or a file, either by its name or by its last
few parts where the name alone is too common (``gh/hosts.yml``).  ``*`` and ``?`` match
within one name; case is ignored, as Windows and macOS ignore it.

No ignore pattern or ``.troveignore`` can bring a private path back.  The one exception is
a single file matched by a file rule (a ``credentials.json`` that is really a document):
the user may allow it by its absolute path (``trove allow FILE``).  A file inside a private
folder, or inside one of Trove's own folders, can never be allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from core.ignore import Verdict
from core.paths import Locations


@dataclass(frozen=True, slots=True)
class PrivateRule:
    label: str  # what it guards, as a person would say it: "SSH keys"
    patterns: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.label}: {', '.join(self.patterns)}"


PRIVATE_RULES = (
    PrivateRule("SSH keys", (".ssh/", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.ppk")),
    PrivateRule("GnuPG keys", (".gnupg/",)),
    PrivateRule(
        "password managers",
        (".password-store/", "*.kdbx", "*.kdb", "*.opvault/", "*.agilekeychain/"),
    ),
    PrivateRule(
        "keyrings and keychains",
        (
            "keyrings/",
            "kwalletd/",
            "Library/Keychains/",
            "Microsoft/Credentials/",
            "Microsoft/Protect/",
            "*.keychain",
            "*.keychain-db",
            "*.kwl",
        ),
    ),
    PrivateRule(
        "private keys and certificates",
        ("*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore"),
    ),
    PrivateRule("AWS credentials", (".aws/",)),
    PrivateRule("Azure credentials", (".azure/",)),
    PrivateRule(
        "Google Cloud credentials",
        (".config/gcloud/", "AppData/Roaming/gcloud/", "application_default_credentials.json"),
    ),
    PrivateRule(
        "service-account keys",
        (
            "credentials.json",
            "service-account*.json",
            "service_account*.json",
            "client_secret*.json",
        ),
    ),
    PrivateRule("Kubernetes credentials", (".kube/",)),
    PrivateRule("Docker credentials", (".docker/", ".dockercfg")),
    PrivateRule("GitHub CLI token", ("gh/hosts.yml", "GitHub CLI/hosts.yml")),
    PrivateRule("Git credentials", (".git-credentials",)),
    PrivateRule(
        "Terraform token and state", ("credentials.tfrc.json", "*.tfstate", "*.tfstate.backup")
    ),
    PrivateRule("rclone remotes", ("rclone.conf",)),
    PrivateRule("environment files", (".env", ".env.*")),
    PrivateRule(
        "network and database passwords",
        (".netrc", "_netrc", ".pgpass", ".my.cnf", ".htpasswd"),
    ),
    PrivateRule(
        "package registry tokens",
        (".npmrc", ".pypirc", ".gem/credentials", ".cargo/credentials", ".cargo/credentials.toml"),
    ),
    PrivateRule(
        "browser profiles and saved logins",
        (
            ".mozilla/",
            "Firefox/Profiles/",
            ".config/google-chrome/",
            ".config/chromium/",
            ".config/BraveSoftware/",
            "Google/Chrome/",
            "Microsoft/Edge/",
            "Cookies",
            "Cookies-journal",
            "cookies.sqlite",
            "Login Data",
            "logins.json",
            "key3.db",
            "key4.db",
        ),
    ),
    PrivateRule(
        "shell and console history",
        (
            ".bash_history",
            ".zsh_history",
            ".histfile",
            ".python_history",
            ".psql_history",
            ".mysql_history",
            ".sqlite_history",
            ".node_repl_history",
        ),
    ),
)

OWN_FOLDERS_LABEL = "Trove's own folders"
FOLDERS_REMEMBERED = 4096


def summary() -> str:
    """The rules' labels in one sentence, for a status line or a dialog."""
    return ", ".join([rule.label for rule in PRIVATE_RULES] + [OWN_FOLDERS_LABEL])


@dataclass(frozen=True, slots=True)
class PrivateFolder:
    path: str
    what: str  # completes "<path> ...": "holds SSH keys", "is Trove's data folder"


@dataclass(frozen=True, slots=True)
class _Match:
    rule: PrivateRule
    is_folder_rule: bool
    end: int  # where the match ends in the path as given


class PrivateRules:
    """Decides, for an absolute path, whether Trove must leave it unread, and why."""

    def __init__(
        self, own_folders: Mapping[str, str] | None = None, allowed: Iterable[str] = ()
    ) -> None:
        # Trove's own folders (real paths) and what each is: "Trove's data folder".
        self._own = {os.path.normcase(path): what for path, what in (own_folders or {}).items()}
        self._allowed = frozenset(os.path.normcase(path) for path in allowed)
        self._matcher = _Matcher(PRIVATE_RULES)

    @classmethod
    def for_trove(cls, locations: Locations, allowed: Iterable[str] = ()) -> PrivateRules:
        """The maintained rules, plus the folders Trove keeps its index, settings, cache
        and state in, less the single files the user allowed."""
        named = [
            (locations.data, "Trove's data folder"),
            (locations.config, "Trove's settings folder"),
            (locations.cache, "Trove's cache folder"),
            (locations.state, "Trove's state folder"),
        ]
        own: dict[str, str] = {}
        for path, what in named:
            if path is not None:
                own.setdefault(os.path.realpath(path), what)
        return cls(own, allowed)

    def check(self, path: str, is_dir: bool) -> Verdict | None:
        """The verdict on ``path`` for a scan, which has already checked the folders above
        it for being Trove's own (those are recognised by their exact path here)."""
        if is_dir and os.path.normcase(path) in self._own:
            return Verdict(f"{OWN_FOLDERS_LABEL}: never read")
        found = self._matcher.match(path, is_dir)
        if found is None or self._is_allowed(path, is_dir, found):
            return None
        return Verdict(f"private ({found.rule.label}): never read")

    def enclosing(self, path: str) -> PrivateFolder | None:
        """The outermost private folder or own folder of Trove's at or above ``path``, a
        folder; None when it lies in neither."""
        candidates = []
        own = next((a for a in _ancestors(path) if os.path.normcase(a) in self._own), None)
        if own is not None:
            candidates.append(PrivateFolder(own, f"is {self._own[os.path.normcase(own)]}"))
        found = self._matcher.match(path, True)
        if found is not None:
            folder = path[: found.end].rstrip("/" + os.sep) or path
            candidates.append(PrivateFolder(folder, f"holds {found.rule.label}"))
        return min(candidates, key=lambda c: len(c.path), default=None)

    def refusal(self, folder: str) -> str | None:
        """Why ``folder`` may not be watched, in one line; None when it may."""
        private = self.enclosing(folder)
        if private is None:
            return None
        if private.path == folder:
            return f"{_short(folder)} {private.what}; Trove never reads it"
        return (
            f"{_short(folder)} is inside {_short(private.path)}, which {private.what}; "
            "Trove never reads it"
        )

    def allowance_refusal(self, path: str) -> str | None:
        """Why the single file ``path`` may not be allowed; None when it may."""
        if not os.path.isfile(path):
            return f"{_short(path)} is not a file: only single files can be allowed"
        private = self.enclosing(os.path.dirname(path))
        if private is not None:
            return (
                f"{_short(path)} is inside {_short(private.path)}, which {private.what}; "
                "no file there can be allowed"
            )
        if self._matcher.match(path, False) is None:
            return f"{_short(path)} matches no private rule: Trove reads it already"
        return None

    def _is_allowed(self, path: str, is_dir: bool, found: _Match) -> bool:
        """Whether the user allowed this very file, matched by a file rule only."""
        if is_dir or found.is_folder_rule or os.path.normcase(path) not in self._allowed:
            return False
        return self.enclosing(os.path.dirname(path)) is None


class _Matcher:
    """Finds the rule whose pattern matches a path, quickly enough to ask for every file
    of a large folder."""

    def __init__(self, rules: Iterable[PrivateRule]) -> None:
        self._entries = [(rule, pattern) for rule in rules for pattern in rule.patterns]
        patterns = [pattern for _, pattern in self._entries]
        self._regex = _compile(patterns)
        self._folder_names = _LastNames.of(p for p in patterns if p.endswith("/"))
        self._file_names = _LastNames.of(p for p in patterns if not p.endswith("/"))
        self._folders: dict[str, _Match | None] = {}

    def match(self, path: str, is_dir: bool) -> _Match | None:
        """The leftmost match in ``path``: a private folder above a file wins over the
        file's own name."""
        names = self._folder_names if is_dir else self._file_names
        if names.may_end(os.path.basename(path)):
            return self._search(path, is_dir)
        # No pattern ends at this name, so only the folders above can match.
        parent = os.path.dirname(path)
        return None if parent == path else self._folder(parent)

    def _folder(self, folder: str) -> _Match | None:
        # A scan asks about every entry of a folder, and the folders below it: remember.
        if folder not in self._folders:
            if len(self._folders) >= FOLDERS_REMEMBERED:
                self._folders.clear()
            self._folders[folder] = self.match(folder, True)
        return self._folders[folder]

    def _search(self, path: str, is_dir: bool) -> _Match | None:
        subject = path.replace(os.sep, "/") + ("/" if is_dir else "")
        lead = 0 if subject.startswith("/") else 1
        found = self._regex.search(subject if lead == 0 else "/" + subject)
        if found is None or found.lastgroup is None:
            return None
        rule, pattern = self._entries[int(found.lastgroup[1:])]
        return _Match(rule, pattern.endswith("/"), found.end() - lead)


@dataclass(frozen=True, slots=True)
class _LastNames:
    """A quick, generous test of a path's last name against the last names of the
    patterns: a name that fails it cannot end a match."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]

    @classmethod
    def of(cls, patterns: Iterable[str]) -> _LastNames:
        exact, prefixes, suffixes = set(), [], []
        for pattern in patterns:
            last = pattern.rstrip("/").rsplit("/", 1)[-1].lower()
            wild = [i for i, ch in enumerate(last) if ch in "*?"]
            if not wild:
                exact.add(last)
            elif wild[0] > 0:
                prefixes.append(last[: wild[0]])
            else:
                suffixes.append(last[wild[-1] + 1 :])
        return cls(frozenset(exact), tuple(prefixes), tuple(suffixes))

    def may_end(self, name: str) -> bool:
        name = name.lower()
        return name in self.exact or name.startswith(self.prefixes) or name.endswith(self.suffixes)


def _compile(patterns: list[str]) -> re.Pattern[str]:
    """One expression for every pattern, so a path costs one search: group ``pN`` names
    the pattern that matched.  A folder pattern must be followed by ``/`` (the caller
    adds one to a folder's path); a file pattern must end the path."""
    branches = []
    for number, pattern in enumerate(patterns):
        parts = "/".join(_glob(part) for part in pattern.rstrip("/").split("/"))
        tail = "/" if pattern.endswith("/") else r"\Z"
        branches.append(f"(?P<p{number}>{parts}{tail})")
    return re.compile("/(?:" + "|".join(branches) + ")", re.IGNORECASE)


def _glob(name: str) -> str:
    return "".join("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in name)


def _ancestors(path: str) -> Iterator[str]:
    """``path`` and the folders above it, outermost first."""
    chain = [path]
    while (parent := os.path.dirname(chain[-1])) != chain[-1]:
        chain.append(parent)
    return reversed(chain)


def _short(path: str) -> str:
    home = os.path.expanduser("~")
    if home not in ("~", os.sep) and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path
