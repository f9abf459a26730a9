#!/usr/bin/env bash
# Install a built Trove package for real, prove the installed app works, time it, remove it.
#
#   sudo bash installer/check-deb.sh dist/trove_0.1.0_amd64.deb
#
# It installs the package's dependencies with apt-get, then the package with dpkg -i, runs
# `trove doctor --self-test` offscreen and under a real X server (Xvfb), both without any
# network, times a cold start of the window, and removes and purges the package, checking
# that a person's data stays. Figures go to stdout and to dist/check-deb.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: check-deb.sh PACKAGE.deb" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "check-deb.sh installs a package: run it as root" >&2; exit 2; }
deb=$(realpath "$1")
report=dist/check-deb.txt
: > "$report"
say() { printf '\n== %s\n' "$*"; }
figure() { echo "$*" | tee -a "$report"; }
fail() { echo "check-deb: $*" >&2; exit 1; }

say "Dependencies"
# The first choice of each dependency, without its version.
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/([^)]*)//g' | xargs)
apt-get update -qq
# xvfb and xauth run the real X server check; they are not the app's dependencies.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $depends xvfb xauth >/dev/null

say "Installing $(basename "$deb")"
dpkg -i "$deb"
trap 'dpkg --purge trove >/dev/null 2>&1 || true' EXIT
for path in /usr/bin/trove /usr/bin/trove-desktop /opt/trove/trove /opt/trove/trove-desktop \
    /usr/share/applications/trove.desktop /usr/share/icons/hicolor/scalable/apps/trove.svg; do
    [ -e "$path" ] || fail "the package did not install $path"
done
figure "package: $(du -h "$deb" | cut -f1) ($(stat -c %s "$deb") bytes)"
# The size people download; OpenVINO and the converted model must fit within it.
[ "$(stat -c %s "$deb")" -le 300000000 ] || fail "the package is over 300 MB"
figure "installed: $(du -sh /opt/trove | cut -f1) in /opt/trove"

say "Every library the app loads resolves"
unresolved=$(PYTHONPATH=installer python3 -c 'import sys; from debian_depends import elf_files
for p in elf_files(__import__("pathlib").Path("/opt/trove")): print(p)' |
    while read -r elf; do
        LD_LIBRARY_PATH=/opt/trove/_internal ldd "$elf" 2>/dev/null | grep 'not found' | sed "s|^|$elf: |" || true
    done)
[ -z "$unresolved" ] || fail "libraries not found: $unresolved"
echo "none missing"

# A colleague's first start: an empty home folder and no network at all.
home=$(mktemp -d /tmp/trove-check-home.XXXXXX)
as_colleague=(env -u DISPLAY -u WAYLAND_DISPLAY -u XDG_DATA_HOME -u XDG_CONFIG_HOME
    -u XDG_CACHE_HOME -u XDG_STATE_HOME -u TROVE_HOME HOME="$home")
offline=(unshare --net)

say "Self-test, offscreen, no network"
started=$SECONDS
"${offline[@]}" "${as_colleague[@]}" QT_QPA_PLATFORM=offscreen trove doctor --self-test
figure "self-test offscreen: passed in $((SECONDS - started)) s"

say "Self-test under a real X server (Xvfb), no network"
started=$SECONDS
"${offline[@]}" "${as_colleague[@]}" xvfb-run -a -s "-screen 0 1280x800x24" \
    trove doctor --self-test | tee /tmp/trove-check-xvfb.txt
grep -q "(xcb)" /tmp/trove-check-xvfb.txt || fail "the window did not open on X11 (xcb)"
grep -q "embeds on cpu with openvino" /tmp/trove-check-xvfb.txt ||
    fail "the installed app did not run the model on OpenVINO"
figure "self-test on X11: passed in $((SECONDS - started)) s"

say "Cold start of the installed window (Xvfb)"
"${as_colleague[@]}" xvfb-run -a -s "-screen 0 1280x800x24" \
    python3 benchmarks/gui_startup.py --trove /usr/bin/trove --desktop --runs 5 | tee -a "$report"

say "The portable archive, unpacked by an ordinary user into a folder with a space"
version=$(dpkg-deb -f "$deb" Version)
archive=$(dirname "$deb")/trove-$version-linux-x86_64.tar.gz
if [ -f "$archive" ]; then
    user_home=$(mktemp -d /tmp/trove-portable.XXXXXX)
    chmod 755 "$user_home" && chown nobody:nogroup "$user_home"
    as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups
        env -u DISPLAY -u XDG_DATA_HOME -u XDG_CONFIG_HOME -u XDG_CACHE_HOME -u XDG_STATE_HOME
        -u TROVE_HOME HOME="$user_home" QT_QPA_PLATFORM=offscreen)
    "${as_nobody[@]}" mkdir "$user_home/my apps"
    "${as_nobody[@]}" tar -C "$user_home/my apps" -xzf "$archive"
    started=$SECONDS
    (cd / && "${offline[@]}" "${as_nobody[@]}" \
        "$user_home/my apps/trove-$version-linux-x86_64/trove" doctor --self-test)
    figure "portable archive, ordinary user: self-test passed in $((SECONDS - started)) s"
    rm -rf "$user_home"
else
    echo "no $archive beside the package: skipped"
fi

say "Removing"
[ -d "$home/.local/share/Trove" ] || fail "the self-test left no data folder to keep"
touch "$home/.local/share/Trove/kept"
dpkg -r trove
[ ! -e /opt/trove ] && [ ! -e /usr/bin/trove ] || fail "dpkg -r left the program behind"
dpkg --purge trove
[ -e "$home/.local/share/Trove/kept" ] || fail "removing the package deleted a person's data"
trap - EXIT
rm -rf "$home"
figure "removed and purged; the person's data folder stayed"
say "check-deb passed"
