"""What Trove never reads: secret stores and credential files wherever they lie, and
Trove's own folders.  Real files in temporary folders, real SQLite, the counting model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from core.app import Trove
from core.cli.main import main
from core.errors import ConfigError
from core.paths import Locations
from core.privacy import PRIVATE_RULES, PrivateRules
from core.settings import Settings, load_settings, save_settings
from desktop.engine import Engine
from desktop.folders import FoldersDialog
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder

WAIT_MS = 30_000


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home folder of the kind a person would watch whole."""
    return Path(os.path.realpath(tmp_path / "home"))


def states(trove: Trove) -> dict[str, tuple[str, str]]:
    """Every file the index knows: path -> (state, reason)."""
    rows = trove.store.conn.execute("SELECT path, state, COALESCE(reason, '') FROM files")
    return {str(path): (str(state), str(reason)) for path, state, reason in rows}


def indexed(trove: Trove) -> set[str]:
    return {path for path, (state, _) in states(trove).items() if state == "indexed"}


# -- the rules themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/h/.ssh/config", "SSH keys"),
        ("/h/backup/id_ed25519", "SSH keys"),
        ("/h/.config/gh/hosts.yml", "GitHub CLI token"),
        ("/h/AppData/Roaming/GitHub CLI/hosts.yml", "GitHub CLI token"),
        ("/h/.config/gcloud/legacy_credentials/me/adc.json", "Google Cloud credentials"),
        ("/h/work/service-account-prod.json", "service-account keys"),
        ("/h/work/.env.local", "environment files"),
        ("/h/.mozilla/firefox/x.default/places.sqlite", "browser profiles and saved logins"),
        ("/h/Library/Application Support/Google/Chrome/Default/Cookies", "browser profiles"),
        ("/h/infra/prod.tfstate", "Terraform token and state"),
        ("/h/.cargo/credentials.toml", "package registry tokens"),
    ],
)
def test_each_rule_names_what_it_guards(path: str, label: str) -> None:
    verdict = PrivateRules().check(path, False)
    assert verdict is not None and label in verdict.rule


@pytest.mark.parametrize(
    "path",
    ["/h/notes/hosts.yml", "/h/gh/notes.yml", "/h/.sshx/config.txt", "/h/environment.txt",
     "/h/credentials.json.md", "/h/work/my-credentials/readme.md"],
)  # fmt: skip
def test_ordinary_files_with_similar_names_are_read(path: str) -> None:
    assert PrivateRules().check(path, False) is None


def test_every_pattern_catches_what_it_names_in_any_case() -> None:
    rules = PrivateRules()
    for rule in PRIVATE_RULES:
        assert rule.label and rule.patterns
        for pattern in rule.patterns:
            named = pattern.replace("*", "x").replace("?", "y")
            for sample in (named, named.upper()):
                path = f"/home/me/{sample}" + ("inner.txt" if sample.endswith("/") else "")
                verdict = rules.check(path, False)
                assert verdict is not None and rule.label in verdict.rule, path


# -- adding folders ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "label"),
    [(".ssh", "SSH keys"), (".gnupg", "GnuPG keys"), (".password-store", "password managers"),
     (".docker", "Docker credentials"), (".config/gcloud", "Google Cloud credentials")],
)  # fmt: skip
def test_a_private_folder_is_refused(fake_trove: Trove, home: Path, name: str, label: str) -> None:
    (home / name / "inner").mkdir(parents=True)
    with pytest.raises(ConfigError, match=f"holds {label}; Trove never reads it"):
        fake_trove.add_folder(home / name)
    with pytest.raises(ConfigError, match=f"is inside .*{name}, which holds {label}"):
        fake_trove.add_folder(home / name / "inner")
    assert fake_trove.folders() == []


