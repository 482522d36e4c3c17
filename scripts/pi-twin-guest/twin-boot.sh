#!/bin/sh
# Mount the host's share at /mnt/share and run its guest.sh, logging to the share.
# Everything a run does lives in that script, so the cached image never changes.
set -u
modprobe 9pnet_virtio
mkdir -p /mnt/share
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share /mnt/share || exit 0
[ -x /mnt/share/guest.sh ] || exit 0
exec /mnt/share/guest.sh >>/mnt/share/guest.log 2>&1
