#!/usr/bin/env bash
# Install (or upgrade) Reflect as a systemd service on a Raspberry Pi; safe to run again.
#
#   sudo systemd/install.sh                      # download the speech model (checksum verified)
#   sudo systemd/install.sh --model-zip FILE     # offline Pi: install the model from a zip you copied over
#   sudo systemd/install.sh --wheelhouse DIR     # offline Pi: Python packages from a folder of wheels
#   systemd/install.sh --print-packages          # the Debian packages it installs, then exit
#   systemd/install.sh --prefix DIR              # files only, into a fake root (no apt, user, model, systemctl)
set -euo pipefail
umask 022

usage() { sed -n '2,8s/^# \{0,1\}//p' "$0"; exit "${1:-0}"; }

# What the device needs from apt. libatomic1: the aarch64 libvosk.so links it (the x86 one
# does not), and without it `import vosk` fails on a Pi. polkitd: reads the rule that lets the
# reflect user power the device off (Raspberry Pi OS Lite may not have it).
PACKAGES=(espeak-ng libespeak-ng1 libportaudio2 libsndfile1 libatomic1 python3-venv polkitd)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
PREFIX=""
MODEL_ZIP=""
WHEELHOUSE=""
while (($#)); do
    case $1 in
        --prefix) PREFIX=$(realpath -m "${2:?--prefix needs a directory}"); shift 2 ;;
        --model-zip) MODEL_ZIP=$(realpath "${2:?--model-zip needs a file}"); shift 2 ;;
        --wheelhouse) WHEELHOUSE=$(realpath "${2:?--wheelhouse needs a directory}"); shift 2 ;;
        --print-packages) echo "${PACKAGES[*]}"; exit 0 ;;
        -h | --help) usage ;;
        *) echo "install.sh: unknown option $1" >&2; usage 2 >&2 ;;
    esac
done
SYSTEM=$([[ -z $PREFIX ]] && echo yes || echo no)  # real system: apt, user, model, systemctl
if [[ $SYSTEM == yes && $EUID -ne 0 ]]; then
    echo "install.sh: run as root (sudo), or use --prefix DIR" >&2
    exit 1
fi

VENV=$PREFIX/opt/reflect/venv
CONFIG=$PREFIX/etc/reflect/config.toml
UNIT=$PREFIX/etc/systemd/system/reflect.service
POLKIT_RULE=$PREFIX/etc/polkit-1/rules.d/50-reflect-poweroff.rules
STATE=$PREFIX/var/lib/reflect
CHANGED=no
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step() { printf '==> %s\n' "$*"; }

