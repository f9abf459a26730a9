"""Loading the model without freezing the other threads.

Two things stop every other Python thread (the window's, in the desktop app) while
torch and the model load on a background thread, because they run holding the GIL:

- importing torch's extension loads and relocates libtorch_cpu, about 0.4 s here;
- Python's full garbage collections walk the hundreds of thousands of objects the
  import creates, 0.1-0.6 s each.

``dlopen`` called through ctypes as a foreign function runs with the GIL released, and
once a library is loaded the import's own ``dlopen`` finds it in place; collections are
held off while the model loads and its objects are then frozen out of later ones.
Measured on 2 busy cores: longest pause of a 10 ms timer on another thread 0.45-0.58 s
before, 0.05-0.06 s after.
"""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

# In link order: each one's dependencies come before it.
TORCH_LIBRARIES = ("libc10.so", "libtorch_cpu.so", "libtorch_python.so")


@contextmanager
def model_loading(torch: bool = True) -> Iterator[None]:
    """Around loading the model: torch's native libraries (``torch``: when the model
    runs on it) are loaded with the GIL released, no garbage collection runs meanwhile,
    and what was loaded is frozen afterwards.

    The model and torch live as long as the process; freezing leaves them out of every
    later collection, which would otherwise stall the window during indexing too."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        if torch:
            preload_torch()
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def preload_torch() -> list[str]:
    """Load torch's large shared libraries with the GIL released; the names of those
    loaded.  Linux only, and nothing when torch is already imported or not found."""
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return []
    folder = _torch_libraries()
    dlopen = _dlopen()
    if folder is None or dlopen is None:
        return []
    loaded = []
    for name in TORCH_LIBRARIES:
        path = folder / name
        # RTLD_LOCAL, as torch loads them itself: only the load moves earlier.
        if path.is_file() and dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL):
            loaded.append(name)
        else:
            log.debug("torch library %s not preloaded", path)
    return loaded


def _torch_libraries() -> Path | None:
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def _dlopen() -> Callable[[bytes, int], int | None] | None:
    try:
        process = ctypes.CDLL(None)
        dlopen = process.dlopen
    except (OSError, AttributeError):
        return None
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return dlopen
