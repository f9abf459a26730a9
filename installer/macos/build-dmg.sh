#!/usr/bin/env bash
# Build Trove's macOS disk image from this checkout:
#   dist/Trove-<version>-macos-<arch>.dmg   Trove.app and a link to /Applications to drag it to
#
#   bash installer/macos/build-dmg.sh
#
# <arch> is the build machine's (arm64 on Apple silicon). The app is frozen with PyInstaller
# from its own virtual environment (build/venv: Trove, torch, PyInstaller and nothing else),
# as installer/build-deb.sh does on Linux. PYTHON names the Python (3.11 or newer) to build
# the environment from; TROVE_TORCH replaces the torch requirement.
#
# The command line ships inside the bundle, at Trove.app/Contents/MacOS/trove. To get
# `trove` in a terminal after dragging Trove.app to /Applications, link it into a folder on
# PATH, for example:
#   sudo mkdir -p /usr/local/bin
#   sudo ln -sf /Applications/Trove.app/Contents/MacOS/trove /usr/local/bin/trove
# (the frozen app finds its libraries through the link, as /usr/bin/trove does on Linux).
#
# Signing: the bundle gets an ad-hoc signature only, which Apple silicon needs for the code
# to run at all. Notarization would need an Apple Developer ID certificate (codesign with
# --options runtime and a timestamp, then xcrun notarytool submit and xcrun stapler staple),
# which this build does not have, so it is not done: Gatekeeper blocks the first launch of a
# downloaded copy until the user allows it in System Settings > Privacy & Security (or runs
# xattr -dr com.apple.quarantine /Applications/Trove.app).
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS

say() { printf '\n== %s\n' "$*"; }

[ "$(uname -s)" = Darwin ] || { echo "build-dmg.sh builds on macOS only" >&2; exit 1; }

python=${PYTHON:-python3}
version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')

say "Build environment (build/venv)"
[ -x build/venv/bin/python ] || "$python" -m venv build/venv
# The bundle is built for the environment's architecture, which under Rosetta differs from
# the machine's.
arch=$(build/venv/bin/python -c 'import platform; print(platform.machine())')
if [ "$arch" != arm64 ] && [ -z "${TROVE_TORCH:-}" ]; then
    # PyTorch has published no Intel macOS wheels since 2.2, so torch==2.13.0 cannot install.
    echo "No torch 2.13.0 wheel exists for macOS on $arch; build on Apple silicon" \
        "(or set TROVE_TORCH to a torch that installs here)" >&2
    exit 1
fi
pip=(build/venv/bin/python -m pip --quiet --disable-pip-version-check)
# PyPI's macOS torch wheel has no CUDA (CPU and Metal only); installed first so that nothing
# else picks a different torch.
build/venv/bin/python -c 'import torch' 2>/dev/null || "${pip[@]}" install "${TROVE_TORCH:-torch==2.13.0}"
"${pip[@]}" install pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.9
# Always this checkout's code, never a copy left from an earlier build.
"${pip[@]}" install --force-reinstall --no-deps . && "${pip[@]}" install .

say "Freezing (PyInstaller)"
freeze_started=$SECONDS
rm -rf dist/pyinstaller
build/venv/bin/pyinstaller --noconfirm --log-level WARN \
    --distpath dist/pyinstaller --workpath build/pyinstaller installer/trove.spec
folder=dist/pyinstaller/trove
bundle=dist/pyinstaller/Trove.app
[ -x "$folder/trove" ] && [ -x "$bundle/Contents/MacOS/trove-desktop" ] && [ -x "$bundle/Contents/MacOS/trove" ] || {
    echo "PyInstaller did not produce $folder and $bundle with both executables" >&2
    exit 1
}
echo "froze in $((SECONDS - freeze_started)) s; $(du -sh "$bundle" | cut -f1) in $bundle"

say "Self-test of the frozen app"
# A build machine has no desktop session to show the window on.
QT_QPA_PLATFORM=offscreen "$folder/trove" doctor --self-test

say "Signing (ad hoc)"
# --deep signs every nested library and framework, then the bundle, so that one seal
# covers the whole app as it will be copied to /Applications.
codesign --force --deep --sign - "$bundle"
codesign --verify --deep --strict "$bundle"
# What ships is the signed bundle: make sure it still starts.
QT_QPA_PLATFORM=offscreen "$bundle/Contents/MacOS/trove" doctor --self-test

say "Disk image"
staging=build/dmg
rm -rf "$staging" && mkdir -p "$staging"
# ditto keeps the bundle's symbolic links, extended attributes and signatures intact.
ditto "$bundle" "$staging/Trove.app"
ln -s /Applications "$staging/Applications"
dmg=dist/Trove-$version-macos-$arch.dmg
mkdir -p dist
# hdiutil fails now and then with "Resource busy" on CI machines (a disk-arbitration race,
# not a fault in the image), so a few tries are allowed before giving up.
for attempt in 1 2 3 4 5; do
    rm -f "$dmg"
    if hdiutil create -volname Trove -srcfolder "$staging" -fs HFS+ -format UDZO \
        -imagekey zlib-level=9 -ov "$dmg"; then
        break
    fi
    [ "$attempt" -lt 5 ] || { echo "hdiutil create failed $attempt times" >&2; exit 1; }
    echo "hdiutil create failed; trying again in $((attempt * 5)) s" >&2
    sleep $((attempt * 5))
done
hdiutil verify "$dmg"

say "Done"
echo "$dmg ($(du -h "$dmg" | cut -f1)) in $((SECONDS - started)) s"
