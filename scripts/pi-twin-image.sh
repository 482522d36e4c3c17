#!/usr/bin/env bash
# The Pi twin's disk: an arm64 Debian bookworm image with what Raspberry Pi OS Lite has
# (systemd, udev, ALSA's tools, Python 3, sudo, timesyncd), built once with mmdebstrap
# under qemu-user and kept in CACHE (default /var/cache/reflect-pi-twin). Needs root.
#   scripts/pi-twin-image.sh [CACHE]
#
# The image holds none of Reflect's own packages: systemd/install.sh installs them offline
# from a local apt repository of arm64 packages in the image (/srv/offline-debs), as on a
# device with no network. Rebuilt when this recipe, the boot hook or install.sh's package
# list changes (CACHE/.complete holds their hash).
set -euo pipefail
umask 022

CACHE=${1:-/var/cache/reflect-pi-twin}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
key=$( (cat "$HERE/pi-twin-image.sh" "$HERE"/pi-twin-guest/twin-boot.*; bash "$HERE/../systemd/install.sh" --print-packages) |
    sha256sum | cut -c1-16)
[[ $(cat "$CACHE/.complete" 2>/dev/null) == "$key" ]] && exit 0
[[ $EUID -eq 0 ]] || { echo "pi-twin-image.sh: run as root" >&2; exit 1; }

# What the twin's own boot needs, and what a Pi OS Lite image already has.
BASE=systemd-sysv,udev,kmod,linux-image-arm64,dbus,alsa-utils,python3,ca-certificates,procps,sudo,systemd-timesyncd,e2fsprogs,iproute2
# What systemd/install.sh asks apt for on arm64 (its own list), kept as an offline repository.
OFFLINE=$(bash "$HERE/../systemd/install.sh" --print-packages)

mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}')
mirror=${mirror:-http://deb.debian.org/debian}

# qemu-user runs the arm64 root's maintainer scripts.
[[ -e /proc/sys/fs/binfmt_misc/register ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 2>/dev/null || true

work=$CACHE.new
rm -rf "$work"
mkdir -p "$work"
root=$work/root
# The kernel's initramfs needs only the virtio disk's drivers: a short module list keeps its
# build under emulation short.
# The offline repository: every arm64 package install.sh will want, with what they depend on,
# downloaded while mmdebstrap still has the mirror configured.
mmdebstrap --arch=arm64 --variant=apt --include="$BASE" \
    --setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"' \
    --setup-hook='printf "MODULES=list\nCOMPRESS=gzip\n" > "$1/etc/initramfs-tools/conf.d/twin"' \
    --setup-hook='printf "virtio_pci\nvirtio_mmio\nvirtio_blk\next4\n" > "$1/etc/initramfs-tools/modules"' \
    --customize-hook="chroot \"\$1\" apt-get install -q -y --download-only --no-install-recommends $OFFLINE" \
    --customize-hook='mkdir -p "$1/srv/offline-debs" && mv "$1"/var/cache/apt/archives/*.deb "$1/srv/offline-debs/"' \
    --customize-hook='cd "$1/srv/offline-debs" && apt-ftparchive packages . > Packages' \
    bookworm "$root" "$mirror"
# A device with no network: apt knows only the local repository.
rm -f "$root"/etc/apt/sources.list "$root"/etc/apt/sources.list.d/*
echo 'deb [trusted=yes] file:/srv/offline-debs ./' >"$root/etc/apt/sources.list.d/offline.list"

cp "$HERE/pi-twin-guest/twin-boot.service" "$root/etc/systemd/system/"
cp "$HERE/pi-twin-guest/twin-boot.sh" "$root/usr/local/sbin/twin-boot"
chmod 0755 "$root/usr/local/sbin/twin-boot"
ln -s ../twin-boot.service "$root/etc/systemd/system/multi-user.target.wants/twin-boot.service"
echo reflect-twin >"$root/etc/hostname"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"

cp "$root"/boot/vmlinuz-* "$work/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/initrd.img"
truncate -s 4G "$work/disk.img"
mkfs.ext4 -q -F -L root -d "$root" "$work/disk.img"
rm -rf "$root"
echo "$key" >"$work/.complete"
rm -rf "$CACHE"
mv "$work" "$CACHE"
echo "pi twin image ready: $CACHE"
