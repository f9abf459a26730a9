#!/usr/bin/env bash
# Does the package's Depends bring everything on a minimal Debian? A bare bookworm
# (debootstrap --variant=minbase: no X11, no fonts, no Qt libraries) gets the package through
# apt alone; then every library of the app must resolve and `trove doctor` must find the
# window's libraries, before anything else is installed. Last, Xvfb is added and the
# self-test runs there on a real X server.
#
#   sudo bash installer/check-deb-minimal.sh dist/trove_0.1.0_amd64.deb
#
# Needs root and Debian's package mirror; the bare system is kept in build/minimal-debian
# (about 150 MB) and reused, from a pristine copy, by the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: check-deb-minimal.sh PACKAGE.deb" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "check-deb-minimal.sh needs root (debootstrap, chroot)" >&2; exit 2; }
deb=$(realpath "$1")
say() { printf '\n== %s\n' "$*"; }
fail() { echo "check-deb-minimal: $*" >&2; exit 1; }

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
pristine=build/minimal-debian.tar
root=build/minimal-debian

if [ ! -f "$pristine" ]; then
    say "A minimal Debian (bookworm, minbase) from $mirror"
    command -v debootstrap >/dev/null ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    rm -rf "$root"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
    tar -C "$root" -cf "$pristine" .
fi
rm -rf "$root" && mkdir -p "$root" && tar -C "$root" -xf "$pristine"

mounts=()
cleanup() { for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
for dir in proc dev/shm; do
    mkdir -p "$root/$dir"
done
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount -t tmpfs tmpfs "$root/dev/shm" && mounts+=("$root/dev/shm")
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/trove.deb"
in_root() {
    chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "$@"
}

say "Installing the package with apt alone"
in_root apt-get update -qq
before=$(in_root dpkg-query -W -f='${Package}\n' | wc -l)
in_root apt-get install -y -qq --no-install-recommends \
    /tmp/trove.deb >/dev/null
echo "apt added $(( $(in_root dpkg-query -W -f='${Package}\n' | wc -l) - before )) packages"

say "Every library resolves, before anything else is installed"
missing=$(in_root sh -c '
    find /opt/trove -type f -name "*.so*" -o -type f -name trove | while read -r elf; do
        LD_LIBRARY_PATH=/opt/trove/_internal ldd "$elf" 2>/dev/null | grep "not found" | sed "s|^|$elf: |"
    done' || true)
[ -z "$missing" ] || fail "on a minimal Debian these do not resolve: $missing"
echo "none missing"
in_root trove doctor | tee /tmp/trove-minimal-doctor.txt
grep -q "^ok    window libs" /tmp/trove-minimal-doctor.txt || fail "doctor finds window libraries missing"

say "Self-test on a real X server (Xvfb added now)"
in_root apt-get install -y -qq --no-install-recommends \
    xvfb xauth >/dev/null
in_root xvfb-run -a -s "-screen 0 1280x800x24" trove doctor --self-test |
    tee /tmp/trove-minimal-selftest.txt
grep -q "(xcb)" /tmp/trove-minimal-selftest.txt || fail "the window did not open on X11"
say "check-deb-minimal passed"