def test_trove_add_says_why_in_one_line(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / ".ssh").mkdir(parents=True)
    assert main(["add", str(home / ".ssh")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "holds SSH keys; Trove never reads it" in error


def test_trove_own_folders_are_refused(fake_trove: Trove) -> None:
    data = fake_trove.locations.data
    with pytest.raises(ConfigError, match="is Trove's data folder; Trove never reads it"):
        fake_trove.add_folder(data)
    with pytest.raises(ConfigError, match=r"is inside .*, which is Trove's data folder"):
        fake_trove.add_folder(fake_trove.locations.cache)


def test_trove_own_folders_are_refused_where_the_system_keeps_them(tmp_path: Path) -> None:
    """Without TROVE_HOME, data, settings, cache and state live in four places."""
    places = {name: tmp_path / name / "Trove" for name in ("data", "config", "cache", "state")}
    for place in places.values():
        place.mkdir(parents=True)
    trove = Trove.open(Locations(**places), settings=Settings(), embedder=FakeEmbedder())  # type: ignore[arg-type]
    with trove:
        for name in ("config", "cache", "state"):
            with pytest.raises(ConfigError, match="Trove's"):
                trove.add_folder(places[name])
        trove.add_folder(tmp_path / "config")  # holds Trove's settings folder: allowed


# -- scanning ----------------------------------------------------------------------------


def test_credential_files_are_never_indexed(fake_trove: Trove, home: Path) -> None:
    notes = write(home, "notes/todo.txt", "buy lemons")
    secrets = [
        write(home, "work/credentials.json", '{"token": "sesame"}'),
        write(home, "work/service-account.json", '{"private_key": "sesame"}'),
        write(home, ".config/gh/hosts.yml", "github.com:\n  oauth_token: sesame\n"),
        write(home, ".config/rclone/rclone.conf", "[drive]\ntoken = sesame\n"),
        write(home, ".mozilla/firefox/x.default/logins.json", '{"logins": "sesame"}'),
        write(home, ".terraform.d/credentials.tfrc.json", '{"token": "sesame"}'),
        write(home, "Downloads/credentials.tfrc.json", '{"token": "sesame"}'),
    ]
    write(home, ".ssh/notes.txt", "Host sesame")
    fake_trove.add_folder(home)
    run_index(fake_trove)
    assert indexed(fake_trove) == {str(notes)}
    known = states(fake_trove)
    assert known[str(secrets[0])] == ("excluded", "private (service-account keys): never read")
    assert known[str(secrets[2])] == ("excluded", "private (GitHub CLI token): never read")
    found = "SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH 'sesame'"
    assert fake_trove.store.conn.execute(found).fetchone()[0] == 0


def test_a_watched_config_folder_still_skips_gcloud(fake_trove: Trove, home: Path) -> None:
    """The rules see the whole path: watching ~/.config is no way round them."""
    config = home / ".config"
    write(config, "gcloud/application_default_credentials.json", '{"refresh_token": "x"}')
    write(config, "gcloud/configurations/notes.txt", "account = me@example.com")
    write(config, "gh/hosts.yml", "github.com:\n  oauth_token: x\n")
    kept = write(config, "app/settings.toml", "theme = 'dark'")
    fake_trove.add_folder(config)
    run_index(fake_trove)
    assert indexed(fake_trove) == {str(kept)}


def test_patterns_cannot_bring_a_private_file_back(fake_trove: Trove, home: Path) -> None:
    write(home, "credentials.json", "{}")
    write(home, ".troveignore", "!credentials.json\n!.ssh/\n")
    write(home, ".ssh/notes.txt", "Host x")
    fake_trove.add_folder(home, ignore="!credentials.json")
    run_index(fake_trove)
    assert indexed(fake_trove) == set()


def test_a_private_folder_watched_before_is_forgotten(fake_trove: Trove, home: Path) -> None:
    """An index from before the refusal: the folder's files leave the index."""
    write(home, ".ssh/notes.txt", "Host x")
    with fake_trove.store.transaction():
        fake_trove.store.add_folder(str(home / ".ssh"))
    run_index(fake_trove)
    assert states(fake_trove) == {}


def test_trove_own_files_are_not_read_in_a_watched_folder(
    fake_trove: Trove, tmp_path: Path, trove_home: Path
) -> None:
    """Watching the folder that holds Trove's own (a whole home, say) leaves them alone."""
    save_settings(fake_trove.settings, fake_trove.locations.settings)
    write(trove_home, "state/window.json", "{}")
    notes = write(tmp_path, "notes.txt", "buy lemons")
    fake_trove.add_folder(tmp_path)
    run_index(fake_trove)
    assert fake_trove.locations.settings.exists()
    assert set(states(fake_trove)) == {str(notes)}


# -- allowing one file -------------------------------------------------------------------


def test_an_allowed_file_and_only_it_is_read(fake_trove: Trove, home: Path) -> None:
    chosen = write(home, "essay/credentials.json", '{"title": "Credentials of a good essay"}')
    other = write(home, "work/credentials.json", '{"token": "x"}')
    fake_trove.add_folder(home)
    run_index(fake_trove)
    assert indexed(fake_trove) == set()
    assert fake_trove.allow_private_file(chosen) == str(chosen)
    run_index(fake_trove)
    assert indexed(fake_trove) == {str(chosen)}
    assert states(fake_trove)[str(other)][0] == "excluded"
    saved = load_settings(fake_trove.locations.settings)
    assert saved.allowed_private_files == (str(chosen),)
    fake_trove.allow_private_file(chosen, allow=False)
    run_index(fake_trove)
    assert indexed(fake_trove) == set()
    assert load_settings(fake_trove.locations.settings).allowed_private_files == ()


def test_only_single_files_a_name_rule_matched_can_be_allowed(
    fake_trove: Trove, home: Path
) -> None:
    write(home, ".ssh/config.txt", "Host x")
    plain = write(home, "notes.txt", "buy lemons")
    save_settings(fake_trove.settings, fake_trove.locations.settings)
    refused = {
        home / ".ssh": "not a file",
        home / ".ssh/config.txt": "is inside .*\\.ssh, which holds SSH keys",
        plain: "matches no private rule",
        fake_trove.locations.settings: "inside .*, which is Trove's data folder",
    }
    for path, why in refused.items():
        with pytest.raises(ConfigError, match=why):
            fake_trove.allow_private_file(path)
    with pytest.raises(ConfigError, match="not among the allowed files"):
        fake_trove.allow_private_file(plain, allow=False)
    assert fake_trove.settings.allowed_private_files == ()


def test_a_file_in_a_private_folder_stays_unread_even_if_listed(home: Path) -> None:
    """A settings file edited by hand cannot open a private folder."""
    key = write(home, ".ssh/credentials.json", "{}")
    trove = open_trove(FakeEmbedder(), allowed_private_files=(str(key),))
    with trove:
        trove.add_folder(home)
        run_index(trove)
        assert states(trove) == {}


def test_trove_allow_command(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chosen = write(home, "credentials.json", "{}")
    assert main(["allow", str(chosen)]) == 0
    assert f"Allowed {chosen}" in capsys.readouterr().out
    assert main(["allow", str(home)]) == 1
    assert "only single files can be allowed" in capsys.readouterr().err
    assert main(["allow", "--remove", str(chosen)]) == 0
    assert load_settings(Locations.from_environment().settings).allowed_private_files == ()


# -- shown to the person -----------------------------------------------------------------


def test_trove_status_lists_the_rules_and_allowed_files(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = write(home, "credentials.json", "{}")
    assert main(["allow", str(chosen)]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    private = out[out.index("Private:") :]
    for label in ("SSH keys", "GnuPG keys", "GitHub CLI token", "Trove's own folders"):
        assert label in " ".join(private.split())
    assert f"Allowed:  {chosen}\n" in out


def test_trove_allow_help_lists_every_pattern(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["allow", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for rule in PRIVATE_RULES:
        assert rule.label in shown
        assert all(pattern in shown for pattern in rule.patterns)


@pytest.fixture
def engine(qtbot: QtBot, home: Path) -> Iterator[Engine]:
    allowed = (str(write(home, "credentials.json", "{}")),)
    settings = Settings(extract_workers=1, allowed_private_files=allowed)
    save_settings(settings, Locations.from_environment().settings)
    engine = Engine(embedder=FakeEmbedder())
    with qtbot.waitSignal(engine.ready, timeout=WAIT_MS):
        engine.start()
    yield engine
    engine.shutdown()


def test_folders_dialog_shows_the_rules_and_allowed_files(
    qtbot: QtBot, engine: Engine, home: Path
) -> None:
    dialog = FoldersDialog(engine)
    qtbot.addWidget(dialog)
    dialog.show()
    note = dialog.private_note
    qtbot.waitUntil(lambda: str(home / "credentials.json") in note.text(), timeout=WAIT_MS)
    assert note.isVisible()
    assert "Never read, whatever the patterns say: SSH keys, GnuPG keys" in note.text()
    assert ".ssh/" in note.toolTip() and "gh/hosts.yml" in note.toolTip()
