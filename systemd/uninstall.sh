#!/usr/bin/env bash
# Remove Reflect: the service, its program, its config, its polkit rule and its user. The notes in
# /var/lib/reflect are kept unless --purge is given.
#
#   sudo systemd/uninstall.sh [--purge]
#   systemd/uninstall.sh --prefix DIR [--purge]   # a fake root made by install.sh --prefix
set -euo pipefail

usage() { sed -n '2,7s/^# \{0,1\}//p' "$0"; exit "${1:-0}"; }

PREFIX=""
PURGE=no
while (($#)); do
    case $1 in
        --prefix) PREFIX=$(realpath -m "${2:?--prefix needs a directory}"); shift 2 ;;
        --purge) PURGE=yes; shift ;;
        -h | --help) usage ;;
        *) echo "uninstall.sh: unknown option $1" >&2; usage 2 >&2 ;;
    esac
done
SYSTEM=$([[ -z $PREFIX ]] && echo yes || echo no)
if [[ $SYSTEM == yes && $EUID -ne 0 ]]; then
    echo "uninstall.sh: run as root (sudo), or use --prefix DIR" >&2
    exit 1
fi

UNIT=$PREFIX/etc/systemd/system/reflect.service
STATE=$PREFIX/var/lib/reflect

if [[ $SYSTEM == yes && -e $UNIT ]]; then
    systemctl disable --now reflect.service
fi
rm -f "$UNIT" "$PREFIX/etc/polkit-1/rules.d/50-reflect-poweroff.rules"
[[ $SYSTEM == yes ]] && systemctl daemon-reload
rm -rf "$PREFIX/opt/reflect" "$PREFIX/etc/reflect" "$PREFIX/var/cache/reflect"
if [[ $SYSTEM == yes ]] && id -u reflect >/dev/null 2>&1; then
    userdel reflect
fi
if [[ $PURGE == yes ]]; then
    rm -rf "$STATE"
    echo "==> removed, notes included"
elif [[ -d $STATE ]]; then
    echo "==> removed; your notes are still in $STATE (uninstall.sh --purge deletes them)"
else
    echo "==> removed"
fi
