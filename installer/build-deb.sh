#!/usr/bin/env bash
# Build Trove's Linux installers from this checkout:
#   dist/trove_<version>_amd64.deb           for Debian and Ubuntu (installs under /opt/trove)
#   dist/trove-<version>-linux-x86_64.tar.gz the same app as a folder that runs from anywhere
#
#   bash installer/build-deb.sh
#
# The app is frozen with PyInstaller from its own virtual environment (build/venv), which
# holds Trove, CPU-only torch and PyInstaller and nothing else. Run as root (or with sudo
# available) on a fresh machine, it first installs the system packages the build needs.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

say() { printf '\n== %s\n' "$*"; }

version=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
arch=amd64
[ "$(uname -m)" = x86_64 ] || { echo "build-deb.sh builds for x86_64 only" >&2; exit 1; }

# objdump reads the libraries' needs; the Qt xcb libraries must be on the build machine so
# that the dependency list below can name their packages. The list is the one `trove
# doctor` checks (core/machine.py).
xcb_packages=$(python3 -c 'from core.machine import QT_XCB_LIBRARIES as libraries
print(*sorted(set(libraries.values())))')
read -ra build_packages <<< "binutils $xcb_packages"
missing=()
for package in "${build_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "Installing build packages: ${missing[*]}"
    sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

say "Build environment (build/venv)"
python=${PYTHON:-python3}
[ -x build/venv/bin/python ] || "$python" -m venv build/venv
pip=(build/venv/bin/python -m pip --quiet --disable-pip-version-check)
# CPU-only torch, pinned, before anything that depends on it: PyPI's Linux torch is the
# CUDA build, several GB that the installer must never carry. Where PyPI's is the only
# torch pip sees, point TROVE_TORCH_INDEX at PyTorch's CPU wheel index (the CI workflow
# does); TROVE_TORCH replaces the requirement itself.
index=(); [ -z "${TROVE_TORCH_INDEX:-}" ] || index=(--index-url "$TROVE_TORCH_INDEX")
build/venv/bin/python -c 'import torch' 2>/dev/null ||
    "${pip[@]}" install "${index[@]}" "${TROVE_TORCH:-torch==2.13.0}"
"${pip[@]}" install pyinstaller==6.22.3 pyinstaller-hooks-contrib==2026.9
# Always this checkout's code, never a copy left from an earlier build.
"${pip[@]}" install --force-reinstall --no-deps . && "${pip[@]}" install .

say "Freezing (PyInstaller)"
freeze_started=$SECONDS
rm -rf dist/pyinstaller
# Python modules stored, not zlib-compressed, in the executable's archive: the package's xz
# compresses them far better than zlib does, and importing them needs no inflating.
PYINSTALLER_ZLIB_COMPRESSION_LEVEL=0 build/venv/bin/pyinstaller --noconfirm --log-level WARN \
    --distpath dist/pyinstaller --workpath build/pyinstaller installer/trove.spec
app=dist/pyinstaller/trove
echo "froze in $((SECONDS - freeze_started)) s; $(du -sh "$app" | cut -f1) in $app"
# Symbol tables serve debuggers only. Stripped: the three largest libraries, which are
# built plainly; the libraries wheels vendor (numpy.libs, scipy.libs...) were rewritten by
# patchelf, and strip breaks them ("ELF load command address/offset not page-aligned").
before=$(du -sb "$app" | cut -f1)
strip --strip-unneeded "$app"/_internal/torch/lib/libtorch_cpu.so \
    "$app"/_internal/torch/lib/libtorch_python.so "$app"/_internal/libpython3*.so*
echo "stripping symbol tables saved $(( (before - $(du -sb "$app" | cut -f1)) / 1048576 )) MiB"

gpu=$(find "$app" -regextype posix-extended -iregex \
    '.*/lib(cuda|cudart|cublas|cudnn|cufft|curand|cusolver|cusparse|nccl|nvrtc|nvjitlink|nvtoolsext|cupti|amdhip|hiprtc|rocm)[^/]*\.so[^/]*' | head -5)
[ -z "$gpu" ] || { echo "GPU libraries got into the bundle: $gpu" >&2; exit 1; }

say "Debian package"
depends=$(build/venv/bin/python installer/debian_depends.py "$app")
root=build/deb/trove
rm -rf build/deb && mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin"
cp -a "$app" "$root/opt/trove"
ln -s /opt/trove/trove "$root/usr/bin/trove"
ln -s /opt/trove/trove-desktop "$root/usr/bin/trove-desktop"
install -D -m 644 installer/linux/trove.desktop "$root/usr/share/applications/trove.desktop"
install -D -m 644 resources/icons/trove.svg "$root/usr/share/icons/hicolor/scalable/apps/trove.svg"
install -D -m 644 installer/linux/copyright "$root/usr/share/doc/trove/copyright"
install -m 755 installer/linux/postinst installer/linux/postrm "$root/DEBIAN/"
installed_kb=$(du -sk --apparent-size "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_kb/" \
    -e "s/@DEPENDS@/$depends/" installer/linux/control > "$root/DEBIAN/control"
chmod -R u+rwX,go+rX,go-w "$root"
deb=dist/trove_${version}_${arch}.deb
pack_started=$SECONDS
dpkg-deb --root-owner-group -Zxz -z6 --build "$root" "$deb"
echo "packed in $((SECONDS - pack_started)) s"

say "Portable archive"
portable=trove-$version-linux-x86_64
rm -rf "build/$portable" && cp -a "$app" "build/$portable"
tar -C build -czf "dist/$portable.tar.gz" "$portable"
rm -rf "build/$portable"

say "Built in $((SECONDS - started)) s"
ls -l "$deb" "dist/$portable.tar.gz"
echo "installed size: $((installed_kb / 1024)) MiB"
