"""core/ must stay free of Qt and of the desktop package; start-up must stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

FORBIDDEN = ("PySide6", "shiboken6", "desktop")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_in_core_imports_qt_or_desktop() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(
            name for name in _imported_modules(path) if name.split(".")[0] in FORBIDDEN
        )
        for path in (REPO / "core").rglob("*.py")
    }
    offenders = {path: names for path, names in offenders.items() if names}
    assert offenders == {}


def test_the_check_itself_sees_a_qt_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom PySide6.QtCore import QObject\nimport desktop.app\n")
    assert {"PySide6.QtCore", "desktop.app"} <= _imported_modules(sample)


def _loaded_after(imports: str, modules: tuple[str, ...]) -> str:
    """Which of ``modules`` a fresh interpreter has loaded after ``import {imports}``."""
    probe = f"import sys, {imports}\nprint(','.join(m for m in {modules!r} if m in sys.modules))\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    return out.stdout.strip()


def test_importing_the_core_loads_neither_qt_nor_torch() -> None:
    imports = "core.app, core.cli.main, core.search, core.indexer"
    heavy = ("PySide6", "torch", "sentence_transformers", "desktop")
    assert _loaded_after(imports, heavy) == ""


def test_the_window_can_appear_before_numpy_sqlite_or_torch_load() -> None:
    """The desktop modules the window needs import none of the core's heavy parts: those
    load on the engine's threads once the window is up."""
    heavy = ("torch", "sentence_transformers", "numpy", "apsw")
    assert _loaded_after("desktop.main, desktop.window", heavy) == ""


def test_an_extraction_worker_loads_numpy_only_to_read_a_picture() -> None:
    """Workers start light and stay single-threaded for documents: numpy (and its BLAS
    threads) and OpenVINO load with the first picture or scan, not with the readers."""
    heavy = ("numpy", "openvino", "PIL", "scipy")
    made = "core.extract.registry; core.extract.registry.Registry.default()"
    assert _loaded_after(made, heavy) == ""


def _sql_calls(path: Path) -> list[int]:
    """Lines of ``path`` that run SQL: calls of a connection's ``execute`` or
    ``executemany``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("execute", "executemany")
    ]


def test_only_the_store_speaks_sql() -> None:
    store = REPO / "core" / "store"
    offenders = {
        str(path.relative_to(REPO)): lines
        for root in ("core", "desktop")
        for path in (REPO / root).rglob("*.py")
        if store not in path.parents and (lines := _sql_calls(path))
    }
    assert offenders == {}


def test_the_check_itself_sees_sql(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("rows = conn.execute('SELECT 1')\nconn.executemany('x', [])\n")
    assert _sql_calls(sample) == [1, 2]
