"""What `trove doctor` checks of the machine before anything opens the index."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import machine
from core.errors import ConfigError


def test_a_writable_data_folder_is_made_and_left_clean(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "Trove"
    assert "is writable" in machine.check_data_folder(folder)
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_a_data_folder_that_cannot_be_made_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=r"cannot write in .*TROVE_HOME"):
        machine.check_data_folder(blocker / "Trove")


def test_free_space_is_measured_on_the_nearest_existing_folder(tmp_path: Path) -> None:
    assert "free on the disk" in machine.check_free_space(tmp_path / "not" / "yet", minimum=1)
    with pytest.raises(ConfigError, match="Trove needs at least"):
        machine.check_free_space(tmp_path, minimum=1 << 62)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 libraries are Linux's")
def test_a_missing_window_library_names_its_package() -> None:
    libraries = {"libc.so.6": "libc6", "libtrove-absent.so.7": "libtrove-absent7"}
    with pytest.raises(ConfigError) as raised:
        machine.check_window_libraries(libraries)
    message = str(raised.value)
    assert "libtrove-absent.so.7" in message and "libc.so.6" not in message
    assert "sudo apt install libtrove-absent7" in message
    assert "1 of 1 libraries" in machine.check_window_libraries({"libc.so.6": "libc6"})


def test_doctor_fails_only_where_a_window_could_open(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.cli import doctor

    def missing(libraries: object = None) -> str:
        raise ConfigError("the window cannot open without libxcb-cursor.so.0")

    monkeypatch.setattr(machine, "check_window_libraries", missing)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    headless = doctor._window_libraries()
    assert headless.ok and headless.warning and headless.label == "warn"
    monkeypatch.setenv("DISPLAY", ":9")
    assert not doctor._window_libraries().ok


@pytest.mark.model
def test_doctor_reports_a_full_disk_and_still_checks_the_rest(tmp_path: Path) -> None:
    """Run as a user would, with the free-space floor above any real disk's size."""
    probe = (
        "import sys; from core import machine; from core.cli.main import main\n"
        "machine.MIN_FREE_BYTES = 1 << 62\n"
        "sys.exit(main(['doctor']))\n"
    )
    env = {**os.environ, "TROVE_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("FAIL  disk space") for line in lines), done.stdout
    assert any(line.startswith("ok    sqlite-vec") for line in lines), done.stdout
    assert lines[-1] == "1 failed: disk space"
