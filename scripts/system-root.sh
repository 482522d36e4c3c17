#!/usr/bin/env bash
# A Debian bookworm root with systemd as PID 1, for the system test (tests/system/).
# Built once with debootstrap from this machine's apt mirror and kept at ROOT
# (default /var/cache/reflect-system-root); rebuilt when missing. Needs root.
#   scripts/system-root.sh [ROOT]
set -euo pipefail
umask 022  # the root's own files (its / included) must be readable by the service's user whatever the caller's umask

ROOT=${1:-/var/cache/reflect-system-root}
[[ -e $ROOT/.complete ]] && exit 0
[[ $EUID -eq 0 ]] || { echo "system-root.sh: run as root" >&2; exit 1; }

# The first Debian mirror this machine's apt uses (deb822 .sources or a sources.list line).
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}')
[[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}

rm -rf "$ROOT.new"
# libasound2-plugins: ALSA's pulse plugin, which routes the service's sound to the test rig.
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,python3,python3-venv,ca-certificates,libasound2-plugins \
    bookworm "$ROOT.new" "$mirror"
# Package downloads inside must trust what the host trusts (e.g. a proxy's CA).
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$ROOT.new/usr/local/share/ca-certificates/"
    chroot "$ROOT.new" update-ca-certificates >/dev/null
fi
# The host's own sources (with its updates and security suites), instead of debootstrap's one line.
if cp /etc/apt/sources.list.d/*.sources "$ROOT.new/etc/apt/sources.list.d/" 2>/dev/null; then
    rm -f "$ROOT.new/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$ROOT.new/etc/resolv.conf" 2>/dev/null || true
chroot "$ROOT.new" apt-get clean
touch "$ROOT.new/.complete"
rm -rf "$ROOT"
mv "$ROOT.new" "$ROOT"
echo "system root ready: $ROOT"
