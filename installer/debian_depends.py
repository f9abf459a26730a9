"""The Debian packages a frozen Trove folder needs from the system.

Every ELF file in the folder names the shared libraries it needs (its NEEDED entries). Those
that the folder does not carry itself must come from the system: this finds where the
build machine has each one, asks dpkg which package owns it, and prints a ``Depends:``
value, with the lowest glibc that the folder's symbol versions allow. A library the build
machine lacks is an error: it would be a dependency nobody declared.

    python installer/debian_depends.py dist/pyinstaller/trove
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
GLIBC_VERSION = re.compile(r"GLIBC_(\d+)\.(\d+)")


def elf_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == ELF_MAGIC:
                    yield path


def needed(elf: Path) -> list[str]:
    text = subprocess.run(
        ["objdump", "-p", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    return re.findall(r"^\s*NEEDED\s+(\S+)", text, flags=re.MULTILINE)


def glibc_floor(elf: Path) -> tuple[int, int]:
    text = subprocess.run(
        ["objdump", "-T", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    versions = [(int(a), int(b)) for a, b in GLIBC_VERSION.findall(text)]
    return max(versions, default=(2, 0))


def system_libraries() -> dict[str, str]:
    """soname -> path of the build machine's 64-bit x86 libraries (from ldconfig's cache)."""
    found: dict[str, str] = {}
    text = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    for line in text.splitlines():
        match = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if match and "x86-64" in match.group(2):
            found.setdefault(match.group(1), match.group(3))
    return found


def owning_package(path: str) -> str:
    real = os.path.realpath(path)
    candidates = [path, real]
    for each in (path, real):  # merged /usr: dpkg may have recorded either spelling
        candidates.append(each[4:] if each.startswith("/usr/") else "/usr" + each)
    for candidate in candidates:
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    raise LookupError(f"no Debian package owns {path}")


def depends(folder: Path) -> tuple[list[str], list[str]]:
    """(the Depends entries, the sonames nobody provides)."""
    elves = list(elf_files(folder))
    carried = {p.name for p in folder.rglob("*")}
    wanted = {name for elf in elves for name in needed(elf) if name not in carried}
    known = system_libraries()
    missing = sorted(name for name in wanted if name not in known)
    packages = {owning_package(known[name]) for name in wanted if name in known}
    major, minor = max((glibc_floor(elf) for elf in elves), default=(2, 0))
    packages.discard("libc6")
    return [f"libc6 (>= {major}.{minor})", *sorted(packages)], missing


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: debian_depends.py FROZEN_FOLDER", file=sys.stderr)
        return 2
    entries, missing = depends(Path(argv[1]))
    if missing:
        print(
            "the build machine lacks libraries the app needs: " + ", ".join(missing),
            file=sys.stderr,
        )
        return 1
    print(", ".join(entries))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