install_packages() {
    local want=("${PACKAGES[@]}") missing=() p
    # Raspberry Pi OS ships python3-lgpio (the only pin factory that works on a Pi 5); Debian does not.
    if apt-cache show python3-lgpio >/dev/null 2>&1; then want+=(python3-lgpio); fi
    for p in "${want[@]}"; do
        dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
    done
    if ((${#missing[@]})); then
        step "apt: ${missing[*]}"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    fi
}

create_user() {
    getent group gpio >/dev/null || groupadd --system gpio
    if ! id -u reflect >/dev/null 2>&1; then
        step "user reflect"
        useradd --system --user-group --home-dir /var/lib/reflect --no-create-home \
            --shell /usr/sbin/nologin --comment "Reflect device" reflect
    fi
    local group
    for group in audio gpio; do
        id -nG reflect | tr ' ' '\n' | grep -qx "$group" || usermod -aG "$group" reflect
    done
}

install_project() {
    # --system-site-packages lets the venv see Raspberry Pi OS's python3-lgpio.
    [[ -x $VENV/bin/python ]] || { step "venv $VENV"; "$PYTHON" -m venv --system-site-packages "$VENV"; }
    local wheel digest pip_from=()
    # Offline: pip takes every package (setuptools for the build included) from the wheelhouse.
    [[ -n $WHEELHOUSE ]] && pip_from=(--no-index --find-links "$WHEELHOUSE")
    # Build from a clean copy so nothing (build/, *.egg-info) is written into the checkout.
    mkdir "$WORK/src"
    tar -C "$REPO" --exclude=.git --exclude=build --exclude='*.egg-info' --exclude=__pycache__ \
        --exclude=.venv -cf - . | tar -C "$WORK/src" -xf -
    "$VENV/bin/pip" wheel --quiet --disable-pip-version-check "${pip_from[@]}" --no-deps --wheel-dir "$WORK/dist" "$WORK/src"
    wheel=$(echo "$WORK"/dist/*.whl)
    # The wheel's RECORD lists a hash of every file it installs: unchanged RECORD, nothing to do.
    digest=$("$VENV/bin/python" -c '
import hashlib, sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
print(hashlib.sha256(wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")))).hexdigest())
' "$wheel")
    if [[ $(cat "$VENV/.reflect-wheel" 2>/dev/null) != "$digest" ]]; then
        step "installing $(basename "$wheel") into $VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "${pip_from[@]}" "$wheel"
        # Same version number, new code: replace the project itself, keep the dependencies.
        "$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
        echo "$digest" >"$VENV/.reflect-wheel"
        CHANGED=yes
    fi
}

write_config() {
    [[ -e $CONFIG ]] && return
    step "config $CONFIG"
    install -d -m 0755 "$(dirname "$CONFIG")"
    cat >"$CONFIG.new" <<'EOF'
# Reflect's settings. Uncomment a line to change it; `reflect config` prints them all
# with what they do. Any setting can also be given as REFLECT_<SECTION>_<KEY>.

[button]
# GPIO (BCM) pin of the button, wired between the pin and ground.
pin = 17
# GPIO (BCM) pin of the optional status LED (through a resistor to ground); 0 = none.
# led_pin = 27
# Seconds to hold the button in the ready state to shut down (then it is safe to unplug).
# off_hold_s = 10.0

[audio]
# Devices are chosen by part of their name, as `reflect devices` lists them
# (e.g. "USB" for most USB microphones), or by ALSA name ("hw:1,0",
# "hw:CARD=Device,DEV=0"); empty = the system default.
# input_device = "USB"
# output_device = ""
# Most USB microphones only record at 44100 or 48000 Hz (many refuse 16000);
# 0 uses the microphone's own rate, which is almost always right.
# input_rate = 0

[listening]
# Patient by design: seconds of silence after speech that end an answer, and
# seconds with no speech at all before a question is skipped.
# silence_after_speech_s = 7.0
# no_speech_s = 30.0
EOF
    mv "$CONFIG.new" "$CONFIG"
    CHANGED=yes
}

install_unit() {
    install -d -m 0755 "$(dirname "$UNIT")"
    cmp -s "$REPO/systemd/reflect.service" "$UNIT" && return
    step "unit $UNIT"
    install -m 0644 "$REPO/systemd/reflect.service" "$UNIT"
    CHANGED=yes
}

install_polkit_rule() {
    # The folder is polkitd's own (0700 on Debian): made only if absent, never re-moded.
    [[ -d $(dirname "$POLKIT_RULE") ]] || install -d -m 0755 "$(dirname "$POLKIT_RULE")"
    cmp -s "$REPO/systemd/reflect-poweroff.rules" "$POLKIT_RULE" && return
    step "polkit rule $POLKIT_RULE (the reflect user may power off)"
    install -m 0644 "$REPO/systemd/reflect-poweroff.rules" "$POLKIT_RULE"
}

make_state_dir() {
    if [[ $SYSTEM == yes ]]; then
        install -d -m 0700 -o reflect -g reflect "$STATE"
    else
        install -d -m 0700 "$STATE"
    fi
}

install_model() {
    local env=(env REFLECT_STORAGE_DATA_DIR=/var/lib/reflect) from=()
    [[ -n $MODEL_ZIP ]] && from=(--from "$MODEL_ZIP")
    local check='from device.config import load_config; from audio.recognizer import check_model; check_model(load_config().model_path)'
    "${env[@]}" "$VENV/bin/python" -c "$check" 2>/dev/null && return
    step "speech model"
    (umask 077 && "${env[@]}" "$VENV/bin/reflect" model install "${from[@]}")
    chown -R reflect:reflect "$STATE/models"
    CHANGED=yes
}

start_service() {
    systemctl daemon-reload
    systemctl enable reflect.service
    if [[ $CHANGED == yes ]]; then systemctl restart reflect.service; else systemctl start reflect.service; fi
}

if [[ $SYSTEM == yes ]]; then
    install_packages
    create_user
fi
install_project
write_config
install_unit
install_polkit_rule
make_state_dir
if [[ $SYSTEM == yes ]]; then
    install_model
    start_service
    step "done: reflect is running; journalctl -u reflect -f shows its log"
else
    step "done: installed under $PREFIX"
fi
