#!/usr/bin/env bash
# Debian packages Reflect and its tests need; installs only what is missing.
set -euo pipefail

PACKAGES=(
  espeak-ng libespeak-ng1        # speech synthesis (pyttsx3 drives libespeak-ng)
  libportaudio2 libsndfile1      # audio I/O (sounddevice) and Opus/FLAC files (soundfile)
  pulseaudio pulseaudio-utils libasound2-plugins  # the test audio rig (null sinks)
  alsa-utils                     # aplay: the benchmarks' reference player
  python3-venv make              # the virtual environment and the two commands
  chromium chromium-driver       # the HTML export is tested in a real browser
  systemd util-linux             # systemd-analyze (unit checks), unshare (offline test)
  age                            # the standard age tool: the tests open sealed notes with it
  debootstrap systemd-container  # the system test: a Debian root booted with systemd as PID 1 (nspawn)
  qemu-system-arm qemu-user-static binfmt-support mmdebstrap arch-test qemu-utils apt-utils  # the Pi twin
  e2fsprogs                      # the Pi twin: its disk is checked with e2fsck after power cuts
  faketime                       # tests that move one process's wall clock
  bubblewrap                     # mutation testing: mutants run where they can change nothing else
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
